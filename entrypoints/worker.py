"""The worker process around the domain's worker loop (``domain.worker.Worker``):

- subscribes to database notices (LISTEN/NOTIFY) and wakes the loop on each;
- after the database was unreachable, subscribes again (the old LISTEN connection
  died with the server; polling covered the gap meanwhile), and treats a LISTEN
  connection that dropped on its own the same way;
- registers itself and beats, so ``/health`` and ``navigator status`` see it (and
  registers again if its row went missing), and unregisters when it stops.

Claiming, running jobs, rescue and graceful shutdown are the loop's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Protocol

import attrs

from domain.errors import NotFound
from domain.ports import Timer, WorkerRegistry
from domain.worker import Worker, describe, every

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
    worker: Worker
    ticker: Timer
    registry: WorkerRegistry | None = None
    subscribe: Subscribe | None = None
    beat_interval: float = 10.0
    #: how long after a heartbeat this worker counts as live (told to the registry, so
    #: that whoever asks judges it by its own heartbeat, not by the asker's settings)
    live_for: timedelta | None = None
    _subscription: Subscription | None = None
    _database_trouble: bool = False

    def __attrs_post_init__(self) -> None:
        self.worker.on_store = self._store_answered

    @property
    def worker_id(self) -> str:
        return self.worker.worker_id

    @property
    def running_jobs(self) -> int:
        return self.worker.running_jobs

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set, then shut down gracefully."""
        if self.registry is not None:
            await self.registry.register(self.worker_id, socket.gethostname(), os.getpid(),
                                         live_for=self.live_for)
        await self._subscribe()
        chores = [asyncio.create_task(self._every(self.worker.poll_interval,
                                                  self._check_subscription))]
        if self.registry is not None:
            chores.append(asyncio.create_task(self._every(self.beat_interval, self._beat)))
        log.info("worker started", extra={"worker_id": self.worker_id,
                                          "concurrency": self.worker.concurrency})
        try:
            await self.worker.run(stop)
        finally:
            for chore in chores:
                chore.cancel()
            await self._unsubscribe_quietly()
            if self.registry is not None:
                with contextlib.suppress(Exception):
                    await self.registry.unregister(self.worker_id)
            log.info("worker stopped", extra={"worker_id": self.worker_id})

    async def _subscribe(self) -> None:
        if self.subscribe is None:
            return
        try:
            self._subscription = await self.subscribe(self.worker.wake)
        except Exception as exc:
            self._subscription = None
            self._database_trouble = True  # try again once the database answers
            log.warning("cannot listen for job notices; polling only for now",
                        extra={"worker_id": self.worker_id, "error": describe(exc)})

    async def _check_subscription(self) -> None:
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

    async def _store_answered(self, answered: bool) -> None:
        """After the database failed and answers again, the LISTEN connection most
        likely died with it: listen anew (and look for work missed meanwhile)."""
        if not answered:
            self._database_trouble = True
            return
        if not self._database_trouble:
            return
        self._database_trouble = False
        log.info("database reachable again", extra={"worker_id": self.worker_id})
        if self.subscribe is not None:
            await self._unsubscribe_quietly()
            await self._subscribe()
        self.worker.wake()

    async def _beat(self) -> None:
        assert self.registry is not None
        try:
            await self.registry.beat(self.worker_id)
        except NotFound:  # our row was removed (a cleanup, a restored database)
            log.warning("worker row missing; registering again",
                        extra={"worker_id": self.worker_id})
            await self.registry.register(self.worker_id, socket.gethostname(), os.getpid(),
                                         live_for=self.live_for)

    async def _every(self, seconds: float, chore: Callable[[], Awaitable[None]]) -> None:
        """Run ``chore`` now, then every ``seconds``; a failure is logged, marks the
        database as in trouble, and waits for the next round."""

        async def guarded() -> None:
            try:
                await chore()
            except Exception as exc:
                self._database_trouble = True
                log.warning("periodic chore failed; will try again",
                            extra={"worker_id": self.worker_id, "chore": chore.__name__,
                                   "error": describe(exc)})

        await guarded()
        await every(self.ticker, seconds, guarded)
