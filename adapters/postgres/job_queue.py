"""The job table as a queue: claims, leases, fencing and history on PostgreSQL.

The domain decides every transition; this adapter only makes it durable and
atomic:

- **claim** is one statement: pick ready jobs ``FOR UPDATE SKIP LOCKED``, move
  them to their working status, lease them and record the "started" events. The
  status mapping and the event text are derived from ``Job.claim`` itself, not
  written out by hand.
- **every other write** computes the new job and its events with the domain
  method (``finish_step``, ``retry_later``, ``fail``, ``release``, ``renew``,
  ``rescue``, ``requeue``) and stores them with one compare-and-set statement:
  the row is updated only if it still is exactly the job the domain looked at
  and, for a worker, the lease is still alive. The step's artefacts (parsed
  pages, chunks, vectors) are written by the same statement, so a step is
  recorded entirely or not at all, and a worker that lost its lease writes
  nothing (``LeaseLost``). The statement always answers with a row: the job as
  written, or the row as it found it, so a refused write says why (lease lost,
  unknown chunk) without a second query. The worker threads its latest lease
  through, so its copy of the job is the row and each write is one round trip.
- time comes from the injected clock, passed to every statement, so the fake
  clock of the tests drives lease expiry and back-off on PostgreSQL exactly as on
  the in-memory queue. Real runs use each host's system clock, so hosts must keep
  time (NTP): a clock running ahead by more than a lease would rescue healthy
  jobs early (fencing still keeps their work safe, but attempts are spent).

No transaction is held open while a parser or embedder runs: each call is one
short statement in autocommit.
"""

from __future__ import annotations

import contextlib
import enum
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import attrs

from adapters.postgres._rows import (
    document_from_row,
    event_from_row,
    job_from_row,
    parsed_to_json,
)
from adapters.postgres.connection import DEFAULT_SCHEMA, jobs_channel, quote_schema
from adapters.postgres.errors import is_unreachable, translates_outages
from adapters.postgres.files import write_file
from adapters.postgres.migrations import stored_vector_dimension
from adapters.postgres.vector_binary import PackedVector, packed_vector
from domain.errors import Conflict, LeaseLost, NotFound, StoreOutcomeUnknown, StoreUnavailable
from domain.files import UploadedFile
from domain.model import (
    Admission,
    Chunk,
    ChunkVector,
    Document,
    Job,
    JobEvent,
    Lease,
    Moved,
    ParsedDocument,
    StepOutput,
    Submission,
    Usage,
)
from domain.ports import Clock, Jitter
from domain.retry import RetryPolicy
from domain.status import CLAIMABLE, PIPELINE_ORDER, STEPS, JobStatus

Transition = Callable[[Job, datetime], Moved]

# Columns a transition may change. A write updates all of them from the domain's
# new job, on condition that the row still holds the job the domain started from.
_MUTABLE = (
    "status",
    "attempts",
    "available_at",
    "last_error",
    "failed_stage",
    "lease_owner",
    "lease_expires_at",
    "fencing_token",
    "parser_job_id",
    "embedding_tokens",
    "updated_at",
)
_INSERTED = ("job_id", "document_id", "user_id", "priority", "created_at", *_MUTABLE)


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


def claim_transitions() -> list[tuple[JobStatus, JobStatus, str | None]]:
    """(claim-from status, status after the claim, detail of the "started" event) for
    every step, as ``Job.claim`` computes them."""
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    found = []
    for step in STEPS:
        probe = attrs.evolve(Job.new(UUID(int=0), UUID(int=0), "probe", epoch),
                             status=step.claim_from)
        claimed = probe.claim("probe", epoch, timedelta(seconds=1))
        found.append((step.claim_from, claimed.job.status,
                      claimed.events[0].detail if claimed.events else None))
    return found


@attrs.frozen
class _Change:
    """One compare-and-set write: the row goes from ``current`` to ``moved.job`` if it
    still is ``current`` (and, for a worker's write, the lease is alive at ``now``)."""

    current: Job
    moved: Moved
    lease: Lease | None = None
    now: datetime | None = None
    output: StepOutput | None = None
    notify: bool = False


@attrs.frozen
class _Written:
    """What the write statement answered: the job as stored, if it wrote; else the
    row as it found it (None: gone), and whether a vector named an unknown chunk."""

    job: Job | None = None
    found: Job | None = None
    unknown_chunks: bool = False


@attrs.frozen
class _Sql:
    """Parts of one write statement: CTEs the fenced update looks at (``before``),
    its extra conditions (``guards``), CTEs that write from the fenced row
    (``after``), and the test that tells a refused write's unknown chunks."""

    before: tuple[str, ...] = ()
    guards: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    unknown_chunks: str = ""

    def __add__(self, other: _Sql) -> _Sql:
        return _Sql(self.before + other.before, self.guards + other.guards,
                    self.after + other.after, other.unknown_chunks or self.unknown_chunks)


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


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class _Params:
    """Collects statement arguments and hands out their ``$n`` placeholders."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any, cast: str = "") -> str:
        self.values.append(value)
        return f"${len(self.values)}{cast}"


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
        self._s = quote_schema(schema)
        self._channel = jobs_channel(schema)
        self._member_lock = f"navigator.member-uploads.{schema}"
        self._vector_dimension = vector_dimension
        self._claim_sql = self._build_claim_sql()

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
        round trips). With neither a quota nor a file to take care of, one statement
        does it all (operators' tools, benchmarks)."""
        if admit is None and file is None:
            return await self._submit_in_one_statement(document, job)
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
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))",
            self._member_lock, document.user_id,
        )
        row = await conn.fetchrow(
            f"SELECT * FROM {self._s}.documents WHERE user_id = $1 AND sha256 = $2",
            document.user_id, document.sha256,
        )
        if row is not None:
            existing = document_from_row(row)
            return Submission(existing, await self._job_for_document(conn, existing),
                              False)
        if admit is not None:
            usage = await conn.fetchrow(
                "SELECT count(*) AS n, coalesce(sum(size_bytes), 0) AS bytes "
                f"FROM {self._s}.documents WHERE user_id = $1",
                document.user_id,
            )
            admit(Usage(documents=usage["n"], bytes=int(usage["bytes"])))
        try:
            await conn.fetch(*self._insert_sql(document, job))
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(f"document {document.document_id} or job {job.job_id} already "
                           "exists") from exc
        if file is not None:
            written = await write_file(conn, self._schema, document.document_id, file)
            if written != document.size_bytes:
                raise ValueError(f"the file has {written} bytes, the document says "
                                 f"{document.size_bytes}")
        return None

    async def _submit_in_one_statement(self, document: Document, job: Job) -> Submission:
        sql, *args = self._insert_sql(document, job, on_conflict="ON CONFLICT (user_id, sha256) "
                                                                 "DO NOTHING")
        try:
            created = await self._pool.fetch(sql, *args)
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(f"document {document.document_id} or job {job.job_id} already "
                           "exists") from exc
        if created:
            return Submission(document, job, True)
        row = await self._pool.fetchrow(
            f"SELECT * FROM {self._s}.documents WHERE user_id = $1 AND sha256 = $2",
            document.user_id, document.sha256,
        )
        if row is None:  # deleted between the two statements: a fresh upload after all
            return await self._submit_in_one_statement(document, job)
        existing = document_from_row(row)
        return Submission(existing, await self.job_for_document(existing.document_id), False)

    def _insert_sql(self, document: Document, job: Job, on_conflict: str = "") -> list[Any]:
        """The statement (then its arguments) that inserts document, job, first event
        and notice."""
        p = _Params()
        doc_values = ", ".join(
            p(v) for v in (
                document.document_id, document.user_id, document.filename,
                document.media_type.value, document.size_bytes, document.sha256,
                document.blob_key, document.created_at,
            )
        )
        job_values = ", ".join(
            "doc.document_id" if c == "document_id" else p(_column(job, c)) for c in _INSERTED
        )
        first = job.first_event()
        sql = f"""
WITH doc AS (
    INSERT INTO {self._s}.documents (document_id, user_id, filename, media_type, size_bytes,
                                     sha256, blob_key, created_at)
    VALUES ({doc_values})
    {on_conflict}
    RETURNING document_id
), job AS (
    INSERT INTO {self._s}.upload_jobs ({", ".join(_INSERTED)})
    SELECT {job_values} FROM doc
    RETURNING job_id
), first_event AS (
    INSERT INTO {self._s}.job_events (job_id, from_status, to_status, at, attempt, worker, detail)
    SELECT job_id, NULL, {p(first.to_status.value)}, {p(first.at)}, {p(first.attempt)}, NULL,
           {p(first.detail)}
    FROM job
)
SELECT pg_notify({p(self._channel)}, job_id::text) FROM job
"""
        return [sql, *p.values]

    async def _job_for_document(self, conn: asyncpg.Connection, document: Document) -> Job:
        row = await conn.fetchrow(
            f"SELECT * FROM {self._s}.upload_jobs WHERE document_id = $1", document.document_id
        )
        if row is None:
            raise NotFound(f"no job for document {document.document_id}")
        return job_from_row(row)

    async def requeue(self, job_id: UUID, by: str, user_id: str | None = None) -> Job:
        current = await self.get_job(job_id, user_id)
        for _ in range(3):
            written = await self._write(
                _Change(current, current.requeue(self._clock.now(), by), notify=True))
            if written.job is not None:
                return written.job
            if written.found is None or user_id not in (None, written.found.user_id):
                raise NotFound(f"no job {job_id}")
            current = written.found  # changed meanwhile: ask the domain again
        raise Conflict(f"job {job_id} keeps changing; try again")

    async def get_job(self, job_id: UUID, user_id: str | None = None) -> Job:
        row = await self._pool.fetchrow(
            f"SELECT * FROM {self._s}.upload_jobs WHERE job_id = $1", job_id
        )
        if row is None or (user_id is not None and row["user_id"] != user_id):
            raise NotFound(f"no job {job_id}")
        return job_from_row(row)

    async def job_for_document(self, document_id: UUID) -> Job:
        row = await self._pool.fetchrow(
            f"SELECT * FROM {self._s}.upload_jobs WHERE document_id = $1", document_id
        )
        if row is None:
            raise NotFound(f"no job for document {document_id}")
        return job_from_row(row)

    async def history(self, job_id: UUID) -> list[JobEvent]:
        rows = await self._pool.fetch(
            f"SELECT * FROM {self._s}.job_events WHERE job_id = $1 ORDER BY id", job_id
        )
        return [event_from_row(r) for r in rows]

    async def counts(self) -> dict[JobStatus, int]:
        rows = await self._pool.fetch(
            f"SELECT status, count(*) AS n FROM {self._s}.upload_jobs GROUP BY status"
        )
        counts = dict.fromkeys(PIPELINE_ORDER, 0)
        for row in rows:
            counts[JobStatus(row["status"])] = row["n"]
        return counts

    # -- workers ------------------------------------------------------------------

    async def claim(self, worker: str, limit: int, lease_for: timedelta) -> list[Lease]:
        if limit < 1:
            return []
        now = self._clock.now()
        rows = await self._pool.fetch(self._claim_sql, worker, now, now + lease_for, limit)
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
        rows = await self._pool.fetch(
            f"SELECT * FROM {self._s}.upload_jobs WHERE lease_owner IS NOT NULL "
            "AND lease_expires_at <= $1 ORDER BY lease_expires_at, job_id",
            now,
        )
        rescued = []
        for current in map(job_from_row, rows):
            written = await self._write(_Change(current, current.rescue(now, policy, jitter())))
            if written.job is not None:  # else the holder finished, or another worker rescued it
                rescued.append(written.job)
        return rescued

    # -- the compare-and-set write --------------------------------------------------

    async def _fenced(
        self, lease: Lease, transition: Transition, output: StepOutput | None = None
    ) -> Job:
        """Apply ``transition`` to the job the lease holds and store it, fenced (a lost
        database reaches the caller as ``StoreUnavailable``, see ``translates_outages``).

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
            written = await self._write(_Change(current, moved, lease, now, output))
            if written.job is not None:
                return written.job
            found = _refusal(lease, now, written)
            if fresh:
                raise LeaseLost(f"worker {lease.worker} no longer holds job {lease.job_id}")
            current, fresh = found, True

    async def _load_held(self, lease: Lease) -> Job:
        row = await self._pool.fetchrow(
            f"SELECT * FROM {self._s}.upload_jobs WHERE job_id = $1", lease.job_id
        )
        if row is None:
            raise LeaseLost(f"job {lease.job_id} no longer exists")
        return job_from_row(row)

    async def _write(self, change: _Change) -> _Written:
        """One statement: update the row from ``current`` to the moved job if it still
        is ``current`` (and the lease is alive), record the events and the artefacts.
        It always returns one row: the new job, or the row as the statement found it
        (with whether the vectors named chunks the document does not have)."""
        p = _Params()
        job_id = p(change.current.job_id)
        sql = (self._fence_sql(change, job_id, p) + self._artefact_sql(change, p)
               + self._events_sql(change.moved.events, p))
        sets = ", ".join(f"{c} = {p(_column(change.moved.job, c))}" for c in _MUTABLE)
        ctes = [
            f"found AS (SELECT * FROM {self._s}.upload_jobs WHERE job_id = {job_id})",
            *sql.before,
            f"fenced AS (UPDATE {self._s}.upload_jobs SET {sets} "
            f"WHERE {' AND '.join(sql.guards)} RETURNING *)",
            *sql.after,
        ]
        notice = f"pg_notify({p(self._channel)}, f.job_id::text)" if change.notify else "NULL"
        unknown = sql.unknown_chunks or "false"
        row = await self._pool.fetchrow(
            "WITH " + ",\n".join(ctes) + "\n"
            f"SELECT true AS written, f.*, false AS unknown_chunks, {notice} AS notified "
            "FROM fenced f\n"
            f"UNION ALL SELECT false, c.*, {unknown}, NULL "
            "FROM (VALUES (1)) AS one LEFT JOIN found c ON true "
            "WHERE NOT EXISTS (SELECT FROM fenced)",
            *p.values,
        )
        assert row is not None
        if row["written"]:
            return _Written(job=job_from_row(row))
        return _Written(found=None if row["job_id"] is None else job_from_row(row),
                        unknown_chunks=bool(row["unknown_chunks"]))

    def _fence_sql(self, change: _Change, job_id: str, p: _Params) -> _Sql:
        """The update's conditions: the row still is ``current`` and, for a worker's
        write, its lease is still alive."""
        current, lease = change.current, change.lease
        guards = [f"job_id = {job_id}"]
        guards += [f"{c} IS NOT DISTINCT FROM {p(_column(current, c))}" for c in _MUTABLE]
        if lease is not None:
            assert change.now is not None
            guards += [f"lease_owner = {p(lease.worker)}", f"fencing_token = {p(lease.token)}",
                       f"lease_expires_at > {p(change.now)}"]
        return _Sql(guards=tuple(guards))

    def _events_sql(self, events: Sequence[JobEvent], p: _Params) -> _Sql:
        return _Sql(after=(self._events_cte(events, p),)) if events else _Sql()

    def _events_cte(self, events: Sequence[JobEvent], p: _Params) -> str:
        columns = (
            p([e.from_status.value if e.from_status else None for e in events], "::text[]"),
            p([e.to_status.value for e in events], "::text[]"),
            p([e.at for e in events], "::timestamptz[]"),
            p([e.attempt for e in events], "::int[]"),
            p([e.worker for e in events], "::text[]"),
            p([e.detail for e in events], "::text[]"),
        )
        return (
            f"events AS (INSERT INTO {self._s}.job_events "
            "(job_id, from_status, to_status, at, attempt, worker, detail) "
            "SELECT f.job_id, e.from_status, e.to_status, e.at, e.attempt, e.worker, e.detail "
            f"FROM fenced f CROSS JOIN unnest({', '.join(columns)}) WITH ORDINALITY "
            "AS e(from_status, to_status, at, attempt, worker, detail, n) ORDER BY e.n)"
        )

    def _artefact_sql(self, change: _Change, p: _Params) -> _Sql:
        """What the step leaves behind, written from the fenced row (so only if the
        lease still holds)."""
        output, job = change.output, change.current
        if output is None:
            return _Sql()
        sql = _Sql()
        if output.parsed is not None:
            sql += _Sql(after=(self._parsed_cte(output.parsed, p),))
        if output.chunks is not None:
            sql += _Sql(after=tuple(self._chunk_ctes(job, output.chunks, p)))
        if output.vectors:
            sql += self._vector_sql(job, output.vectors, p)
        return sql

    def _parsed_cte(self, parsed: ParsedDocument, p: _Params) -> str:
        return (
            f"parsed AS (UPDATE {self._s}.documents d "
            f"SET parsed = {p(parsed_to_json(parsed), '::jsonb')} "
            "FROM fenced f WHERE d.document_id = f.document_id)"
        )

    def _vector_sql(self, job: Job, output_vectors: Sequence[ChunkVector], p: _Params) -> _Sql:
        """The vectors, by chunk id; the write happens only if every chunk they name is
        one of the document's (``known``), and says so when one is not."""
        vectors = self._checked_vectors(output_vectors)
        ids = p(list(vectors), "::uuid[]")
        known = (
            f"known AS (SELECT count(*) AS n FROM {self._s}.document_chunks "
            f"WHERE document_id = {p(job.document_id)} AND chunk_id = ANY({ids}))"
        )
        all_known = f"(SELECT n FROM known) = {p(len(vectors))}"
        return _Sql(before=(known,), guards=(all_known,),
                    after=(self._vectors_cte(vectors, ids, p),),
                    unknown_chunks=f"NOT {all_known}")

    def _vectors_cte(
        self, vectors: dict[UUID, tuple[PackedVector, str]], ids: str, p: _Params
    ) -> str:
        return (
            f"vectors AS (INSERT INTO {self._s}.chunk_embeddings AS e "
            "(chunk_id, document_id, user_id, model, embedding) "
            "SELECT u.chunk_id, f.document_id, f.user_id, u.model, u.embedding "
            f"FROM fenced f, unnest({ids}, "
            f"{p([packed for packed, _ in vectors.values()], '::vector[]')}, "
            f"{p([model for _, model in vectors.values()], '::text[]')}) "
            "AS u(chunk_id, embedding, model) "
            "ON CONFLICT (chunk_id) DO UPDATE "
            "SET model = EXCLUDED.model, embedding = EXCLUDED.embedding)"
        )

    def _checked_vectors(
        self, vectors: Sequence[ChunkVector]
    ) -> dict[UUID, tuple[PackedVector, str]]:
        """Each chunk's vector (the last one given wins) and model, checked and packed."""
        latest = {v.chunk_id: v for v in vectors}
        return {
            chunk_id: (packed_vector(v.vector, self._vector_dimension), v.model)
            for chunk_id, v in latest.items()
        }

    def _chunk_ctes(self, job: Job, chunks: Sequence[Chunk], p: _Params) -> list[str]:
        job.check_own_chunks(chunks)
        ordinals = [c.ordinal for c in chunks]
        columns = {
            "chunk_id": p([c.chunk_id for c in chunks], "::uuid[]"),
            "ordinal": p(ordinals, "::int[]"),
            "text": p([c.text for c in chunks], "::text[]"),
            "token_count": p([c.token_count for c in chunks], "::int[]"),
            "heading_path": p([json.dumps(list(c.heading_path)) for c in chunks], "::text[]"),
            "page": p([c.page for c in chunks], "::int[]"),
            "char_start": p([c.char_start for c in chunks], "::int[]"),
            "char_end": p([c.char_end for c in chunks], "::int[]"),
            "chunker": p([c.chunker for c in chunks], "::text[]"),
        }
        names = list(columns)
        same = " AND ".join(
            f"c.{n} IS NOT DISTINCT FROM EXCLUDED.{n}" for n in names if n != "ordinal"
        )
        select = ", ".join(
            "ARRAY(SELECT jsonb_array_elements_text(u.heading_path::jsonb))"
            if n == "heading_path" else f"u.{n}"
            for n in names
        )
        updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in names if n != "ordinal")
        # A chunk whose content is unchanged is left alone (its vector still fits it);
        # a changed chunk is rewritten and returned, and its vector goes with a stale
        # chunk's: the vector table's key refuses to outlive the chunk it was made for.
        return [
            f"stale_chunks AS (DELETE FROM {self._s}.document_chunks c USING fenced f "
            f"WHERE c.document_id = f.document_id AND NOT (c.ordinal = ANY({columns['ordinal']})))",
            f"chunks AS (INSERT INTO {self._s}.document_chunks AS c "
            f"(document_id, user_id, {', '.join(names)}) "
            f"SELECT f.document_id, f.user_id, {select} "
            f"FROM fenced f CROSS JOIN unnest({', '.join(columns.values())}) "
            f"AS u({', '.join(names)}) "
            f"ON CONFLICT (document_id, ordinal) DO UPDATE SET {updates} WHERE NOT ({same}) "
            "RETURNING c.chunk_id)",
            # the chunks as they were before this statement: found by the document's key
            f"stale_vectors AS (DELETE FROM {self._s}.chunk_embeddings e "
            f"USING fenced f, {self._s}.document_chunks c "
            "WHERE c.document_id = f.document_id AND e.chunk_id = c.chunk_id "
            f"AND (NOT (c.chunk_id = ANY({columns['chunk_id']})) "
            "OR c.chunk_id IN (SELECT chunk_id FROM chunks)))",
        ]

    # -- the claim statement --------------------------------------------------------

    def _build_claim_sql(self) -> str:
        transitions = claim_transitions()
        to_status = " ".join(
            f"WHEN {_literal(frm)} THEN {_literal(to)}" for frm, to, _ in transitions
        )
        detail = " ".join(
            f"WHEN {_literal(frm)} THEN {_literal(text)}"
            for frm, _, text in transitions
            if text is not None
        )
        ready = ", ".join(_literal(s) for s in PIPELINE_ORDER if s in CLAIMABLE)
        order = "priority, available_at, job_id"
        return f"""
WITH picked AS (
    SELECT job_id, status FROM {self._s}.upload_jobs
    WHERE status IN ({ready}) AND lease_owner IS NULL AND available_at <= $2
    ORDER BY {order}
    LIMIT $4
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE {self._s}.upload_jobs j
    SET status = CASE p.status {to_status} ELSE p.status END,
        lease_owner = $1, lease_expires_at = $3,
        fencing_token = j.fencing_token + 1, updated_at = $2
    FROM picked p
    WHERE j.job_id = p.job_id
    RETURNING j.*, p.status AS claimed_from
), started AS (
    INSERT INTO {self._s}.job_events (job_id, from_status, to_status, at, attempt, worker, detail)
    SELECT job_id, claimed_from, status, $2, attempts + 1, $1, CASE claimed_from {detail} END
    FROM claimed WHERE status <> claimed_from
    ORDER BY {order}
)
SELECT * FROM claimed ORDER BY {order}
"""


def _column(job: Job, column: str) -> Any:
    value = getattr(job, column)
    return value.value if isinstance(value, enum.Enum) else value
