"""The blob store's contract: in memory (alone, and kept with the documents), on the
file system, in PostgreSQL and in S3-compatible object storage (moto on 127.0.0.1)."""

from __future__ import annotations

import asyncio

import pytest

from domain.errors import NotFound
from domain.files import BytesFile
from domain.ports import BlobStore
from domain.units import MIB
from tests.contract.conftest import BLOB_KEYS

KEY, OTHER_KEY = BLOB_KEYS


async def test_stored_bytes_come_back_unchanged(blobs: BlobStore) -> None:
    data = bytes(range(256)) * 64

    await blobs.put(KEY, BytesFile(data))

    assert await blobs.get(KEY) == data


async def test_a_file_larger_than_a_part_comes_back_whole_and_in_order(
    blobs: BlobStore,
) -> None:
    # 11 MiB: three parts of the PostgreSQL store and of an S3 multipart upload (5 MiB).
    data = b"".join(i.to_bytes(4, "big") for i in range(11 * MIB // 4)) + b"end"

    await blobs.put(KEY, BytesFile(data))

    assert await blobs.get(KEY) == data


async def test_changing_the_callers_buffer_does_not_change_the_stored_file(
    blobs: BlobStore,
) -> None:
    buffer = bytearray(b"summary of benefits")
    await blobs.put(KEY, BytesFile(buffer))

    buffer[:7] = b"XXXXXXX"

    assert await blobs.get(KEY) == b"summary of benefits"


async def test_putting_a_key_again_replaces_its_bytes(blobs: BlobStore) -> None:
    await blobs.put(KEY, BytesFile(b"first version"))
    await blobs.put(KEY, BytesFile(b"second"))

    assert await blobs.get(KEY) == b"second"


async def test_each_key_keeps_its_own_file(blobs: BlobStore) -> None:
    await blobs.put(KEY, BytesFile(b"Maria's policy"))
    await blobs.put(OTHER_KEY, BytesFile(b"Maria's EOB"))
    await blobs.delete(KEY)

    assert await blobs.get(OTHER_KEY) == b"Maria's EOB"


async def test_a_missing_or_deleted_file_is_not_found(blobs: BlobStore) -> None:
    await blobs.put(KEY, BytesFile(b"x"))
    await blobs.delete(KEY)
    await blobs.delete(KEY)  # deleting twice is fine

    with pytest.raises(NotFound):
        await blobs.get(KEY)
    with pytest.raises(NotFound):
        await blobs.get("uploads/never/stored")


@pytest.mark.parametrize("key", ["../etc/passwd", "/absolute", "uploads/../x", "a b", ""])
async def test_a_key_that_could_escape_the_store_is_refused(blobs: BlobStore, key: str) -> None:
    with pytest.raises(ValueError):
        await blobs.put(key, BytesFile(b"x"))


async def test_the_same_file_stored_twice_at_once_is_stored_whole(blobs: BlobStore) -> None:
    data = bytes(range(256)) * 40_000  # 10 MB: the two writes overlap

    await asyncio.gather(*(blobs.put(KEY, BytesFile(data)) for _ in range(4)))

    assert await blobs.get(KEY) == data
