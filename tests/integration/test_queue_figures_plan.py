"""The queue's figures are one cheap read: the window's outcomes and the jobs not
complete come from the partial indexes of migration 0011, never from a scan of the
whole history."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from adapters.postgres.named_sql import queue_statements

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _nodes(plan: dict[str, object]) -> list[dict[str, object]]:
    found = [plan]
    for child in plan.get("Plans", []):  # type: ignore[attr-defined]
        found.extend(_nodes(child))
    return found


async def test_the_window_s_outcomes_and_unfinished_jobs_are_read_through_their_indexes(
    conn: asyncpg.Connection, pg_schema: str,
) -> None:
    sql = queue_statements(pg_schema)["queue_figures"]
    async with conn.transaction():
        # Whether the planner *may* use the index (its predicate is implied by the
        # statement's), not whether it would on a table this small.
        await conn.execute("SET LOCAL enable_seqscan = off")
        [row] = await conn.fetch(f"EXPLAIN (FORMAT JSON) {sql}", NOW,
                                 NOW - timedelta(minutes=15), timedelta(minutes=1))
    plan = json.loads(row[0])[0]["Plan"]
    on_events = [n for n in _nodes(plan) if n.get("Relation Name") == "job_events"]
    assert on_events, plan
    indexes = {n.get("Index Name") for n in _nodes(plan) if n.get("Index Name")}
    assert "job_events_recent_outcomes" in indexes, json.dumps(plan, indent=1)
    assert "upload_jobs_not_complete" in indexes, json.dumps(plan, indent=1)
    assert not [n for n in on_events if n["Node Type"] == "Seq Scan"]
