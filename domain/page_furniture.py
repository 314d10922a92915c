"""Removing page furniture before chunking: running headers, footers, page numbers.

A printed booklet repeats the same lines on page after page: the document's
title, the chapter banner, the page number, the header row of a table that runs
over many pages. Left in, they fill every chunk with the same words, so a
search for any of them finds every page, and they crowd out the words that
answer a question.

The business rules:

- A line is compared with digits ignored ("Evidence of Coverage 19" and
  "Evidence of Coverage 20" are the same line), case and spacing too.
- A line is *furniture* when it stands at the edge of a page (among its first or
  last ``edge_lines`` non-blank lines) on at least ``min_pages`` pages, and at
  least ``edge_share`` of all its appearances are at an edge. So a line that
  repeats in the body ("Prior authorization rules apply") is never furniture.
- Only runs of furniture touching the top or the bottom of a page are removed;
  the same words in the middle of a page stay.
- The first appearance of each furniture line is kept, so the title, a
  chapter's banner on its first page and a table's header row on the table's
  first page are still read once.
- Pages keep their numbers; a page left with nothing stays (blank), so chunk
  page numbers are still those of the file.
- A table's rows below its first are content, never furniture, however often
  they repeat: a contact table's "FAX 1-562-989-5181" row under every department
  stays. Only a table's first row (its header) and a pipe table's ``| --- |``
  row can be, so a chart's header row repeated on each page goes like any
  running header. A table row is a line of tab-separated cells (how the PDF
  parser writes a chart's rows) or a markdown pipe-table line
  (:func:`is_table_row`).
- A document with fewer than ``min_pages`` pages has no furniture.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter

import attrs

from domain.model import ParsedDocument, ParsedPage

_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")
# A pipe table's delimiter row: "| --- | :---: |", "|---|---|".
_DELIMITER = re.compile(r"^\|(?:\s*:?-+:?\s*\|)+$")


@attrs.frozen
class FurnitureRules:
    """How often and where a line must repeat to count as page furniture."""

    min_pages: int = attrs.field(default=3, validator=attrs.validators.ge(2))
    edge_lines: int = attrs.field(default=6, validator=attrs.validators.ge(1))
    edge_share: float = attrs.field(
        default=0.8, validator=[attrs.validators.gt(0.0), attrs.validators.le(1.0)]
    )


DEFAULT_RULES = FurnitureRules()


def line_key(line: str) -> str:
    """What two lines must share to be "the same line": digits, case and spacing aside."""
    return _SPACE.sub(" ", _DIGITS.sub("#", line)).strip().lower()


def furniture_lines(parsed: ParsedDocument, rules: FurnitureRules = DEFAULT_RULES
                    ) -> frozenset[str]:
    """The keys (:func:`line_key`) of the lines that are page furniture in ``parsed``."""
    at_edge: Counter[str] = Counter()  # pages on which the line stands at an edge
    everywhere: Counter[str] = Counter()  # appearances anywhere
    at_edge_count: Counter[str] = Counter()  # appearances at an edge
    table_rows: set[str] = set()  # rows below a table's first: content, never furniture
    for page in parsed.pages:
        raw = [line for line in page.markdown.splitlines() if line.strip()]
        lines = [line_key(line) for line in raw]
        table_rows.update(_body_rows(raw))
        edge = set(range(min(rules.edge_lines, len(lines))))
        edge |= set(range(max(0, len(lines) - rules.edge_lines), len(lines)))
        for position, key in enumerate(lines):
            everywhere[key] += 1
            if position in edge:
                at_edge_count[key] += 1
        for key in {lines[position] for position in edge}:
            at_edge[key] += 1
    return frozenset(
        key for key, pages in at_edge.items()
        if key and pages >= rules.min_pages and key not in table_rows
        and at_edge_count[key] >= rules.edge_share * everywhere[key]
    )


def is_table_row(line: str) -> bool:
    """A table row: cells separated by tabs, or a markdown pipe-table line."""
    line = line.strip()
    return "\t" in line or (len(line) > 1 and line[0] == line[-1] == "|")


def _body_rows(lines: list[str]) -> set[str]:
    """The keys of a page's table rows that follow another row of their table, a
    pipe table's delimiter row aside."""
    return {
        line_key(line) for previous, line in itertools.pairwise(lines)
        if is_table_row(line) and is_table_row(previous)
        and not _DELIMITER.match(line.strip())
    }


def remove_page_furniture(parsed: ParsedDocument, rules: FurnitureRules = DEFAULT_RULES
                          ) -> ParsedDocument:
    """``parsed`` without its running headers and footers (rules above)."""
    if len(parsed.pages) < rules.min_pages:
        return parsed
    furniture = furniture_lines(parsed, rules)
    if not furniture:
        return parsed
    seen: set[str] = set()
    pages = []
    for page in parsed.pages:
        lines = page.markdown.splitlines()
        keys = [line_key(line) for line in lines]
        top = 0
        while top < len(lines) and (not keys[top] or keys[top] in furniture):
            top += 1
        bottom = len(lines)
        while bottom > top and (not keys[bottom - 1] or keys[bottom - 1] in furniture):
            bottom -= 1
        kept = [
            line for position, line in enumerate(lines)
            if top <= position < bottom or _first_time(keys[position], seen)
        ]
        seen.update(keys[position] for position in range(len(lines)) if keys[position])
        pages.append(ParsedPage(page.number, "\n".join(kept).strip("\n")))
    return ParsedDocument(pages, parser=parsed.parser)


def _first_time(key: str, seen: set[str]) -> bool:
    """Keep a furniture line the first time the document shows it (and keep blank lines
    between kept ones out of the way: they carry nothing)."""
    return bool(key) and key not in seen
