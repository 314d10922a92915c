"""The job table as a queue on PostgreSQL: claims, leases, fencing and history.

The domain decides every transition; this adapter makes it durable and atomic with
the named statements of ``queue.sql``: the claim is one statement, and every other
write is one compare-and-set statement that stores the job, its events and the
step's artefacts together, or nothing when the row is no longer the job the domain
decided from. Time comes from the injected clock, passed to every statement, so a
test's fake clock drives leases and back-off here exactly as in memory. No
transaction stays open while a parser or embedder runs.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import attrs

from adapters.postgres._rows import (
    document_from_row,
    event_from_row,
    job_from_row,
    job_to_columns,
    parsed_to_json,
)
from adapters.postgres.connection import DEFAULT_SCHEMA, jobs_channel
from adapters.postgres.errors import is_unreachable, translates_outages
from adapters.postgres.files import write_file
from adapters.postgres.migrations import stored_vector_dimension
from adapters.postgres.named_sql import queue_statements
from adapters.postgres.vector_binary import packed_vector
from domain.errors import Conflict, LeaseLost, NotFound, StoreOutcomeUnknown, StoreUnavailable
from domain.files import UploadedFile
from domain.model import (
    Admission,
    ChunkVector,
    Document,
    Job,
    JobEvent,
    Lease,
    Moved,
    StepOutput,
    Submission,
    Usage,
)
from domain.ports import Clock, Jitter
from domain.retry import RetryPolicy
from domain.status import PIPELINE_ORDER, JobStatus

Transition = Callable[[Job, datetime], Moved]


async def _commit(conn: asyncpg.Connection, transaction: Any) -> None:
    """Commit an upload's transaction, telling a lost upload from an unknown one.

    A connection that is already closed has not sent COMMIT, so the server rolled
    the transaction back: nothing was stored. A connection lost once COMMIT is on
    its way may have been committed or not: ``StoreOutcomeUnknown``. (No await lies
    between the check and the COMMIT being written, so the check cannot be stale.)
    """
    if _is_closed(conn):
        raise StoreUnavailable("the database went away before the upload was committed: "
                               "nothing was stored")
    try:
        await transaction.commit()
    except Exception as exc:
        if is_unreachable(exc):
            raise StoreOutcomeUnknown(
                "the database went away while committing the upload: whether it was "
                "stored is known once it answers again") from exc
        raise


def _is_closed(conn: asyncpg.Connection) -> bool:
    try:
        return conn.is_closed()
    except asyncpg.InterfaceError:  # lost, so its pool took it back and detached it
        return True


@attrs.frozen
class _Written:
    """What a write statement answered: the job as stored, if it wrote; else the row
    as it found it (None: gone), and whether a vector named an unknown chunk."""

    job: Job | None = None
    found: Job | None = None
    unknown_chunks: bool = False


def _refusal(lease: Lease, now: datetime, written: _Written) -> Job:
    """Why a fenced write changed nothing, from what the statement found: the job is
    gone or the lease is not ours (``LeaseLost``), or a vector named a chunk the
    document does not have (``ValueError``). Otherwise the lease is ours but the copy
    of the job it carries is older than the row: the row to try again from."""
    found = written.found
    if found is None:
        raise LeaseLost(f"job {lease.job_id} no longer exists")
    found.check_lease(lease, now)
    if written.unknown_chunks:
        raise ValueError("a vector names a chunk that is not a chunk of this document")
    return found


def _events(events: Sequence[JobEvent]) -> list[list[Any]]:
    """The events as the moves' six arrays, one per column."""
    return [
        [e.from_status.value if e.from_status else None for e in events],
        [e.to_status.value for e in events],
        [e.at for e in events],
        [e.attempt for e in events],
        [e.worker for e in events],
        [e.detail for e in events],
    ]


def _move_arguments(current: Job, moved: Moved) -> list[Any]:
    """The arguments every move statement starts with ($1-$29, see queue.sql)."""
    return [current.job_id, *job_to_columns(moved.job), *job_to_columns(current),
            *_events(moved.events)]


@translates_outages
class PostgresJobQueue:
    """``JobQueue`` on PostgreSQL. ``pool`` comes from :func:`create_pool`."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        clock: Clock,
        schema: str = DEFAULT_SCHEMA,
        *,
        vector_dimension: int | None = None,
    ) -> None:
        self._pool = pool
        self._clock = clock
        self._schema = schema
        self._sql = queue_statements(schema)
        self._channel = jobs_channel(schema)
        self._member_lock = f"navigator.member-uploads.{schema}"
        self._vector_dimension = vector_dimension

    @property
    def channel(self) -> str:
        """The LISTEN channel on which new and requeued job ids are announced."""
        return self._channel

    # -- members ------------------------------------------------------------------

    async def submit(
        self,
        document: Document,
        job: Job,
        *,
        admit: Admission | None = None,
        file: UploadedFile | None = None,
    ) -> Submission:
        """One transaction, under a per-member advisory lock (released at commit): look
        for the same bytes, read the member's usage and ask ``admit``, then insert the
        document, its file's parts, the job, its first event and the notice (five
        round trips). With neither a quota nor a file to take care of, the insert
        alone does it (operators' tools, benchmarks)."""
        if admit is None and file is None:
            while True:
                if await self._insert(self._pool, document, job):
                    return Submission(document, job, True)
                found = await self._existing(self._pool, document)
                if found is not None:  # else deleted meanwhile: a fresh upload after all
                    return found
        async with self._pool.acquire() as conn:
            transaction = conn.transaction()
            await transaction.start()
            try:
                found = await self._submit_in(conn, document, job, admit, file)
            except BaseException:
                with contextlib.suppress(Exception):  # a lost connection rolled back already
                    await transaction.rollback()
                raise
            if found is not None:  # nothing was written: no commit to lose
                with contextlib.suppress(Exception):
                    await transaction.rollback()
                return found
            await _commit(conn, transaction)
        return Submission(document, job, True)

    async def _submit_in(
        self, conn: asyncpg.Connection, document: Document, job: Job,
        admit: Admission | None, file: UploadedFile | None,
    ) -> Submission | None:
        """The statements of ``submit`` inside its transaction; the existing document
        when the member uploaded the same bytes before, else None (written)."""
        await conn.execute(self._sql["lock_member_uploads"], self._member_lock,
                           document.user_id)
        found = await self._existing(conn, document)
        if found is not None:
            return found
        if admit is not None:
            usage = await conn.fetchrow(self._sql["usage"], document.user_id)
            admit(Usage(documents=usage["n"], bytes=int(usage["bytes"])))
        if not await self._insert(conn, document, job):
            # the same bytes came in meanwhile by a path that takes no lock
            return await self._existing(conn, document)
        if file is not None:
            written = await write_file(conn, self._schema, document.document_id, file)
            if written != document.size_bytes:
                raise ValueError(f"the file has {written} bytes, the document says "
                                 f"{document.size_bytes}")
        return None

    async def _insert(self, db: asyncpg.Pool | asyncpg.Connection, document: Document,
                      job: Job) -> bool:
        """Insert document, job, first event and notice; False if the member's same
        bytes are stored already (nothing written)."""
        first = job.first_event()
        try:
            created = await db.fetch(
                self._sql["submit"],
                document.document_id, document.user_id, document.filename,
                document.media_type.value, document.size_bytes, document.sha256,
                document.blob_key, document.created_at,
                job.job_id, job.user_id, job.priority, job.created_at, *job_to_columns(job),
                first.to_status.value, first.at, first.attempt, first.detail, self._channel,
            )
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(f"document {document.document_id} or job {job.job_id} already "
                           "exists") from exc
        return bool(created)

    async def _existing(self, db: asyncpg.Pool | asyncpg.Connection,
                        document: Document) -> Submission | None:
        """The member's document with the same bytes and its job, if there is one."""
        row = await db.fetchrow(self._sql["document_by_sha256"], document.user_id,
                                document.sha256)
        if row is None:
            return None
        existing = document_from_row(row)
        job = await db.fetchrow(self._sql["job_for_document"], existing.document_id)
        if job is None:
            raise NotFound(f"no job for document {existing.document_id}")
        return Submission(existing, job_from_row(job), False)

    async def requeue(self, job_id: UUID, by: str, user_id: str | None = None) -> Job:
        current = await self.get_job(job_id, user_id)
        for _ in range(3):
            written = await self._write(
                "requeue", current, current.requeue(self._clock.now(), by), self._channel)
            if written.job is not None:
                return written.job
            if written.found is None or user_id not in (None, written.found.user_id):
                raise NotFound(f"no job {job_id}")
            current = written.found  # changed meanwhile: ask the domain again
        raise Conflict(f"job {job_id} keeps changing; try again")

    async def get_job(self, job_id: UUID, user_id: str | None = None) -> Job:
        row = await self._pool.fetchrow(self._sql["job"], job_id)
        if row is None or (user_id is not None and row["user_id"] != user_id):
            raise NotFound(f"no job {job_id}")
        return job_from_row(row)

    async def job_for_document(self, document_id: UUID) -> Job:
        row = await self._pool.fetchrow(self._sql["job_for_document"], document_id)
        if row is None:
            raise NotFound(f"no job for document {document_id}")
        return job_from_row(row)

    async def history(self, job_id: UUID) -> list[JobEvent]:
        return [event_from_row(r) for r in await self._pool.fetch(self._sql["history"], job_id)]

    async def counts(self) -> dict[JobStatus, int]:
        counts = dict.fromkeys(PIPELINE_ORDER, 0)
        for row in await self._pool.fetch(self._sql["counts"]):
            counts[JobStatus(row["status"])] = row["n"]
        return counts

    # -- workers ------------------------------------------------------------------

    async def claim(self, worker: str, limit: int, lease_for: timedelta) -> list[Lease]:
        if limit < 1:
            return []
        now = self._clock.now()
        rows = await self._pool.fetch(self._sql["claim"], worker, now, now + lease_for, limit)
        return [Lease(job, worker, job.fencing_token) for job in map(job_from_row, rows)]

    async def heartbeat(self, lease: Lease, lease_for: timedelta) -> Lease:
        job = await self._fenced(lease, lambda job, now: job.renew(lease, now, lease_for))
        return attrs.evolve(lease, job=job)

    async def finish_step(
        self, lease: Lease, output: StepOutput, lease_for: timedelta, *, continue_: bool = True
    ) -> Lease | None:
        def finish(job: Job, now: datetime) -> Moved:
            return job.finish_step(lease, now, lease_for, detail=output.detail,
                                   continue_=continue_, embedding_tokens=output.embedding_tokens)

        if output.vectors and self._vector_dimension is None:
            async with self._pool.acquire() as conn:
                self._vector_dimension = await stored_vector_dimension(conn, self._schema)
        if output.chunks is not None:
            lease.job.check_own_chunks(output.chunks)
        job = await self._fenced(lease, finish, output)
        return attrs.evolve(lease, job=job) if job.is_held else None

    async def record_parser_job(self, lease: Lease, parser_job_id: str) -> Lease:
        job = await self._fenced(
            lease, lambda job, now: job.record_parser_job(lease, now, parser_job_id))
        return attrs.evolve(lease, job=job)

    async def retry_later(self, lease: Lease, error: str, available_at: datetime) -> Job:
        return await self._fenced(
            lease, lambda job, now: job.retry_later(lease, now, error, available_at))

    async def fail(self, lease: Lease, error: str) -> Job:
        return await self._fenced(lease, lambda job, now: job.fail(lease, now, error))

    async def release(self, lease: Lease, reason: str = "released at shutdown") -> Job:
        return await self._fenced(lease, lambda job, now: job.release(lease, now, reason))

    async def rescue_expired(self, policy: RetryPolicy, jitter: Jitter) -> list[Job]:
        """Any worker may rescue, several at once, and none waits for another: each
        rescue is its own compare-and-set write, so of two workers racing for one
        expired job exactly one moves it (the attempt is counted once) and the other's
        write changes nothing. No lock is held between statements, so a worker that
        freezes in the middle of its round (paused, partitioned) holds up nobody's
        rescue."""
        now = self._clock.now()
        rescued = []
        for current in map(job_from_row, await self._pool.fetch(self._sql["expired_leases"],
                                                                  now)):
            written = await self._write("rescue", current, current.rescue(now, policy, jitter()))
            if written.job is not None:  # else the holder finished, or another worker rescued it
                rescued.append(written.job)
        return rescued

    # -- the compare-and-set write --------------------------------------------------

    async def _fenced(
        self, lease: Lease, transition: Transition, output: StepOutput | None = None
    ) -> Job:
        """Apply ``transition`` to the job the lease holds and store it, fenced.

        One statement when the lease carries the job as it is stored (the worker
        threads the latest lease through). An older copy of it (from before a
        heartbeat) costs one more round trip: a read when the copy says the lease has
        run out, else the failed write, which returns the row it found."""
        now = self._clock.now()
        current = lease.job
        fresh = False
        while True:
            try:
                moved = transition(current, now)
            except LeaseLost:
                if fresh:
                    raise
                current, fresh = await self._load_held(lease), True
                continue
            name, extra = self._artefacts(output)
            written = await self._write(name, current, moved, lease.worker, lease.token, now,
                                        *extra)
            if written.job is not None:
                return written.job
            found = _refusal(lease, now, written)
            if fresh:
                raise LeaseLost(f"worker {lease.worker} no longer holds job {lease.job_id}")
            current, fresh = found, True

    async def _load_held(self, lease: Lease) -> Job:
        row = await self._pool.fetchrow(self._sql["job"], lease.job_id)
        if row is None:
            raise LeaseLost(f"job {lease.job_id} no longer exists")
        return job_from_row(row)

    def _artefacts(self, output: StepOutput | None) -> tuple[str, list[Any]]:
        """The statement that stores a step's result, and the arguments its artefacts
        add after the lease's."""
        if output is None:
            return "move_held", []
        if output.parsed is not None:
            return "finish_with_parsed", [parsed_to_json(output.parsed)]
        if output.chunks is not None:
            chunks = output.chunks
            return "finish_with_chunks", [
                [c.chunk_id for c in chunks], [c.ordinal for c in chunks],
                [c.text for c in chunks], [c.token_count for c in chunks],
                [json.dumps(list(c.heading_path)) for c in chunks],
                [c.page for c in chunks], [c.char_start for c in chunks],
                [c.char_end for c in chunks], [c.chunker for c in chunks],
            ]
        if output.vectors:
            return "finish_with_vectors", self._vector_columns(output.vectors)
        return "move_held", []

    def _vector_columns(self, vectors: Sequence[ChunkVector]) -> list[Any]:
        """Each chunk's vector (the last one given wins), checked and packed, and model."""
        latest = {v.chunk_id: v for v in vectors}
        return [list(latest),
                [packed_vector(v.vector, self._vector_dimension) for v in latest.values()],
                [v.model for v in latest.values()]]

    async def _write(self, name: str, current: Job, moved: Moved, *extra: Any) -> _Written:
        """Run the move statement ``name``: it always returns one row, the new job or
        the row as it found it (with whether the vectors named chunks the document
        does not have)."""
        row = await self._pool.fetchrow(self._sql[name], *_move_arguments(current, moved),
                                        *extra)
        assert row is not None
        if row["written"]:
            return _Written(job=job_from_row(row))
        return _Written(found=None if row["job_id"] is None else job_from_row(row),
                        unknown_chunks=bool(row["unknown_chunks"]))
