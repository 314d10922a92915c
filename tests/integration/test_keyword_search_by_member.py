"""Keyword search by member (migration 0008) on a real PostgreSQL: each document's chunk
totals follow its chunks whoever writes them, and the keyword list, which scores only
a shortlist of the matches exactly, still puts first the chunks holding the question."""

from __future__ import annotations

from uuid import UUID, uuid4

import asyncpg
import attrs
import pytest

from adapters.postgres.connection import create_pool
from adapters.postgres.documents import PostgresDocumentRepository
from adapters.postgres.job_queue import PostgresJobQueue
from adapters.postgres.search_sql import KEYWORD_SHORTLIST
from domain.hybrid import SearchMode
from domain.model import StepOutput
from domain.status import JobStatus
from tests.conftest import TEST_VECTOR_DIMENSION
from tests.contract.builders import LEASE, MARIA, chunks_for, run_to, submit, unit
from tests.fakes.clock import FakeClock

pytestmark = pytest.mark.postgres
S = JobStatus


@pytest.fixture
def queue(pg_pool: asyncpg.Pool, pg_schema: str) -> PostgresJobQueue:
    return PostgresJobQueue(pg_pool, FakeClock(), pg_schema,
                            vector_dimension=TEST_VECTOR_DIMENSION)


async def _totals(pool: asyncpg.Pool, schema: str) -> dict[UUID, tuple[int, int]]:
    rows = await pool.fetch(
        f'SELECT document_id, chunks, tokens FROM "{schema}".document_chunk_totals')
    return {r["document_id"]: (r["chunks"], r["tokens"]) for r in rows}


async def test_a_documents_chunk_totals_follow_its_chunks_through_rechunking_and_deletion(
    queue: PostgresJobQueue, pg_pool: asyncpg.Pool, pg_schema: str
) -> None:
    texts = ["Deductible is $500 per year", "Copay is $20 per visit", "Coinsurance 20%"]
    await submit(queue, MARIA, b"maria's policy", FakeClock().now())
    [lease] = await queue.claim("worker-1", 1, LEASE)
    held = await run_to(queue, lease, S.EMBEDDINGS_STORED, TEST_VECTOR_DIMENSION, texts)
    assert held is not None
    document_id = held.job.document_id
    assert await _totals(pg_pool, pg_schema) == {document_id: (3, 5 + 5 + 2)}

    first, second, _ = chunks_for(held.job, texts)  # chunked again: one chunk fewer, one longer
    longer = attrs.evolve(second, text="Copay is $20 per office visit", token_count=6)
    await queue.finish_step(held, StepOutput(chunks=(first, longer)), LEASE)
    assert await _totals(pg_pool, pg_schema) == {document_id: (2, 5 + 6)}

    await pg_pool.execute(f'DELETE FROM "{pg_schema}".documents WHERE document_id = $1',
                          document_id)
    assert await _totals(pg_pool, pg_schema) == {}


async def test_a_chunk_holding_every_word_comes_first_among_more_matches_than_are_scored(
    queue: PostgresJobQueue, pg_pool: asyncpg.Pool, pg_schema: str
) -> None:
    """Far more chunks hold one of the words than the shortlist scores exactly; the one
    holding all of them, and the ones holding two, are still ranked first."""
    one_word = [f"The deductible applies to service number {n}." for n in range(
        KEYWORD_SHORTLIST + 50)]
    two_words = ["The deductible for a specialist is $50.",
                 "The deductible for each ambulance ride is $100."]
    every_word = "The deductible for a specialist visit by ambulance is waived."
    texts = [*one_word[:60], two_words[0], *one_word[60:], every_word, two_words[1]]
    await submit(queue, MARIA, b"maria's long policy", FakeClock().now())
    [lease] = await queue.claim("worker-1", 1, LEASE)
    assert await run_to(queue, lease, S.COMPLETE, TEST_VECTOR_DIMENSION, texts) is None
    repository = PostgresDocumentRepository(pg_pool, pg_schema)

    hits = await repository.search(
        MARIA, unit(0, TEST_VECTOR_DIMENSION), "text-embedding-3-small", 0.99, 5,
        text="specialist ambulance deductible", mode=SearchMode.KEYWORD)

    assert hits[0].chunk.text == every_word
    assert {h.chunk.text for h in hits[1:3]} == set(two_words)
    assert len(hits) == 5 and all(h.keyword_rank is not None for h in hits)


async def test_a_complete_documents_words_are_found_while_still_in_the_gin_pending_list(
    queue: PostgresJobQueue, pg_pool: asyncpg.Pool, pg_schema: str
) -> None:
    """The chunk step adds its GIN entries to the index's pending list (fastupdate), which
    is merged into the index later; a search reads the pending list too, so a document is
    searchable by its words the moment it is complete, merged or not."""
    index = f'"{pg_schema}".document_chunks_member_text_search'
    await pg_pool.execute(f"SELECT gin_clean_pending_list('{index}'::regclass)")
    await pg_pool.execute(f"ALTER INDEX {index} SET (fastupdate = on, "
                          "gin_pending_list_limit = 65536)")  # nothing merges it on the way
    await submit(queue, MARIA, b"maria's dental rider", FakeClock().now())
    [lease] = await queue.claim("worker-1", 1, LEASE)
    texts = ["Orthodontia is covered at 50% after a $1,000 lifetime maximum."]
    assert await run_to(queue, lease, S.COMPLETE, TEST_VECTOR_DIMENSION, texts) is None

    hits = await PostgresDocumentRepository(pg_pool, pg_schema).search(
        MARIA, unit(0, TEST_VECTOR_DIMENSION), "text-embedding-3-small", 0.99, 5,
        text="orthodontia lifetime maximum", mode=SearchMode.KEYWORD)

    assert [h.chunk.text for h in hits] == texts
    merged = await pg_pool.fetchval(f"SELECT gin_clean_pending_list('{index}'::regclass)")
    assert merged > 0  # the words were found in the pending list, not yet in the index


async def _sequential_scans_of_chunks(pool: asyncpg.Pool, schema: str) -> int:
    """Sequential scans of the chunks so far, this pool's one backend's included."""
    await pool.execute("SELECT pg_stat_force_next_flush()")  # flushed when it goes idle
    scans: int = await pool.fetchval(
        "SELECT seq_scan FROM pg_stat_user_tables WHERE schemaname = $1 "
        "AND relname = 'document_chunks'", schema)
    return scans


async def test_counting_a_documents_totals_reads_its_chunks_not_every_members(
    postgres_dsn: str, pg_schema: str
) -> None:
    """The totals trigger recounts the documents a chunk statement touched from their own
    chunks (the document's index range): the chunk step's cost does not grow with the
    table (migration 0013; before it, a hash join over every chunk)."""
    pool = await create_pool(postgres_dsn, pg_schema, min_size=1, max_size=1)
    try:
        s = f'"{pg_schema}"'
        for n in range(50):  # another member's 50 documents of 100 chunks
            other = uuid4()
            await pool.execute(
                f"INSERT INTO {s}.documents VALUES ($1, 'member-jamal', 'plan.pdf', "
                "'application/pdf', 10, $2, 'k', now())", other, f"{n:064x}")
            await pool.execute(
                f"INSERT INTO {s}.document_chunks (chunk_id, document_id, user_id, ordinal, "
                "text, token_count) SELECT gen_random_uuid(), $1, 'member-jamal', n, "
                "'Copay is $' || n || ' per visit', 6 FROM generate_series(0, 99) AS n", other)
        await pool.execute(f"ANALYZE {s}.document_chunks")
        queue = PostgresJobQueue(pool, FakeClock(), pg_schema,
                                 vector_dimension=TEST_VECTOR_DIMENSION)
        await submit(queue, MARIA, b"maria's policy", FakeClock().now())
        [lease] = await queue.claim("worker-1", 1, LEASE)
        held = await run_to(queue, lease, S.CHUNKING, TEST_VECTOR_DIMENSION)
        assert held is not None
        before = await _sequential_scans_of_chunks(pool, pg_schema)

        texts = ["Deductible is $500 per year", "Copay is $20 per visit"]
        await queue.finish_step(held, StepOutput(chunks=chunks_for(held.job, texts)), LEASE)

        assert await _sequential_scans_of_chunks(pool, pg_schema) == before
        assert (await _totals(pool, pg_schema))[held.job.document_id] == (2, 10)
    finally:
        await pool.close()
