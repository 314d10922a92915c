"""Zip bombs dressed as Word documents: the unpacked size is what really comes out of
the decompressor, never what the zip says about itself.

The bombs are built here, small enough to run fast, against a lowered limit.
"""

from __future__ import annotations

import io
import re
import struct
import tracemalloc
import zipfile

import pytest

from adapters.parsers import docx as word
from adapters.parsers.docx import DAMAGED, TOO_LARGE, parse_docx
from domain.errors import PermanentError
from domain.units import MIB
from tests.unit.parsers.documents import word_document

#: The lowered limit (python-docx's own template parts take 0.8 MiB of it).
LIMIT = 2 * MIB
#: What the bomb's document.xml really unpacks to: 8 times the limit.
REAL_SIZE = 8 * LIMIT
#: What its headers claim.
DECLARED_SIZE = 1000


@pytest.fixture(autouse=True)
def _small_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(word, "MAX_UNPACKED_BYTES", LIMIT)


def test_a_word_document_whose_declared_sizes_are_forged_small_is_refused_as_too_large() -> None:
    bomb = forged_sizes(word_document_unpacking_to(REAL_SIZE), "word/document.xml",
                        DECLARED_SIZE)
    assert len(bomb) < LIMIT // 4, "the bomb itself is small"
    with pytest.raises(PermanentError, match=re.escape(TOO_LARGE)):
        parse_docx(bomb)


def test_checking_a_forged_zip_never_holds_more_than_a_sliver_of_what_it_unpacks_to() -> None:
    bomb = forged_sizes(word_document_unpacking_to(REAL_SIZE), "word/document.xml",
                        DECLARED_SIZE)
    tracemalloc.start()
    try:
        with pytest.raises(PermanentError):
            parse_docx(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < LIMIT, f"{peak:,} bytes allocated while refusing a {REAL_SIZE:,}-byte bomb"


def test_a_word_document_whose_real_size_differs_from_the_declared_one_is_damaged() -> None:
    # Under the limit, but lying about its size: python-docx would read a truncated part.
    liar = forged_sizes(word_document_unpacking_to(MIB), "word/document.xml",
                        DECLARED_SIZE)
    with pytest.raises(PermanentError, match=re.escape(DAMAGED)):
        parse_docx(liar)


def test_an_honest_word_document_under_the_limit_still_reads() -> None:
    pages = parse_docx(word_document_unpacking_to(MIB))
    assert pages[0].markdown.startswith("Your deductible is $250")


def test_a_word_document_cut_short_is_damaged() -> None:
    whole = word_document_unpacking_to(MIB)
    with zipfile.ZipFile(io.BytesIO(whole)) as archive:
        entry = archive.getinfo("word/document.xml")
    # Keep the central directory (so the zip opens) but zero the entry's deflate data.
    start = entry.header_offset + 30 + len(entry.filename) + len(entry.extra)
    cut = whole[:start] + bytes(entry.compress_size) + whole[start + entry.compress_size:]
    with pytest.raises(PermanentError, match=re.escape(DAMAGED)):
        parse_docx(cut)


# -- building the bombs --------------------------------------------------------------


def word_document_unpacking_to(size: int) -> bytes:
    """A real Word document whose document.xml is padded to ``size`` bytes (deflated)."""
    paragraph = b"<w:p><w:r><w:t>Your deductible is $250 a year.</w:t></w:r></w:p>"
    with zipfile.ZipFile(io.BytesIO(word_document())) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    xml = parts["word/document.xml"]
    body = xml.index(b"<w:body>") + len(b"<w:body>")
    filler = size - len(xml) - len(paragraph)
    parts["word/document.xml"] = (xml[:body] + paragraph + b" " * filler + xml[body:])[:size]
    assert len(parts["word/document.xml"]) == size
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


def forged_sizes(data: bytes, name: str, declared: int) -> bytes:
    """``data`` with ``name``'s unpacked size patched to ``declared`` in both of the
    places a zip states it (the local header and the central directory)."""
    out = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entry = archive.getinfo(name)
        central = archive.start_dir  # type: ignore[attr-defined]
    struct.pack_into("<L", out, entry.header_offset + 22, declared)
    position = central
    while out[position:position + 4] == b"PK\x01\x02":
        name_length, extra_length, comment_length = struct.unpack_from(
            "<3H", out, position + 28)
        if out[position + 46:position + 46 + name_length] == name.encode():
            struct.pack_into("<L", out, position + 24, declared)
            return bytes(out)
        position += 46 + name_length + extra_length + comment_length
    raise AssertionError(f"{name} not in the central directory")
