"""Moving files from the old folder into the store loses none, even when the store
does not keep what it was given."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from adapters.filesystem_blobs import FilesystemBlobStore
from adapters.memory.blobs import InMemoryBlobStore
from domain.file_moves import MoveFilesIntoStore, StoredDocument
from domain.files import BytesFile, UploadedFile

KEY = "uploads/5c1d/0a9e"
POLICY = b"%PDF-1.7 Omar's 2023 dental policy"


class ForgetfulStore(InMemoryBlobStore):
    """Says it stored the file, keeps only half of it."""

    async def put(self, key: str, file: UploadedFile) -> None:
        data = b"".join([part async for part in file.parts()])
        await super().put(key, BytesFile(data[: len(data) // 2]))


async def old_folder(tmp_path: Path) -> FilesystemBlobStore:
    folder = FilesystemBlobStore(tmp_path / "blobs")
    await folder.put(KEY, BytesFile(POLICY))
    return folder


async def test_a_file_the_store_did_not_keep_intact_stays_on_disk(tmp_path: Path) -> None:
    folder = await old_folder(tmp_path)
    document = StoredDocument(KEY, hashlib.sha256(POLICY).hexdigest())

    with pytest.raises(RuntimeError, match="intact"):
        await MoveFilesIntoStore(folder, ForgetfulStore())([document])

    assert await folder.get(KEY) == POLICY


async def test_a_file_already_in_the_store_is_not_copied_again_and_leaves_the_disk(
    tmp_path: Path,
) -> None:
    folder = await old_folder(tmp_path)
    store = InMemoryBlobStore()
    await store.put(KEY, BytesFile(POLICY))

    report = await MoveFilesIntoStore(folder, store)(
        [StoredDocument(KEY, hashlib.sha256(POLICY).hexdigest())])

    assert (report.moved, report.already_stored) == ((), (KEY,))
    assert folder.stored_keys() == []
