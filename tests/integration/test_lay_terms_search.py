"""A question in a member's own words finds the booklet's passage, on PostgreSQL.

The search use case expands the question with the glossary's booklet terms
(``domain/lay_terms.py``); the keyword list finds chunks by them too, each worth
``BOOKLET_WEIGHT`` of one of the member's own words.
"""

from __future__ import annotations

import asyncpg
import pytest

from adapters.postgres.documents import PostgresDocumentRepository
from adapters.postgres.job_queue import PostgresJobQueue
from adapters.text_search import EnglishWords
from domain.hybrid import SearchMode
from domain.lay_terms import BOOKLET_WEIGHT, LayTerms
from domain.model import ScoredChunk
from tests.conftest import TEST_VECTOR_DIMENSION
from tests.contract.builders import MARIA, process_fully, submit, unit
from tests.fakes.clock import FakeClock

pytestmark = pytest.mark.postgres

MODEL = "text-embedding-3-small"
GLOSSARY = LayTerms.of(EnglishWords())

TEXTS = [
    "Your maximum out-of-pocket amount is $3,400 each year for medical services.",
    "Hospital care in the plan's network is covered in full.",
    "Members may spend their over-the-counter allowance at network pharmacies.",
]


async def _store(pool: asyncpg.Pool, schema: str, texts: list[str]
                 ) -> PostgresDocumentRepository:
    """``texts`` as the chunks of one of Maria's documents, in order."""
    clock = FakeClock()
    queue = PostgresJobQueue(pool, clock, schema)
    await submit(queue, MARIA, b"policy", clock.now())
    await process_fully(queue, "worker-1", TEST_VECTOR_DIMENSION, texts, MODEL)
    return PostgresDocumentRepository(pool, schema)


async def _search(documents: PostgresDocumentRepository, question: str, *, expanded: bool,
                  mode: SearchMode = SearchMode.KEYWORD) -> list[ScoredChunk]:
    """Maria's chunks found by the question's words (and, ``expanded``, the glossary's)."""
    return await documents.search(
        MARIA, unit(0, TEST_VECTOR_DIMENSION), MODEL, 0.99, 10, text=question, mode=mode,
        expansion=GLOSSARY.expansion(question) if expanded else "")


async def test_a_question_in_a_members_words_finds_the_booklets_passage(
    pg_pool: asyncpg.Pool, pg_schema: str,
) -> None:
    documents = await _store(pg_pool, pg_schema, TEXTS)
    question = "Is there a cap on what I could ever pay?"

    plain = await _search(documents, question, expanded=False)
    expanded = await _search(documents, question, expanded=True)

    assert plain == []  # no passage says "cap" or "pay"
    assert [h.chunk.text for h in expanded] == [TEXTS[0]]
    assert "**maximum** out-of-**pocket** **amount**" in expanded[0].highlight


async def test_the_expansion_finds_passages_in_hybrid_search_too(
    pg_pool: asyncpg.Pool, pg_schema: str,
) -> None:
    documents = await _store(pg_pool, pg_schema, TEXTS)

    hits = await _search(documents, "What's the most I'd have to pay?", expanded=True,
                         mode=SearchMode.HYBRID)

    assert hits and hits[0].chunk.text == TEXTS[0]
    assert hits[0].keyword_rank == 1


async def test_a_booklet_word_weighs_half_of_one_of_the_members_own(
    pg_pool: asyncpg.Pool, pg_schema: str,
) -> None:
    """"cap" is the member's word, "maximum" one the glossary adds for "spending cap":
    two passages alike but for those words (the first would win a tie), the member's
    word comes first, the glossary's scoring ``BOOKLET_WEIGHT`` of it."""
    booklets = "The maximum applies to every member of the plan."
    members = "The cap applies to every member of the plan."
    documents = await _store(pg_pool, pg_schema, [booklets, members])

    hits = await _search(documents, "Is there a spending cap?", expanded=True)

    assert [h.chunk.text for h in hits] == [members, booklets]
    assert hits[1].score == pytest.approx(BOOKLET_WEIGHT * hits[0].score)
