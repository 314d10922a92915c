"""Time and identity, injected so tests decide them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware UTC time."""
        ...


class Timer(Protocol):
    async def sleep(self, seconds: float) -> None:
        """Return once ``seconds`` have passed (on a fake clock: once it has moved that
        far), so time limits can be tested without waiting."""
        ...


class IdFactory(Protocol):
    def __call__(self) -> UUID:
        ...
