"""Blob stores in memory; each stores a copy of the bytes.

``InMemoryBlobStore()`` stands alone, like object storage: a file is put before its
document is recorded. ``InMemoryBlobStore(store)`` keeps the files with the
documents of an :class:`InMemoryStore`, like the PostgreSQL file store: the queue
writes them when it records the document, and they go with it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from adapters.blob_keys import check_blob_key
from adapters.memory.store import InMemoryStore
from domain.errors import NotFound
from domain.files import PART_BYTES, UploadedFile, read_all


class InMemoryBlobStore:
    def __init__(self, store: InMemoryStore | None = None) -> None:
        self._store = store
        self._blobs: dict[str, bytes] = {}

    @property
    def kept_with_jobs(self) -> bool:
        return self._store is not None

    async def put(self, key: str, file: UploadedFile) -> None:
        check_blob_key(key)
        data = await read_all(file)
        if self._store is None:
            self._blobs[key] = data
            return
        document = self._store.document_with_key(key)
        if document is None:
            raise NotFound(f"no document has the file key {key!r}: a file is stored with "
                           "its document")
        self._store.files[document.document_id] = data

    async def get(self, key: str) -> bytes:
        check_blob_key(key)
        data = self._blobs.get(key) if self._store is None else self._kept(key)
        if data is None:
            raise NotFound(f"no stored file {key!r}")
        return data

    async def read(self, key: str, start: int = 0, end: int | None = None
                   ) -> AsyncIterator[bytes]:
        data = await self.get(key)
        end = len(data) if end is None else min(end, len(data))
        for at in range(start, end, PART_BYTES):
            yield data[at : min(at + PART_BYTES, end)]

    async def delete(self, key: str) -> None:
        check_blob_key(key)
        if self._store is None:
            self._blobs.pop(key, None)
            return
        document = self._store.document_with_key(key)
        if document is not None:
            self._store.files.pop(document.document_id, None)

    def _kept(self, key: str) -> bytes | None:
        assert self._store is not None
        document = self._store.document_with_key(key)
        return None if document is None else self._store.files.get(document.document_id)

    def __contains__(self, key: str) -> bool:
        if self._store is None:
            return key in self._blobs
        return self._kept(key) is not None

    def keys(self) -> list[str]:
        """The stored keys, sorted (for tests)."""
        if self._store is None:
            return sorted(self._blobs)
        return sorted(d.blob_key for d in self._store.documents.values()
                      if d.document_id in self._store.files)
