"""The worker service: claims jobs, runs them, and keeps the queue healthy.

- wakes on a database notice (LISTEN/NOTIFY) or, failing that, every poll interval;
- claims as many jobs as it has free slots, in one statement;
- each job runs its steps with its lease renewed (see ``domain.processing``);
- rescues expired leases periodically (any worker may; a rescue is counted once);
- registers itself and beats, so ``/health`` and ``navigator status`` see it (and
  registers again if its row went missing);
- after the database was unreachable, subscribes to notices again (the old
  LISTEN connection died with the server; polling covered the gap meanwhile);
- on SIGTERM stops claiming, lets running jobs finish within a grace period and
  gives the rest back without counting an attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Protocol

import attrs

from domain.errors import NotFound
from domain.model import Job, Lease
from domain.ports import WorkerQueue, WorkerRegistry
from domain.processing import LeaseHolder, ProcessJob
from domain.worker import RescueExpiredLeases

log = logging.getLogger("navigator.worker")


class Subscription(Protocol):
    """A live subscription to "new work" notices (a LISTEN connection)."""

    @property
    def alive(self) -> bool: ...

    async def close(self) -> None: ...


#: Subscribes a callback to "new work" notices.
Subscribe = Callable[[Callable[[], None]], Awaitable[Subscription]]


def new_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{os.urandom(3).hex()}"


@attrs.define
class WorkerService:
    queue: WorkerQueue
    process: ProcessJob
    rescue: RescueExpiredLeases
    registry: WorkerRegistry | None = None
    subscribe: Subscribe | None = None
    worker_id: str = attrs.Factory(new_worker_id)
    concurrency: int = 4
    poll_interval: float = 5.0
    rescue_interval: float = 30.0
    beat_interval: float = 10.0
    shutdown_grace: float = 30.0
    lease_for: timedelta = timedelta(seconds=60)
    #: Called with each job as this worker (or its rescue) left it: metrics hook.
    on_job_left: Callable[[Job | None], None] = lambda job: None
    _running: dict[asyncio.Task[object], LeaseHolder] = attrs.Factory(dict)
    _wake: asyncio.Event = attrs.Factory(asyncio.Event)
    _subscription: Subscription | None = None
    _database_trouble: bool = False
    _stopping: bool = False

    @property
    def running_jobs(self) -> int:
        return len(self._running)

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set, then shut down gracefully."""
        if self.registry is not None:
            await self.registry.register(self.worker_id, socket.gethostname(), os.getpid())
        await self._subscribe()
        chores = [asyncio.create_task(self._every(self.rescue_interval, self._rescue))]
        if self.registry is not None:
            chores.append(asyncio.create_task(self._every(self.beat_interval, self._beat)))
        log.info("worker started", extra={"worker_id": self.worker_id,
                                          "concurrency": self.concurrency})
        try:
            await self._loop(stop)
        finally:
            self._stopping = True  # running jobs finish their step, then give the job back
            for chore in chores:
                chore.cancel()
            await self._shutdown()
            await self._unsubscribe_quietly()
            if self.registry is not None:
                with contextlib.suppress(Exception):
                    await self.registry.unregister(self.worker_id)
            log.info("worker stopped", extra={"worker_id": self.worker_id})

    async def _loop(self, stop: asyncio.Event) -> None:
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                self._wake.clear()
                free = self.concurrency - len(self._running)
                if free > 0:
                    await self._claim(free)
                waiters: set[asyncio.Future[Any]] = {stopping,
                                                      asyncio.ensure_future(self._wake.wait())}
                waiters.update(self._running)  # a finished job frees a slot
                _done, pending = await asyncio.wait(
                    waiters, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED
                )
                for waiter in pending:
                    if waiter is not stopping and waiter not in self._running:
                        waiter.cancel()
                self._check_subscription()
        finally:
            stopping.cancel()

    async def _subscribe(self) -> None:
        if self.subscribe is None:
            return
        try:
            self._subscription = await self.subscribe(self._wake.set)
        except Exception as exc:
            self._subscription = None
            self._database_trouble = True  # try again once the database answers
            log.warning("cannot listen for job notices; polling only for now",
                        extra={"worker_id": self.worker_id, "error": _describe(exc)})

    def _check_subscription(self) -> None:
        """A LISTEN connection can drop on its own (an idle timeout in a proxy): treat
        it like a database outage, so the next successful claim listens anew."""
        if self._subscription is not None and not self._subscription.alive:
            if not self._database_trouble:
                log.warning("the job notice connection dropped; polling until it is back",
                            extra={"worker_id": self.worker_id})
            self._database_trouble = True

    async def _unsubscribe_quietly(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            with contextlib.suppress(Exception):
                await subscription.close()

    async def _recovered(self) -> None:
        """The database answers again after failing: the LISTEN connection most likely
        died with it, so listen anew (and look for work missed meanwhile)."""
        if not self._database_trouble:
            return
        self._database_trouble = False
        log.info("database reachable again", extra={"worker_id": self.worker_id})
        if self.subscribe is not None:
            await self._unsubscribe_quietly()
            await self._subscribe()
        self._wake.set()

    async def _claim(self, free: int) -> int:
        try:
            leases = await self.queue.claim(self.worker_id, free, self.lease_for)
        except Exception as exc:
            self._database_trouble = True
            log.warning("claim failed; will try again",
                        extra={"worker_id": self.worker_id, "error": _describe(exc)})
            return 0
        await self._recovered()
        for lease in leases:
            self._start(lease)
        return len(leases)

    def _start(self, lease: Lease) -> None:
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
        except Exception:
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
        _, pending = await asyncio.wait(set(self._running), timeout=self.shutdown_grace)
        holders = [self._running[t] for t in pending if t in self._running]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for holder in holders:
            if holder.lease is not None:
                with contextlib.suppress(Exception):
                    await self.queue.release(holder.lease)
                    log.info("job released at shutdown", extra={"job_id": str(holder.lease.job_id)})

    async def _rescue(self) -> None:
        rescued = await self.rescue()
        for job in rescued:
            self._job_left(job)
            log.warning("rescued a job whose lease expired",
                        extra={"job_id": str(job.job_id), "status": str(job.status),
                               "attempts": job.attempts})
        if rescued:
            self._wake.set()

    async def _beat(self) -> None:
        assert self.registry is not None
        try:
            await self.registry.beat(self.worker_id)
        except NotFound:  # our row was removed (a cleanup, a restored database)
            log.warning("worker row missing; registering again",
                        extra={"worker_id": self.worker_id})
            await self.registry.register(self.worker_id, socket.gethostname(), os.getpid())

    def _job_left(self, job: Job | None) -> None:
        try:
            self.on_job_left(job)
        except Exception:
            log.exception("the job hook failed", extra={"worker_id": self.worker_id})

    async def _every(self, seconds: float, chore: Callable[[], Awaitable[None]]) -> None:
        while True:
            try:
                await chore()
            except Exception as exc:
                self._database_trouble = True
                log.warning("periodic chore failed; will try again",
                            extra={"worker_id": self.worker_id, "chore": chore.__name__,
                                   "error": _describe(exc)})
            await asyncio.sleep(seconds)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
