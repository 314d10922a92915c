"""A clock that moves only when told, so lease expiry and backoff are exact in tests.

A test double, so it lives in the test tree (the services run on ``SystemClock``).

It is also a ``Timer``: ``await clock.sleep(s)`` returns once :meth:`advance` has
moved the clock ``s`` seconds on, so a time limit is tested without waiting.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
        self._sleepers: list[tuple[datetime, asyncio.Future[None]]] = []
        self._fell_asleep: asyncio.Event | None = None

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        self._now += timedelta(seconds=seconds)
        due = [s for s in self._sleepers if s[0] <= self._now]
        self._sleepers = [s for s in self._sleepers if s[0] > self._now]
        for _, waiter in due:
            if not waiter.done():
                waiter.set_result(None)
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self._now + timedelta(seconds=seconds), waiter))
        if self._fell_asleep is not None:
            self._fell_asleep.set()
        await waiter

    async def wait_until_sleeping(self) -> None:
        """Return once a sleep is waiting for the clock (at once if one already is)."""
        while not self.sleeping:
            self._fell_asleep = asyncio.Event()
            await self._fell_asleep.wait()

    @property
    def sleeping(self) -> int:
        """How many sleeps are waiting for the clock to move."""
        return sum(1 for _, waiter in self._sleepers if not waiter.done())

    def __repr__(self) -> str:
        return f"FakeClock({self._now.isoformat()})"
