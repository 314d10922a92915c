"""The adapters through a real PgBouncer, in transaction and in session mode, as the
services reach Supabase through Supavisor (port 6543 and port 5432)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from adapters.postgres.connection import (
    check_pooler,
    connect,
    create_pool,
    open_pool,
    pooler_hint,
)
from adapters.postgres.errors import MissingExtension, PoolerMismatch
from adapters.postgres.job_queue import PostgresJobQueue
from adapters.postgres.migrations import load_migrations, run_migrations, schema_status
from domain.status import JobStatus
from entrypoints.cli.validate.connectivity import role_checks
from entrypoints.settings import load_settings
from tests.conftest import migrated_schema
from tests.contract.builders import LEASE, MARIA, submit
from tests.fakes.clock import FakeClock
from tests.pooler import Poolers, running_pgbouncer

pytestmark = pytest.mark.postgres


async def test_a_transaction_pooler_is_recognised_and_every_statement_works_through_it(
    poolers: Poolers, pg_schema: str,
) -> None:
    pool, mode = await open_pool(poolers.dsn("transaction"), pg_schema, pooler_mode="auto",
                                 max_size=4)
    clock = FakeClock()
    try:
        assert mode == "transaction"
        queue = PostgresJobQueue(pool, clock, pg_schema)
        # More statements at once than the pooler has clients' sessions to keep apart:
        # named prepared statements would collide here.
        for n in range(6):
            await submit(queue, MARIA, f"policy {n}".encode(), clock.now())
        leases = await asyncio.gather(*(queue.claim(f"worker-{n}", 1, LEASE) for n in range(6)))
        assert sorted(lease.job.status for [lease] in leases) == [JobStatus.PARSING] * 6
        counts = await asyncio.gather(*(pool.fetchval("SELECT count(*) FROM "
                                                      f'"{pg_schema}".upload_jobs')
                                        for _ in range(20)))
        assert counts == [6] * 20
    finally:
        await pool.close()


async def test_a_session_setting_in_front_of_a_transaction_pooler_is_refused_naming_the_fix(
    poolers: Poolers, pg_schema: str,
) -> None:
    with pytest.raises(PoolerMismatch) as refused:
        await create_pool(poolers.dsn("transaction"), pg_schema, pooler_mode="session")

    message = str(refused.value)
    assert "DATABASE_POOLER_MODE=transaction" in message
    assert "transaction-mode pooler" in message


@pytest.mark.parametrize("setting", ["auto", "session"])
async def test_a_session_pooler_works_without_a_search_path_startup_parameter(
    poolers: Poolers, pg_schema: str, setting: str,
) -> None:
    pool, mode = await open_pool(poolers.dsn("session"), pg_schema,
                                 pooler_mode=setting,  # type: ignore[arg-type]
                                 max_size=2)
    try:
        assert mode == "session"
        path = await pool.fetchval("SHOW search_path")
        assert path.split(",")[0].strip().strip('"') == pg_schema
        assert await pool.fetchval("SELECT '[1,2]'::vector <=> '[2,4]'::vector") == 0
    finally:
        await pool.close()


async def test_a_direct_connection_is_taken_for_what_it_is(
    postgres_dsn: str, pg_schema: str,
) -> None:
    pool, mode = await open_pool(postgres_dsn, pg_schema, pooler_mode="auto", max_size=1)
    await pool.close()

    assert mode == "session"
    assert await check_pooler(postgres_dsn, "session") == "session"


@pytest.mark.parametrize("mode", ["transaction", "session"])
async def test_migrations_and_their_status_work_through_either_pooler(
    poolers: Poolers, conn: asyncpg.Connection, blank_schema: str, mode: str,
) -> None:
    dsn = poolers.dsn(mode)  # type: ignore[arg-type]
    results = await asyncio.gather(*(run_migrations(dsn, blank_schema, 8) for _ in range(3)))

    applied = sorted(name for result in results for name in result)
    assert applied == [m.filename for m in load_migrations()]
    through = await connect(dsn)
    try:
        assert (await schema_status(through, blank_schema)).up_to_date
    finally:
        await through.close()
    assert await conn.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == 0


def test_supabases_pooler_addresses_say_which_mode_they_serve() -> None:
    host = "aws-0-eu-central-1.pooler.supabase.com"
    assert pooler_hint(f"postgresql://postgres.abc:pw@{host}:6543/postgres") == "transaction"
    assert pooler_hint(f"postgresql://postgres.abc:pw@{host}:5432/postgres") == "session"
    assert pooler_hint("postgresql://postgres:pw@db.abc.supabase.co:5432/postgres") is None
    assert pooler_hint("postgresql://postgres@/postgres?host=/run/pg&port=6543") == "transaction"


# -- pgvector outside the default search path (Supabase's ``extensions`` schema) ----------


@pytest.fixture
async def extensions_database(postgres_dsn: str) -> AsyncIterator[str]:
    """A database whose pgvector lives in schema ``extensions``, off the search path."""
    name = f"ext_{uuid.uuid4().hex[:8]}"
    admin = await connect(postgres_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = urlunsplit(urlsplit(postgres_dsn)._replace(path=f"/{name}"))
    try:
        inside = await connect(dsn)
        try:
            await inside.execute("CREATE SCHEMA extensions; "
                                 "CREATE EXTENSION vector SCHEMA extensions")
        finally:
            await inside.close()
        yield dsn
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def test_session_mode_finds_pgvector_in_the_extensions_schema_by_itself(
    extensions_database: str,
) -> None:
    with running_pgbouncer(extensions_database, "session") as dsn:
        async with migrated_schema(dsn, 8) as schema:
            pool = await create_pool(dsn, schema, pooler_mode="auto", max_size=1)
            try:
                assert await pool.fetchval(
                    "SELECT binary_quantize('[1,-1]'::vector)::text") == "10"
            finally:
                await pool.close()


async def test_transaction_mode_with_pgvector_off_the_search_path_is_refused_naming_the_fix(
    extensions_database: str,
) -> None:
    with running_pgbouncer(extensions_database, "transaction") as dsn:
        with pytest.raises(MissingExtension) as refused:
            await create_pool(dsn, "upload_pipeline", pooler_mode="transaction")
        assert "ALTER ROLE" in str(refused.value)
        assert "extensions" in str(refused.value)
        with pytest.raises(MissingExtension, match="ALTER ROLE"):  # the start-up check
            await check_pooler(dsn, "auto")

    admin = await connect(extensions_database)
    try:
        database = urlsplit(extensions_database).path.lstrip("/")
        await admin.execute(f'ALTER DATABASE "{database}" '
                            'SET search_path = "$user", public, extensions')
    finally:
        await admin.close()
    with running_pgbouncer(extensions_database, "transaction") as dsn:  # new sessions
        pool = await create_pool(dsn, "upload_pipeline", pooler_mode="transaction")
        await pool.close()
        assert await check_pooler(dsn, "auto") == "transaction"


@pytest.mark.parametrize(("setting", "passed", "said"), [
    ("auto", True, "transaction pooler: no prepared statements"),
    ("session", False, "set DATABASE_POOLER_MODE=transaction"),
])
async def test_validate_reports_the_pooler_mode_it_detects(
    poolers: Poolers, pg_schema: str, setting: str, passed: bool, said: str,
) -> None:
    """`navigator validate` names the mode the services would settle on, and fails the
    check, with the fix, where they would refuse to start."""
    dsn = poolers.dsn("transaction")
    settings = load_settings({"DATABASE_SCHEMA": pg_schema, "DATABASE_POOLER_MODE": setting})
    conn = await connect(dsn)
    try:
        _role, pooler = await role_checks(conn, settings, dsn)
    finally:
        await conn.close()
    assert pooler.passed is passed
    assert said in pooler.detail
