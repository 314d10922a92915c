"""Benchmark: how many rows of the EOC's benefit charts stay whole in one chunk.

Run from the repository root::

    .venv/bin/python -m bench.charts [--file PATH] [--pages 57-116] [--runs 3]
                                     [--target 512] [--overlap 64]

The rows come from the PDF's drawing, not from the parser: on each page of
``--pages`` (Chapter 4 of ``scan_classic_hmo.pdf``: the Medical Benefits Chart on
pages 60-105, the exclusions chart on pages 109-114), a row is a band between
two ruled lines that run across the table, and its cells are the text pdfium finds
between the vertical rules (``FPDFText_GetBoundedText``). A chart's header row
(the same cells on three pages or more) is not counted.

Then the file goes through the worker's parse (pdfium) and chunking (page
furniture removed, headings marked, chunks of ``--target`` tokens with
``--overlap``), in three set-ups measured in one run:

- ``before``: the page read in the file's order, as the parser did before it
  read tables (the chunker's table rule then has no rows to act on);
- ``rows``: the parser writes each chart row on one line (cells separated by
  tabs), and the chunker keeps rows whole only up to ``target`` tokens
  (``TABLE_ROW_FACTOR`` 1);
- ``after``: as shipped, rows up to twice the target are kept whole.

A row is **whole** when one chunk holds each of its cells entire (the cells'
words in order, case and punctuation aside); **service and cost** when one chunk
holds the row's first line (the service's name) and its other cells entire (what
you pay). A row continued from the page before has no cost of its own: it counts
only for whole. The time is the parse plus the chunking, the median of
``--runs`` after one run to warm up.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import statistics
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import attrs

import adapters.parsers.pdf
import domain.chunking
from adapters.parsers.pdf import parse_pdf
from adapters.tiktoken_tokenizer import TiktokenTokenizer
from domain.chunking import ChunkingConfig, chunk_cleaned_document
from domain.model import Chunk, ParsedDocument

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("NAVIGATOR_CORPUS_DIR") or REPO.parent / "shared" / "corpus")
DEFAULT_FILE = CORPUS / "scan_classic_hmo.pdf"
DEFAULT_PAGES = (57, 116)
SETUPS = ("before", "rows", "after")
DOCUMENT = UUID("c4a27000-0000-4000-8000-000000000020")

# A ruled line is a path at most this thick; lines this close are one (points).
_THICK = 6.0
_NEAR = 3.0
_WORD = re.compile(r"\w+")


@attrs.frozen
class Row:
    page: int
    cells: tuple[str, ...]  # each cell's text, its lines as the PDF has them

    @property
    def service(self) -> str:
        return self.cells[0].split("\n", 1)[0]

    @property
    def costs(self) -> tuple[str, ...]:
        return tuple(cell for cell in self.cells[1:] if _words(cell))


@attrs.frozen
class Count:
    setup: str
    rows: int
    whole: int
    with_cost: int  # rows that have a cost cell
    service_and_cost: int
    chunks: int
    largest_chunk: int
    seconds: float
    cut: tuple[Row, ...]


def chart_rows(data: bytes, first: int, last: int) -> list[Row]:
    """The ruled table rows of pages ``first``..``last`` (1-based), header rows aside."""
    import pypdfium2

    document = pypdfium2.PdfDocument(data)
    rows: list[Row] = []
    try:
        for number in range(first, min(last, len(document)) + 1):
            page = document[number - 1]
            textpage = page.get_textpage()
            rows.extend(Row(number, cells) for cells in _page_rows(page, textpage))
            textpage.close()
            page.close()
    finally:
        document.close()
    repeats = Counter(row.cells for row in rows)
    return [row for row in rows if repeats[row.cells] < 3]


def _page_rows(page: Any, textpage: Any) -> Iterator[tuple[str, ...]]:
    import pypdfium2.raw as pdfium_c

    across, down = [], []
    for obj in page.get_objects(max_depth=1):
        if obj.type != pdfium_c.FPDF_PAGEOBJ_PATH:
            continue
        left, bottom, right, top = obj.get_bounds()
        if top - bottom <= _THICK < right - left:
            across.append(((top + bottom) / 2, left, right))
        elif right - left <= _THICK < top - bottom:
            down.append(((left + right) / 2, bottom, top))
    levels = sorted({round(y) for y, _, _ in across}, reverse=True)
    levels = [y for i, y in enumerate(levels) if i == 0 or levels[i - 1] - y > _NEAR]
    for upper, lower in _bands(levels, across, down):
        columns = sorted({round(x) for x, low, high in down
                          if low <= lower + _NEAR and high >= upper - _NEAR})
        columns = [x for i, x in enumerate(columns) if i == 0 or x - columns[i - 1] > _NEAR]
        yield tuple(
            textpage.get_text_bounded(left, lower, right, upper).replace("\r\n", "\n").strip()
            for left, right in itertools.pairwise(columns)
        )


def _bands(levels: list[int], across: list[tuple[float, float, float]],
           down: list[tuple[float, float, float]]) -> Iterator[tuple[int, int]]:
    """(top, bottom) of each row: consecutive lines running across the table's width
    (from its leftmost to its rightmost vertical rule), crossed by three rules."""
    if not down:
        return
    table_left = min(x for x, _, _ in down)
    table_right = max(x for x, _, _ in down)
    width = table_right - table_left
    full = [y for y in levels if _covered(y, across, table_left, table_right) >= 0.9 * width]
    for upper, lower in itertools.pairwise(full):
        crossing = {round(x) for x, low, high in down
                    if low <= lower + _NEAR and high >= upper - _NEAR}
        if len(crossing) >= 3:
            yield upper, lower


def _covered(y: int, across: list[tuple[float, float, float]], left: float,
             right: float) -> float:
    spans = sorted((max(left, low), min(right, high)) for at, low, high in across
                   if abs(at - y) <= _NEAR + 0.5)
    covered, reach = 0.0, left
    for low, high in spans:
        if high > reach:
            covered += high - max(low, reach)
            reach = high
    return covered


def _words(text: str) -> str:
    return " ".join(_WORD.findall(text.casefold()))


def count(rows: Sequence[Row], chunks: Sequence[Chunk], setup: str, seconds: float) -> Count:
    """How many ``rows`` stay whole in one of ``chunks`` (see the module docstring)."""
    texts = [f" {_words(c.text)} " for c in chunks]

    def together(parts: Sequence[str]) -> bool:
        needles = [f" {_words(part)} " for part in parts if _words(part)]
        return any(all(needle in text for needle in needles) for text in texts)

    whole = [together(row.cells) for row in rows]
    priced = [row for row in rows if row.costs]
    return Count(
        setup=setup,
        rows=len(rows),
        whole=sum(whole),
        with_cost=len(priced),
        service_and_cost=sum(together((row.service, *row.costs)) for row in priced),
        chunks=len(chunks),
        largest_chunk=max(c.token_count for c in chunks),
        seconds=seconds,
        cut=tuple(row for row, ok in zip(rows, whole, strict=True) if not ok),
    )


def chunks_of(data: bytes, config: ChunkingConfig) -> list[Chunk]:
    """The worker's parse (pdfium) and chunking of ``data``."""
    parsed = ParsedDocument(parse_pdf(data), parser="local")
    return chunk_cleaned_document(parsed, TiktokenTokenizer(), config,
                                  document_id=DOCUMENT, user_id="member-bench")


@contextmanager
def setup(name: str) -> Iterator[None]:
    """The parser and chunker as in set-up ``name`` (see the module docstring)."""
    parser_tables = adapters.parsers.pdf.page_text_with_tables
    factor = domain.chunking.TABLE_ROW_FACTOR
    if name == "before":
        adapters.parsers.pdf.page_text_with_tables = _plain  # type: ignore[assignment]
    if name == "rows":
        domain.chunking.TABLE_ROW_FACTOR = 1
    try:
        yield
    finally:
        adapters.parsers.pdf.page_text_with_tables = parser_tables  # type: ignore[assignment]
        domain.chunking.TABLE_ROW_FACTOR = factor


def _plain(page: Any, textpage: Any, plain: str) -> str:
    return plain


def measure(data: bytes, rows: Sequence[Row], config: ChunkingConfig, runs: int = 1
            ) -> list[Count]:
    results = []
    for name in SETUPS:
        seconds = []
        with setup(name):
            chunks_of(data, config)  # warm-up: the tokenizer and pdfium loaded once
            for _ in range(runs):
                began = time.perf_counter()
                chunks = chunks_of(data, config)
                seconds.append(time.perf_counter() - began)
        results.append(count(rows, chunks, name, statistics.median(seconds)))
    return results


def _print(results: Sequence[Count], pages: tuple[int, int], config: ChunkingConfig,
           verbose: bool) -> None:
    rows = results[0]
    print(f"pages {pages[0]}-{pages[1]}: {rows.rows} chart rows ({rows.with_cost} with a "
          f"cost cell); chunks of {config.target_tokens} tokens, overlap "
          f"{config.overlap_tokens}")
    print(f"{'set-up':<8} {'whole':>9} {'svc+cost':>9} {'chunks':>7} {'largest':>8} "
          f"{'parse+chunk s':>14}")
    for r in results:
        print(f"{r.setup:<8} {r.whole:>4}/{r.rows:<4} {r.service_and_cost:>4}/{r.with_cost:<4} "
              f"{r.chunks:>7} {r.largest_chunk:>8} {r.seconds:>14.2f}")
    for r in results:
        for row in r.cut if verbose or r.setup == "after" else ():
            print(f"  {r.setup}: cut on page {row.page}: {row.service[:70]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.charts", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--pages", default="-".join(map(str, DEFAULT_PAGES)),
                        help="first-last PDF pages to take rows from (default 57-116)")
    parser.add_argument("--runs", type=int, default=3,
                        help="parse and chunk this many times per set-up for the time")
    parser.add_argument("--target", type=int, default=512, help="CHUNK_TARGET_TOKENS")
    parser.add_argument("--overlap", type=int, default=64, help="CHUNK_OVERLAP_TOKENS")
    parser.add_argument("--verbose", action="store_true", help="list every cut row")
    args = parser.parse_args(argv)
    first, _, last = args.pages.partition("-")
    pages = (int(first), int(last or first))
    config = ChunkingConfig(target_tokens=args.target, overlap_tokens=args.overlap)
    data = args.file.read_bytes()
    rows = chart_rows(data, *pages)
    _print(measure(data, rows, config, args.runs), pages, config, args.verbose)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
