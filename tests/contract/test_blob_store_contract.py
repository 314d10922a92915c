"""The blob store's contract, in memory and on the file system."""

from __future__ import annotations

import asyncio

import pytest

from domain.errors import NotFound
from domain.ports import BlobStore

KEY = "uploads/3f2a/9c1e0b"


async def test_stored_bytes_come_back_unchanged(blobs: BlobStore) -> None:
    data = bytes(range(256)) * 64

    await blobs.put(KEY, data)

    assert await blobs.get(KEY) == data


async def test_changing_the_callers_buffer_does_not_change_the_stored_file(
    blobs: BlobStore,
) -> None:
    buffer = bytearray(b"summary of benefits")
    await blobs.put(KEY, buffer)  # type: ignore[arg-type]

    buffer[:7] = b"XXXXXXX"

    assert await blobs.get(KEY) == b"summary of benefits"


async def test_putting_a_key_again_replaces_its_bytes(blobs: BlobStore) -> None:
    await blobs.put(KEY, b"first version")
    await blobs.put(KEY, b"second")

    assert await blobs.get(KEY) == b"second"


async def test_a_missing_or_deleted_file_is_not_found(blobs: BlobStore) -> None:
    await blobs.put(KEY, b"x")
    await blobs.delete(KEY)
    await blobs.delete(KEY)  # deleting twice is fine

    with pytest.raises(NotFound):
        await blobs.get(KEY)
    with pytest.raises(NotFound):
        await blobs.get("uploads/never/stored")


@pytest.mark.parametrize("key", ["../etc/passwd", "/absolute", "uploads/../x", "a b", ""])
async def test_a_key_that_could_escape_the_store_is_refused(blobs: BlobStore, key: str) -> None:
    with pytest.raises(ValueError):
        await blobs.put(key, b"x")


async def test_the_same_file_stored_twice_at_once_is_stored_whole(blobs: BlobStore) -> None:
    data = bytes(range(256)) * 40_000  # 10 MB: the two writes overlap

    await asyncio.gather(*(blobs.put(KEY, data) for _ in range(4)))

    assert await blobs.get(KEY) == data
