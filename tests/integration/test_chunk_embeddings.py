"""What the vectors' own table (migration 0006) must guarantee on a real PostgreSQL:
the embed step writes vectors without touching the chunks, and no vector outlives
the chunk it was made for, however that chunk goes away."""

from __future__ import annotations

from uuid import UUID, uuid5

import asyncpg
import attrs
import pytest

from adapters.postgres.invariants import PostgresInvariants
from adapters.postgres.job_queue import PostgresJobQueue
from domain.model import Lease, StepOutput
from domain.status import JobStatus
from tests.conftest import TEST_VECTOR_DIMENSION
from tests.contract.builders import LEASE, MARIA, chunks_for, run_to, submit, vectors_for
from tests.fakes.clock import FakeClock

pytestmark = pytest.mark.postgres
S = JobStatus


@pytest.fixture
def queue(pg_pool: asyncpg.Pool, pg_schema: str) -> PostgresJobQueue:
    return PostgresJobQueue(pg_pool, FakeClock(), pg_schema,
                            vector_dimension=TEST_VECTOR_DIMENSION)


async def _held_at(queue: PostgresJobQueue, status: JobStatus, texts: list[str]) -> Lease:
    await submit(queue, MARIA, b"maria's policy", FakeClock().now())
    [lease] = await queue.claim("worker-1", 1, LEASE)
    held = await run_to(queue, lease, status, TEST_VECTOR_DIMENSION, texts)
    assert held is not None
    return held


async def _completed(queue: PostgresJobQueue, texts: list[str]) -> UUID:
    """A document taken to complete; returns its id."""
    submission = await submit(queue, MARIA, b"maria's policy", FakeClock().now())
    [lease] = await queue.claim("worker-1", 1, LEASE)
    assert await run_to(queue, lease, S.COMPLETE, TEST_VECTOR_DIMENSION, texts) is None
    return submission.document.document_id


async def _vectors(pool: asyncpg.Pool, pg_schema: str) -> set[UUID]:
    rows = await pool.fetch(f'SELECT chunk_id FROM "{pg_schema}".chunk_embeddings')
    return {r["chunk_id"] for r in rows}


async def test_the_embed_step_leaves_the_chunk_rows_as_the_chunk_step_wrote_them(
    queue: PostgresJobQueue, pg_pool: asyncpg.Pool, pg_schema: str
) -> None:
    """No second version of a chunk (its text, tsvector and GIN entries): the row's
    xmin, the transaction that wrote it, is the chunk step's."""
    held = await _held_at(queue, S.EMBEDDING_IN_PROGRESS, ["deductible", "copay"])
    chunks_sql = f'SELECT chunk_id, xmin::text AS x FROM "{pg_schema}".document_chunks'
    before = {r["chunk_id"]: r["x"] for r in await pg_pool.fetch(chunks_sql)}

    await run_to(queue, held, S.COMPLETE, TEST_VECTOR_DIMENSION, ["deductible", "copay"])

    assert {r["chunk_id"]: r["x"] for r in await pg_pool.fetch(chunks_sql)} == before
    assert await _vectors(pg_pool, pg_schema) == set(before)


async def test_a_chunk_rewritten_under_a_new_id_takes_no_old_vector_along(
    queue: PostgresJobQueue, pg_pool: asyncpg.Pool, pg_schema: str
) -> None:
    held = await _held_at(queue, S.EMBEDDINGS_STORED, ["deductible", "copay"])
    kept, changed = chunks_for(held.job, ["deductible", "copay"])
    renamed = attrs.evolve(changed, chunk_id=uuid5(changed.chunk_id, "again"),
                           text="copay again")

    await queue.finish_step(held, StepOutput(chunks=(kept, renamed)), LEASE)

    assert await _vectors(pg_pool, pg_schema) == {kept.chunk_id}


async def test_deleting_a_document_deletes_its_vectors(
    queue: PostgresJobQueue, pg_pool: asyncpg.Pool, pg_schema: str
) -> None:
    document_id = await _completed(queue, ["deductible", "copay"])
    assert len(await _vectors(pg_pool, pg_schema)) == 2

    await pg_pool.execute(f'DELETE FROM "{pg_schema}".documents WHERE document_id = $1',
                          document_id)

    assert await _vectors(pg_pool, pg_schema) == set()


async def test_the_table_refuses_a_vector_for_a_chunk_that_does_not_exist(
    queue: PostgresJobQueue, pg_pool: asyncpg.Pool, pg_schema: str
) -> None:
    held = await _held_at(queue, S.EMBEDDING_IN_PROGRESS, ["deductible"])
    [chunk] = chunks_for(held.job, ["deductible"])
    [vector] = vectors_for((chunk,), TEST_VECTOR_DIMENSION)

    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await pg_pool.execute(
            f'INSERT INTO "{pg_schema}".chunk_embeddings '
            "(chunk_id, document_id, user_id, model, embedding) VALUES ($1, $2, $3, 'm', $4)",
            uuid5(chunk.chunk_id, "unknown"), held.job.document_id, MARIA, list(vector.vector))


async def test_a_vector_filed_under_another_member_breaks_an_invariant(
    queue: PostgresJobQueue, pg_pool: asyncpg.Pool, pg_schema: str
) -> None:
    await _completed(queue, ["deductible"])
    rules = {i.rule: i for i in await PostgresInvariants(pg_pool, pg_schema).check()}
    assert all(i.holds for i in rules.values())

    await pg_pool.execute(f"UPDATE \"{pg_schema}\".chunk_embeddings SET user_id = 'someone'")

    rules = {i.rule: i for i in await PostgresInvariants(pg_pool, pg_schema).check()}
    assert rules["no vector filed under another document or member than its chunk's"] \
        .violations == 1
