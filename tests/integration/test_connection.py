"""Connecting: clear errors for an unreachable database or a missing pgvector, the
schema first on the search path, and a mode for transaction poolers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from adapters.postgres.connection import connect, create_pool, describe_dsn
from adapters.postgres.errors import DatabaseUnavailable, MissingExtension
from adapters.postgres.job_queue import PostgresJobQueue
from domain.status import JobStatus
from tests.contract.builders import LEASE, MARIA, submit
from tests.fakes.clock import FakeClock
from tests.ports import free_port

pytestmark = pytest.mark.postgres


def _closed_port() -> int:
    # Not bind(0)-and-close: that port is ephemeral, free for the kernel to hand to the
    # next listener or outgoing connection before the test connects to it.
    return free_port()


async def test_an_unreachable_database_is_named_without_its_password() -> None:
    port = _closed_port()
    dsn = f"postgresql://navigator:s3cret-pa55@127.0.0.1:{port}/insurance"

    with pytest.raises(DatabaseUnavailable) as raised:
        await create_pool(dsn, "upload_pipeline", connect_timeout=2)

    message = str(raised.value)
    assert f"127.0.0.1:{port}/insurance" in message
    assert "s3cret-pa55" not in message and "s3cret-pa55" not in repr(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_a_dsn_is_described_by_where_it_points_never_by_its_secret() -> None:
    assert describe_dsn("postgresql://u:pw@db.example.org:6543/postgres") == (
        "db.example.org:6543/postgres")
    assert describe_dsn("postgresql://postgres:@/postgres?host=/run/pg") == (
        "socket /run/pg/postgres")
    assert "pw" not in describe_dsn("postgresql://u:pw@h/d")


@pytest.fixture
async def database_without_pgvector(postgres_dsn: str) -> AsyncIterator[str]:
    name = f"plain_{uuid.uuid4().hex[:8]}"
    admin = await connect(postgres_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(postgres_dsn)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def test_a_database_without_pgvector_is_reported_with_what_to_do(
    database_without_pgvector: str,
) -> None:
    with pytest.raises(MissingExtension, match="pgvector extension is not installed") as raised:
        await create_pool(database_without_pgvector, "upload_pipeline")

    assert "navigator migrate" in str(raised.value)


async def test_the_pools_search_path_starts_with_the_schema(
    pg_pool: asyncpg.Pool, pg_schema: str
) -> None:
    assert await pg_pool.fetchval("SELECT count(*) FROM upload_jobs") == 0
    path = await pg_pool.fetchval("SHOW search_path")
    assert path.split(",")[0].strip().strip('"') == pg_schema


async def test_pooler_mode_works_without_prepared_statements_or_session_settings(
    postgres_dsn: str, pg_schema: str
) -> None:
    pool = await create_pool(postgres_dsn, pg_schema, pooler_mode="transaction", max_size=2)
    clock = FakeClock()
    try:
        queue = PostgresJobQueue(pool, clock, pg_schema)
        await submit(queue, MARIA, b"through a pooler", clock.now())
        [lease] = await queue.claim("worker-1", 1, LEASE)
        assert lease.job.status is JobStatus.PARSING
        async with pool.acquire() as conn:
            assert conn._config.statement_cache_size == 0
    finally:
        await pool.close()
