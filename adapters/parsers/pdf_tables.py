"""Ruled tables on a PDF page, read row by row from pdfium's rules and text positions.

A benefits chart is a table: the service on the left, what the member pays on the
right, each cell several lines long. Read in the file's text order, the lines of a
row's cells follow one another with nothing to say where a row ends, and the
chunker may cut between a service and its cost. Here each row becomes one line
instead, its cells separated by a tab (``service and its description<TAB>what you
pay``), which the chunker keeps whole (``domain.chunking``).

Why tabs and not a markdown pipe table: a tab is white space, so the row's words
read exactly as before to everything that compares text with its spacing
flattened (keyword search, highlights, quoted answers, the benchmarks' expected
phrases: "CALL 1-800-772-1213" still reads so when "CALL" and the number are two
cells), while the line and its tabs still say where the row and its cells are.

How a table is found (no guessing from the words):

- **Rules**: the thin filled or stroked paths at the page's top level, horizontal
  (at most ``RULE_THICKNESS`` high) or vertical (at most that wide). Rules within
  ``TOLERANCE`` of one another are one line; their extents are merged.
- **Rows**: a band between two horizontal lines that both run across the band's
  full width, crossed from top to bottom by at least three vertical lines (two
  cells or more). A short line inside a cell (an underline) is not a row border.
  Rows that share a border form one table.
- **Cells**: the text pdfium finds inside each cell's rectangle
  (``FPDFText_GetBoundedText``), its lines joined with spaces.
- **The rest of the page**: the text above, between and below the tables, in the
  file's order, as before; one line break (not a blank line) between it and a
  table, so the page stays one block for the chunker, as it was.

Safety: the page's text is laid out this way only if it holds exactly the
characters of the plain reading (white space aside): nothing dropped, nothing
read twice. Otherwise (text beside a table, a cell border through a word, a
table drawn in a way these rules do not see) the page keeps its plain text.
Tables drawn inside form objects, or as one rectangle path per cell outline, are
not seen either: those pages read as before.
"""

from __future__ import annotations

import ctypes
import itertools
from collections import Counter
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from pypdfium2 import PdfPage, PdfTextPage

# A rule is a path at most this thick (points); cell borders here are 2-4 pt with
# their stroke.
RULE_THICKNESS = 6.0
# Rules this close (points) are the same line; a band must be taller than this.
TOLERANCE = 3.0
# A row's top and bottom lines must cover this share of the row's width.
SPAN_SHARE = 0.9
# Fewer path objects than this cannot draw a two-cell row (2 lines across, 3 down).
_MIN_PATHS = 5


@attrs.frozen
class _Line:
    """A horizontal line at ``at`` (or vertical), covering ``extents`` along it."""

    at: float
    extents: tuple[tuple[float, float], ...]

    def covers(self, low: float, high: float, share: float = SPAN_SHARE) -> bool:
        covered = sum(
            max(0.0, min(high, e_high) - max(low, e_low)) for e_low, e_high in self.extents
        )
        return covered >= share * (high - low)


@attrs.frozen
class _Row:
    top: float
    bottom: float
    columns: tuple[float, ...]  # the x of each vertical border, left to right


CELL_SEPARATOR = "\t"


def page_text_with_tables(page: PdfPage, textpage: PdfTextPage, plain: str) -> str:
    """The page's text with each row of its ruled tables on a line of its own, cells
    separated by tabs; or ``plain`` (the page's text in the file's order) when it
    has no such table or the layout would change what the page says (see the
    module docstring)."""
    horizontal, vertical = _rules(page)
    if len(horizontal) < 2 or len(vertical) < 3:
        return plain
    tables = _tables(_rows(horizontal, vertical))
    if not tables:
        return plain
    laid_out = _lay_out(textpage, tables)
    return laid_out if _same_characters(laid_out, plain) else plain


def _rules(page: PdfPage) -> tuple[list[_Line], list[_Line]]:
    """The page's horizontal and vertical lines, each merged across its pieces."""
    import pypdfium2.raw as pdfium_c

    count = pdfium_c.FPDFPage_CountObjects(page.raw)
    if count < _MIN_PATHS:
        return [], []
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    across: list[tuple[float, float, float]] = []
    down: list[tuple[float, float, float]] = []
    for index in range(count):
        obj = pdfium_c.FPDFPage_GetObject(page.raw, index)
        if pdfium_c.FPDFPageObj_GetType(obj) != pdfium_c.FPDF_PAGEOBJ_PATH:
            continue
        if not pdfium_c.FPDFPageObj_GetBounds(obj, left, bottom, right, top):
            continue
        width, height = right.value - left.value, top.value - bottom.value
        if height <= RULE_THICKNESS < width:
            across.append(((top.value + bottom.value) / 2, left.value, right.value))
        elif width <= RULE_THICKNESS < height:
            down.append(((left.value + right.value) / 2, bottom.value, top.value))
    return _merged(across), _merged(down)


def _merged(pieces: list[tuple[float, float, float]]) -> list[_Line]:
    """Pieces (position, low, high) grouped into lines by position, extents joined."""
    lines: list[_Line] = []
    group: list[tuple[float, float, float]] = []
    for piece in sorted(pieces):
        if group and piece[0] - group[-1][0] > TOLERANCE:
            lines.append(_line(group))
            group = []
        group.append(piece)
    if group:
        lines.append(_line(group))
    return lines


def _line(group: list[tuple[float, float, float]]) -> _Line:
    extents: list[tuple[float, float]] = []
    for _, low, high in sorted(group, key=lambda piece: piece[1]):
        if extents and low <= extents[-1][1] + TOLERANCE:
            extents[-1] = (extents[-1][0], max(extents[-1][1], high))
        else:
            extents.append((low, high))
    return _Line(sum(piece[0] for piece in group) / len(group), tuple(extents))


def _rows(horizontal: list[_Line], vertical: list[_Line]) -> list[_Row]:
    """The table rows: bands between full-width lines, crossed by three lines or more."""
    levels = sorted(horizontal, key=lambda line: -line.at)  # top of the page first
    rows = []
    for i, upper in enumerate(levels):
        for lower in levels[i + 1 :]:
            if upper.at - lower.at <= TOLERANCE:
                continue
            columns = tuple(
                line.at for line in vertical
                if line.covers(lower.at + TOLERANCE, upper.at - TOLERANCE, share=1.0)
            )
            if len(columns) < 3:
                break
            if not upper.covers(columns[0], columns[-1]):
                break
            if lower.covers(columns[0], columns[-1]):
                rows.append(_Row(upper.at, lower.at, columns))
                break
    return rows


def _tables(rows: list[_Row]) -> list[list[_Row]]:
    """Rows sharing a border, top to bottom, grouped into tables."""
    tables: list[list[_Row]] = []
    for row in rows:
        if tables and abs(tables[-1][-1].bottom - row.top) <= TOLERANCE:
            tables[-1].append(row)
        else:
            tables.append([row])
    return tables


def _lay_out(textpage: PdfTextPage, tables: list[list[_Row]]) -> str:
    """The page top to bottom: the text between tables as it is, each table one
    line per row."""
    lines = []
    above = _FAR
    for table in tables:
        lines.append(_bounded(textpage, -_FAR, table[0].top, _FAR, above).strip())
        for row in table:
            cells = _cells(textpage, row)
            if any(cells):  # an empty first cell keeps its tab: the line is still a row
                lines.append(CELL_SEPARATOR.join(cells))
        above = table[-1].bottom
    lines.append(_bounded(textpage, -_FAR, -_FAR, _FAR, above).strip())
    return "\n".join(line for line in lines if line)


_FAR = 1.0e5  # beyond any page's edge


def _cells(textpage: PdfTextPage, row: _Row) -> list[str]:
    return [
        " ".join(_bounded(textpage, left, row.bottom, right, row.top).split())
        for left, right in itertools.pairwise(row.columns)
    ]


def _bounded(textpage: PdfTextPage, left: float, bottom: float, right: float,
             top: float) -> str:
    text: str = textpage.get_text_bounded(left, bottom, right, top)
    # pdfium's bounded text leaves a line-end hyphen as its raw marker, where the
    # text of the whole page has U+FFFE (which the parser turns back into "-").
    return text.replace(_RAW_LINE_HYPHEN, _LINE_HYPHEN)


_RAW_LINE_HYPHEN = "\x02"
_LINE_HYPHEN = "\ufffe"


def _same_characters(laid_out: str, plain: str) -> bool:
    """Both hold the same characters, white space aside."""
    return _characters(laid_out) == _characters(plain)


def _characters(text: str) -> Counter[str]:
    return Counter("".join(text.split()))
