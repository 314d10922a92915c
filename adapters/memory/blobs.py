"""Blob store in a dict; stores a copy of the bytes."""

from __future__ import annotations

from adapters.blob_keys import check_blob_key
from domain.errors import NotFound


class InMemoryBlobStore:
    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}

    async def put(self, key: str, data: bytes) -> None:
        self._blobs[check_blob_key(key)] = bytes(data)

    async def get(self, key: str) -> bytes:
        try:
            return self._blobs[check_blob_key(key)]
        except KeyError:
            raise NotFound(f"no stored file {key!r}") from None

    async def delete(self, key: str) -> None:
        self._blobs.pop(check_blob_key(key), None)

    def __contains__(self, key: str) -> bool:
        return key in self._blobs

    def keys(self) -> list[str]:
        """The stored keys, sorted (for tests)."""
        return sorted(self._blobs)
