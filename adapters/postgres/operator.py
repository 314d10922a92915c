"""Read-only queries only an operator needs: the oldest waiting job, recent failures,
and the worker's poll query (the ports serve members and workers)."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime, timedelta

import asyncpg
import attrs

from adapters.postgres.connection import quote_schema
from adapters.postgres.errors import translates_outages
from adapters.postgres.named_sql import queue_statements
from domain.model import QueueFigures
from domain.status import CLAIMABLE, JobStatus, StepName
from domain.watching import step_failed_at, step_retried_at


@attrs.frozen
class WaitingJob:
    job_id: uuid.UUID
    filename: str
    status: str
    waiting_since: datetime
    attempts: int


@attrs.frozen
class FailedJob:
    job_id: uuid.UUID
    filename: str
    failed_stage: str
    last_error: str
    attempts: int
    failed_at: datetime


@translates_outages
class PostgresOperatorQueries:
    """The few read-only queries only an operator needs (the ports serve members and
    workers). They read the same tables, schema-qualified like the adapters' SQL."""

    def __init__(self, conn: asyncpg.Connection | asyncpg.Pool, schema: str) -> None:
        self._conn = conn
        self._s = quote_schema(schema)

    async def oldest_waiting(self, now: datetime) -> WaitingJob | None:
        """The job ready to be claimed at ``now`` that has waited the longest since it
        became ready (a job waiting out its retry delay is not waiting for a worker):
        the job behind ``navigator_queue_oldest_waiting_seconds``."""
        row = await self._conn.fetchrow(
            f"SELECT j.job_id, d.filename, j.status, j.available_at, j.attempts "
            f"FROM {self._s}.upload_jobs j JOIN {self._s}.documents d USING (document_id) "
            "WHERE j.status = ANY($1::text[]) AND j.lease_owner IS NULL "
            "AND j.available_at <= $2 ORDER BY j.available_at, j.job_id LIMIT 1",
            [str(s) for s in CLAIMABLE], now,
        )
        if row is None:
            return None
        return WaitingJob(row["job_id"], row["filename"], row["status"], row["available_at"],
                          row["attempts"])

    async def recent_failures(self, limit: int = 10) -> list[FailedJob]:
        rows = await self._conn.fetch(
            f"SELECT j.job_id, d.filename, j.failed_stage, j.last_error, j.attempts, "
            f"j.updated_at FROM {self._s}.upload_jobs j "
            f"JOIN {self._s}.documents d USING (document_id) "
            "WHERE j.status = 'failed' ORDER BY j.updated_at DESC, j.job_id LIMIT $1",
            limit,
        )
        return [FailedJob(r["job_id"], r["filename"], r["failed_stage"] or "?",
                          r["last_error"] or "", r["attempts"], r["updated_at"]) for r in rows]

    async def ready_to_claim(self) -> int:
        """The worker's poll query: how many jobs a worker could claim right now."""
        value = await self._conn.fetchval(
            f"SELECT count(*) FROM {self._s}.upload_jobs "
            "WHERE status = ANY($1::text[]) AND lease_owner IS NULL AND available_at <= now()",
            [str(s) for s in CLAIMABLE],
        )
        return int(value)


@translates_outages
class PostgresQueueFigures:
    """``QueueFigureReads``: the whole queue's figures in one statement
    (``queue_figures`` in queue.sql), whichever process asks."""

    def __init__(self, conn: asyncpg.Connection | asyncpg.Pool, schema: str) -> None:
        self._conn = conn
        self._sql = queue_statements(schema)["queue_figures"]

    async def figures(self, now: datetime, *, window: timedelta,
                      live_within: timedelta) -> QueueFigures:
        rows = await self._conn.fetch(self._sql, now, now - window, live_within)
        counts: dict[JobStatus, int] = {}
        ready_since: dict[JobStatus, datetime] = {}
        failures: Counter[StepName] = Counter()
        retries: Counter[StepName] = Counter()
        past_due = completions = workers = 0
        for row in rows:
            kind, n = row["kind"], int(row["n"])
            if kind == "jobs":
                status = JobStatus(row["status"])
                counts[status] = n
                if row["since"] is not None:
                    ready_since[status] = row["since"]
            elif kind == "past_due":
                past_due += n
            elif kind == "failed":
                failures[step_failed_at(JobStatus(row["status"]))] += n
            elif kind == "retried":
                retries[step_retried_at(JobStatus(row["status"]))] += n
            elif kind == "complete":
                completions = n
            elif kind == "workers":
                workers = n
        return QueueFigures(at=now, counts=counts, ready_since=ready_since,
                            leases_past_due=past_due, window=window, failures=failures,
                            retries=retries, completions=completions, live_workers=workers)
