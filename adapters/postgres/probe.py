"""Is PostgreSQL there, with our schema migrated? A probe for ``/health`` that never raises."""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from adapters.postgres.connection import describe_dsn
from adapters.postgres.errors import DATABASE_TROUBLE
from adapters.postgres.migrations import schema_status
from domain.model import DatabaseReport

PROBE_TIMEOUT = 3.0

log = logging.getLogger("navigator.health")


class PostgresDatabaseProbe:
    """Asks the pool for a connection and reads the schema's migration record."""

    def __init__(self, pool: asyncpg.Pool, schema: str, dsn: str,
                 timeout: float = PROBE_TIMEOUT) -> None:
        self._pool = pool
        self._schema = schema
        self._where = describe_dsn(dsn)
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"PostgresDatabaseProbe({self._where!r}, schema={self._schema!r})"

    async def check(self) -> DatabaseReport:
        try:
            async with asyncio.timeout(self._timeout):
                async with self._pool.acquire() as conn:
                    status = await schema_status(conn, self._schema)
        except DATABASE_TROUBLE as exc:
            reason = "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
            # /health is public: where the database lives goes to the log, not the answer.
            log.warning("database unreachable", extra={"database": self._where,
                                                        "error": reason})
            return DatabaseReport(False, self._schema,
                                  error=f"cannot reach PostgreSQL: {reason}", where=self._where)
        version = max((m.version for m in status.applied), default=None)
        return DatabaseReport(
            reachable=True, schema=self._schema, schema_present=status.exists,
            migration_version=version,
            pending_migrations=status.pending, refused_migrations=status.changed,
            where=self._where,
        )
