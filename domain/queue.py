"""The queue's writes as the domain decides them.

Every write after a claim (a heartbeat, a step's result, a retry, a failure, a
release, a rescue, a requeue) is a transition of ``Job``: this module asks the job
for it and hands the decided move to the store (``JobMoves``), which keeps it by
compare-and-set. When the store finds the job changed since the copy the move was
decided from, the move is decided again from the job as found, once; a lease that
is no longer alive is ``LeaseLost``. Both queue adapters inherit these rules, so
they only persist.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID

import attrs

from domain.errors import Conflict, LeaseLost, NotFound
from domain.model import Job, Lease, Moved, StepOutput, Stored
from domain.ports.clock import Clock
from domain.ports.queue import Jitter
from domain.retry import RetryPolicy

Transition = Callable[[Job, datetime], Moved]

#: How often a requeue decides again when the job keeps changing under it.
REQUEUE_TRIES = 3


class QueueRules(abc.ABC):
    """The worker's and the member's writes to the queue, decided by ``Job`` and
    stored by the subclass's ``JobMoves`` methods."""

    _clock: Clock

    @abc.abstractmethod
    async def store_move(
        self, current: Job, moved: Moved, *, lease: Lease | None = None,
        now: datetime | None = None, output: StepOutput | None = None, notify: bool = False,
    ) -> Stored:
        """See ``JobMoves.store_move``."""

    @abc.abstractmethod
    async def stored_job(self, job_id: UUID) -> Job | None:
        """See ``JobMoves.stored_job``."""

    @abc.abstractmethod
    async def expired_leases(self, now: datetime) -> list[Job]:
        """See ``JobMoves.expired_leases``."""

    async def heartbeat(self, lease: Lease, lease_for: timedelta) -> Lease:
        job = await self._fenced(lease, lambda job, now: job.renew(lease, now, lease_for))
        return attrs.evolve(lease, job=job)

    async def finish_step(
        self, lease: Lease, output: StepOutput, lease_for: timedelta, *, continue_: bool = True
    ) -> Lease | None:
        def finish(job: Job, now: datetime) -> Moved:
            return job.finish_step(lease, now, lease_for, detail=output.detail,
                                   continue_=continue_, embedding_tokens=output.embedding_tokens)

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
        write changes nothing. No lock is held between writes, so a worker that
        freezes in the middle of its round (paused, partitioned) holds up nobody's
        rescue."""
        now = self._clock.now()
        rescued = []
        for current in await self.expired_leases(now):
            stored = await self.store_move(current, current.rescue(now, policy, jitter()))
            if stored.job is not None:  # else the holder finished, or another worker rescued it
                rescued.append(stored.job)
        return rescued

    async def requeue(self, job_id: UUID, by: str, user_id: str | None = None) -> Job:
        return await self._send_back(job_id, user_id, lambda job, now: job.requeue(now, by))

    async def reprocess(self, job_id: UUID, by: str, user_id: str | None = None) -> Job:
        return await self._send_back(job_id, user_id, lambda job, now: job.reprocess(now, by))

    async def _send_back(self, job_id: UUID, user_id: str | None, transition: Transition
                         ) -> Job:
        """A member's or operator's move with no lease (retry, reprocess), announced to
        the workers; decided again from the job as found when it changed meanwhile."""
        current = await self.stored_job(job_id)
        for _ in range(REQUEUE_TRIES):
            if current is None or user_id not in (None, current.user_id):
                raise NotFound(f"no job {job_id}")
            moved = transition(current, self._clock.now())
            stored = await self.store_move(current, moved, notify=True)
            if stored.job is not None:
                return stored.job
            current = stored.found  # changed meanwhile: ask the domain again
        raise Conflict(f"job {job_id} keeps changing; try again")

    async def _fenced(
        self, lease: Lease, transition: Transition, output: StepOutput | None = None
    ) -> Job:
        """Decide ``transition`` on the job the lease holds and store it, fenced.

        One write when the lease carries the job as it is stored (the worker threads
        the latest lease through). An older copy of it (from before a heartbeat)
        costs one more: a read when the copy says the lease has run out, else the
        refused write, which answers with the job it found."""
        now = self._clock.now()
        current = lease.job
        fresh = False
        while True:
            try:
                moved = transition(current, now)
            except LeaseLost:
                if fresh:
                    raise
                current, fresh = await self._held(lease), True
                continue
            stored = await self.store_move(current, moved, lease=lease, now=now, output=output)
            if stored.job is not None:
                return stored.job
            found = _refusal(lease, now, stored)
            if fresh:
                raise LeaseLost(f"worker {lease.worker} no longer holds job {lease.job_id}")
            current, fresh = found, True

    async def _held(self, lease: Lease) -> Job:
        job = await self.stored_job(lease.job_id)
        if job is None:
            raise LeaseLost(f"job {lease.job_id} no longer exists")
        return job


def _refusal(lease: Lease, now: datetime, stored: Stored) -> Job:
    """Why a fenced write changed nothing, from what the store found: the job is gone
    or the lease is not ours (``LeaseLost``), or a vector named a chunk the document
    does not have (``ValueError``). Otherwise the lease is ours but the copy of the
    job it carries is older than the stored one: the job to decide again from."""
    found = stored.found
    if found is None:
        raise LeaseLost(f"job {lease.job_id} no longer exists")
    found.check_lease(lease, now)
    if stored.unknown_chunks:
        raise ValueError("a vector names a chunk that is not a chunk of this document")
    return found
