"""``navigator move-files`` (and ``navigator up``) move files an earlier version kept on disk.

Earlier versions kept uploads in ``BLOB_DIR`` or ``NAVIGATOR_HOME/blobs`` on the API's
machine. Every file found there is moved into the configured file store
(``FILE_STORE``) by :class:`domain.file_moves.MoveFilesIntoStore`, which checks each
file's SHA-256 before and after and removes the local copy only once the store holds
it intact. Nothing happens (and no connection is opened) when the folder holds no
files.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from domain.file_moves import FileMoveReport
from entrypoints.cli.database import database, database_errors
from entrypoints.cli.operator import require_migrated
from entrypoints.cli.outcomes import FAILED, OK
from entrypoints.container import Container, build_container, running
from entrypoints.settings import Settings


def command_move_files(args: argparse.Namespace, settings: Settings) -> int:
    report = asyncio.run(_move_files(settings))
    if report is None:
        print(f"no files in {settings.blob_path}: nothing to move")
        return OK
    # Damaged or missing files are for an operator to look at: exit 1 until they are gone.
    print("\n".join(describe_move(report, settings)),
          file=sys.stdout if report.lost_nothing else sys.stderr)
    return OK if report.lost_nothing else FAILED


async def _move_files(settings: Settings) -> FileMoveReport | None:
    container = build_container(settings)
    if not has_files_on_disk(container):
        return None
    async with database(settings) as dsn:
        with database_errors():
            await require_migrated(dsn, settings)
            container.database_dsn.set_default(dsn)
            async with running(container):
                return await move_files_from_disk(container)


def has_files_on_disk(container: Container) -> bool:
    return bool(container.legacy_files().stored_keys())


async def move_files_from_disk(container: Container) -> FileMoveReport | None:
    """Move the files of ``BLOB_DIR`` into the container's file store (its resources
    open); None if there are none."""
    if not has_files_on_disk(container):
        return None
    documents = await container.stored_documents()()
    return await container.move_files_into_store()(documents)


def describe_move(report: FileMoveReport, settings: Settings) -> list[str]:
    """What an operator reads after the move: counts, and every key that needs a look."""
    where = f"{settings.blob_path} into the {settings.file_store} file store"
    lines = [f"moved {len(report.moved)} file(s) from {where}"
             + (f"; {len(report.already_stored)} were there already"
                if report.already_stored else "")]
    for label, keys in (
        ("left on disk: the bytes no longer match their document's SHA-256", report.damaged),
        ("documents whose file is neither on disk nor in the store", report.missing),
        ("left on disk: no document names them", report.unclaimed),
    ):
        if keys:
            lines.append(f"{label} ({len(keys)}):")
            lines.extend(f"  {key}" for key in keys)
    return lines
