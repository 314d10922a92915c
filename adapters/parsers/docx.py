"""Word documents (.docx) to markdown with python-docx.

Heading styles become ``#`` headings, list paragraphs become ``- `` or ``1. ``
items (nested by level), tables become pipe tables, in document order. One
page: a .docx has no stable pages (they depend on the printer and fonts).
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from adapters.parsers.text import pipe_table, tidy
from domain.errors import PermanentError
from domain.model import ParsedPage

if TYPE_CHECKING:
    from docx.document import Document as WordDocument
    from docx.table import Table
    from docx.text.paragraph import Paragraph

NOT_A_DOCX = (
    "this file is named like a Word document but is not one; open it in your word "
    "processor, save it as a .docx (or export a PDF) and upload that copy"
)
DAMAGED = (
    "this Word document is damaged and cannot be read; open it in your word processor, "
    "save it again and upload that copy"
)
TOO_LARGE = "this Word document is too large once unpacked; split it or export it as a PDF"

# A .docx is a zip: refuse one that would unpack into more than this (a zip bomb),
# counted as the bytes come out of the decompressor (never the sizes the zip declares).
MAX_UNPACKED_BYTES = 512 * 1024 * 1024
_INFLATE_STEP = 256 * 1024
_ENCRYPTED = 0x1
# A zip entry's local header (APPNOTE 4.3.7): signature, version, flags, method, time,
# date, CRC-32, compressed size, size, file name length, extra field length.
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_LOCAL_SIGNATURE = b"PK\x03\x04"
_HEADING = re.compile(r"^heading (\d)$", re.IGNORECASE)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_STYLE_LIST = "style:"


def parse_docx(data: bytes) -> list[ParsedPage]:
    _check_is_docx(data)
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
        markdown = _document_markdown(document)
    except Exception as exc:  # python-docx and lxml raise many kinds on a broken file
        raise PermanentError(DAMAGED) from exc
    return [ParsedPage(number=1, markdown=markdown)] if markdown.strip() else []


def _check_is_docx(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise PermanentError(NOT_A_DOCX) from exc
    if not any(e.filename == "word/document.xml" for e in entries):
        raise PermanentError(NOT_A_DOCX)
    _check_unpacked_sizes(data, entries)


def _check_unpacked_sizes(data: bytes, entries: list[zipfile.ZipInfo]) -> None:
    """Inflate every entry, counting the bytes that really come out, and refuse the
    file once they pass ``MAX_UNPACKED_BYTES``.

    The sizes a zip declares are never trusted: a zip bomb patches them small. Each
    entry's deflate stream is read from its local header to the stream's own end
    marker, ``_INFLATE_STEP`` bytes of output at a time, so no more than one step is
    ever held in memory. An entry whose real size is not the size it declares is
    damaged (python-docx would read a truncated part and fail on its checksum).
    """
    budget = MAX_UNPACKED_BYTES
    for entry in entries:
        size = _inflated_size(data, entry, budget)
        if size > budget:
            raise PermanentError(TOO_LARGE)
        if size != entry.file_size:
            raise PermanentError(DAMAGED)
        budget -= size


def _inflated_size(data: bytes, entry: zipfile.ZipInfo, budget: int) -> int:
    """How many bytes ``entry`` unpacks to, counting no further than ``budget + 1``."""
    if entry.flag_bits & _ENCRYPTED:
        raise PermanentError(DAMAGED)
    start = _data_offset(data, entry)
    if entry.compress_type == zipfile.ZIP_STORED:
        return min(entry.compress_size, len(data) - start)
    if entry.compress_type != zipfile.ZIP_DEFLATED:  # Word only writes these two
        raise PermanentError(DAMAGED)
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, as in a zip
    view = memoryview(data)
    position, size = start, 0
    try:
        while not inflater.eof and size <= budget:
            chunk = view[position:position + _INFLATE_STEP]
            position += len(chunk)
            # At the end of the data, an empty chunk drains what zlib still holds.
            produced = len(inflater.decompress(chunk, _INFLATE_STEP))
            while inflater.unconsumed_tail and not inflater.eof and size + produced <= budget:
                produced += len(inflater.decompress(inflater.unconsumed_tail, _INFLATE_STEP))
            size += produced
            if not chunk and not produced and not inflater.eof:
                raise PermanentError(DAMAGED)  # the data ended before the stream did
    except zlib.error as exc:
        raise PermanentError(DAMAGED) from exc
    return size


def _data_offset(data: bytes, entry: zipfile.ZipInfo) -> int:
    """Where ``entry``'s compressed bytes start: after its local header."""
    header = data[entry.header_offset:entry.header_offset + _LOCAL_HEADER.size]
    if len(header) < _LOCAL_HEADER.size:
        raise PermanentError(DAMAGED)
    signature, *_, name_length, extra_length = _LOCAL_HEADER.unpack(header)
    if signature != _LOCAL_SIGNATURE:
        raise PermanentError(DAMAGED)
    return entry.header_offset + _LOCAL_HEADER.size + name_length + extra_length


def _document_markdown(document: WordDocument) -> str:
    from docx.table import Table

    lists = _ListNumbers(_bullet_levels(document))
    blocks: list[str] = []
    previous_list: str | None = None
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            text, in_list = _table_markdown(block), None
        else:
            text, in_list = _paragraph_markdown(block, lists)
        if not text.strip():
            continue
        if blocks:  # items of one list stay together; anything else is its own block
            blocks.append("\n" if in_list is not None and in_list == previous_list else "\n\n")
        blocks.append(text)
        previous_list = in_list
    return tidy("".join(blocks))


def _paragraph_markdown(paragraph: Paragraph, lists: _ListNumbers) -> tuple[str, str | None]:
    """The paragraph as markdown, and the list it is an item of (None: not an item)."""
    text = paragraph.text.strip()
    if not text:
        return "", None
    style = paragraph.style.name if paragraph.style is not None else ""
    style = style or ""
    heading = _HEADING.match(style)
    if heading:
        return "#" * min(6, int(heading.group(1))) + " " + _one_line(text), None
    if style == "Title":
        return "# " + _one_line(text), None
    if style == "Subtitle":
        return "## " + _one_line(text), None
    item = lists.marker(paragraph, style)
    if item is None:
        lists.interrupt()
        return text, None
    marker, list_key = item
    return marker + _one_line(text), list_key


def _one_line(text: str) -> str:
    return " ".join(text.split())


class _ListNumbers:
    """Markers for list paragraphs: ``- `` for bullets, running numbers otherwise."""

    def __init__(self, bullets: dict[tuple[str, int], bool]) -> None:
        self._bullets = bullets
        self._counters: dict[tuple[str, int], int] = {}

    def marker(self, paragraph: Paragraph, style: str) -> tuple[str, str] | None:
        """The item's marker and the key of its list, or None for a plain paragraph."""
        num_id, level = _numbering_of(paragraph)
        if num_id is None:
            key = _STYLE_LIST + style
            if style.startswith("List Bullet"):
                return "- ", key
            if style.startswith("List Number"):
                return self._next(key, 0), key
            return None
        indent = "  " * level
        if self._bullets.get((num_id, level), not style.startswith("List Number")):
            return indent + "- ", num_id
        return indent + self._next(num_id, level), num_id

    def _next(self, key: str, level: int) -> str:
        number = self._counters.get((key, level), 0) + 1
        self._counters[(key, level)] = number
        for deeper in [k for k in self._counters if k[0] == key and k[1] > level]:
            del self._counters[deeper]
        return f"{number}. "

    def interrupt(self) -> None:
        """Ordinary text between items: a style-numbered list starts again after it.
        (A list numbered in numbering.xml keeps counting, as Word does.)"""
        for key in [k for k in self._counters if k[0].startswith(_STYLE_LIST)]:
            del self._counters[key]


def _numbering_of(paragraph: Paragraph) -> tuple[str | None, int]:
    ppr = paragraph._p.pPr
    num_pr: Any = ppr.numPr if ppr is not None else None  # python-docx types it loosely
    if num_pr is None or num_pr.numId is None:
        return None, 0
    num_id = str(num_pr.numId.val)
    if num_id == "0":  # numbering explicitly switched off
        return None, 0
    level = int(num_pr.ilvl.val) if num_pr.ilvl is not None else 0
    return num_id, level


def _bullet_levels(document: WordDocument) -> dict[tuple[str, int], bool]:
    """(numId, level) → is it a bullet (rather than a number) in numbering.xml."""
    try:
        numbering = document.part.numbering_part.element
    except (KeyError, NotImplementedError, AttributeError):
        return {}
    abstract: dict[str, dict[int, bool]] = {}
    for node in numbering.iterchildren(f"{_W}abstractNum"):
        levels = {}
        for lvl in node.iterchildren(f"{_W}lvl"):
            fmt = lvl.find(f"{_W}numFmt")
            levels[int(lvl.get(f"{_W}ilvl", "0"))] = (
                fmt is not None and fmt.get(f"{_W}val") in ("bullet", "none")
            )
        abstract[node.get(f"{_W}abstractNumId", "")] = levels
    result: dict[tuple[str, int], bool] = {}
    for num in numbering.iterchildren(f"{_W}num"):
        ref = num.find(f"{_W}abstractNumId")
        if ref is None:
            continue
        for level, is_bullet in abstract.get(ref.get(f"{_W}val", ""), {}).items():
            result[(num.get(f"{_W}numId", ""), level)] = is_bullet
    return result


def _table_markdown(table: Table) -> str:
    return pipe_table(list(_table_rows(table)))


def _table_rows(table: Table) -> Iterator[list[str]]:
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            # a cell spanning several grid columns comes back once per column
            cells.append("" if cell._tc is previous else _one_line(cell.text))
            previous = cell._tc
        yield cells

