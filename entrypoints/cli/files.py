"""``navigator migrate`` (and ``navigator up``) move files an earlier version kept on disk.

Earlier versions kept uploads in ``BLOB_DIR`` or ``NAVIGATOR_HOME/blobs`` on the API's
machine. After the migrations, every file found there is moved into the configured
file store (``FILE_STORE``) by :class:`domain.file_moves.MoveFilesIntoStore`, which
checks each file's SHA-256 before and after and removes the local copy only once the
store holds it intact. Nothing happens (and no connection is opened) when the folder
holds no files.
"""

from __future__ import annotations

from adapters.filesystem_blobs import FilesystemBlobStore
from adapters.postgres.files import stored_documents
from domain.file_moves import FileMoveReport, MoveFilesIntoStore
from entrypoints.container import build_container, running
from entrypoints.settings import Settings


async def move_files_from_disk(settings: Settings, dsn: str) -> FileMoveReport | None:
    """Move the files of ``settings.blob_path`` into the file store; None if there are none."""
    source = FilesystemBlobStore(settings.blob_path)
    if not source.stored_keys():
        return None
    container = build_container(settings, dsn)
    async with running(container):
        documents = await stored_documents(container.pool(), settings.database_schema)
        return await MoveFilesIntoStore(source, container.blobs())(documents)


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
