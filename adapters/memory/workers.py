"""The worker registry in memory: who is running, and when each last said so."""

from __future__ import annotations

from datetime import timedelta

import attrs

from adapters.memory.store import InMemoryStore
from domain.errors import NotFound
from domain.model import WorkerInfo
from domain.ports import Clock


class InMemoryWorkerRegistry:
    """``WorkerRegistry`` over the shared in-memory store; times come from the clock."""

    def __init__(self, store: InMemoryStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def register(self, worker_id: str, hostname: str, pid: int, version: str = "",
                       live_for: timedelta | None = None) -> None:
        now = self._clock.now()
        info = WorkerInfo(worker_id, hostname, pid, started_at=now, last_seen_at=now,
                          version=version, live_for=live_for)
        self._store.workers[worker_id] = info

    async def beat(self, worker_id: str) -> None:
        info = self._store.workers.get(worker_id)
        if info is None:
            raise NotFound(f"worker {worker_id} is not registered")
        self._store.workers[worker_id] = attrs.evolve(info, last_seen_at=self._clock.now())

    async def unregister(self, worker_id: str) -> None:
        self._store.workers.pop(worker_id, None)

    async def live(self, within: timedelta) -> list[WorkerInfo]:
        now = self._clock.now()
        live = (w for w in self._store.workers.values() if w.is_live(now, within))
        return sorted(live, key=lambda w: w.worker_id)
