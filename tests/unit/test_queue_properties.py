"""Property: whatever workers do to the queue, it stays sound and drains to an end.

Hypothesis plays any interleaving of uploads, claims by several workers, finished
steps, heartbeats, transient and permanent failures, crashes (a worker abandons
its leases), returns of crashed workers, graceful releases, clock moves, rescues
and manual retries, against the in-memory queue and (fewer examples, each on
an emptied schema) against the PostgreSQL queue. After every operation:

- every recorded event is a legal transition and follows on from the one before;
- no job has two holders: a claim never hands out a job someone still holds, and a
  write succeeds exactly when the test's own model says the lease is current;
- a stale lease's write raises ``LeaseLost`` and changes nothing;
- chunks are unique per (document, ordinal) and vectors belong to stored chunks.

At the end, healthy workers drain the queue with time moving on: every job ends
complete or failed, and after a manual retry of the failed ones, all complete.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Coroutine
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar
from uuid import UUID, uuid4, uuid5

import attrs
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from adapters.memory.job_queue import InMemoryJobQueue
from adapters.memory.store import InMemoryStore
from adapters.postgres._rows import chunk_from_row, event_from_row, job_from_row
from adapters.postgres.connection import create_pool, quote_schema
from adapters.postgres.job_queue import PostgresJobQueue
from domain.errors import Conflict, LeaseLost, PermanentError, TransientError
from domain.model import (
    Chunk,
    ChunkVector,
    Document,
    Job,
    JobEvent,
    Lease,
    MediaType,
    ParsedDocument,
    ParsedPage,
    StepOutput,
)
from domain.ports import JobQueue
from domain.retry import RetryPolicy
from domain.status import WORKING, JobStatus, StepName, check_transition
from tests.fakes.clock import FakeClock

T = TypeVar("T")

WORKERS = ("worker-1", "worker-2", "worker-3")
MEMBERS = ("member-a", "member-b")
LEASE = timedelta(seconds=30)
POLICY = RetryPolicy(max_retries=2, base_delay=1.0, max_delay=8.0, jitter=0.5)
DIMENSIONS = 4


class QueueRows(Protocol):
    """The queue under test, and everything it stored, read back as domain values."""

    queue: JobQueue

    async def jobs(self) -> dict[UUID, Job]: ...
    async def events(self) -> list[JobEvent]:
        """Every event, in the order they were recorded."""
        ...
    async def chunks(self) -> dict[tuple[UUID, int], Chunk]: ...
    async def vectors(self) -> set[UUID]:
        """The ids of the chunks that have a vector."""
        ...
    async def documents(self) -> set[UUID]: ...
    async def close(self) -> None: ...


@attrs.define
class MemoryRows:
    store: InMemoryStore
    queue: InMemoryJobQueue

    @classmethod
    async def open(cls, clock: FakeClock) -> MemoryRows:
        store = InMemoryStore(vector_dimension=DIMENSIONS)
        return cls(store, InMemoryJobQueue(store, clock))

    async def jobs(self) -> dict[UUID, Job]:
        return dict(self.store.jobs)

    async def events(self) -> list[JobEvent]:
        return list(self.store.events)

    async def chunks(self) -> dict[tuple[UUID, int], Chunk]:
        return dict(self.store.chunks)

    async def vectors(self) -> set[UUID]:
        return set(self.store.vectors)

    async def documents(self) -> set[UUID]:
        return set(self.store.documents)

    async def close(self) -> None:
        pass


_TABLES = ("chunk_embeddings", "document_chunk_totals", "document_chunks", "job_events",
           "upload_jobs", "document_files", "documents")


@attrs.define
class PostgresRows:
    pool: Any
    schema: str
    queue: PostgresJobQueue

    @classmethod
    async def open(cls, dsn: str, schema: str, clock: FakeClock) -> PostgresRows:
        """The queue on ``schema``, emptied: each example starts from no rows."""
        pool = await create_pool(dsn, schema, min_size=1, max_size=2)
        rows = cls(pool, schema, PostgresJobQueue(pool, clock, schema))
        await pool.execute("TRUNCATE " + ", ".join(rows._table(t) for t in _TABLES))
        return rows

    def _table(self, name: str) -> str:
        return f"{quote_schema(self.schema)}.{name}"

    async def jobs(self) -> dict[UUID, Job]:
        rows = await self.pool.fetch(f"SELECT * FROM {self._table('upload_jobs')}")
        return {row["job_id"]: job_from_row(row) for row in rows}

    async def events(self) -> list[JobEvent]:
        rows = await self.pool.fetch(f"SELECT * FROM {self._table('job_events')} ORDER BY id")
        return [event_from_row(row) for row in rows]

    async def chunks(self) -> dict[tuple[UUID, int], Chunk]:
        rows = await self.pool.fetch(f"SELECT * FROM {self._table('document_chunks')}")
        return {(row["document_id"], row["ordinal"]): chunk_from_row(row) for row in rows}

    async def vectors(self) -> set[UUID]:
        rows = await self.pool.fetch(f"SELECT chunk_id FROM {self._table('chunk_embeddings')}")
        return {row["chunk_id"] for row in rows}

    async def documents(self) -> set[UUID]:
        rows = await self.pool.fetch(f"SELECT document_id FROM {self._table('documents')}")
        return {row["document_id"] for row in rows}

    async def close(self) -> None:
        await self.pool.close()


@attrs.define
class Holder:
    """The test's own idea of who holds a job, independent of the queue's."""

    token: int
    worker: str
    expires_at: datetime


class QueueMachine(RuleBasedStateMachine):
    """On the in-memory queue unless given a PostgreSQL server and schema."""

    def __init__(self, postgres: tuple[str, str] | None = None) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = FakeClock()
        self.rows: QueueRows = self.run(
            PostgresRows.open(*postgres, self.clock) if postgres else MemoryRows.open(self.clock)
        )
        self.queue = self.rows.queue
        self.leases: dict[str, list[Lease]] = {w: [] for w in WORKERS}
        self.zombies: list[Lease] = []
        self.holders: dict[UUID, Holder] = {}
        self.chunk_counts: dict[UUID, int] = {}
        self.uploaded: set[tuple[str, int]] = set()
        self.draws = iter([0.0, 0.3, 0.9, 0.5] * 10_000)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def jobs(self) -> dict[UUID, Job]:
        return self.run(self.rows.jobs())

    def teardown(self) -> None:
        try:
            self.drain()
            jobs = self.jobs().values()
            assert all(job.status.is_terminal for job in jobs), sorted(j.status for j in jobs)
            for job in [j for j in jobs if j.status is JobStatus.FAILED]:
                self.run(self.queue.requeue(job.job_id, by="operator"))
            self.drain()
            assert all(job.status is JobStatus.COMPLETE for job in self.jobs().values())
            for document_id in self.run(self.rows.documents()):
                self.check_complete_document(document_id)
            self.events_are_legal_and_chained()
        finally:
            try:
                self.run(self.rows.close())
            finally:
                self.loop.close()

    # -- the model ----------------------------------------------------------------

    def is_current(self, lease: Lease) -> bool:
        holder = self.holders.get(lease.job_id)
        return (
            holder is not None
            and holder.token == lease.token
            and holder.worker == lease.worker
            and self.clock.now() < holder.expires_at
        )

    async def output_for(self, lease: Lease) -> StepOutput:
        job = lease.job
        step = job.current_step().name
        if step is StepName.PARSE:
            page = ParsedPage(1, "policy text")
            return StepOutput(parsed=ParsedDocument((page,)))
        if step is StepName.CHUNK:
            return StepOutput(chunks=tuple(
                Chunk(uuid5(job.document_id, str(n)), job.document_id, job.user_id, n,
                      f"part {n}", 2)
                for n in range(self.chunk_counts[job.document_id])
            ))
        if step is StepName.EMBED:
            stored = await self.rows.chunks()
            chunks = [c for (d, _), c in sorted(stored.items()) if d == job.document_id]
            return StepOutput(vectors=tuple(
                ChunkVector(c.chunk_id, (1.0, 0.0, 0.0, float(c.ordinal)),
                            "test-model")
                for c in chunks
            ), embedding_tokens=2 * len(chunks))
        return StepOutput()

    def snapshot(self, job_id: UUID) -> tuple[object, ...]:
        job = self.jobs().get(job_id)
        document_id = job.document_id if job else None
        return (
            job,
            len(self.run(self.rows.events())),
            sorted((k[1], c.chunk_id) for k, c in self.run(self.rows.chunks()).items()
                   if k[0] == document_id),
            sorted(str(v) for v in self.run(self.rows.vectors())),
        )

    def write(self, lease: Lease, action: str) -> Lease | None:
        """Make one fenced write; check it succeeds exactly when the lease is current."""
        current = self.is_current(lease)
        before = self.snapshot(lease.job_id)
        now = self.clock.now()
        try:
            result = self.run(self._write(lease, action))
        except LeaseLost:
            assert not current, f"{action} by the current holder was refused"
            assert self.snapshot(lease.job_id) == before, f"a refused {action} changed data"
            return None
        assert current, f"{action} with a stale lease was accepted"
        job = self.jobs()[lease.job_id]
        if job.is_held:
            self.holders[lease.job_id] = Holder(lease.token, lease.worker, now + LEASE)
            return attrs.evolve(lease, job=job)
        del self.holders[lease.job_id]
        assert not isinstance(result, Lease)
        return None

    async def _write(self, lease: Lease, action: str) -> object:
        queue = self.queue
        if action == "finish":
            return await queue.finish_step(lease, await self.output_for(lease), LEASE)
        if action == "finish and let go":
            output = await self.output_for(lease)
            return await queue.finish_step(lease, output, LEASE, continue_=False)
        if action == "heartbeat":
            return await queue.heartbeat(lease, LEASE)
        if action == "release":
            return await queue.release(lease)
        if action == "permanent":
            return await queue.fail(lease, str(PermanentError("the file is damaged")))
        decision = POLICY.decide(TransientError("the service is busy"), lease.job.attempts,
                                 self.clock.now(), next(self.draws))
        if decision.retry_at is None:
            return await queue.fail(lease, decision.reason)
        return await queue.retry_later(lease, decision.reason, decision.retry_at)

    # -- rules ----------------------------------------------------------------------

    @rule(member=st.sampled_from(MEMBERS), content=st.integers(0, 3))
    def upload(self, member: str, content: int) -> None:
        now = self.clock.now()
        sha256 = hashlib.sha256(f"content-{content}".encode()).hexdigest()
        document = Document(uuid4(), member, f"file-{content}.md", MediaType.MARKDOWN, 10,
                            sha256, f"blob-{content}", now)
        submission = self.run(self.queue.submit(
            document, Job.new(uuid4(), document.document_id, member, now)))
        assert submission.created == ((member, content) not in self.uploaded)
        self.uploaded.add((member, content))
        self.chunk_counts.setdefault(submission.document.document_id, content + 1)

    @rule(worker=st.sampled_from(WORKERS), limit=st.integers(1, 3))
    def claim(self, worker: str, limit: int) -> None:
        now = self.clock.now()
        leases = self.run(self.queue.claim(worker, limit, LEASE))
        for lease in leases:
            assert lease.job_id not in self.holders, "a held job was handed out again"
            self.holders[lease.job_id] = Holder(lease.token, worker, now + LEASE)
        self.leases[worker].extend(leases)

    @rule(
        worker=st.sampled_from(WORKERS), pick=st.integers(0, 5),
        action=st.sampled_from(
            ["finish", "finish", "finish", "finish and let go", "heartbeat", "transient",
             "permanent", "release"]
        ),
    )
    def work(self, worker: str, pick: int, action: str) -> None:
        mine = self.leases[worker]
        if not mine:
            return
        lease = mine.pop(pick % len(mine))
        after = self.write(lease, action)
        if after is not None:
            mine.append(after)

    @rule(worker=st.sampled_from(WORKERS))
    def crash(self, worker: str) -> None:
        self.zombies.extend(self.leases[worker])
        self.leases[worker].clear()

    @rule(pick=st.integers(0, 5), action=st.sampled_from(["finish", "transient", "heartbeat"]))
    def crashed_worker_comes_back(self, pick: int, action: str) -> None:
        if not self.zombies:
            return
        lease = self.zombies.pop(pick % len(self.zombies))
        after = self.write(lease, action)
        if after is not None:
            self.zombies.append(after)

    @rule(seconds=st.sampled_from([0.5, 1.0, 3.0, 10.0, 31.0, 120.0]))
    def time_passes(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule()
    def rescue(self) -> None:
        now = self.clock.now()
        expired = {job_id for job_id, h in self.holders.items() if h.expires_at <= now}
        rescued = self.run(self.queue.rescue_expired(POLICY, lambda: next(self.draws)))
        assert {job.job_id for job in rescued} == expired
        for job in rescued:
            del self.holders[job.job_id]
            assert job.status not in WORKING

    @rule(pick=st.integers(0, 20))
    def member_retries(self, pick: int) -> None:
        jobs = sorted(self.jobs().values(), key=lambda j: str(j.job_id))
        if not jobs:
            return
        job = jobs[pick % len(jobs)]
        try:
            retried = self.run(self.queue.requeue(job.job_id, by="member", user_id=job.user_id))
        except Conflict:
            assert job.status is not JobStatus.FAILED
        else:
            assert job.status is JobStatus.FAILED
            assert (retried.attempts, retried.is_held) == (0, False)

    # -- invariants -----------------------------------------------------------------

    @invariant()
    def events_are_legal_and_chained(self) -> None:
        last: dict[UUID, JobStatus] = {}
        for event in self.run(self.rows.events()):
            if event.from_status is None:
                assert event.job_id not in last and event.to_status is JobStatus.UPLOADED
            else:
                check_transition(event.from_status, event.to_status)
                assert last[event.job_id] == event.from_status
            last[event.job_id] = event.to_status
        for job_id, job in self.jobs().items():
            assert last[job_id] == job.status

    @invariant()
    def no_job_has_two_holders(self) -> None:
        now = self.clock.now()
        for job_id, job in self.jobs().items():
            outstanding = [
                lease for lease in [*self.zombies, *(x for w in WORKERS for x in self.leases[w])]
                if lease.job_id == job_id
            ]
            able = [lease for lease in outstanding if _can_write(job, lease, now)]
            assert len(able) <= 1
            holder = self.holders.get(job_id)
            assert job.is_held == (holder is not None)
            if holder is not None:
                assert (job.fencing_token, job.lease_owner) == (holder.token, holder.worker)
            assert job.is_held or job.status not in WORKING
            assert not (job.is_held and job.status.is_terminal)

    @invariant()
    def chunks_are_unique_and_vectors_belong_to_them(self) -> None:
        ids = set()
        by_document: dict[UUID, list[int]] = {}
        chunks = self.run(self.rows.chunks())
        for (document_id, ordinal), chunk in chunks.items():
            assert (chunk.document_id, chunk.ordinal) == (document_id, ordinal)
            ids.add(chunk.chunk_id)
            by_document.setdefault(document_id, []).append(ordinal)
        assert len(ids) == len(chunks)
        for document_id, ordinals in by_document.items():
            assert sorted(ordinals) == list(range(self.chunk_counts[document_id]))
        assert self.run(self.rows.vectors()) <= ids

    # -- the end --------------------------------------------------------------------

    def drain(self) -> None:
        for _ in range(100):
            self.clock.advance(3600)
            self.rescue()
            leases = self.run(self.queue.claim("healthy", 100, LEASE))
            for lease in leases:
                self.holders[lease.job_id] = Holder(lease.token, "healthy", self.clock.now()
                                                    + LEASE)
                current: Lease | None = lease
                while current is not None:
                    current = self.write(current, "finish")
            if not leases and all(j.status.is_terminal for j in self.jobs().values()):
                return

    def check_complete_document(self, document_id: UUID) -> None:
        chunks = [c for (d, _), c in self.run(self.rows.chunks()).items() if d == document_id]
        assert len(chunks) == self.chunk_counts[document_id]
        vectors = self.run(self.rows.vectors())
        assert all(c.chunk_id in vectors for c in chunks)


def _can_write(job: Job, lease: Lease, now: datetime) -> bool:
    try:
        job.check_lease(lease, now)
    except LeaseLost:
        return False
    return True


QueueMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_any_interleaving_of_workers_keeps_the_queue_sound_and_drains_it = QueueMachine.TestCase


@pytest.fixture
def pg_vector_dimension() -> int:
    return DIMENSIONS


@pytest.mark.postgres
def test_any_interleaving_of_workers_keeps_the_postgres_queue_sound_and_drains_it(
    postgres_dsn: str, pg_schema: str,
) -> None:
    # Fewer examples than in memory (each one empties the schema and opens a pool on
    # an event loop of its own), enough to hold the real queue to the same model.
    run_state_machine_as_test(
        lambda: QueueMachine((postgres_dsn, pg_schema)),
        settings=settings(
            max_examples=30, stateful_step_count=40, deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
