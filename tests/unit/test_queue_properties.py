"""Property: whatever workers do to the queue, it stays sound and drains to an end.

Hypothesis plays any interleaving of uploads, claims by several workers, finished
steps, heartbeats, transient and permanent failures, crashes (a worker abandons
its leases), returns of crashed workers, graceful releases, clock moves, rescues
and manual retries against the in-memory queue. After every operation:

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
from collections.abc import Coroutine
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4, uuid5

import attrs
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from adapters.memory.job_queue import InMemoryJobQueue
from adapters.memory.store import InMemoryStore
from domain.errors import Conflict, LeaseLost, PermanentError, TransientError
from domain.model import (
    Chunk,
    ChunkVector,
    Document,
    Job,
    Lease,
    MediaType,
    ParsedDocument,
    ParsedPage,
)
from domain.ports import StepOutput
from domain.retry import RetryPolicy
from domain.status import WORKING, JobStatus, StepName, check_transition
from tests.fakes.clock import FakeClock

T = TypeVar("T")

WORKERS = ("worker-1", "worker-2", "worker-3")
MEMBERS = ("member-a", "member-b")
LEASE = timedelta(seconds=30)
POLICY = RetryPolicy(max_retries=2, base_delay=1.0, max_delay=8.0, jitter=0.5)
DIMENSIONS = 4


@attrs.define
class Holder:
    """The test's own idea of who holds a job, independent of the queue's."""

    token: int
    worker: str
    expires_at: datetime


class QueueMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = FakeClock()
        self.store = InMemoryStore(vector_dimension=DIMENSIONS)
        self.queue = InMemoryJobQueue(self.store, self.clock)
        self.leases: dict[str, list[Lease]] = {w: [] for w in WORKERS}
        self.zombies: list[Lease] = []
        self.holders: dict[UUID, Holder] = {}
        self.chunk_counts: dict[UUID, int] = {}
        self.uploaded: set[tuple[str, int]] = set()
        self.draws = iter([0.0, 0.3, 0.9, 0.5] * 10_000)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        try:
            self.drain()
            jobs = self.store.jobs.values()
            assert all(job.status.is_terminal for job in jobs), sorted(j.status for j in jobs)
            for job in [j for j in jobs if j.status is JobStatus.FAILED]:
                self.run(self.queue.requeue(job.job_id, by="operator"))
            self.drain()
            assert all(job.status is JobStatus.COMPLETE for job in self.store.jobs.values())
            for document_id in self.store.documents:
                self.check_complete_document(document_id)
            self.events_are_legal_and_chained()
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

    def output_for(self, lease: Lease) -> StepOutput:
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
            chunks = [c for (d, _), c in self.store.chunks.items() if d == job.document_id]
            return StepOutput(vectors=tuple(
                ChunkVector(c.chunk_id, (1.0, 0.0, 0.0, float(c.ordinal)),
                            "test-model")
                for c in chunks
            ), embedding_tokens=2 * len(chunks))
        return StepOutput()

    def snapshot(self, job_id: UUID) -> tuple[object, ...]:
        job = self.store.jobs.get(job_id)
        document_id = job.document_id if job else None
        return (
            job,
            len(self.store.events),
            sorted((k[1], c.chunk_id) for k, c in self.store.chunks.items()
                   if k[0] == document_id),
            sorted(str(v) for v in self.store.vectors),
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
        job = self.store.jobs[lease.job_id]
        if job.is_held:
            self.holders[lease.job_id] = Holder(lease.token, lease.worker, now + LEASE)
            return attrs.evolve(lease, job=job)
        del self.holders[lease.job_id]
        assert not isinstance(result, Lease)
        return None

    async def _write(self, lease: Lease, action: str) -> object:
        queue = self.queue
        if action == "finish":
            return await queue.finish_step(lease, self.output_for(lease), LEASE)
        if action == "finish and let go":
            return await queue.finish_step(lease, self.output_for(lease), LEASE, continue_=False)
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
        document = Document(uuid4(), member, f"file-{content}.md", MediaType.MARKDOWN, 10,
                            f"sha-{content}", f"blob-{content}", now)
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
        jobs = sorted(self.store.jobs.values(), key=lambda j: str(j.job_id))
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
        for event in self.store.events:
            if event.from_status is None:
                assert event.job_id not in last and event.to_status is JobStatus.UPLOADED
            else:
                check_transition(event.from_status, event.to_status)
                assert last[event.job_id] == event.from_status
            last[event.job_id] = event.to_status
        for job_id, job in self.store.jobs.items():
            assert last[job_id] == job.status

    @invariant()
    def no_job_has_two_holders(self) -> None:
        now = self.clock.now()
        for job_id, job in self.store.jobs.items():
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
        for (document_id, ordinal), chunk in self.store.chunks.items():
            assert (chunk.document_id, chunk.ordinal) == (document_id, ordinal)
            ids.add(chunk.chunk_id)
            by_document.setdefault(document_id, []).append(ordinal)
        assert len(ids) == len(self.store.chunks)
        for document_id, ordinals in by_document.items():
            assert sorted(ordinals) == list(range(self.chunk_counts[document_id]))
        assert set(self.store.vectors) <= ids

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
            if not leases and all(j.status.is_terminal for j in self.store.jobs.values()):
                return

    def check_complete_document(self, document_id: UUID) -> None:
        chunks = [c for (d, _), c in self.store.chunks.items() if d == document_id]
        assert len(chunks) == self.chunk_counts[document_id]
        assert all(c.chunk_id in self.store.vectors for c in chunks)


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
