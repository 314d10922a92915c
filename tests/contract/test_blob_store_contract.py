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


async def _read(blobs: BlobStore, key: str, start: int = 0, end: int | None = None
                ) -> list[bytes]:
    return [part async for part in blobs.read(key, start, end)]


async def test_a_file_is_read_back_a_part_at_a_time_whole_or_any_range_of_it(
    blobs: BlobStore,
) -> None:
    # 2.5 MiB: three parts of the PostgreSQL store; the ranges cross their edges.
    data = b"".join(i.to_bytes(4, "big") for i in range(5 * MIB // 8)) + b"tail"
    await blobs.put(KEY, BytesFile(data))

    whole = await _read(blobs, KEY)
    assert b"".join(whole) == data
    assert max(len(part) for part in whole) <= MIB  # never the whole file at once
    for start, end in [(0, 10), (MIB - 3, MIB + 5), (2 * MIB - 1, None), (len(data) - 4, None),
                       (123_457, 2 * MIB + 17), (0, len(data) + 100)]:
        assert b"".join(await _read(blobs, KEY, start, end)) == data[start:end], (start, end)


async def test_reading_a_missing_file_is_not_found(blobs: BlobStore) -> None:
    with pytest.raises(NotFound):
        await _read(blobs, OTHER_KEY)
