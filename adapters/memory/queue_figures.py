"""The queue's figures over the in-memory store, counted as ``queue_figures`` in
adapters/postgres/queue.sql counts them in PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from adapters.memory.store import InMemoryStore
from domain.model import QueueFigures
from domain.status import JobStatus, StepName
from domain.watching import setback


class InMemoryQueueFigures:
    """``QueueFigureReads`` over the shared in-memory store."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def figures(self, now: datetime, *, window: timedelta,
                      live_within: timedelta) -> QueueFigures:
        jobs = list(self._store.jobs.values())
        ready_since: dict[JobStatus, datetime] = {}
        for job in jobs:
            if job.is_waiting and job.available_at <= now:
                earliest = ready_since.get(job.status, job.available_at)
                ready_since[job.status] = min(earliest, job.available_at)
        since = now - window
        setbacks: Counter[tuple[str, StepName]] = Counter()
        completions = 0
        for event in self._store.events:
            if event.at <= since:
                continue
            found = setback(event)
            if found is not None:
                setbacks[found] += 1
            elif event.to_status is JobStatus.COMPLETE:
                completions += 1
        return QueueFigures(
            at=now,
            counts=Counter(job.status for job in jobs),
            ready_since=ready_since,
            leases_past_due=sum(1 for job in jobs if job.lease_expires_at is not None
                                and job.lease_expires_at <= now),
            window=window,
            failures={step: n for (kind, step), n in setbacks.items() if kind == "failure"},
            retries={step: n for (kind, step), n in setbacks.items() if kind == "retry"},
            completions=completions,
            live_workers=sum(1 for w in self._store.workers.values()
                             if w.is_live(now, live_within)),
        )
