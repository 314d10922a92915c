"""Watching the queue: the figures operators alert on, read from the database at most
once per ``max_age`` whatever the number of scrapes, and how a job's history tells
a failure or a retry of a step.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Literal

import attrs

from domain.model import WILL_RETRY, JobEvent, QueueFigures
from domain.ports import Clock, QueueFigureReads
from domain.status import JobStatus, StepName, step_claimable_at, step_held_at

Setback = Literal["failure", "retry"]


def step_failed_at(status: JobStatus) -> StepName:
    """The step a job was in when it failed from ``status`` (a status it is held at)."""
    return step_held_at(status).name


def step_retried_at(status: JobStatus) -> StepName:
    """The step that runs again when a job goes back to ``status`` to retry."""
    return step_claimable_at(status).name


def setback(event: JobEvent) -> tuple[Setback, StepName] | None:
    """Whether ``event`` records a step failing for good or failing to retry later,
    and which step; None for any other event (a start, a result, a release at
    shutdown, a retry by hand)."""
    if event.to_status is JobStatus.FAILED and event.from_status is not None:
        return "failure", step_failed_at(event.from_status)
    if event.detail.startswith(WILL_RETRY):
        return "retry", step_retried_at(event.to_status)
    return None


@attrs.define
class WatchQueue:
    """The queue's figures (``/metrics``, ``navigator status``), no older than
    ``max_age``: Prometheus may scrape every replica every few seconds, several
    scrapes at once, and the database still answers one read per ``max_age`` per
    process. A read that fails is not kept: the next call tries again."""

    reads: QueueFigureReads
    clock: Clock
    window: timedelta
    live_within: timedelta
    max_age: timedelta = timedelta(0)
    _last: QueueFigures | None = attrs.field(default=None, init=False)
    _lock: asyncio.Lock = attrs.field(factory=asyncio.Lock, init=False)

    async def __call__(self) -> QueueFigures:
        async with self._lock:
            now = self.clock.now()
            last = self._last
            if last is not None and timedelta(0) <= now - last.at < self.max_age:
                return last
            self._last = await self.reads.figures(now, window=self.window,
                                                  live_within=self.live_within)
            return self._last
