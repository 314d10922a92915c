"""Benchmark: grounded answers over the question sets, each half reported apart.

Run from the repository root::

    .venv/bin/python -m bench.answers [--set all|46|added] [--half tuning|held-out]
                                      [--answerer extractive|anthropic|both]
                                      [--questions FILE] [--corpus DIR] [--dsn DSN]

The questions are those of ``bench/questions.py`` (the 46 of the retrieval set and
the answerer's added ones, each in a tuning or a held-out half); ``--questions``
reads a file of your own in the same form. What a run does:

1. One member uploads every document the set names, on the embedded PostgreSQL
   server (a temporary data directory, or ``--dsn``) in a fresh schema, and the
   worker processes them exactly as the services do (local parser, hashing
   embedder at 1,536 dimensions unless ``OPENAI_API_KEY`` is set);
2. each question goes through ``AnswerQuestion`` (the API's use case: search,
   the grounded prompt, the answerer, the citation checks) with the answerer(s)
   ``--answerer`` names: the offline extractive one (the default), Claude
   (``anthropic``: needs ``ANTHROPIC_API_KEY``; ``ANTHROPIC_MODEL`` and
   ``ANTHROPIC_BASE_URL`` are honoured), or both.

For each answerer and each half it prints how often the expected phrase is in the
answer, how often a citation points at a page that holds the phrase (a citation's
page is the page its chunk starts on, so a chunk that runs onto the next page
cites the first), how often a cited passage holds it, how often the answer said
"not covered" though the document answers, and, for the questions the document
does not answer, how often it honestly said so; to tell retrieval misses from
answering misses, how often the phrase was in the passages the answerer was given
at all; issue 20's targets (phrase in the answer and a cited passage holding it each
for at least 85 %, "not covered" only where the document is silent) and whether the
run met them, computed from those figures; then every miss and why. Matching
ignores case and runs of white space.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

import attrs

from adapters.anthropic_answerer import DEFAULT_MODEL, AnthropicAnswerer
from adapters.extractive_answerer import ExtractiveAnswerer
from bench._db import database, drop_schema, fresh_schema
from bench.questions import HALVES, SETS, Question, load_set
from domain.answering import AnswerQuestion, AnswerRateLimit
from domain.grounding import Answer
from domain.ports import Answerer
from entrypoints.container import build_container, running
from entrypoints.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = Path(os.environ.get("NAVIGATOR_CORPUS_DIR") or REPO.parent / "shared" / "corpus")
MEMBER = "bench-member"
DIMENSIONS = 1536


@attrs.frozen
class Asked:
    """One question's outcome with one answerer."""

    question: Question
    in_context: bool
    in_answer: bool
    cited_page: bool
    cited_passage: bool
    covered: bool
    flagged: bool
    seconds: float
    tokens_in: int
    tokens_out: int
    text: str = ""

    @property
    def right(self) -> bool:
        """The phrase in the answer, or "not covered" where the booklet is silent."""
        return self.in_answer if self.question.answerable else not self.covered


@attrs.define
class Tally:
    name: str
    asked: list[Asked] = attrs.Factory(list)


def normal(text: str) -> str:
    return " ".join(text.split()).lower()


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
        for answerer in answerers:
            close = getattr(answerer, "aclose", None)
            if close is not None:
                await close()
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
        phrase = normal(item.phrase) if item.phrase is not None else None
        holding = {number for number, text in pages[item.document].items()
                   if phrase is not None and phrase in text}
        started = time.perf_counter()
        prepared = await use_case.prepare(MEMBER, item.question)
        answer: Answer | None = None
        async for event in use_case.stream(prepared):
            answer = getattr(event, "answer", answer)
        seconds = time.perf_counter() - started
        assert answer is not None
        context = " ".join(normal(p.text) for p in prepared.prompt.passages)
        tally.asked.append(Asked(
            question=item,
            in_context=phrase is not None and phrase in context,
            in_answer=phrase is not None and phrase in normal(answer.text),
            cited_page=any(c.passage.document_id == documents[item.document]
                           and c.passage.page in holding for c in answer.citations),
            cited_passage=phrase is not None and any(phrase in normal(c.passage.text)
                                                     for c in answer.citations),
            covered=answer.covered, flagged=answer.flagged, seconds=seconds,
            tokens_in=answer.usage.input_tokens, tokens_out=answer.usage.output_tokens,
            text=answer.text,
        ))
    return tally


def report(tallies: Sequence[Tally], misses: bool = True, show: bool = False) -> str:
    """Each answerer's figures, for each half of the set apart, and the misses."""
    lines = []
    for t in tallies:
        for half, mine in _halves(t.asked).items():
            lines += _figures(f"{t.name}, {half}", mine, misses, show)
    return "\n".join(lines)


def _halves(asked: Sequence[Asked]) -> dict[str, list[Asked]]:
    split = {half: [a for a in asked if a.question.half == half] for half in HALVES}
    return {half: mine for half, mine in split.items() if mine}


def _figures(name: str, asked: Sequence[Asked], misses: bool, show: bool) -> list[str]:
    answerable = [a for a in asked if a.question.answerable]
    silent = [a for a in asked if not a.question.answerable]
    n = len(answerable)

    def share(k: int, n: int = n) -> str:
        return f"{k}/{n} ({100 * k / n:.0f} %)" if n else "0/0"

    lines = [
        f"== {name}: {len(asked)} questions, {n} the document answers, "
        f"{len(silent)} it does not",
        f"phrase in the passages given     {share(sum(a.in_context for a in answerable))}",
        f"phrase in the answer             {share(sum(a.in_answer for a in answerable))}",
        f"a citation on a page holding it  {share(sum(a.cited_page for a in answerable))}",
        f"a cited passage holding it       {share(sum(a.cited_passage for a in answerable))}",
        f"'not covered' though it is       {share(sum(not a.covered for a in answerable))}",
    ]
    if silent:
        lines.append(f"'not covered' where it is not    "
                     f"{share(sum(not a.covered for a in silent), len(silent))}")
    lines += [
        f"flagged (citation removed/withheld) {share(sum(a.flagged for a in asked), len(asked))}",
        f"seconds per answer, median       {statistics.median(a.seconds for a in asked):.3f}",
    ]
    if any(a.tokens_in for a in asked):
        lines.append("tokens per answer, median        "
                     f"in {statistics.median(a.tokens_in for a in asked):,.0f}, "
                     f"out {statistics.median(a.tokens_out for a in asked):,.0f}")
    lines += targets(answerable, silent)
    if misses:
        for a in asked:
            if not a.right:
                why = ("not in the passages given" if a.question.answerable and not a.in_context
                       else "answered though the document is silent"
                       if not a.question.answerable else "not in the answer")
                lines.append(f"  miss ({why}): {a.question.question}")
                if show:
                    lines += [f"      wanted: {a.question.phrase}"] + \
                        [f"      | {line}" for line in a.text.splitlines()]
    return lines


#: Issue 20's targets on the held-out half: the share of answerable questions whose
#: answer holds the expected phrase, and whose cited passages hold it.
PHRASE_TARGET = 0.85
CITED_TARGET = 0.85


def targets(answerable: Sequence[Asked], silent: Sequence[Asked]) -> list[str]:
    """Issue 20's targets and whether this run met them, from its figures: the phrase
    in the answer and a cited passage holding it each for at least 85 % of the
    answerable questions, and "not covered" only where the document is silent."""
    def verdict(ok: bool) -> str:
        return "met" if ok else "not met"

    n = len(answerable)
    in_answer = sum(a.in_answer for a in answerable) / n if n else 0.0
    cited = sum(a.cited_passage for a in answerable) / n if n else 0.0
    wrongly = sum(not a.covered for a in answerable)
    honest = sum(not a.covered for a in silent)
    return [
        f"target: phrase in the answer {100 * in_answer:.0f} %  "
        f"(target >= {100 * PHRASE_TARGET:.0f} %: {verdict(n > 0 and in_answer >= PHRASE_TARGET)})",
        f"target: a cited passage holding it {100 * cited:.0f} %  "
        f"(target >= {100 * CITED_TARGET:.0f} %: {verdict(n > 0 and cited >= CITED_TARGET)})",
        f"target: 'not covered' only where the document is silent: {wrongly} answerable said "
        f"so, {honest}/{len(silent)} silent said so  "
        f"({verdict(wrongly == 0 and honest == len(silent))})",
    ]


def answerers_for(choice: str, environ: Mapping[str, str]) -> list[Answerer]:
    """``--answerer``: the offline one, Claude (``ANTHROPIC_API_KEY`` required), or both."""
    chosen: list[Answerer] = []
    if choice in ("extractive", "both"):
        chosen.append(ExtractiveAnswerer())
    if choice in ("anthropic", "both"):
        key = environ.get("ANTHROPIC_API_KEY")
        if not key:
            raise SystemExit("--answerer anthropic needs ANTHROPIC_API_KEY (and, for a "
                             "server other than Anthropic's, ANTHROPIC_BASE_URL)")
        chosen.append(AnthropicAnswerer(
            key, model=environ.get("ANTHROPIC_MODEL") or DEFAULT_MODEL,
            base_url=environ.get("ANTHROPIC_BASE_URL") or None))
    return chosen


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--questions", type=Path,
                        help="a question file of your own (default: --set)")
    parser.add_argument("--set", choices=sorted(SETS), default="all",
                        help="46: the retrieval set; added: the answerer's added "
                        "questions; all: both (default)")
    parser.add_argument("--half", choices=HALVES,
                        help="one half only (default both, reported apart)")
    parser.add_argument("--answerer", choices=("extractive", "anthropic", "both"),
                        default="extractive",
                        help="extractive (offline, the default); anthropic (Claude, needs "
                        "ANTHROPIC_API_KEY; ANTHROPIC_MODEL, ANTHROPIC_BASE_URL honoured); both")
    parser.add_argument("--show", action="store_true",
                        help="print the answer given to each question missed")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--dsn", help="use this PostgreSQL server instead of a temporary one")
    args = parser.parse_args(argv)
    if args.questions is not None and not args.questions.is_file():
        raise SystemExit(f"{args.questions} does not exist: pass --questions PATH")
    questions = load_set(args.set, args.half,
                         None if args.questions is None else [args.questions])
    if not questions:
        raise SystemExit("no question left to ask: check --set and --half")
    answerers = answerers_for(args.answerer, os.environ)
    with database(args.dsn) as dsn:
        tallies = asyncio.run(run(questions, args.corpus, dsn, answerers))
    print(report(tallies, show=args.show))


if __name__ == "__main__":
    main()
