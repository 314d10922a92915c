"""Who computes a chunk's keyword index (migration 0014, adapters/postgres/keyword_index.py):
whatever writes a chunk, its stored tsvector is ``to_tsvector('english', text)``.

The worker supplies it where it can be sure (checked against the database before its
first chunk write); the database's trigger computes it for every chunk written without
one: the previous release's statements, and this release's chunks the worker declines.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from typing import Any

import asyncpg
import pytest

from adapters.postgres import keyword_index
from adapters.postgres.job_queue import PostgresJobQueue
from adapters.postgres.keyword_index import KeywordIndexer
from adapters.postgres.tsvector import CALIBRATION, english_tsvector
from domain.model import Chunk, StepOutput
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
    pg_pool: asyncpg.Pool, pg_schema: str, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A database whose ``english`` is not the one this worker knows (here: a worker
    whose stems differ, as another PostgreSQL's would): the worker says so once and
    leaves every chunk to the database, which indexes them all."""
    monkeypatch.setattr(keyword_index, "english_tsvector",
                        lambda text: _unstemmed(text) if text == CALIBRATION else "'x':1")
    queue = PostgresJobQueue(pg_pool, FakeClock(), pg_schema,
                             vector_dimension=TEST_VECTOR_DIMENSION)
    with caplog.at_level(logging.WARNING, logger="navigator.worker"):
        for content in (b"first", b"second"):
            await submit(queue, MARIA, content, FakeClock().now())
            [lease] = await queue.claim("worker-1", 1, LEASE)
            assert await run_to(queue, lease, JobStatus.COMPLETE, TEST_VECTOR_DIMENSION,
                                TEXTS) is None

    assert await _differing(pg_pool, pg_schema) == 0
    warnings = [r.getMessage() for r in caplog.records if r.name == "navigator.worker"]
    assert len(warnings) == 1 and "indexes words differently" in warnings[0]
    assert not any(t[:20] in warnings[0] for t in TEXTS)


def _unstemmed(text: str) -> str:
    return " ".join(f"'{w.lower()}':{n}" for n, w in enumerate(text.split()[:50], 1)
                    if w.isalpha())


async def test_the_workers_tsvectors_are_stored_as_written_and_declined_ones_computed(
    pg_pool: asyncpg.Pool, pg_schema: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the worker supplies is what is stored (the database computes nothing for
    it), and a chunk it declines is indexed by the database: a worker whose every
    tsvector reads 'sentinel' leaves exactly that, and PostgreSQL's own for the one
    it declines."""
    real = keyword_index.english_tsvector
    monkeypatch.setattr(
        keyword_index, "english_tsvector",
        lambda text: real(text) if text == CALIBRATION or real(text) is None
        else "'sentinel':1")
    queue = PostgresJobQueue(pg_pool, FakeClock(), pg_schema,
                             vector_dimension=TEST_VECTOR_DIMENSION)
    await submit(queue, MARIA, b"maria's policy", FakeClock().now())
    [lease] = await queue.claim("worker-1", 1, LEASE)
    assert await run_to(queue, lease, JobStatus.COMPLETE, TEST_VECTOR_DIMENSION, TEXTS) is None

    stored = await pg_pool.fetch(
        f'SELECT text_search::text AS t, text_search = to_tsvector(\'english\', text) AS own '
        f'FROM "{pg_schema}".document_chunks ORDER BY ordinal')
    assert [r["t"] for r in stored[:3]] == ["'sentinel':1"] * 3
    assert stored[3]["own"] and stored[3]["t"] != "'sentinel':1"


async def test_writing_a_documents_chunks_again_keeps_every_tsvector_postgresqls(
    pg_pool: asyncpg.Pool, pg_schema: str,
) -> None:
    """The chunk statement's update path: an unchanged chunk is left as it was, a
    changed one (English, then one the worker declines) is indexed anew."""
    queue = PostgresJobQueue(pg_pool, FakeClock(), pg_schema,
                             vector_dimension=TEST_VECTOR_DIMENSION)
    await submit(queue, MARIA, b"maria's policy", FakeClock().now())
    [lease] = await queue.claim("worker-1", 1, LEASE)
    held = await run_to(queue, lease, JobStatus.EMBEDDINGS_STORED, TEST_VECTOR_DIMENSION,
                        TEXTS[:3])
    assert held is not None
    rows = f'SELECT ordinal, xmin::text AS x FROM "{pg_schema}".document_chunks ORDER BY ordinal'
    before = [r["x"] for r in await pg_pool.fetch(rows)]

    await queue.finish_step(held, StepOutput(chunks=chunks_for(
        held.job, [TEXTS[0], "Vision: one exam every 12 months at $0.", TEXTS[3]])), LEASE)

    after = [r["x"] for r in await pg_pool.fetch(rows)]
    assert after[0] == before[0] and after[1] != before[1] and after[2] != before[2]
    assert await _differing(pg_pool, pg_schema) == 0


async def test_a_tsvector_the_database_refuses_leaves_the_chunks_to_it_and_quotes_nothing(
    pg_pool: asyncpg.Pool, pg_schema: str, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Should a worker ever write a tsvector PostgreSQL cannot read (its error quotes
    the literal: the chunk's words), the chunk step still completes, the database
    indexes the chunks, and neither the log nor the job holds the words."""
    real = keyword_index.english_tsvector
    monkeypatch.setattr(
        keyword_index, "english_tsvector",
        lambda text: real(text) if text == CALIBRATION else f"'{text}")  # unterminated
    queue = PostgresJobQueue(pg_pool, FakeClock(), pg_schema,
                             vector_dimension=TEST_VECTOR_DIMENSION)
    submission = await submit(queue, MARIA, b"maria's policy", FakeClock().now())
    [lease] = await queue.claim("worker-1", 1, LEASE)
    with caplog.at_level(logging.DEBUG):
        assert await run_to(queue, lease, JobStatus.COMPLETE, TEST_VECTOR_DIMENSION,
                            TEXTS) is None

    assert await _differing(pg_pool, pg_schema) == 0
    job = await queue.job_for_document(submission.document.document_id)
    logged = " ".join(r.getMessage() for r in caplog.records) + str(job.last_error)
    assert "refused a tsvector" in logged
    assert not any(word in logged for word in ("out-of-pocket", "Specialist", "7,000"))


async def test_worker_indexes_keywords_off_leaves_every_chunk_to_the_database(
    pg_pool: asyncpg.Pool, pg_schema: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(keyword_index, "english_tsvector", lambda text: "'sentinel':1")
    queue = PostgresJobQueue(pg_pool, FakeClock(), pg_schema,
                             vector_dimension=TEST_VECTOR_DIMENSION,
                             worker_indexes_keywords=False)
    await submit(queue, MARIA, b"maria's policy", FakeClock().now())
    [lease] = await queue.claim("worker-1", 1, LEASE)
    assert await run_to(queue, lease, JobStatus.COMPLETE, TEST_VECTOR_DIMENSION, TEXTS) is None
    assert await _differing(pg_pool, pg_schema) == 0  # none is the sentinel


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


async def test_first_chunk_writes_at_once_check_the_database_once(
    pg_pool: asyncpg.Pool,
) -> None:
    pool = _Counting(pg_pool)
    indexer = KeywordIndexer(pool)  # type: ignore[arg-type]

    first, second = await asyncio.gather(indexer.column(_chunks()), indexer.column(_chunks()))

    assert pool.acquired == 1
    assert first == second and None not in first[:3]


async def test_a_refused_tsvector_whose_second_write_fails_carries_no_words_in_its_error(
    pg_pool: asyncpg.Pool, pg_schema: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The refused literal's error (it quotes the chunk's words) is not the cause or the
    context of whatever the write again raises."""
    real = keyword_index.english_tsvector
    monkeypatch.setattr(
        keyword_index, "english_tsvector",
        lambda text: real(text) if text == CALIBRATION else f"'{text}")  # unterminated
    pool = _Counting(pg_pool, fail_chunk_write=2)
    queue = PostgresJobQueue(pool, FakeClock(), pg_schema,  # type: ignore[arg-type]
                             vector_dimension=TEST_VECTOR_DIMENSION)
    await submit(queue, MARIA, b"maria's policy", FakeClock().now())
    [lease] = await queue.claim("worker-1", 1, LEASE)

    with pytest.raises(Exception) as raised:
        await run_to(queue, lease, JobStatus.COMPLETE, TEST_VECTOR_DIMENSION, TEXTS)

    told = "".join(traceback.format_exception(raised.value))
    assert "connection was closed" in told
    assert not any(word in told for word in ("out-of-pocket", "Specialist", "7,000"))


async def test_the_databases_trigger_indexes_with_pg_catalogs_english_whatever_the_path(
    postgres_dsn: str, pg_pool: asyncpg.Pool, pg_schema: str,
) -> None:
    """A session whose search path finds another ``english`` first (the schema's own,
    indexing words unstemmed) still stores PostgreSQL's own: the generated column kept
    its configuration by identifier, and the trigger names it."""
    queue = PostgresJobQueue(pg_pool, FakeClock(), pg_schema,
                             vector_dimension=TEST_VECTOR_DIMENSION)
    job = (await submit(queue, MARIA, b"maria's policy", FakeClock().now())).job
    conn = await asyncpg.connect(postgres_dsn)
    try:
        await conn.execute(f'CREATE TEXT SEARCH CONFIGURATION "{pg_schema}".english '
                           "(COPY = pg_catalog.simple)")
        await conn.execute(f'SET search_path TO "{pg_schema}", pg_catalog')
        assert await conn.fetchval("SELECT to_tsvector('english', 'hearing aids')::text") \
            == "'aids':2 'hearing':1"  # the path's own, unstemmed
        await conn.execute(
            "INSERT INTO document_chunks (document_id, user_id, chunk_id, ordinal, text, "
            "token_count, chunker) VALUES ($1, $2, gen_random_uuid(), 0, 'Hearing aids', "
            "2, 'before')", job.document_id, job.user_id)
    finally:
        await conn.close()
    assert await pg_pool.fetchval(
        f'SELECT text_search::text FROM "{pg_schema}".document_chunks') == "'aid':2 'hear':1"


class _Counting:
    """A pool that counts its connections handed out, and can fail its ``n``-th chunk
    write as a dropped connection would."""

    def __init__(self, pool: asyncpg.Pool, fail_chunk_write: int = 0) -> None:
        self._pool = pool
        self._fail_at = fail_chunk_write
        self._chunk_writes = 0
        self.acquired = 0

    def acquire(self) -> Any:
        self.acquired += 1
        return self._pool.acquire()

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        if "INSERT INTO" in sql and "document_chunks AS c" in sql:
            self._chunk_writes += 1
            if self._chunk_writes == self._fail_at:
                raise asyncpg.ConnectionDoesNotExistError("connection was closed")
        return await self._pool.fetchrow(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)
