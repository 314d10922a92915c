"""Benchmark: what one read of the queue's figures costs (``/metrics``, ``navigator
status``) as the history grows.

Run from the repository root::

    .venv/bin/python -m bench.queue_figures [--jobs 100000] [--events-per-job 10]
        [--runs 21] [--dsn postgresql://...]

Seeds a fresh schema with ``--jobs`` jobs (95% complete, 2% failed, the rest
waiting, held, or held past their lease) and ``--events-per-job`` events each,
spread over 30 days, 3% of them retries and the failures' events among them,
vacuumed as autovacuum would have (so an index-only scan can skip the heap), then
times ``queue_figures`` (adapters/postgres/queue.sql) ``--runs`` times on one
connection and prints the median, beside the ``counts`` statement it replaces on
``/metrics`` (jobs by status only), and the plan of one run (EXPLAIN ANALYZE).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from adapters.postgres.connection import connect
from adapters.postgres.named_sql import queue_statements
from bench._db import database, drop_schema, fresh_schema

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)
LIVE = timedelta(minutes=1)

SEED = """
INSERT INTO {s}.documents (document_id, user_id, filename, media_type, size_bytes, sha256,
                           blob_key, created_at)
SELECT md5('d' || i)::uuid, 'member-' || (i % 500), 'file-' || i || '.pdf', 'application/pdf',
       1000, encode(sha256(('c' || i)::bytea), 'hex'), 'k/' || i,
       $1::timestamptz - (i % 43200) * interval '1 minute'
FROM generate_series(1, $2::int) AS i;

INSERT INTO {s}.upload_jobs (job_id, document_id, user_id, status, attempts, available_at,
                             failed_stage, lease_owner, lease_expires_at, created_at, updated_at)
SELECT md5('j' || i)::uuid, md5('d' || i)::uuid, 'member-' || (i % 500),
       CASE WHEN i % 100 < 95 THEN 'complete' WHEN i % 100 < 97 THEN 'failed'
            WHEN i % 100 < 99 THEN 'uploaded' ELSE 'embedding_in_progress' END,
       0, $1::timestamptz - (i % 600) * interval '1 second',
       CASE WHEN i % 100 BETWEEN 95 AND 96 THEN 'parse' END,
       CASE WHEN i % 100 = 99 THEN 'worker-' || (i % 7) END,
       CASE WHEN i % 100 = 99 THEN $1::timestamptz + ((i % 3) - 1) * interval '1 minute' END,
       $1::timestamptz - (i % 43200) * interval '1 minute',
       $1::timestamptz - (i % 43200) * interval '1 minute'
FROM generate_series(1, $2::int) AS i;

INSERT INTO {s}.job_events (job_id, from_status, to_status, at, attempt, worker, detail)
SELECT md5('j' || (e / $3::int + 1))::uuid,
       CASE WHEN e % 33 = 0 THEN 'parsing' WHEN e % 97 = 0 THEN 'parsing' ELSE 'parsed' END,
       CASE WHEN e % 33 = 0 THEN 'uploaded' WHEN e % 97 = 0 THEN 'failed'
            WHEN e % $3::int = $3::int - 1 THEN 'complete' ELSE 'parse_validated' END,
       $1::timestamptz - (e % 2592000) * interval '1 second', 1, 'worker-1',
       CASE WHEN e % 33 = 0 THEN 'will retry: the parser timed out' ELSE 'step done' END
FROM generate_series(0, $2::int * $3::int - 1) AS e;

INSERT INTO {s}.workers (worker_id, hostname, pid, started_at, last_seen_at)
SELECT 'worker-' || w, 'host', w, $1::timestamptz, $1::timestamptz - w * interval '20 seconds'
FROM generate_series(0, 6) w;

VACUUM (ANALYZE) {s}.upload_jobs;

VACUUM (ANALYZE) {s}.job_events;

VACUUM (ANALYZE) {s}.workers
"""


async def run(dsn: str, jobs: int, per_job: int, runs: int) -> None:
    schema = await fresh_schema(dsn, 8)
    conn = await connect(dsn)
    try:
        quoted = f'"{schema}"'
        started = time.perf_counter()
        for statement in SEED.replace("{s}", quoted).split(";\n\n"):
            given = (NOW, jobs, per_job)[:max(
                (n for n in (1, 2, 3) if f"${n}" in statement), default=0)]
            await conn.execute(statement, *given)
        print(f"seeded {jobs:,} jobs and {jobs * per_job:,} events in "
              f"{time.perf_counter() - started:.1f} s")
        sql = queue_statements(schema)
        args = (NOW, NOW - WINDOW, NOW - LIVE)
        figures = await _median(conn, sql["queue_figures"], args, runs)
        counts = await _median(conn, sql["counts"], (), runs)
        print(f"queue_figures: median {figures * 1000:.1f} ms over {runs} runs")
        print(f"counts (jobs by status only): median {counts * 1000:.1f} ms")
        [row] = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "
                                 + sql["queue_figures"], *args)
        plan = json.loads(row[0])[0]
        print(f"EXPLAIN ANALYZE: {plan['Execution Time']:.1f} ms")
        for line in _outline(plan["Plan"]):
            print("  " + line)
    finally:
        await conn.close()
        await drop_schema(dsn, schema)


async def _median(conn: object, sql: str, args: tuple[object, ...], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await conn.fetch(sql, *args)  # type: ignore[attr-defined]
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _outline(node: dict[str, object], depth: int = 0) -> list[str]:
    what = str(node["Node Type"])
    for key in ("Relation Name", "Index Name"):
        if key in node:
            what += f" {key.split()[0].lower()}={node[key]}"
    lines = [f"{'  ' * depth}{what}  rows={node.get('Actual Rows')} "
             f"time={node.get('Actual Total Time')} ms"]
    for child in node.get("Plans", []):  # type: ignore[attr-defined]
        lines.extend(_outline(child, depth + 1))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--events-per-job", type=int, default=10)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--dsn")
    args = parser.parse_args(argv)
    with database(args.dsn) as dsn:
        asyncio.run(run(dsn, args.jobs, args.events_per_job, args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
