"""Plain text and markdown: decode the bytes, keep the words as they are.

Also home of the small text helpers the other local parsers share: decoding
bytes that claim to be text, and tidying extracted text (line endings, stray
control characters) without changing what it says.
"""

from __future__ import annotations

import codecs
import re

from domain.errors import PermanentError
from domain.model import ParsedPage
from domain.upload_policy import reads_as_text

NOT_TEXT = (
    "this file is not readable text (it looks like binary data); upload a PDF, "
    "a Word document, an HTML page or a plain text file"
)

# UTF-32 before UTF-16: the UTF-32 LE mark starts with the UTF-16 LE one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# Control characters other than tab, line feed and carriage return (which are
# kept or normalised): never part of a document's words, and PostgreSQL text
# cannot hold NUL at all.
_CONTROLS: dict[int, str | None] = {
    c: None for c in (*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F)
}
_CONTROLS[0x0C] = "\n"  # form feed: a page break in plain text, keep it as a line break
_CONTROLS[0xFEFF] = None  # a byte order mark in the middle of text


def decode_text(data: bytes, declared: str | None = None) -> str:
    """Decode bytes that should be text, or raise ``PermanentError``.

    A byte order mark wins; then UTF-8; then ``declared`` (an HTML page's own
    charset); then Windows-1252 and Latin-1, but only if the result reads as text.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return _checked(data.decode(codec))
            except UnicodeDecodeError as exc:
                raise PermanentError(NOT_TEXT) from exc
    candidates = ["utf-8", *([declared] if declared else []), "cp1252", "latin-1"]
    for codec in candidates:
        try:
            text = data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
        return _checked(text)
    raise PermanentError(NOT_TEXT)  # pragma: no cover - latin-1 decodes any bytes


def _checked(text: str) -> str:
    if "\x00" in text or not reads_as_text(text):
        raise PermanentError(NOT_TEXT)
    return text


def normalise_newlines(text: str) -> str:
    """``\\r\\n`` and lone ``\\r`` become ``\\n``; control characters go."""
    return text.replace("\r\n", "\n").replace("\r", "\n").translate(_CONTROLS)


_TRAILING_SPACE = re.compile(r"[ \t]+$", re.MULTILINE)
_BLANK_RUNS = re.compile(r"\n{3,}")


def tidy(text: str) -> str:
    """Newlines normalised, trailing spaces dropped, at most one blank line in a row."""
    text = _TRAILING_SPACE.sub("", normalise_newlines(text))
    return _BLANK_RUNS.sub("\n\n", text).strip("\n")


def pipe_table(rows: list[list[str]]) -> str:
    """A markdown pipe table; the first row is the header, empty rows are dropped."""
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    lines = [_pipe_row([*row, *[""] * (width - len(row))]) for row in rows]
    lines.insert(1, "|" + " --- |" * width)
    return "\n".join(lines)


def _pipe_row(cells: list[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def parse_text(data: bytes) -> list[ParsedPage]:
    """A plain text file: one page, the words unchanged (line endings normalised)."""
    return _one_page(tidy(decode_text(data)))


def parse_markdown(data: bytes) -> list[ParsedPage]:
    """A markdown file is already what we want: one page, kept as written.

    Only line endings and control characters change; trailing spaces stay,
    since two of them are a line break in markdown.
    """
    return _one_page(normalise_newlines(decode_text(data)).strip("\n"))


def _one_page(text: str) -> list[ParsedPage]:
    return [ParsedPage(number=1, markdown=text)] if text.strip() else []
