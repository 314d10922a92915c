"""bench.search's ingestion with writers at once, on a real PostgreSQL: every document
is written once, through the worker's path, whichever writer claimed it, with
PostgreSQL's own tsvectors whoever computes them."""

from __future__ import annotations

import math
from pathlib import Path

import asyncpg
import pytest
from pgvector.asyncpg import register_vector

from adapters.postgres.connection import vector_schema
from bench._ingestion import close_writers, free_running, ingest, open_writers

pytestmark = pytest.mark.postgres

MEMBER = 7  # the ingestion writes as member "ingest-000007"
SIZES = (285, 285, 40)  # three documents: two writers write two, then one
VECTORS = sum(SIZES)
WORDS = ("deductible", "copay", "coinsurance", "premium", "formulary", "referral",
         "in-network", "out-of-pocket", "prior authorization", "Evidence of Coverage")


class Texts:
    """Chunk texts of the booklet's words, each document's its own (bench/_texts.py
    needs numpy)."""

    def document(self, number: int, chunks: int) -> list[tuple[str, int]]:
        return [(f"Document {number}, passage {i}: the "
                 + " and the ".join(WORDS[(number + i + k) % len(WORDS)] for k in range(5)),
                 20) for i in range(chunks)]


def _documents(dimensions: int) -> list[list[list[float]]]:
    """Distinct unit vectors, one per chunk."""
    out = []
    for d, size in enumerate(SIZES):
        out.append([[math.cos(d + i + k) / math.sqrt(dimensions) for k in range(dimensions)]
                    for i in range(size)])
    return out


def _cpu_readable(pid: int) -> bool:
    return Path(f"/proc/{pid}/schedstat").exists()


@pytest.fixture(autouse=True)
async def _backend_cpu_readable(conn: asyncpg.Connection) -> None:
    """The bench reads its backends' CPU from /proc: the server must run on this machine
    (it does unless NAVIGATOR_TEST_DATABASE_URL points elsewhere)."""
    if not _cpu_readable(await conn.fetchval("SELECT pg_backend_pid()")):
        pytest.skip("the test database runs on another machine: its backends' CPU cannot "
                    "be read from /proc here")


async def _register(conn: asyncpg.Connection) -> None:
    await register_vector(conn, schema=await vector_schema(conn) or "public")


@pytest.mark.parametrize("keyword_index", ["worker", "database"])
async def test_two_writers_write_every_document_once(
    postgres_dsn: str, pg_schema: str, pg_vector_dimension: int, conn: asyncpg.Connection,
    keyword_index: str,
) -> None:
    s = f'"{pg_schema}"'
    await _register(conn)
    writers = await open_writers(postgres_dsn, pg_schema, 2, pg_vector_dimension, _register,
                                 keyword_index)
    try:
        assert len({w.step_backend for w in writers} | {w.copy_backend for w in writers}) == 4
        result = await ingest(writers, conn, pg_schema, _documents(pg_vector_dimension),
                              Texts(), MEMBER, 0)
    finally:
        await close_writers(writers)

    assert (result.writers, result.documents, result.vectors) == (2, 3, VECTORS)
    per_document = await conn.fetch(
        f"SELECT d.document_id, j.status, count(DISTINCT c.chunk_id) AS chunks, "
        f"count(DISTINCT e.chunk_id) AS vectors FROM {s}.documents d "
        f"JOIN {s}.upload_jobs j USING (document_id) "
        f"LEFT JOIN {s}.document_chunks c USING (document_id) "
        f"LEFT JOIN {s}.chunk_embeddings e ON e.chunk_id = c.chunk_id "
        "WHERE d.user_id = 'ingest-000007' GROUP BY d.document_id, j.status")
    assert sorted(r["chunks"] for r in per_document) == [40, 285, 285]
    assert all(r["vectors"] == r["chunks"] for r in per_document)
    assert {r["status"] for r in per_document} == {"complete"}
    assert await conn.fetchval(f"SELECT count(*) FROM {s}.document_chunks") == VECTORS
    assert await conn.fetchval(f"SELECT count(*) FROM {s}.chunk_embeddings") == VECTORS
    # the COPYs' tables are gone: nothing of the comparison is left in the schema
    assert await conn.fetchval(
        "SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename LIKE 'plain_%'",
        pg_schema) == 0
    assert await conn.fetchval(
        f"SELECT count(*) FROM {s}.document_chunks WHERE text_search IS DISTINCT FROM "
        "to_tsvector('english'::regconfig, text)") == 0
    assert result.chunk_cpu > 0 and result.copy_chunks_tsvector_cpu > 0
    assert result.copy_chunks_supplied_cpu > 0


async def test_writers_each_on_their_own_complete_every_document_once(
    postgres_dsn: str, pg_schema: str, pg_vector_dimension: int, conn: asyncpg.Connection,
) -> None:
    s = f'"{pg_schema}"'
    writers = await open_writers(postgres_dsn, pg_schema, 2, pg_vector_dimension, _register)
    try:
        run = await free_running(writers, _documents(pg_vector_dimension), Texts(), MEMBER)
    finally:
        await close_writers(writers)

    assert (run.writers, run.documents, run.vectors) == (2, 3, VECTORS)
    assert run.database_cpu > 0 and run.seconds > 0
    rows = await conn.fetch(
        f"SELECT j.status, count(c.chunk_id) AS chunks, count(e.chunk_id) AS vectors "
        f"FROM {s}.upload_jobs j LEFT JOIN {s}.document_chunks c USING (document_id) "
        f"LEFT JOIN {s}.chunk_embeddings e USING (chunk_id) GROUP BY j.job_id, j.status")
    assert sorted((r["status"], r["chunks"], r["vectors"]) for r in rows) == [
        ("complete", 40, 40), ("complete", 285, 285), ("complete", 285, 285)]


async def test_a_writer_count_below_one_is_refused(postgres_dsn: str, pg_schema: str) -> None:
    with pytest.raises(ValueError, match="writers must be at least 1, got 0"):
        await open_writers(postgres_dsn, pg_schema, 0, 8, _register)
