"""Search finds the answers: a floor under bench/retrieval.py's figures, so that a
change that makes retrieval worse fails CI.

Both corpus PDFs go through the real pipeline (local parser, chunker, hashing
embedder at 1,536 dimensions) into PostgreSQL, then the 46 questions of
``bench/retrieval_questions.json`` are asked in hybrid mode (the default) and in
keyword mode. Measured with word pairs in the keyword score: hybrid hit@5 0.93
(43 of 46), MRR 0.75; keyword hit@5 0.93. The floors sit a question or so under,
so noise-free changes elsewhere pass and a real regression does not; the hybrid
floor is issue 11's target (0.90).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.retrieval import (
    evaluate,
    load_corpus,
    load_questions,
    settings_for,
)
from domain.hybrid import SearchMode
from entrypoints.container import build_container, running
from tests.conftest import migrated_schema

pytestmark = pytest.mark.postgres

DIMENSIONS = 1536


async def test_hybrid_search_puts_the_answer_in_the_top_five_for_most_questions(
    postgres_dsn: str, tmp_path: Path,
) -> None:
    questions = load_questions()
    assert len(questions) >= 40
    async with migrated_schema(postgres_dsn, DIMENSIONS) as schema:
        container = build_container(
            settings_for(tmp_path, DIMENSIONS, postgres_dsn, schema), postgres_dsn)
        async with running(container):
            await load_corpus(container, sorted({q.document for q in questions}))
            hybrid, keyword = await evaluate(container, questions,
                                             (SearchMode.HYBRID, SearchMode.KEYWORD))

    assert hybrid.hit_at_5 >= 0.90, hybrid.missed
    assert hybrid.mrr >= 0.70
    assert keyword.hit_at_5 >= 0.88, keyword.missed
