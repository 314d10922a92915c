"""HTML pages to markdown with the standard library's ``html.parser``.

Headings become ``#`` lines, paragraphs stay paragraphs, list items become
``- `` (or ``1. ``) lines, tables become pipe tables, ``<pre>`` becomes a fenced
block. Scripts, styles, navigation and form controls are dropped; the
``<title>`` becomes the top heading when the page has no ``<h1>``. Entities are
decoded. One page: HTML has no pages.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from adapters.parsers.text import decode_text, pipe_table, tidy
from domain.model import ParsedPage

# Never the document's words. (``<title>`` is kept aside as a fallback heading.)
_SKIPPED = frozenset(
    {"script", "style", "nav", "noscript", "template", "svg", "iframe", "object", "title",
     "button", "select", "textarea", "canvas", "math"}
)
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_BLOCKS = frozenset(
    {"p", "div", "section", "article", "main", "header", "footer", "aside", "address",
     "figure", "figcaption", "dl", "dt", "dd", "details", "summary", "fieldset", "center",
     "body", "html"}
)
_CELLS = frozenset({"td", "th"})
_SPACE = re.compile(r"\s+")
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def parse_html(data: bytes) -> list[ParsedPage]:
    match = _CHARSET.search(data[:4096])
    declared = match.group(1).decode("ascii") if match else None
    markdown = html_to_markdown(decode_text(data, declared=declared))
    return [ParsedPage(number=1, markdown=markdown)] if markdown.strip() else []


def html_to_markdown(html: str) -> str:
    converter = _MarkdownConverter()
    converter.feed(html)
    converter.close()
    return converter.markdown()


class _Table:
    def __init__(self) -> None:
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def start_row(self) -> None:
        self.end_cell()
        self.rows.append([])

    def start_cell(self) -> None:
        self.end_cell()
        if not self.rows:
            self.rows.append([])
        self.cell = []

    def end_cell(self) -> None:
        if self.cell is not None:
            self.rows[-1].append(_SPACE.sub(" ", "".join(self.cell)).strip())
            self.cell = None

    def render(self) -> str:
        self.end_cell()
        return pipe_table(self.rows)

    def as_text(self) -> str:
        """A table inside a cell of another: its rows as ``a b; c d`` text."""
        self.end_cell()
        return "; ".join(" ".join(c for c in row if c) for row in self.rows if any(row))


class _MarkdownConverter(HTMLParser):
    """Collects markdown blocks; inline text is gathered until a block ends."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._blocks: list[tuple[str, bool]] = []  # (markdown, follows an item of its list)
        self._inline: list[str] = []
        self._prefix = ""
        self._is_item = False
        self._joins_list = False  # the next item continues a list already written
        self._skip_depth = 0
        self._lists: list[list[int | None]] = []  # per open list: [next number or None]
        self._tables: list[_Table] = []
        self._pre_depth = 0
        self._quote_depth = 0
        self._title: list[str] = []
        self._in_title = False
        self._saw_h1 = False

    # --- parser callbacks -------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title" and not self._skip_depth and not self._title:
            self._in_title = True
        if tag in _SKIPPED:
            self._skip_depth += 1
            return
        if self._skip_depth:
            return
        if self._tables and self._start_in_table(tag):
            return
        if tag in _HEADINGS:
            self._flush()
            self._saw_h1 = self._saw_h1 or tag == "h1"
            self._prefix = "#" * _HEADINGS[tag] + " "
        elif tag in ("ul", "ol"):
            self._flush()
            self._joins_list = bool(self._lists)  # a nested list hangs on its parent item
            self._lists.append([1 if tag == "ol" else None])
        elif tag == "li":
            self._flush()
            self._start_item()
        elif tag == "table":
            self._flush()
            self._tables.append(_Table())
        elif tag == "pre":
            self._flush()
            self._pre_depth += 1
        elif tag == "blockquote":
            self._flush()
            self._quote_depth += 1
        elif tag == "br":
            self._inline.append("\n")
        elif tag == "hr":
            self._flush()
            self._blocks.append(("---", False))
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt and alt.strip():
                self._inline.append(f" {alt.strip()} ")
        elif tag in _BLOCKS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in _SKIPPED:
            self._skip_depth = max(0, self._skip_depth - 1)
            return
        if self._skip_depth:
            return
        if self._tables and self._end_in_table(tag):
            return
        if tag in ("ul", "ol"):
            self._flush()
            if self._lists:
                self._lists.pop()
            self._joins_list = bool(self._lists)
        elif tag == "pre":
            self._flush_pre()
            self._pre_depth = max(0, self._pre_depth - 1)
        elif tag == "blockquote":
            self._flush()
            self._quote_depth = max(0, self._quote_depth - 1)
        elif tag in _HEADINGS or tag == "li":
            self._flush()
            self._end_prefix()
        elif tag in _BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self._title.append(data)
        if self._skip_depth:
            return
        if not self._pre_depth:
            data = _SPACE.sub(" ", data)
        if self._tables and self._tables[-1].cell is not None:
            self._tables[-1].cell.append(data)
        else:
            self._inline.append(data)

    # --- tables -------------------------------------------------------------------------

    def _start_in_table(self, tag: str) -> bool:
        table = self._tables[-1]
        if tag == "table":  # a table inside a cell: its cells become text of that cell
            self._tables.append(_Table())
        elif tag == "tr":
            table.start_row()
        elif tag in _CELLS:
            table.start_cell()
        elif table.cell is not None:  # inside a cell everything is text of the cell
            table.cell.append(" ")
        else:
            return False
        return True

    def _end_in_table(self, tag: str) -> bool:
        table = self._tables[-1]
        if tag == "table":
            self._tables.pop()
            if self._tables and self._tables[-1].cell is not None:
                self._tables[-1].cell.append(f" {table.as_text()} ")
            elif rendered := table.render():
                self._flush()
                self._blocks.append((rendered, False))
        elif tag in _CELLS or tag == "tr":
            table.end_cell()
        elif table.cell is not None:
            table.cell.append(" ")
        else:
            return False
        return True

    # --- blocks -------------------------------------------------------------------------

    def _start_item(self) -> None:
        depth = max(0, len(self._lists) - 1)
        number = self._lists[-1][0] if self._lists else None
        if number is None:
            marker = "- "
        else:
            marker = f"{number}. "
            self._lists[-1][0] = number + 1
        self._prefix = "  " * depth + marker
        self._is_item = self._joins_list
        self._joins_list = True

    def _flush(self) -> None:
        if self._pre_depth:
            return
        raw = "".join(self._inline)
        self._inline = []
        lines = [_SPACE.sub(" ", line).strip() for line in raw.split("\n")]
        text = "\n".join(line for line in lines if line)
        if text:
            if self._quote_depth:
                text = "\n".join("> " + line for line in text.split("\n"))
            self._blocks.append((self._prefix + text, self._is_item))
            self._end_prefix()

    def _end_prefix(self) -> None:
        """A heading or list marker waits for its text (``<li><p>text``) until used
        or until its element ends."""
        self._prefix = ""
        self._is_item = False

    def _flush_pre(self) -> None:
        code = "".join(self._inline).strip("\n")
        self._inline = []
        if code.strip():
            self._blocks.append((f"```\n{code}\n```", False))

    def markdown(self) -> str:
        if self._pre_depth:  # a <pre> never closed holds the rest of the page
            self._flush_pre()
            self._pre_depth = 0
        self._flush()
        for table in reversed(self._tables):  # a table never closed
            rendered = table.render()
            if rendered:
                self._blocks.append((rendered, False))
        self._tables = []
        title = _SPACE.sub(" ", "".join(self._title)).strip()
        if title and not self._saw_h1:
            self._blocks.insert(0, (f"# {title}", False))
        parts: list[str] = []
        for text, joins_list in self._blocks:
            if parts:
                parts.append("\n" if joins_list else "\n\n")
            parts.append(text)
        return tidy("".join(parts))
