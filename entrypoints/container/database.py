"""The database as one command sees it, outside the container's pool: the configured
server (or the embedded one, started for the command), and what the operator's
commands and the deployment checklist ask of it over one connection of their own
(migrations, roles and row security, the queue's operator queries, the invariants).

This module and the container are the only entrypoints that import the PostgreSQL
adapters (an import-linter contract keeps it so): the commands name what they need
here, and the choice of technology stays in the composition root.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg

from adapters.clock import SystemClock
from adapters.postgres.connection import (
    check_pooler,
    connect,
    describe_dsn,
    jobs_channel,
    resolve_pooler_mode,
    vector_schema,
)
from adapters.postgres.embedded import EmbeddedPostgres
from adapters.postgres.errors import DATABASE_TROUBLE, DATABASE_UNREACHABLE, PoolerMismatch
from adapters.postgres.invariants import PostgresCanaryRows, PostgresInvariants
from adapters.postgres.migrations import SchemaStatus, run_migrations, schema_status
from adapters.postgres.operator import FailedJob, PostgresOperatorQueries, WaitingJob
from adapters.postgres.roles import (
    SERVICE_POLICY,
    RoleError,
    grant_service_role,
    role_in_use,
    row_security,
)
from adapters.postgres.workers import PostgresWorkerRegistry
from entrypoints.settings import Settings

__all__ = [
    "DATABASE_TROUBLE", "SERVICE_POLICY", "FailedJob", "PoolerMismatch", "PostgresCanaryRows",
    "PostgresInvariants", "PostgresOperatorQueries", "RoleError",
    "SchemaStatus", "WaitingJob", "connect", "describe_dsn", "grant_service_role",
    "jobs_channel", "resolve_pooler_mode", "role_in_use", "row_security", "run_migrations",
    "schema_status", "start_database", "vector_schema", "worker_registry_over",
]


async def start_database(settings: Settings) -> tuple[str, EmbeddedPostgres | None]:
    """The DSN to use, and the embedded server started for it (None when the settings
    name a database). Stop the server with ``.stop()``; it also stops at exit.

    A ``DATABASE_POOLER_MODE`` that does not fit the database's pooler stops here
    (:class:`PoolerMismatch`, naming the setting), as does a pgvector a transaction
    pooler would hide, before any server starts (so the operator reads one line, not
    a traceback); a database that does not answer is left for the pool to report."""
    dsn = settings.database_dsn()
    if dsn is not None:
        with contextlib.suppress(*DATABASE_UNREACHABLE):
            await check_pooler(dsn, settings.database_pooler_mode)
        return dsn, None
    server = EmbeddedPostgres(settings.pgdata_dir)
    return await asyncio.to_thread(server.start), server


def worker_registry_over(conn: asyncpg.Connection, schema: str) -> PostgresWorkerRegistry:
    """The worker registry on one connection of a command's own, on the system clock:
    which workers reported in recently (``navigator validate``)."""
    return PostgresWorkerRegistry(conn, SystemClock(), schema)
