"""Word documents (.docx) to markdown with python-docx.

Heading styles become ``#`` headings, list paragraphs become ``- `` or ``1. ``
items (nested by level), tables become pipe tables, in document order. One
page: a .docx has no stable pages (they depend on the printer and fonts).
"""

from __future__ import annotations

import io
import re
import zipfile
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

# A .docx is a zip: refuse one that would unpack into more than this (a zip bomb).
MAX_UNPACKED_BYTES = 512 * 1024 * 1024
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
    if sum(e.file_size for e in entries) > MAX_UNPACKED_BYTES:
        raise PermanentError(TOO_LARGE)


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

