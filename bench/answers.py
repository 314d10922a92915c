"""Benchmark: grounded answers over the retrieval question set.

Run from the repository root::

    .venv/bin/python -m bench.answers [--questions bench/retrieval_questions.json]
                                      [--corpus ../shared/corpus] [--dsn DSN]

The question set is a JSON list of ``{"question", "document", "phrase"}``:
``document`` is a file name under ``--corpus``, ``phrase`` words of that document
that answer the question. What a run does:

1. One member uploads every document the set names, on the embedded PostgreSQL
   server (a temporary data directory, or ``--dsn``) in a fresh schema, and the
   worker processes them exactly as the services do (local parser, hashing
   embedder at 1,536 dimensions unless ``OPENAI_API_KEY`` is set);
2. each question goes through ``AnswerQuestion`` (the API's use case: search,
   the grounded prompt, the answerer, the citation checks), with the offline
   extractive answerer, and again with Claude when ``ANTHROPIC_API_KEY`` is set
   (model ``ANTHROPIC_MODEL``).

For each answerer it prints how often the expected phrase is in the answer, how
often a citation points at a page that holds the phrase (a citation's page is the
page its chunk starts on, so a chunk that runs onto the next page cites the
first), how often a cited passage holds it, and, to tell retrieval misses from
answering misses, how often the phrase was in the passages the answerer was
given at all. Matching ignores case and runs of white space.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

import attrs

from adapters.anthropic_answerer import AnthropicAnswerer
from adapters.extractive_answerer import ExtractiveAnswerer
from bench._db import database, drop_schema, fresh_schema
from domain.answering import AnswerQuestion, AnswerRateLimit
from domain.grounding import Answer
from domain.ports import Answerer
from entrypoints.container import build_container, running
from entrypoints.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[1]
DEFAULT_QUESTIONS = REPO / "bench" / "retrieval_questions.json"
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"
MEMBER = "bench-member"
DIMENSIONS = 1536


@attrs.frozen
class Question:
    question: str
    document: str
    phrase: str


@attrs.define
class Tally:
    name: str
    questions: int = 0
    in_context: int = 0
    in_answer: int = 0
    cited_page: int = 0
    cited_passage: int = 0
    not_covered: int = 0
    flagged: int = 0
    seconds: list[float] = attrs.Factory(list)
    tokens_in: list[int] = attrs.Factory(list)
    tokens_out: list[int] = attrs.Factory(list)
    misses: list[str] = attrs.Factory(list)


def normal(text: str) -> str:
    return " ".join(text.split()).lower()


def load_questions(path: Path) -> list[Question]:
    raw = json.loads(path.read_text())
    if not isinstance(raw, list) or not raw:
        raise SystemExit(f"{path}: expected a non-empty JSON list of questions")
    try:
        return [Question(str(q["question"]), str(q["document"]), str(q["phrase"]))
                for q in raw]
    except (KeyError, TypeError) as exc:
        raise SystemExit(f"{path}: each item needs question, document and phrase ({exc})"
                         ) from None


async def run(questions: Sequence[Question], corpus: Path, dsn: str,
              answerers: Sequence[Answerer]) -> list[Tally]:
    schema = await fresh_schema(dsn, DIMENSIONS)
    home = tempfile.mkdtemp(prefix="navigator-bench-answers-")
    env = {key: value for key, value in os.environ.items()
           if key in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    settings = load_settings({**env, "DATABASE_URL": dsn, "DATABASE_SCHEMA": schema,
                              "RAG_VECTOR_DIMENSION": str(DIMENSIONS), "NAVIGATOR_HOME": home})
    container = build_container(settings, dsn)
    try:
        async with running(container):
            documents = await _upload_all(container, settings, corpus,
                                          sorted({q.document for q in questions}))
            pages = {name: await _pages(container, document_id)
                     for name, document_id in documents.items()}
            tallies = []
            for answerer in answerers:
                use_case = AnswerQuestion(
                    search=container.search_documents(), answerer=answerer,
                    limiter=container.answer_rate_limiter(), clock=container.clock(),
                    rate_limit=AnswerRateLimit(limit=100_000),
                )
                tallies.append(await _ask_all(use_case, questions, documents, pages,
                                              answerer))
            return tallies
    finally:
        await drop_schema(dsn, schema)


async def _upload_all(container: Any, settings: Settings, corpus: Path,
                      names: list[str]) -> dict[str, UUID]:
    submit = container.submit_upload()
    uploaded = {}
    for name in names:
        path = corpus / name
        if not path.is_file():
            raise SystemExit(f"{path} does not exist: pass --corpus")
        submission = await submit(MEMBER, name, path.read_bytes())
        uploaded[name] = submission.document.document_id
    processed = await container.worker(worker_id="bench-answers").drain()
    print(f"processed {len(names)} document(s) in {processed} job hold(s)", file=sys.stderr)
    for name, document_id in uploaded.items():
        job = await container.job_queue().job_for_document(document_id)
        if job.status.value != "complete":
            raise SystemExit(f"{name} did not process: {job.status} {job.last_error}")
    return uploaded


async def _pages(container: Any, document_id: UUID) -> dict[int, str]:
    parsed = await container.documents().parsed(document_id)
    return {page.number: normal(page.markdown) for page in parsed.pages}


async def _ask_all(use_case: AnswerQuestion, questions: Sequence[Question],
                   documents: dict[str, UUID], pages: dict[str, dict[int, str]],
                   answerer: Answerer) -> Tally:
    tally = Tally(f"{answerer.kind.value} ({answerer.model})")
    for item in questions:
        phrase = normal(item.phrase)
        holding = {number for number, text in pages[item.document].items() if phrase in text}
        started = time.perf_counter()
        prepared = await use_case.prepare(MEMBER, item.question)
        answer: Answer | None = None
        async for event in use_case.stream(prepared):
            answer = getattr(event, "answer", answer)
        tally.seconds.append(time.perf_counter() - started)
        assert answer is not None
        tally.questions += 1
        context = " ".join(normal(p.text) for p in prepared.prompt.passages)
        tally.in_context += phrase in context
        hit = phrase in normal(answer.text)
        tally.in_answer += hit
        tally.cited_page += any(
            c.passage.document_id == documents[item.document] and c.passage.page in holding
            for c in answer.citations
        )
        tally.cited_passage += any(phrase in normal(c.passage.text) for c in answer.citations)
        tally.not_covered += not answer.covered
        tally.flagged += answer.flagged
        tally.tokens_in.append(answer.usage.input_tokens)
        tally.tokens_out.append(answer.usage.output_tokens)
        if not hit:
            tally.misses.append(item.question)
    return tally


def report(tallies: Sequence[Tally]) -> str:
    lines = []
    for t in tallies:
        n = t.questions

        def share(k: int, n: int = n) -> str:
            return f"{k}/{n} ({100 * k / n:.0f} %)"

        lines += [
            f"== {t.name}: {n} questions",
            f"phrase in the passages given     {share(t.in_context)}",
            f"phrase in the answer             {share(t.in_answer)}",
            f"a citation on a page holding it  {share(t.cited_page)}",
            f"a cited passage holding it       {share(t.cited_passage)}",
            f"answered 'not covered'           {share(t.not_covered)}",
            f"flagged (citation removed/withheld) {share(t.flagged)}",
            f"seconds per answer, median       {statistics.median(t.seconds):.3f}",
        ]
        if any(t.tokens_in):
            lines.append("tokens per answer, median        "
                         f"in {statistics.median(t.tokens_in):,.0f}, "
                         f"out {statistics.median(t.tokens_out):,.0f}")
        if t.misses:
            lines.append("phrase missing from the answer to: " + "; ".join(t.misses[:8]) +
                         (" ..." if len(t.misses) > 8 else ""))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--dsn", help="use this PostgreSQL server instead of a temporary one")
    args = parser.parse_args(argv)
    if not args.questions.is_file():
        raise SystemExit(f"{args.questions} does not exist: pass --questions PATH")
    questions = load_questions(args.questions)
    answerers: list[Answerer] = [ExtractiveAnswerer()]
    key = os.environ.get("ANTHROPIC_API_KEY")
    if key:
        answerers.append(AnthropicAnswerer(
            key, model=os.environ.get("ANTHROPIC_MODEL") or "claude-sonnet-4-6",
            base_url=os.environ.get("ANTHROPIC_BASE_URL") or None))
    else:
        print("ANTHROPIC_API_KEY is not set: the offline answerer only", file=sys.stderr)
    with database(args.dsn) as dsn:
        tallies = asyncio.run(run(questions, args.corpus, dsn, answerers))
    print(report(tallies))


if __name__ == "__main__":
    main()
