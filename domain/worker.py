"""Use case: a worker — the one loop that production, the tests and the features run.

- claims as many ready jobs as it has free slots, in one statement, and runs each
  one's steps side by side (``ProcessJob``: heartbeats renew the lease meanwhile);
- looks again when woken (a notice of new work), when a job frees its slot, or
  every poll interval;
- takes back expired leases at start and every rescue interval (any worker may;
  a rescue is counted once);
- when told to stop, claims nothing more, lets running jobs finish their step
  within a grace period and gives the rest back without counting an attempt.

Time is injected: ``ticker`` waits out the poll and rescue intervals and the grace
period, so a fake clock steps the whole loop without real waiting. The process
around it (signals, LISTEN, the registry row, metrics) is ``entrypoints.worker``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import attrs

from domain.errors import LeaseLost, StoreUnavailable
from domain.model import Job, Lease
from domain.ports import Jitter, Timer, WorkerQueue
from domain.processing import LeaseHolder, ProcessJob
from domain.retry import RetryPolicy

log = logging.getLogger("navigator.worker")


@attrs.frozen
class RescueExpiredLeases:
    """Take back the jobs of workers that died or stalled; each counts as an attempt."""

    queue: WorkerQueue
    policy: RetryPolicy
    jitter: Jitter

    async def __call__(self) -> list[Job]:
        return await self.queue.rescue_expired(self.policy, self.jitter)


async def _no_news(answered: bool) -> None:
    return None


@attrs.define(eq=False)
class Worker:
    """One worker's loop over the queue (see the module's docstring)."""

    queue: WorkerQueue
    process: ProcessJob
    rescue: RescueExpiredLeases
    worker_id: str
    ticker: Timer
    concurrency: int = 4
    lease_for: timedelta = timedelta(seconds=60)
    poll_interval: float = 5.0
    rescue_interval: float = 30.0
    shutdown_grace: float = 30.0
    #: Called with each job as this worker (or its rescue) left it: metrics hook.
    on_job_left: Callable[[Job | None], None] = lambda job: None
    #: Told after each claim or rescue whether the database answered (the process
    #: listens for notices anew once it answers again).
    on_store: Callable[[bool], Awaitable[None]] = _no_news
    _running: dict[asyncio.Task[object], LeaseHolder] = attrs.Factory(dict)
    _wake: asyncio.Event = attrs.Factory(asyncio.Event)
    _idle: asyncio.Event = attrs.Factory(asyncio.Event)
    _stopping: bool = False
    #: How many leases this worker has run (each claim of a job counts one).
    leases_run: int = 0

    @property
    def running_jobs(self) -> int:
        return len(self._running)

    @property
    def idle(self) -> bool:
        """Nothing running, and the last look found nothing ready."""
        return self._idle.is_set()

    @property
    def stopping(self) -> bool:
        """Told to stop: it claims nothing more (running jobs finish their step)."""
        return self._stopping

    def wake(self) -> None:
        """New work may be ready (a notice): look now rather than at the next poll."""
        self._wake.set()

    async def drain(self) -> int:
        """Run the loop until it has nothing to do (no job running, and its last look
        found nothing ready), then stop it: a one-off run for tests, benchmarks and
        scenarios. Returns how many leases it ran."""
        stop = asyncio.Event()
        started = self.leases_run
        running = asyncio.create_task(self.run(stop))
        idle = asyncio.ensure_future(self._idle.wait())
        try:
            await asyncio.wait({running, idle}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            idle.cancel()
            stop.set()
        await running
        return self.leases_run - started

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set, then shut down gracefully. A database that goes
        away is waited out; any other error of a claim or a rescue is a bug that stops
        the worker: it is raised once the running jobs were given back."""
        self._stopping = False
        self._idle.clear()
        await self._rescue_round()
        rescuing = asyncio.create_task(every(self.ticker, self.rescue_interval, self._rescue_round))
        try:
            await self._loop(stop, rescuing)
        finally:
            self._stopping = True  # running jobs finish their step, then give the job back
            rescuing.cancel()
            try:
                await self._shutdown()
            finally:
                with contextlib.suppress(asyncio.CancelledError):
                    await rescuing  # a bug that stopped the rescue rounds is raised here

    async def _loop(self, stop: asyncio.Event, rescuing: asyncio.Task[None]) -> None:
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set() and not rescuing.done():
                self._wake.clear()
                free = self.concurrency - len(self._running)
                found = await self._claim(free) if free > 0 else 0
                if found == 0 and not self._running:
                    self._idle.set()
                waiters: set[asyncio.Future[Any]] = {
                    stopping, asyncio.ensure_future(self._wake.wait()),
                    asyncio.ensure_future(self.ticker.sleep(self.poll_interval)),
                }
                waiters.update(self._running)  # a finished job frees a slot
                waiters.add(rescuing)  # ends only when a bug stopped the rescue rounds
                _done, pending = await asyncio.wait(waiters,
                                                    return_when=asyncio.FIRST_COMPLETED)
                for waiter in pending:
                    if waiter not in (stopping, rescuing) and waiter not in self._running:
                        waiter.cancel()
        finally:
            stopping.cancel()

    async def _claim(self, free: int) -> int:
        try:
            leases = await self.queue.claim(self.worker_id, free, self.lease_for)
        except StoreUnavailable as exc:
            log.warning("claim failed; will try again",
                        extra={"worker_id": self.worker_id, "error": describe(exc)})
            await self.on_store(False)
            return 0
        await self.on_store(True)
        for lease in leases:
            self._start(lease)
        return len(leases)

    def _start(self, lease: Lease) -> None:
        self._idle.clear()
        self.leases_run += 1
        holder = LeaseHolder(lease)
        task: asyncio.Task[object] = asyncio.create_task(self._run_job(lease, holder))
        self._running[task] = holder
        task.add_done_callback(lambda t: self._running.pop(t, None))

    async def _run_job(self, lease: Lease, holder: LeaseHolder) -> object:
        extra = {"job_id": str(lease.job_id), "document_id": str(lease.job.document_id),
                 "worker_id": self.worker_id}
        log.info("job claimed", extra={**extra, "status": str(lease.job.status)})
        try:
            job = await self.process(lease, holder, lambda: self._stopping)
        except asyncio.CancelledError:
            raise
        except Exception:  # last resort: one job's bug must not stop the others or the loop
            log.exception("job stopped by an error; its lease will expire", extra=extra)
            return None
        self._job_left(job)
        if job is not None:
            log.info("job left", extra={**extra, "status": str(job.status),
                                        "attempts": job.attempts, "last_error": job.last_error})
        return job

    async def _shutdown(self) -> None:
        if not self._running:
            return
        log.info("waiting for running jobs", extra={"running": len(self._running),
                                                     "grace_seconds": self.shutdown_grace})
        grace = asyncio.ensure_future(self.ticker.sleep(self.shutdown_grace))
        running = set(self._running)
        try:
            while not grace.done() and not all(t.done() for t in running):
                await asyncio.wait({grace, *running}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            grace.cancel()
        pending = {t for t in running if not t.done()}
        holders = [self._running[t] for t in pending if t in self._running]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for holder in holders:
            if holder.lease is not None:
                with contextlib.suppress(StoreUnavailable, LeaseLost):
                    await self.queue.release(holder.lease)
                    log.info("job released at shutdown",
                             extra={"job_id": str(holder.lease.job_id)})

    async def _rescue_round(self) -> None:
        try:
            rescued = await self.rescue()
        except StoreUnavailable as exc:
            log.warning("rescue failed; will try again",
                        extra={"worker_id": self.worker_id, "error": describe(exc)})
            await self.on_store(False)
            return
        for job in rescued:
            self._job_left(job)
            log.warning("rescued a job whose lease expired",
                        extra={"job_id": str(job.job_id), "status": str(job.status),
                               "attempts": job.attempts})
        if rescued:
            self._idle.clear()
            self._wake.set()

    def _job_left(self, job: Job | None) -> None:
        try:
            self.on_job_left(job)
        except Exception:  # last resort: a broken metrics hook must not stop the worker
            log.exception("the job hook failed", extra={"worker_id": self.worker_id})


async def every(ticker: Timer, seconds: float, chore: Callable[[], Awaitable[None]]) -> None:
    """Run ``chore`` every ``seconds``, the first time one interval from now, until
    cancelled; an error in ``chore`` ends it."""
    while True:
        await ticker.sleep(seconds)
        await chore()


def describe(exc: BaseException) -> str:
    """An error in one line for the logs: its type, and its message when it has one."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
