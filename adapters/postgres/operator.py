"""Read-only queries only an operator needs: the oldest waiting job, recent failures,
and the worker's poll query (the ports serve members and workers)."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
import attrs

from adapters.postgres.connection import quote_schema
from adapters.postgres.errors import translates_outages
from domain.status import CLAIMABLE


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

    async def oldest_waiting(self) -> WaitingJob | None:
        """The job ready to be claimed (or waiting for its retry time) the longest."""
        row = await self._conn.fetchrow(
            f"SELECT j.job_id, d.filename, j.status, j.updated_at, j.attempts "
            f"FROM {self._s}.upload_jobs j JOIN {self._s}.documents d USING (document_id) "
            "WHERE j.status = ANY($1::text[]) AND j.lease_owner IS NULL "
            "ORDER BY j.updated_at, j.job_id LIMIT 1",
            [str(s) for s in CLAIMABLE],
        )
        if row is None:
            return None
        return WaitingJob(row["job_id"], row["filename"], row["status"], row["updated_at"],
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
