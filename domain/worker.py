"""Use case: one round of a worker — claim what is ready and process it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import attrs

from domain.model import Job
from domain.ports import Jitter, WorkerQueue
from domain.processing import ProcessJob
from domain.retry import RetryPolicy


@attrs.define
class WorkerRound:
    """Claim up to ``batch_size`` ready jobs in one statement and run them side by side."""

    queue: WorkerQueue
    process: ProcessJob
    worker_id: str
    batch_size: int = 4
    lease_for: timedelta = timedelta(seconds=60)

    async def __call__(self, limit: int | None = None) -> list[Job | None]:
        leases = await self.queue.claim(self.worker_id, limit or self.batch_size, self.lease_for)
        return list(await asyncio.gather(*(self.process(lease) for lease in leases)))

    async def until_idle(self, max_rounds: int = 1000) -> int:
        """Keep claiming until nothing is ready now; returns how many leases were run."""
        total = 0
        for _ in range(max_rounds):
            ran = await self()
            if not ran:
                break
            total += len(ran)
        return total


@attrs.frozen
class RescueExpiredLeases:
    """Take back the jobs of workers that died or stalled; each counts as an attempt."""

    queue: WorkerQueue
    policy: RetryPolicy
    jitter: Jitter

    async def __call__(self) -> list[Job]:
        return await self.queue.rescue_expired(self.policy, self.jitter)
