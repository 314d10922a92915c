"""The workers table: who is running, and when each last said so."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from adapters.postgres._rows import worker_from_row
from adapters.postgres.connection import DEFAULT_SCHEMA, quote_schema
from adapters.postgres.errors import translates_outages
from domain.errors import NotFound
from domain.model import WorkerInfo
from domain.ports import Clock

#: A worker row's own live window, read so that it also works before migration 0015
#: adds the column (``/health`` and ``navigator validate`` then still report the pending
#: migration instead of failing on it): NULL for a row without it.
LIVE_FOR = "make_interval(secs => (to_jsonb(w) ->> 'live_seconds')::float8)"


@translates_outages
class PostgresWorkerRegistry:
    """``WorkerRegistry`` on PostgreSQL; times come from the clock, like the queue's."""

    def __init__(
        self, pool: asyncpg.Pool | asyncpg.Connection, clock: Clock, schema: str = DEFAULT_SCHEMA
    ) -> None:
        self._pool = pool
        self._clock = clock
        self._s = quote_schema(schema)

    async def register(self, worker_id: str, hostname: str, pid: int, version: str = "",
                       live_for: timedelta | None = None) -> None:
        await self._pool.execute(
            f"INSERT INTO {self._s}.workers "
            "(worker_id, hostname, pid, version, started_at, last_seen_at, live_seconds) "
            "VALUES ($1, $2, $3, $4, $5, $5, $6) "
            "ON CONFLICT (worker_id) DO UPDATE SET hostname = EXCLUDED.hostname, "
            "pid = EXCLUDED.pid, version = EXCLUDED.version, "
            "started_at = EXCLUDED.started_at, last_seen_at = EXCLUDED.last_seen_at, "
            "live_seconds = EXCLUDED.live_seconds",
            worker_id, hostname, pid, version, self._clock.now(),
            None if live_for is None else live_for.total_seconds(),
        )

    async def beat(self, worker_id: str) -> None:
        status = await self._pool.execute(
            f"UPDATE {self._s}.workers SET last_seen_at = $2 WHERE worker_id = $1",
            worker_id, self._clock.now(),
        )
        if status == "UPDATE 0":
            raise NotFound(f"worker {worker_id} is not registered")

    async def unregister(self, worker_id: str) -> None:
        await self._pool.execute(f"DELETE FROM {self._s}.workers WHERE worker_id = $1", worker_id)

    async def live(self, within: timedelta) -> list[WorkerInfo]:
        rows = await self._pool.fetch(
            f"SELECT * FROM {self._s}.workers w "
            f"WHERE last_seen_at >= $1::timestamptz - coalesce({LIVE_FOR}, $2::interval) "
            "ORDER BY worker_id",
            self._clock.now(), within,
        )
        return [worker_from_row(r) for r in rows]
