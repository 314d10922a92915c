"""The worker's tsvector (``adapters.postgres.tsvector.english_tsvector``) over the
corpus, as the chunk step would compute it: how long it takes, how often it declines
(and why, counted by kind, never showing text) and whether what it supplies is what
PostgreSQL computes.

Texts: the product's chunks (local parser, ``domain.chunking.chunk_cleaned_document``,
default sizes) of the corpus's 232-page booklet, its one-page policy, the sample
summary of benefits in ``examples/`` and the corpus's plain text wearing a .docx name
(read as the text it is). Documents: ``--documents`` documents of 285 booklet chunks
each, taken in order from a starting point of their own, each chunk beginning with a
word of the document's own (``Document docXXXX.``), as ``bench.search`` writes them.

Printed:

- **first sight**: µs per chunk of the booklet's chunks in one pass with the module's
  cache empty (every distinct run parsed once: a worker's first document);
- **per document**: each document's time divided by its 285 chunks, median and p95
  over the documents, in µs per chunk, and the median in ms per document (a worker
  that has seen the booklet's words: its steady state);
- **declined**: the share of chunks returned as None, per corpus file, and the reasons;
- **agreement** (unless ``--no-db``): on the embedded PostgreSQL (or ``--dsn``),
  ``$1::tsvector = to_tsvector('english', $2)`` for every supplied literal of the
  corpus's chunks and the documents' in one statement over arrays: the count that
  differ (must be 0), and the calibration text's check;
- **database input** (unless ``--no-db``): the database backend's CPU to read one
  document's 285 literals as tsvectors (what the chunk statement's ``$42::tsvector``
  costs), median over the documents, for the literal as the module writes it (one entry
  per lexeme, ``'plan':3,9``), for the same with one entry per occurrence
  (``'plan':3 'plan':9``, the form before; PostgreSQL's input merges them), and for
  ``to_tsvector('english', ...)`` of the texts (what the database's trigger computes).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import time
import uuid
from collections import Counter
from pathlib import Path

from adapters.parsers.pdf import parse_pdf
from adapters.parsers.text import parse_text
from adapters.postgres import tsvector
from adapters.postgres.connection import connect
from adapters.tiktoken_tokenizer import TiktokenTokenizer
from domain.chunking import ChunkingConfig, chunk_cleaned_document
from domain.model import ParsedDocument, ParsedPage

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("NAVIGATOR_CORPUS_DIR") or REPO.parent / "shared" / "corpus")
BOOKLET = "scan_classic_hmo.pdf"
CHUNKS_PER_DOCUMENT = 285
_LETTERS = "abcdefghijklmnopqrstuvwxyz"

AGREE = ("SELECT count(*) FILTER (WHERE NOT l::tsvector = to_tsvector('english'::regconfig, t)),"
         " count(*) FROM unnest($1::text[], $2::text[]) AS u(l, t)")


def _pages(path: Path) -> list[ParsedPage]:
    if path.suffix == ".pdf":
        return parse_pdf(path.read_bytes())
    return parse_text(path.read_bytes())


def corpus_chunks(corpus: Path = CORPUS) -> dict[str, list[str]]:
    """Each corpus document's chunk texts, as the worker chunks them (file name ->
    texts, the booklet first)."""
    sources = [corpus / BOOKLET, corpus / "simulated_insurance_document.pdf",
               REPO / "examples" / "sample_summary_of_benefits.pdf",
               corpus / "fake_docx_plain_text.docx"]
    missing = [path.name for path in sources if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"corpus files {missing} not found under {corpus}: put the "
                                "shared corpus next to the repository or set "
                                "NAVIGATOR_CORPUS_DIR")
    tokenizer = TiktokenTokenizer()
    found: dict[str, list[str]] = {}
    for path in sources:
        parsed = ParsedDocument(tuple(_pages(path)), parser="local")
        chunks = chunk_cleaned_document(parsed, tokenizer, ChunkingConfig(),
                                        document_id=uuid.UUID(int=0), user_id="bench")
        found[path.name] = [chunk.text for chunk in chunks]
    return found


def documents(booklet: list[str], count: int) -> list[list[str]]:
    """``count`` documents of 285 booklet chunks, each its own (see the docstring)."""
    out = []
    for number in range(count):
        name, n = "", number + 26 ** 3
        while n:
            n, digit = divmod(n, 26)
            name = _LETTERS[digit] + name
        start = (number * 37) % len(booklet)
        out.append([f"Document doc{name}.\n" + booklet[(start + i) % len(booklet)]
                    for i in range(CHUNKS_PER_DOCUMENT)])
    return out


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def disagreements(dsn: str, texts: list[str]) -> tuple[int, int]:
    """(literals that differ from PostgreSQL's, literals compared) over ``texts``."""
    literals = [tsvector.english_tsvector(text) for text in texts]
    pairs = [(lit, text) for lit, text in zip(literals, texts, strict=True) if lit is not None]
    conn = await connect(dsn)
    try:
        row = await conn.fetchrow(AGREE, [p[0] for p in pairs], [p[1] for p in pairs])
    finally:
        await conn.close()
    assert row is not None
    return int(row[0]), int(row[1])


def per_occurrence(literal: str) -> str:
    """``literal`` with one entry per occurrence (``'plan':3 'plan':9``): the same
    tsvector once PostgreSQL has read it."""
    return " ".join(f"{m.group(1)}:{position}" for m in _ENTRY.finditer(literal)
                    for position in m.group(2).split(","))


_ENTRY = re.compile(r"('(?:[^']|'')*'):([0-9,]+)")
_READ = "SELECT count(*) FROM unnest($1::text[]) AS u(l) WHERE l::tsvector <> ''::tsvector"
_COMPUTE = ("SELECT count(*) FROM unnest($1::text[]) AS u(t) "
            "WHERE to_tsvector('english'::regconfig, t) <> ''::tsvector")


async def input_cpu(dsn: str, docs: list[list[str]]) -> dict[str, float]:
    """The backend's CPU milliseconds per document (median) to read the documents'
    literals, in each form, and to compute them (see the module's docstring)."""
    from bench._cpu import run_seconds

    forms: dict[str, list[float]] = {"as written": [], "one entry per occurrence": [],
                                     "to_tsvector": []}
    conn = await connect(dsn)
    try:
        backend = await conn.fetchval("SELECT pg_backend_pid()")
        for chunks in docs:
            literals = [lit for lit in map(tsvector.english_tsvector, chunks) if lit]
            for form, sql, values in (
                    ("as written", _READ, literals),
                    ("one entry per occurrence", _READ, list(map(per_occurrence, literals))),
                    ("to_tsvector", _COMPUTE, chunks)):
                before = run_seconds(backend)
                await conn.fetchval(sql, values)
                forms[form].append((run_seconds(backend) - before) * 1e3)
    finally:
        await conn.close()
    return {form: statistics.median(ms) for form, ms in forms.items()}


async def _agreement(args: argparse.Namespace, texts: list[str],
                     docs: list[list[str]]) -> None:
    from bench._db import database  # the embedded server only when asked for

    with database(args.dsn) as dsn:
        differing, compared = await disagreements(dsn, texts)
        calibration, _ = await disagreements(dsn, [tsvector.CALIBRATION])
        cpu = await input_cpu(dsn, docs)
    print(f"agreement: {differing} of {compared} supplied literals differ from "
          f"PostgreSQL's to_tsvector('english', ...) (must be 0); calibration text "
          f"{'differs' if calibration else 'agrees'}")
    print("database input, CPU per document of 285 chunks (median): "
          + "; ".join(f"{form} {ms:.1f} ms" for form, ms in cpu.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tsvector", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=20,
                        help="documents of 285 booklet chunks to time (default 20)")
    parser.add_argument("--dsn", help="a PostgreSQL to check agreement on (default: start "
                        "the embedded server)")
    parser.add_argument("--no-db", action="store_true", help="skip the agreement check")
    args = parser.parse_args(argv)
    if args.documents < 1:
        parser.error("--documents must be at least 1")

    corpus = corpus_chunks()
    booklet = corpus[BOOKLET]

    tsvector._CACHE.clear()
    started = time.perf_counter()
    for text in booklet:
        tsvector.english_tsvector(text)
    first = (time.perf_counter() - started) / len(booklet) * 1e6

    docs = documents(booklet, args.documents)
    per_document = []
    for chunks in docs:
        started = time.perf_counter()
        for text in chunks:
            tsvector.english_tsvector(text)
        per_document.append(time.perf_counter() - started)
    per_chunk = [seconds / CHUNKS_PER_DOCUMENT * 1e6 for seconds in per_document]

    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"first sight (cache empty): {first:.0f} µs per chunk over the booklet's "
          f"{len(booklet)} chunks")
    print(f"per document ({args.documents} x {CHUNKS_PER_DOCUMENT} chunks): median "
          f"{statistics.median(per_chunk):.0f} µs per chunk (target <= 100), p95 "
          f"{_percentile(per_chunk, 0.95):.0f} µs; median "
          f"{statistics.median(per_document) * 1e3:.1f} ms per document")
    for name, texts in corpus.items():
        reasons = Counter(tsvector.decline_reason(text) for text in texts)
        declined = len(texts) - reasons.pop(None, 0)
        detail = ", ".join(f"{kind} {n}" for kind, n in reasons.most_common()) or "none"
        print(f"declined: {name}: {declined} of {len(texts)} chunks "
              f"({declined / len(texts):.1%}); reasons: {detail}")
    if not args.no_db:
        texts = [text for texts in corpus.values() for text in texts]
        asyncio.run(_agreement(args, texts + [t for chunks in docs for t in chunks], docs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
