"""pgvector where Supabase puts it: in the ``extensions`` schema, not ``public``.

A fresh database on the test run's server, set up as a Supabase project is: the
``extensions`` schema holds ``vector`` (``CREATE EXTENSION vector SCHEMA
extensions`` ran before any migration), and the database's default ``search_path``
is ``"$user", public, extensions``. Migrations, the pool (direct and in pooler
mode, which sets no ``search_path`` of its own), the pipeline and a search must all
work there, for the owner and for a service role.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from adapters.postgres.connection import PoolerSetting, connect, create_pool, vector_schema
from adapters.postgres.documents import PostgresDocumentRepository
from adapters.postgres.job_queue import PostgresJobQueue
from adapters.postgres.migrations import run_migrations
from adapters.postgres.roles import grant_service_role
from domain.status import JobStatus
from tests.conftest import TEST_VECTOR_DIMENSION
from tests.contract.builders import LEASE, MARIA, run_to, submit, unit
from tests.fakes.clock import FakeClock
from tests.roles import create_login_role, drop_role, dsn_as

pytestmark = pytest.mark.postgres

SCHEMA = "upload_pipeline"
MODEL = "text-embedding-3-small"


def _in_database(dsn: str, database: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{database}"))


@pytest.fixture
async def supabase_like(postgres_dsn: str, conn: asyncpg.Connection) -> AsyncIterator[str]:
    """The DSN of a new database whose pgvector lives in ``extensions``."""
    name = f"supabase_like_{uuid.uuid4().hex[:10]}"
    await conn.execute(f"CREATE DATABASE {name}")
    dsn = _in_database(postgres_dsn, name)
    try:
        setup = await connect(dsn)
        try:
            await setup.execute(
                "CREATE SCHEMA extensions; CREATE EXTENSION vector SCHEMA extensions; "
                f"ALTER DATABASE {name} SET search_path = \"$user\", public, extensions")
        finally:
            await setup.close()
        yield dsn
    finally:
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
async def service_role(conn: asyncpg.Connection, supabase_like: str) -> AsyncIterator[str]:
    name = await create_login_role(conn)
    try:
        yield name
    finally:
        there = await connect(supabase_like)
        try:
            await there.execute(f'DROP OWNED BY "{name}"')
        finally:
            await there.close()
        await drop_role(conn, name)


async def _complete_and_search(dsn: str, *, pooler_mode: PoolerSetting) -> str:
    """Take a document to complete through a pool on ``dsn``; the best passage's text."""
    pool = await create_pool(dsn, SCHEMA, pooler_mode=pooler_mode, max_size=2)
    try:
        queue = PostgresJobQueue(pool, FakeClock(), SCHEMA,
                                 vector_dimension=TEST_VECTOR_DIMENSION)
        await submit(queue, MARIA, uuid.uuid4().bytes, FakeClock().now())
        [lease] = await queue.claim("worker-1", 1, LEASE)
        assert await run_to(queue, lease, JobStatus.COMPLETE, TEST_VECTOR_DIMENSION,
                            ["Deductible is $500 per year", "Copay is $20"]) is None
        hits = await PostgresDocumentRepository(pool, SCHEMA).search(
            MARIA, unit(1, TEST_VECTOR_DIMENSION), MODEL, 0.0, 1)
    finally:
        await pool.close()
    return hits[0].chunk.text


async def test_migrations_find_pgvector_in_the_extensions_schema_and_leave_public_alone(
    supabase_like: str,
) -> None:
    applied = await run_migrations(supabase_like, SCHEMA, TEST_VECTOR_DIMENSION)

    assert "0001_initial.sql" in applied
    conn = await connect(supabase_like)
    try:
        assert await vector_schema(conn) == "extensions"
        column_type = await conn.fetchval(
            "SELECT n.nspname || '.' || format_type(a.atttypid, a.atttypmod) "
            "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
            "JOIN pg_namespace n ON n.oid = t.typnamespace "
            "WHERE a.attrelid = 'upload_pipeline.chunk_embeddings'::regclass "
            "AND a.attname = 'embedding'")
        in_public = await conn.fetchval(
            "SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
            "WHERE n.nspname = 'public' AND t.typname = 'vector'")
    finally:
        await conn.close()
    assert column_type == f"extensions.vector({TEST_VECTOR_DIMENSION})"
    assert in_public == 0


@pytest.mark.parametrize("pooler_mode", ["session", "transaction"],
                         ids=["direct", "pooler-mode"])
async def test_the_pipeline_and_search_work_with_pgvector_in_extensions(
    supabase_like: str, pooler_mode: PoolerSetting
) -> None:
    await run_migrations(supabase_like, SCHEMA, TEST_VECTOR_DIMENSION)

    assert await _complete_and_search(supabase_like, pooler_mode=pooler_mode) == "Copay is $20"


async def test_a_service_role_is_given_the_extensions_schema_too(
    supabase_like: str, service_role: str
) -> None:
    await run_migrations(supabase_like, SCHEMA, TEST_VECTOR_DIMENSION)
    owner = await connect(supabase_like)
    try:
        grant = await grant_service_role(owner, SCHEMA, service_role)
    finally:
        await owner.close()
    assert f'GRANT USAGE ON SCHEMA "extensions" TO "{service_role}"' in grant.statements

    as_service = dsn_as(supabase_like, service_role)
    assert await _complete_and_search(as_service, pooler_mode="session") == "Copay is $20"
