"""The job table as a queue on PostgreSQL: claims, leases, fencing and history.

The domain decides every transition; this adapter makes it durable and atomic with
the named statements of ``queue.sql``: the claim is one statement, and every other
write is one compare-and-set statement that stores the job, its events and the
step's artefacts together, or nothing when the row is no longer the job the domain
decided from. Time comes from the injected clock, passed to every statement, so a
test's fake clock drives leases and back-off here exactly as in memory; hosts must
keep time (NTP), or a clock ahead by more than a lease rescues healthy jobs early.
No transaction stays open while a parser or embedder runs.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from adapters.postgres._rows import (
    chunks_to_columns,
    document_from_row,
    event_from_row,
    events_to_columns,
    job_from_row,
    job_to_columns,
    parsed_to_json,
)
from adapters.postgres.connection import DEFAULT_SCHEMA, jobs_channel
from adapters.postgres.errors import commit, translates_outages
from adapters.postgres.files import write_parts
from adapters.postgres.keyword_index import KeywordIndexer, refused_literal
from adapters.postgres.migrations import stored_vector_dimension
from adapters.postgres.named_sql import queue_statements
from adapters.postgres.vector_binary import packed_vector
from domain.errors import Conflict, NotFound
from domain.files import PART_BYTES, UploadedFile
from domain.model import (
    Admission,
    Document,
    Job,
    JobEvent,
    Lease,
    Moved,
    StepOutput,
    Stored,
    Submission,
    Usage,
)
from domain.ports import Clock
from domain.queue import QueueRules
from domain.status import PIPELINE_ORDER, JobStatus


def _move_arguments(current: Job, moved: Moved) -> list[Any]:
    """The arguments every move statement starts with ($1-$29, see queue.sql)."""
    return [current.job_id, *job_to_columns(moved.job), *job_to_columns(current),
            *events_to_columns(moved.events)]


@translates_outages
class PostgresJobQueue(QueueRules):
    """``JobQueue`` on PostgreSQL: the domain's ``QueueRules`` decide the writes, this
    class stores them (``JobMoves``). ``pool`` comes from :func:`create_pool`.
    ``worker_indexes_keywords``: the chunk step's writes carry each chunk's tsvector,
    computed here where it can be exactly the database's (:class:`KeywordIndexer`)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        clock: Clock,
        schema: str = DEFAULT_SCHEMA,
        *,
        vector_dimension: int | None = None,
        worker_indexes_keywords: bool = True,
    ) -> None:
        self._pool = pool
        self._clock = clock
        self._schema = schema
        self._sql = queue_statements(schema)
        self._channel = jobs_channel(schema)
        self._member_lock = f"navigator.member-uploads.{schema}"
        self._vector_dimension = vector_dimension
        self._keyword_index = KeywordIndexer(pool, enabled=worker_indexes_keywords)

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
        """One transaction, under a per-member advisory lock (released at commit): insert
        the document with the file's first part, the job, its first event and the
        notice, in one statement that also reads what the member stored before; ask
        ``admit`` about that (a refusal rolls it all back), then write the file's other
        parts and commit. A small file takes four round trips (begin, lock, insert,
        commit). The member's same bytes stored before: that document, nothing written.
        With neither a quota nor a file to take care of, the insert alone does it
        (operators' tools, benchmarks)."""
        if admit is None and file is None:
            while True:
                if await self._insert(self._pool, document, job) is not None:
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
            await commit(conn, transaction, "the upload")
        return Submission(document, job, True)

    async def _submit_in(
        self, conn: asyncpg.Connection, document: Document, job: Job,
        admit: Admission | None, file: UploadedFile | None,
    ) -> Submission | None:
        """The statements of ``submit`` inside its transaction; the existing document
        when the member uploaded the same bytes before, else None (written)."""
        await conn.execute(self._sql["lock_member_uploads"], self._member_lock,
                           document.user_id)
        parts = None if file is None else file.parts(PART_BYTES)
        try:
            first = None if parts is None else await anext(parts, None)
            while True:
                usage = await self._insert(conn, document, job, first)
                if usage is not None:
                    break
                found = await self._existing(conn, document)
                if found is not None:
                    return found
                # else the same bytes, stored by a path that takes no lock, were deleted
                # meanwhile: a fresh upload after all
            if admit is not None:
                admit(usage)
            if parts is not None:
                written = len(first or b"") + await write_parts(
                    conn, self._schema, document.document_id, parts, first=1)
                if written != document.size_bytes:
                    raise ValueError(f"the file has {written} bytes, the document says "
                                     f"{document.size_bytes}")
        finally:
            if parts is not None and hasattr(parts, "aclose"):
                await parts.aclose()
        return None

    async def _insert(self, db: asyncpg.Pool | asyncpg.Connection, document: Document,
                      job: Job, first_part: bytes | None = None) -> Usage | None:
        """Insert document (with ``first_part`` of its file), job, first event and
        notice, and answer with what the member stored before; None if the member's
        same bytes are stored already (nothing written)."""
        first = job.first_event()
        try:
            created = await db.fetchrow(
                self._sql["submit"],
                document.document_id, document.user_id, document.filename,
                document.media_type.value, document.size_bytes, document.sha256,
                document.blob_key, document.created_at,
                job.job_id, job.user_id, job.priority, job.created_at, *job_to_columns(job),
                first.to_status.value, first.at, first.attempt, first.detail, self._channel,
                first_part, job.trace_context,
            )
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(f"document {document.document_id} or job {job.job_id} already "
                           "exists") from exc
        if created is None:
            return None
        return Usage(documents=created["n"], bytes=int(created["bytes"]))

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

    async def delete(self, document_id: UUID, user_id: str) -> Document:
        row = await self._pool.fetchrow(self._sql["delete_document"], document_id, user_id)
        if row is None:
            raise NotFound(f"no document {document_id}")
        return document_from_row(row)

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

    async def expired_leases(self, now: datetime) -> list[Job]:
        return [job_from_row(r) for r in await self._pool.fetch(self._sql["expired_leases"], now)]

    async def stored_job(self, job_id: UUID) -> Job | None:
        row = await self._pool.fetchrow(self._sql["job"], job_id)
        return None if row is None else job_from_row(row)

    # -- the compare-and-set write --------------------------------------------------

    async def store_move(
        self, current: Job, moved: Moved, *, lease: Lease | None = None,
        now: datetime | None = None, output: StepOutput | None = None, notify: bool = False,
    ) -> Stored:
        """One statement: the row goes from ``current`` to the moved job if it still is
        ``current`` (and the lease is alive), with the events and the artefacts. It
        always answers with one row: the new job, or the row as it found it (with
        whether the vectors named chunks the document does not have)."""
        arguments = _move_arguments(current, moved)
        if lease is not None:
            name, extra = await self._artefacts(output)
            arguments += [lease.worker, lease.token, now, *extra]
        elif notify:
            name = "requeue"
            arguments.append(self._channel)
        else:
            name = "rescue"
        row = await self._fetch_move(name, arguments)
        if row["written"]:
            return Stored(job=job_from_row(row))
        return Stored(found=None if row["job_id"] is None else job_from_row(row),
                      unknown_chunks=bool(row["unknown_chunks"]))

    async def _fetch_move(self, name: str, arguments: list[Any]) -> asyncpg.Record:
        """The move statement's one row. Should the database refuse a tsvector this
        worker wrote (a bug: they are checked to be PostgreSQL's own), the chunks are
        written again for the database to index, as it does from then on; its error,
        which quotes the chunk's words, is not kept or chained (PostgreSQL's own log
        has it: docs/OPERATIONS.md)."""
        supplied = name == "finish_with_chunks" and any(
            t is not None for t in arguments[-1])
        refused = False
        try:
            row = await self._pool.fetchrow(self._sql[name], *arguments)
        except Exception as exc:
            if not (supplied and refused_literal(exc)):
                raise
            refused = True  # written again below, outside this block: nothing to chain to
        if refused:
            self._keyword_index.leave_to_database(
                "the database refused a tsvector this worker computed")
            arguments[-1] = [None] * len(arguments[-1])
            row = await self._pool.fetchrow(self._sql[name], *arguments)
        assert row is not None
        return row

    async def _artefacts(self, output: StepOutput | None) -> tuple[str, list[Any]]:
        """The statement that stores a worker's move, and the arguments the step's
        artefacts add after the lease's."""
        if output is None:
            return "move_held", []
        if output.parsed is not None:
            return "finish_with_parsed", [parsed_to_json(output.parsed)]
        if output.chunks is not None:
            return "finish_with_chunks", [*chunks_to_columns(output.chunks),
                                          await self._keyword_index.column(output.chunks)]
        if output.vectors:
            if self._vector_dimension is None:
                async with self._pool.acquire() as conn:
                    self._vector_dimension = await stored_vector_dimension(conn, self._schema)
            latest = {v.chunk_id: v for v in output.vectors}  # the last one given wins
            return "finish_with_vectors", [
                list(latest),
                [packed_vector(v.vector, self._vector_dimension) for v in latest.values()],
                [v.model for v in latest.values()],
            ]
        return "move_held", []
