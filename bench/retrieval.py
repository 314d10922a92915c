"""Benchmark: does search put the answering passage first? hit@1, hit@5, MRR, latency.

Run from the repository root::

    .venv/bin/python -m bench.retrieval [--dimensions 1536] [--repeat 3] [--before]
                                        [--memory] [--dsn DSN]

What it does: both PDFs of ``../shared/corpus`` go through the worker's real
pipeline (local parser, the chunker, the embedder: the hashing embedder, or
OpenAI's when ``OPENAI_API_KEY`` is set) into a fresh schema of the embedded
PostgreSQL server (``--memory``: the in-memory adapters instead). Then every
question of ``bench/retrieval_questions.json`` (the 46; ``--set all`` adds
``bench/answer_questions.json``, see ``bench/questions.py``) is asked as the member, through
the search use case with the service's defaults (``RAG_MAX_CHUNKS`` 10,
threshold 0.3, budget 4,000 tokens), in each mode: ``vector``, ``keyword``,
``hybrid``.

A question is answered at rank r when the r-th passage comes from the
question's document and holds its phrase (case and white space aside).
hit@k: share of questions answered within the first k passages; MRR: mean of
1/r (0 when no passage answers). Latency: the whole search call (embedding the
question + the SQL), p50 and p95 over every question asked ``--repeat`` times.

``--before`` reproduces the state before hybrid search: version 1 of the
chunker (page furniture kept, no headings found) and version 1 of the hashing
embedder (every word and mark counted linearly). Its ``vector`` line is what
search did then; the other two lines show keyword and hybrid on those chunks.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
from dependency_injector import providers

import domain.processing
from adapters.hashing_embedder import HashingEmbedder
from adapters.memory.blobs import InMemoryBlobStore
from adapters.memory.documents import InMemoryDocumentRepository
from adapters.memory.job_queue import InMemoryJobQueue
from adapters.memory.probe import InMemoryDatabaseProbe
from adapters.memory.store import InMemoryStore
from adapters.memory.workers import InMemoryWorkerRegistry
from bench import questions as question_sets
from bench._db import database, drop_schema, fresh_schema
from bench.questions import THE_46, Question
from domain.chunking import chunk_document
from domain.hybrid import SearchMode
from domain.ports import Tokenizer
from entrypoints.container import Container, build_container, running
from entrypoints.settings import load_settings

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("NAVIGATOR_CORPUS_DIR") or REPO.parent / "shared" / "corpus")
QUESTIONS = THE_46
MEMBER = "member-bench"
MODES = (SearchMode.VECTOR, SearchMode.KEYWORD, SearchMode.HYBRID)


@attrs.frozen
class Scores:
    mode: SearchMode
    hit_at_1: float
    hit_at_5: float
    mrr: float
    p50_ms: float
    p95_ms: float
    missed: tuple[str, ...]
    #: hit@5 and MRR of each half of the question set (``bench/questions.py``).
    by_half: dict[str, tuple[float, float]] = attrs.field(factory=dict)


def load_questions(path: Path = QUESTIONS) -> list[Question]:
    """The questions of one file that the document answers (the 46 by default)."""
    return [q for q in question_sets.load_questions(path) if q.answerable]


def _flat(text: str) -> str:
    return " ".join(text.split()).casefold()


def answer_rank(question: Question, passages: Sequence[tuple[str, str]]) -> int | None:
    """The 1-based rank of the first (filename, text) passage that answers, if any."""
    assert question.phrase is not None, "only answerable questions have a rank"
    phrase = _flat(question.phrase)
    for rank, (filename, text) in enumerate(passages, start=1):
        if filename == question.document and phrase in _flat(text):
            return rank
    return None


async def load_corpus(container: Container, documents: Sequence[str]) -> int:
    """Upload the corpus files as the member and process them to the end; returns the
    number of chunks stored."""
    submit = container.submit_upload()
    for name in documents:
        await submit(MEMBER, name, (CORPUS / name).read_bytes())
    await container.worker(worker_id="bench-worker").drain()
    chunks = 0
    for document, job in await container.documents().list(MEMBER, 100, 0):
        if job.status != "complete":
            raise RuntimeError(f"{document.filename} did not complete: {job.last_error}")
        chunks += len(await container.documents().chunks(document.document_id))
    return chunks


async def evaluate(container: Container, questions: Sequence[Question],
                   modes: Sequence[SearchMode] = MODES, repeat: int = 1) -> list[Scores]:
    """Ask every question in every mode; the scores of each mode."""
    search = container.search_documents()
    results = []
    for mode in modes:
        ranks: list[int | None] = []
        seconds: list[float] = []
        for question in questions:
            for attempt in range(repeat):
                began = time.perf_counter()
                result = await search(MEMBER, question.question, mode=mode)
                seconds.append(time.perf_counter() - began)
                if attempt == 0:
                    ranks.append(answer_rank(
                        question, [(p.filename, p.chunk.text) for p in result.chunks]))
        count = len(questions)
        results.append(Scores(
            mode=mode,
            hit_at_1=sum(r == 1 for r in ranks) / count,
            hit_at_5=sum(r is not None and r <= 5 for r in ranks) / count,
            mrr=sum(1 / r for r in ranks if r is not None) / count,
            p50_ms=statistics.median(seconds) * 1000,
            p95_ms=statistics.quantiles(seconds, n=20)[18] * 1000 if len(seconds) > 1
            else seconds[0] * 1000,
            missed=tuple(q.question for q, r in zip(questions, ranks, strict=True)
                         if r is None or r > 5),
            by_half=_by_half(questions, ranks),
        ))
    return results


def _by_half(asked: Sequence[Question], ranks: Sequence[int | None]
             ) -> dict[str, tuple[float, float]]:
    figures = {}
    for half in question_sets.HALVES:
        mine = [r for q, r in zip(asked, ranks, strict=True) if q.half == half]
        if mine:
            figures[half] = (sum(r is not None and r <= 5 for r in mine) / len(mine),
                             sum(1 / r for r in mine if r is not None) / len(mine))
    return figures


class HashingEmbedderV1(HashingEmbedder):
    """The hashing embedder as version 1 was: every word and punctuation mark, counted
    linearly (for ``--before`` only)."""

    def __init__(self, dimensions: int, tokenizer: Tokenizer) -> None:
        super().__init__(dimensions, model="local-hashing-v1", tokenizer=tokenizer)

    def vector(self, words: Sequence[str]) -> tuple[float, ...]:
        vector = [0.0] * self.dimensions
        for word, count in Counter(words).items():
            for bucket, weight in self._word_features(word):
                vector[bucket] += count * weight
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return tuple(v / norm for v in vector)


def use_memory_storage(container: Container) -> None:
    """Rows and files in this process's memory instead of PostgreSQL (``--memory``)."""
    store = InMemoryStore(vector_dimension=container.settings().rag_vector_dimension)
    clock = container.clock()
    container.override_providers(
        pool=providers.Object(None),
        job_queue=providers.Object(InMemoryJobQueue(store, clock)),
        documents=providers.Object(InMemoryDocumentRepository(store)),
        blobs=providers.Object(InMemoryBlobStore(store)),
        worker_registry=providers.Object(InMemoryWorkerRegistry(store, clock)),
        database_probe=providers.Object(InMemoryDatabaseProbe()),
        job_notices=providers.Object(None),
    )


def use_version_1(container: Container) -> None:
    """Before hybrid search: the old hashing embedder (unless OpenAI is in use)."""
    if not os.environ.get("OPENAI_API_KEY"):
        settings = container.settings()
        container.embedder.override(providers.Object(HashingEmbedderV1(
            settings.rag_vector_dimension, container.tokenizer())))


@contextmanager
def chunker_version_1() -> Iterator[None]:
    """Chunk as the chunker's version 1 did: the parse as it came, furniture and all."""
    original = domain.processing.chunk_cleaned_document
    domain.processing.chunk_cleaned_document = chunk_document  # type: ignore[assignment]
    try:
        yield
    finally:
        domain.processing.chunk_cleaned_document = original


def settings_for(home: Path, dimensions: int, dsn: str | None = None,
                 schema: str | None = None, chunk_tokens: int | None = None) -> Any:
    env = {"NAVIGATOR_HOME": str(home), "RAG_VECTOR_DIMENSION": str(dimensions),
           "WORKER_CONCURRENCY": "2"}
    if chunk_tokens is not None:
        env["CHUNK_TARGET_TOKENS"] = str(chunk_tokens)
        env["CHUNK_OVERLAP_TOKENS"] = str(chunk_tokens // 8)
    if os.environ.get("OPENAI_API_KEY"):
        env["OPENAI_API_KEY"] = os.environ["OPENAI_API_KEY"]
    if dsn is not None and schema is not None:
        env |= {"DATABASE_URL": dsn, "DATABASE_SCHEMA": schema}
    return load_settings(env)


def _print(scores: list[Scores], chunks: int, embedder: str, where: str, count: int) -> None:
    print(f"{count} questions, {chunks} chunks, embedder {embedder}, on {where}")
    print(f"{'mode':<8} {'hit@1':>6} {'hit@5':>6} {'MRR':>6} {'p50 ms':>8} {'p95 ms':>8}")
    for s in scores:
        print(f"{s.mode:<8} {s.hit_at_1:6.2f} {s.hit_at_5:6.2f} {s.mrr:6.3f} "
              f"{s.p50_ms:8.1f} {s.p95_ms:8.1f}")
    for half in question_sets.HALVES:
        figures = [(s.mode, s.by_half[half]) for s in scores if half in s.by_half]
        if figures:
            print(f"{half}: " + "; ".join(f"{mode} hit@5 {h:.2f} MRR {m:.3f}"
                                          for mode, (h, m) in figures))
    for s in scores:
        for question in s.missed:
            print(f"  {s.mode}: not in the top 5: {question}")


async def main_async(args: argparse.Namespace) -> int:
    if args.questions is not None:
        asked = load_questions(args.questions)
    else:
        asked = [q for q in question_sets.load_set(args.set) if q.answerable]
    asked = [q for q in asked if args.half is None or q.half == args.half]
    documents = sorted({q.document for q in asked})
    home = Path(tempfile.mkdtemp(prefix="navigator-bench-retrieval-"))
    try:
        with chunker_version_1() if args.before else _nothing():
            if args.memory:
                container = build_container(
                    settings_for(home, args.dimensions, chunk_tokens=args.chunk_tokens))
                use_memory_storage(container)
                if args.before:
                    use_version_1(container)
                async with running(container):
                    chunks = await load_corpus(container, documents)
                    scores = await evaluate(container, asked, repeat=args.repeat)
                    embedder = container.embedder().model
                _print(scores, chunks, embedder, "the in-memory adapters", len(asked))
                return 0
            print("starting the embedded PostgreSQL server ...", file=sys.stderr)
            with database(args.dsn) as dsn:
                schema = await fresh_schema(dsn, args.dimensions)
                try:
                    container = build_container(
                        settings_for(home, args.dimensions, dsn, schema, args.chunk_tokens), dsn)
                    if args.before:
                        use_version_1(container)
                    async with running(container):
                        chunks = await load_corpus(container, documents)
                        scores = await evaluate(container, asked, repeat=args.repeat)
                        embedder = container.embedder().model
                finally:
                    await drop_schema(dsn, schema)
            _print(scores, chunks, embedder, "PostgreSQL", len(asked))
            return 0
    finally:
        shutil.rmtree(home, ignore_errors=True)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.retrieval", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dimensions", type=int, default=1536,
                        help="vector size (default 1536)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="ask each question this many times for the latency (default 3)")
    parser.add_argument("--before", action="store_true",
                        help="chunker and hashing embedder as version 1 (before hybrid search)")
    parser.add_argument("--memory", action="store_true",
                        help="the in-memory adapters instead of PostgreSQL (their keyword "
                        "ranking is a plain word count, not the one production runs)")
    parser.add_argument("--chunk-tokens", type=int,
                        help="chunk size (CHUNK_TARGET_TOKENS; overlap an eighth of it)")
    parser.add_argument("--dsn", help="a PostgreSQL server to use instead of the embedded one")
    parser.add_argument("--questions", type=Path,
                        help="a question file of your own (default: --set)")
    parser.add_argument("--set", choices=sorted(question_sets.SETS), default="46",
                        help="46: the set search was tuned on (default); added: the "
                        "answerer's added questions; all: both")
    parser.add_argument("--half", choices=question_sets.HALVES,
                        help="one half of the set only (default both, reported apart)")
    args = parser.parse_args(argv)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
