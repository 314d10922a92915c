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
  nothing (``LeaseLost``). If the worker's copy of the job is stale (a heartbeat
  moved the lease on), the current row is read and the domain asked again.
- time comes from the injected clock, passed to every statement, so the fake
  clock of the tests drives lease expiry and back-off on PostgreSQL exactly as on
  the in-memory queue. Real runs use each host's system clock, so hosts must keep
  time (NTP): a clock running ahead by more than a lease would rescue healthy
  jobs early (fencing still keeps their work safe, but attempts are spent).

No transaction is held open while a parser or embedder runs: each call is one
short statement in autocommit.
"""

from __future__ import annotations

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
from adapters.postgres.errors import DATABASE_UNREACHABLE
from adapters.postgres.files import write_file
from adapters.postgres.migrations import stored_vector_dimension
from adapters.postgres.vector_binary import PackedVector, packed_vector
from domain.errors import Conflict, LeaseLost, NotFound, StoreUnavailable
from domain.files import UploadedFile
from domain.model import Chunk, ChunkVector, Document, Job, JobEvent, Lease
from domain.ports import Admission, Clock, Jitter, StepOutput, Submission, Usage
from domain.retry import RetryPolicy
from domain.status import CLAIMABLE, PIPELINE_ORDER, STEPS, JobStatus

Transition = Callable[[Job, datetime], tuple[Job, list[JobEvent]]]

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


def claim_transitions() -> list[tuple[JobStatus, JobStatus, str | None]]:
    """(claim-from status, status after the claim, detail of the "started" event) for
    every step, as ``Job.claim`` computes them."""
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    found = []
    for step in STEPS:
        probe = attrs.evolve(Job.new(UUID(int=0), UUID(int=0), "probe", epoch),
                             status=step.claim_from)
        claimed, event = probe.claim("probe", epoch, timedelta(seconds=1))
        found.append((step.claim_from, claimed.status, event.detail if event else None))
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
        async with self._pool.acquire() as conn, conn.transaction():
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
        return Submission(document, job, True)

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
        for _ in range(3):
            current = await self.get_job(job_id, user_id)
            new, event = current.requeue(self._clock.now(), by)
            row = await self._write(current, new, [event], notify=True)
            if row is not None:
                return job_from_row(row)
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
        def renew(job: Job, now: datetime) -> tuple[Job, list[JobEvent]]:
            return job.renew(lease, now, lease_for), []

        job = await self._fenced(lease, renew)
        return attrs.evolve(lease, job=job)

    async def finish_step(
        self, lease: Lease, output: StepOutput, lease_for: timedelta, *, continue_: bool = True
    ) -> Lease | None:
        def finish(job: Job, now: datetime) -> tuple[Job, list[JobEvent]]:
            return job.finish_step(lease, now, lease_for, detail=output.detail,
                                   continue_=continue_, embedding_tokens=output.embedding_tokens)

        if output.vectors and self._vector_dimension is None:
            async with self._pool.acquire() as conn:
                self._vector_dimension = await stored_vector_dimension(conn, self._schema)
        job = await self._fenced(lease, finish, output)
        return attrs.evolve(lease, job=job) if job.is_held else None

    async def record_parser_job(self, lease: Lease, parser_job_id: str) -> Lease:
        def remember(job: Job, now: datetime) -> tuple[Job, list[JobEvent]]:
            return job.record_parser_job(lease, now, parser_job_id), []

        return attrs.evolve(lease, job=await self._fenced(lease, remember))

    async def retry_later(self, lease: Lease, error: str, available_at: datetime) -> Job:
        def retry(job: Job, now: datetime) -> tuple[Job, list[JobEvent]]:
            new, event = job.retry_later(lease, now, error, available_at)
            return new, [event]

        return await self._fenced(lease, retry)

    async def fail(self, lease: Lease, error: str) -> Job:
        def dead_letter(job: Job, now: datetime) -> tuple[Job, list[JobEvent]]:
            new, event = job.fail(lease, now, error)
            return new, [event]

        return await self._fenced(lease, dead_letter)

    async def release(self, lease: Lease, reason: str = "released at shutdown") -> Job:
        def give_back(job: Job, now: datetime) -> tuple[Job, list[JobEvent]]:
            new, event = job.release(lease, now, reason)
            return new, [event] if event else []

        return await self._fenced(lease, give_back)

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
            new, event = current.rescue(now, policy, jitter())
            row = await self._write(current, new, [event])
            if row is not None:  # else the holder finished, or another worker rescued it
                rescued.append(job_from_row(row))
        return rescued

    # -- the compare-and-set write --------------------------------------------------

    async def _fenced(
        self, lease: Lease, transition: Transition, output: StepOutput | None = None
    ) -> Job:
        """Apply ``transition`` to the job the lease holds and store it, fenced. A
        database that cannot be reached is ``StoreUnavailable``: the worker tries the
        write again once it answers."""
        try:
            return await self._fenced_write(lease, transition, output)
        except DATABASE_UNREACHABLE as exc:
            raise StoreUnavailable(f"the database is unreachable: {type(exc).__name__}") from exc

    async def _fenced_write(
        self, lease: Lease, transition: Transition, output: StepOutput | None
    ) -> Job:
        now = self._clock.now()
        current = lease.job
        fresh = False
        while True:
            try:
                new, events = transition(current, now)
            except LeaseLost:
                if fresh:
                    raise
                current, fresh = await self._load_held(lease), True
                continue
            row = await self._write(current, new, events, lease=lease, now=now, output=output)
            if row is not None:
                return job_from_row(row)
            if fresh:
                if output is not None and output.vectors:
                    await self._check_chunks_known(current.document_id, output.vectors)
                raise LeaseLost(f"worker {lease.worker} no longer holds job {lease.job_id}")
            current, fresh = await self._load_held(lease), True

    async def _load_held(self, lease: Lease) -> Job:
        row = await self._pool.fetchrow(
            f"SELECT * FROM {self._s}.upload_jobs WHERE job_id = $1", lease.job_id
        )
        if row is None:
            raise LeaseLost(f"job {lease.job_id} no longer exists")
        return job_from_row(row)

    async def _write(
        self,
        current: Job,
        new: Job,
        events: Sequence[JobEvent],
        *,
        lease: Lease | None = None,
        now: datetime | None = None,
        output: StepOutput | None = None,
        notify: bool = False,
    ) -> Any:
        """One statement: update the row from ``current`` to ``new`` if it still is
        ``current`` (and the lease is alive), record the events and the artefacts.
        Returns the new row, or None if the row had changed."""
        p = _Params()
        ctes: list[str] = []
        guards = [f"job_id = {p(current.job_id)}"]
        guards += [f"{c} IS NOT DISTINCT FROM {p(_column(current, c))}" for c in _MUTABLE]
        if lease is not None:
            assert now is not None
            guards.append(f"lease_owner = {p(lease.worker)}")
            guards.append(f"fencing_token = {p(lease.token)}")
            guards.append(f"lease_expires_at > {p(now)}")
        artefacts = self._artefact_ctes(current, output, p, ctes, guards)
        sets = ", ".join(f"{c} = {p(_column(new, c))}" for c in _MUTABLE)
        ctes.append(
            f"fenced AS (UPDATE {self._s}.upload_jobs SET {sets} "
            f"WHERE {' AND '.join(guards)} RETURNING *)"
        )
        if events:
            ctes.append(self._events_cte(events, p))
        ctes.extend(artefacts)
        select = "SELECT f.*"
        if notify:
            select += f", pg_notify({p(self._channel)}, f.job_id::text) AS notified"
        sql = "WITH " + ",\n".join(ctes) + f"\n{select} FROM fenced f"
        return await self._pool.fetchrow(sql, *p.values)

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

    def _artefact_ctes(
        self, job: Job, output: StepOutput | None, p: _Params, before: list[str],
        guards: list[str],
    ) -> list[str]:
        if output is None:
            return []
        ctes = []
        if output.parsed is not None:
            ctes.append(
                f"parsed AS (UPDATE {self._s}.documents d "
                f"SET parsed = {p(parsed_to_json(output.parsed), '::jsonb')} "
                "FROM fenced f WHERE d.document_id = f.document_id)"
            )
        if output.chunks is not None:
            ctes.extend(self._chunk_ctes(job, output.chunks, p))
        if output.vectors:
            vectors = self._checked_vectors(output.vectors)
            ids = p(list(vectors), "::uuid[]")
            before.append(
                f"known AS (SELECT count(*) AS n FROM {self._s}.document_chunks "
                f"WHERE document_id = {p(job.document_id)} AND chunk_id = ANY({ids}))"
            )
            guards.append(f"(SELECT n FROM known) = {p(len(vectors))}")
            ctes.append(
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
        return ctes

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

    async def _check_chunks_known(self, document_id: UUID, vectors: Sequence[ChunkVector]) -> None:
        ids = list({v.chunk_id for v in vectors})
        known = await self._pool.fetchval(
            f"SELECT count(*) FROM {self._s}.document_chunks "
            "WHERE document_id = $1 AND chunk_id = ANY($2::uuid[])",
            document_id, ids,
        )
        if known != len(ids):
            raise ValueError("a vector names a chunk that is not a chunk of this document")

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
    return value.value if isinstance(value, JobStatus) else value
