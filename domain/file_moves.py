"""Use case: move the files an earlier version kept on a local disk into the file store.

Earlier versions kept each upload in ``NAVIGATOR_HOME/blobs`` (or ``BLOB_DIR``) on the
API's machine. The business rule is that no member's file is lost on the way:

- a file is copied only if its bytes still hash to the document's SHA-256; it is
  read back from the store and checked again before the local copy is removed;
- a document whose file is already in the store keeps that file (the local copy,
  if any, is then removed, since it is a duplicate of a verified file);
- a damaged local file, or one no document names, is left where it is and
  reported, for an operator to look at;
- a document whose file is nowhere is reported (its job cannot be processed).

Running it again is safe: each run moves only what is still on disk.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import attrs

from domain.errors import NotFound
from domain.files import BytesFile
from domain.ports import BlobStore


@attrs.frozen
class StoredDocument:
    """What the move needs of a document: its file's key and the file's hash."""

    blob_key: str
    sha256: str


class LocalFiles(Protocol):
    """The old folder of files: read, list and remove by key."""

    async def get(self, key: str) -> bytes:
        ...

    async def delete(self, key: str) -> None:
        ...

    def stored_keys(self) -> list[str]:
        ...


@attrs.frozen
class FileMoveReport:
    moved: tuple[str, ...] = ()
    already_stored: tuple[str, ...] = ()
    damaged: tuple[str, ...] = ()        # on disk, but not the bytes the document names
    missing: tuple[str, ...] = ()        # a document whose file is nowhere
    unclaimed: tuple[str, ...] = ()      # on disk, named by no document

    @property
    def lost_nothing(self) -> bool:
        return not (self.damaged or self.missing)


@attrs.frozen
class MoveFilesIntoStore:
    source: LocalFiles
    target: BlobStore

    async def __call__(self, documents: Iterable[StoredDocument]) -> FileMoveReport:
        moved, already, damaged, missing = [], [], [], []
        named = set()
        for document in documents:
            key = document.blob_key
            named.add(key)
            if await self._stored(key, document.sha256):
                if await self._on_disk(key) is not None:
                    await self.source.delete(key)
                already.append(key)
                continue
            data = await self._on_disk(key)
            if data is None:
                missing.append(key)
            elif BytesFile(data).sha256 != document.sha256:
                damaged.append(key)
            else:
                await self.target.put(key, BytesFile(data))
                if not await self._stored(key, document.sha256):
                    raise RuntimeError(f"the file store did not keep {key!r} intact; "
                                       "nothing was removed from disk")
                await self.source.delete(key)
                moved.append(key)
        unclaimed = [key for key in self.source.stored_keys() if key not in named]
        return FileMoveReport(tuple(moved), tuple(already), tuple(damaged), tuple(missing),
                              tuple(unclaimed))

    async def _stored(self, key: str, sha256: str) -> bool:
        try:
            return BytesFile(await self.target.get(key)).sha256 == sha256
        except NotFound:
            return False

    async def _on_disk(self, key: str) -> bytes | None:
        try:
            return await self.source.get(key)
        except NotFound:
            return None
