"""What operators ask of the running system: is the database there, which
workers are alive.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from domain.model import DatabaseReport, WorkerInfo


class DatabaseProbe(Protocol):
    async def check(self) -> DatabaseReport:
        """Never raises: an unreachable database is ``reachable=False`` with a reason
        that names neither a password nor where the database lives."""
        ...


class WorkerRegistry(Protocol):
    """Workers announce themselves and beat regularly; the live ones are those seen
    recently. Lets an operator tell "no workers" from "workers, but stuck"."""

    async def register(self, worker_id: str, hostname: str, pid: int, version: str = "",
                       live_for: timedelta | None = None) -> None:
        """Announce a worker (again, after a restart with the same id: started anew),
        and how long after each heartbeat it counts as live (``live_for``)."""
        ...

    async def beat(self, worker_id: str) -> None:
        """Record that the worker is alive now; ``NotFound`` if it never registered."""
        ...

    async def unregister(self, worker_id: str) -> None:
        """Forget a worker that stops cleanly (no error if unknown)."""
        ...

    async def live(self, within: timedelta) -> list[WorkerInfo]:
        """Workers seen within their own ``live_for`` of now (within ``within`` for one
        that registered none), by worker id."""
        ...
