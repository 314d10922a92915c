"""Who computes a chunk's keyword index (migration 0014, adapters/postgres/keyword_index.py):
whatever writes a chunk, its stored tsvector is ``to_tsvector('english', text)``.

The worker supplies it where it can be sure (checked against the database before its
first chunk write); the database's trigger computes it for every chunk written without
one: the previous release's statements, and this release's chunks the worker declines.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import asyncpg
import pytest

from adapters.postgres.job_queue import PostgresJobQueue
from adapters.postgres.keyword_index import KeywordIndexer
from adapters.postgres.tsvector import english_tsvector
from domain.model import Chunk
from domain.status import JobStatus
from tests.conftest import TEST_VECTOR_DIMENSION
from tests.contract.builders import LEASE, MARIA, chunks_for, run_to, submit, upload
from tests.fakes.clock import FakeClock

pytestmark = pytest.mark.postgres

#: Shapes an Evidence of Coverage is full of, and one the worker leaves to the database.
TEXTS = [
    "Your out-of-pocket maximum is $7,000 each year; after that we pay 100%.",
    "Call Member Services at 1-800-633-4227 (TTY 711), 8 a.m. to 8 p.m., or visit "
    "www.medicare.gov.",
    "Specialist visits: $60 copay. Emergency care: $90 copayment for each visit.",
    "Cobertura médica en el extranjero: llame al número de su tarjeta.",
]

_DIFFERING = ("SELECT count(*) FROM {s}.document_chunks "
              "WHERE text_search IS DISTINCT FROM to_tsvector('english'::regconfig, text)")


async def _differing(pool: asyncpg.Pool, schema: str) -> int:
    return int(await pool.fetchval(_DIFFERING.format(s=f'"{schema}"')))


async def test_the_chunk_step_stores_postgresqls_own_tsvector_for_every_chunk(
    pg_pool: asyncpg.Pool, pg_schema: str
) -> None:
    queue = PostgresJobQueue(pg_pool, FakeClock(), pg_schema,
                             vector_dimension=TEST_VECTOR_DIMENSION)
    await submit(queue, MARIA, b"maria's policy", FakeClock().now())
    [lease] = await queue.claim("worker-1", 1, LEASE)

    assert await run_to(queue, lease, JobStatus.COMPLETE, TEST_VECTOR_DIMENSION, TEXTS) is None

    assert await pg_pool.fetchval(f'SELECT count(*) FROM "{pg_schema}".document_chunks') == 4
    assert await _differing(pg_pool, pg_schema) == 0
    # the worker wrote the English ones itself, and left the Spanish one to the database
    assert [english_tsvector(t) is not None for t in TEXTS] == [True, True, True, False]


async def test_the_worker_supplies_tsvectors_only_after_the_database_agrees(
    pg_pool: asyncpg.Pool,
) -> None:
    indexer = KeywordIndexer(pg_pool)
    assert indexer.by_worker is None
    column = await indexer.column(_chunks())
    assert indexer.by_worker is True
    assert column[:3] == [english_tsvector(t) for t in TEXTS[:3]] and None not in column[:3]
    assert column[3] is None


async def test_a_database_that_indexes_differently_indexes_every_chunk_itself(
    postgres_dsn: str, pg_schema: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A database whose ``english`` configuration is not the one the worker knows (here:
    the schema's own, first on the search path, indexing words unstemmed): the worker
    says so once and leaves every chunk to the database."""
    conn = await asyncpg.connect(postgres_dsn)
    try:
        await conn.execute(f'CREATE TEXT SEARCH CONFIGURATION "{pg_schema}".english '
                           "(COPY = pg_catalog.simple)")
        await conn.execute(f'SET search_path TO "{pg_schema}", pg_catalog')
        indexer = KeywordIndexer(_OneConnection(conn))  # type: ignore[arg-type]
        chunks = _chunks()
        with caplog.at_level(logging.WARNING, logger="navigator.worker"):
            assert await indexer.column(chunks) == [None] * 4
            assert await indexer.column(chunks) == [None] * 4
    finally:
        await conn.close()
    assert indexer.by_worker is False
    warnings = [r.getMessage() for r in caplog.records if r.name == "navigator.worker"]
    assert len(warnings) == 1 and "indexes words differently" in warnings[0]
    assert not any(t[:20] in warnings[0] for t in TEXTS)


async def test_worker_indexes_keywords_off_leaves_every_chunk_to_the_database(
    pg_pool: asyncpg.Pool, pg_schema: str
) -> None:
    queue = PostgresJobQueue(pg_pool, FakeClock(), pg_schema,
                             vector_dimension=TEST_VECTOR_DIMENSION,
                             worker_indexes_keywords=False)
    await submit(queue, MARIA, b"maria's policy", FakeClock().now())
    [lease] = await queue.claim("worker-1", 1, LEASE)
    assert await run_to(queue, lease, JobStatus.COMPLETE, TEST_VECTOR_DIMENSION, TEXTS) is None
    assert await _differing(pg_pool, pg_schema) == 0


async def test_the_previous_releases_chunk_writes_are_indexed_by_the_database(
    pg_pool: asyncpg.Pool, pg_schema: str
) -> None:
    """The release before 0014 never names ``text_search``: its INSERT, its ON CONFLICT
    update of the text, and an explicit NULL are each indexed by the trigger."""
    s = f'"{pg_schema}"'
    queue = PostgresJobQueue(pg_pool, FakeClock(), pg_schema,
                             vector_dimension=TEST_VECTOR_DIMENSION)
    job = (await submit(queue, MARIA, b"maria's policy", FakeClock().now())).job
    insert = (f"INSERT INTO {s}.document_chunks AS c (document_id, user_id, chunk_id, "
              "ordinal, text, token_count, chunker) VALUES ($1, $2, gen_random_uuid(), $3, "
              "$4, 5, 'before') ON CONFLICT (document_id, ordinal) DO UPDATE "
              "SET text = EXCLUDED.text")
    await pg_pool.execute(insert, job.document_id, job.user_id, 0, "Hearing aids: $500")
    await pg_pool.execute(insert, job.document_id, job.user_id, 1, "Dental: not covered")
    await pg_pool.execute(insert, job.document_id, job.user_id, 1, "Vision exams covered")
    await pg_pool.execute(f"UPDATE {s}.document_chunks SET text_search = NULL "
                          "WHERE ordinal = 0")

    rows = await pg_pool.fetch(f"SELECT ordinal, text_search::text AS t FROM "
                               f"{s}.document_chunks ORDER BY ordinal")
    assert [r["t"] for r in rows] == ["'500':3 'aid':2 'hear':1", "'cover':3 'exam':2 'vision':1"]
    assert await _differing(pg_pool, pg_schema) == 0


def _chunks() -> tuple[Chunk, ...]:
    _, job = upload(MARIA, b"maria's policy", FakeClock().now())
    return chunks_for(job, TEXTS)


class _OneConnection:
    """A pool of one given connection (its session settings kept)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[asyncpg.Connection]:
        yield self._conn
