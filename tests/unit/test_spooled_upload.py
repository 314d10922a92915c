"""An upload kept aside on disk while it is checked and stored: what is read back is
exactly what arrived, however it is read."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest

from adapters.spooled_upload import SpooledUpload
from domain.model import MediaType
from domain.upload_policy import sniff_media_type

BODY = b"".join(n.to_bytes(4, "big") for n in range(300_000))  # 1.2 MB, not a part multiple


def received(data: bytes, chunk: int = 65_536) -> SpooledUpload:
    upload = SpooledUpload()
    for start in range(0, len(data), chunk):
        upload.write(data[start:start + chunk])
    return upload.finish()


async def test_the_parts_read_back_are_the_bytes_that_arrived_with_their_hash() -> None:
    with received(BODY) as upload:
        parts = [part async for part in upload.parts(500_000)]

        assert [len(p) for p in parts] == [500_000, 500_000, 200_000]
        assert b"".join(parts) == BODY
        assert (upload.size, upload.sha256) == (len(BODY), hashlib.sha256(BODY).hexdigest())


def test_readers_keep_their_own_places() -> None:
    with received(BODY) as upload:
        first, second = upload.reader(), upload.reader()
        first.read(1000)

        assert second.read(8) == BODY[:8]
        assert first.read(8) == BODY[1000:1008]
        assert upload.head(4) == BODY[:4]


def test_a_word_document_is_recognised_from_the_file_on_disk() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")

    with received(buffer.getvalue(), chunk=7) as upload:
        assert sniff_media_type(upload, "benefits.docx") is MediaType.DOCX


def test_nothing_more_can_be_written_once_the_upload_is_finished() -> None:
    with received(b"%PDF-1.7") as upload, pytest.raises(ValueError):
        upload.write(b"more")


async def test_a_small_upload_stays_in_memory_and_reads_back_the_same() -> None:
    small = BODY[:10_000]
    with received(small, chunk=999) as upload:
        parts = [part async for part in upload.parts(4096)]
        reader = upload.reader()
        reader.seek(9_990)

        assert not upload.on_disk
        assert b"".join(parts) == small
        assert [len(p) for p in parts] == [4096, 4096, 1808]
        assert reader.read() == small[9_990:]
        assert upload.head(6) == small[:6]
        assert upload.sha256 == hashlib.sha256(small).hexdigest()


@pytest.mark.parametrize("cut", [1, 99, 100, 101, 250])
async def test_an_upload_that_outgrows_memory_moves_to_disk_whole(cut: int) -> None:
    data = BODY[:300]
    upload = SpooledUpload(memory_bytes=100)
    with upload:
        upload.write(data[:cut])
        upload.write(data[cut:])
        upload.finish()
        parts = [part async for part in upload.parts(128)]

        assert upload.on_disk
        assert b"".join(parts) == data
        assert upload.reader().read() == data
        assert (upload.size, upload.sha256) == (300, hashlib.sha256(data).hexdigest())


def test_an_upload_the_size_of_memory_exactly_stays_there() -> None:
    upload = SpooledUpload(memory_bytes=100)
    with upload:
        upload.write(BODY[:60])
        upload.write(BODY[60:100])
        upload.finish()

        assert not upload.on_disk
        assert upload.head(200) == BODY[:100]
