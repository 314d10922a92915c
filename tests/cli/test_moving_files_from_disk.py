"""``navigator move-files`` moves the files an earlier version kept on disk into the file
store, losing none: each is checked against its document's SHA-256 before and after,
and only a file the store holds intact leaves the disk. ``navigator migrate`` only
migrates: it leaves them where they are."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.errors import NotFound
from entrypoints.container import Container
from tests.cli.conftest import Cli
from tests.contract.builders import MARIA, upload

pytestmark = pytest.mark.postgres


async def keep_on_disk(container: Container, folder: Path, content: bytes,
                       on_disk: bytes | None) -> str:
    """A document recorded the old way (its file on disk, none in the store)."""
    document, job = upload(MARIA, content, container.clock().now())
    await container.job_queue().submit(document, job)
    if on_disk is not None:
        path = folder / document.blob_key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(on_disk)
    return document.blob_key


async def test_move_files_moves_each_intact_file_into_the_store_and_reports_the_rest(
    db_cli: Cli, container: Container, tmp_path: Path,
) -> None:
    folder = tmp_path / "old-blobs"
    db_cli.set(BLOB_DIR=str(folder))
    policy = b"%PDF-1.7 Maria's 2024 policy"
    moved = await keep_on_disk(container, folder, policy, policy)
    damaged = await keep_on_disk(container, folder, b"%PDF-1.7 her EOB", b"%PDF-1.7 h3r E0B")
    missing = await keep_on_disk(container, folder, b"%PDF-1.7 a lost letter", None)
    stray = folder / "uploads" / "nobody" / "leftover"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"a file no document names")

    first = await db_cli.run_async("move-files")
    second = await db_cli.run_async("move-files")

    assert first.code == 1, first.err  # damaged and missing files need an operator
    assert "moved 1 file(s)" in first.err
    assert damaged in first.err and missing in first.err and "uploads/nobody/leftover" in first.err
    assert await container.blobs().get(moved) == policy
    assert not (folder / moved).exists()
    assert (folder / damaged).read_bytes() == b"%PDF-1.7 h3r E0B"  # left for an operator
    assert stray.exists()
    with pytest.raises(NotFound):
        await container.blobs().get(damaged)
    assert "moved 0 file(s)" in second.err


async def test_move_files_succeeds_when_every_file_arrives_intact(
    db_cli: Cli, container: Container, tmp_path: Path,
) -> None:
    folder = tmp_path / "old-blobs"
    db_cli.set(BLOB_DIR=str(folder))
    policy = b"%PDF-1.7 Maria's 2025 policy"
    key = await keep_on_disk(container, folder, policy, policy)

    result = await db_cli.run_async("move-files")

    assert result.code == 0, result.err
    assert "moved 1 file(s)" in result.out
    assert await container.blobs().get(key) == policy


async def test_move_files_with_no_files_on_disk_says_so(db_cli: Cli, tmp_path: Path) -> None:
    db_cli.set(BLOB_DIR=str(tmp_path / "never-used"))

    result = await db_cli.run_async("move-files")

    assert result.code == 0, result.err
    assert "nothing to move" in result.out


async def test_migrate_leaves_files_on_disk_alone(
    db_cli: Cli, container: Container, tmp_path: Path,
) -> None:
    folder = tmp_path / "old-blobs"
    db_cli.set(BLOB_DIR=str(folder))
    policy = b"%PDF-1.7 Maria's 2024 policy"
    key = await keep_on_disk(container, folder, policy, policy)

    result = await db_cli.run_async("migrate")

    assert result.code == 0, result.err
    assert "file" not in result.out + result.err
    assert (folder / key).read_bytes() == policy
    with pytest.raises(NotFound):
        await container.blobs().get(key)
