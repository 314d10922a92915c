"""The live workers and the queue's figures on a schema 0015 has not reached yet: the
previous release's schema while an operator checks this release before migrating
(``/health`` and ``navigator validate`` must report the pending migration, not fail on
the column it adds). Workers are then judged by the asker's window, as before."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from adapters.postgres.operator import PostgresQueueFigures
from adapters.postgres.workers import PostgresWorkerRegistry
from tests.fakes.clock import FakeClock

pytestmark = pytest.mark.postgres

ASKER = timedelta(seconds=60)


async def test_workers_are_read_and_counted_without_the_live_window_column(
    conn: asyncpg.Connection, pg_schema: str,
) -> None:
    clock = FakeClock()
    registry = PostgresWorkerRegistry(conn, clock, pg_schema)
    await registry.register("worker-old", "host", 1)
    await conn.execute(f'ALTER TABLE "{pg_schema}".workers DROP COLUMN live_seconds')

    [seen] = await registry.live(ASKER)
    figures = await PostgresQueueFigures(conn, pg_schema).figures(
        clock.now(), window=timedelta(minutes=15), live_within=ASKER)
    clock.advance(61)
    gone = await registry.live(ASKER)

    assert (seen.worker_id, seen.live_for) == ("worker-old", None)
    assert figures.live_workers == 1
    assert gone == []
