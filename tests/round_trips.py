"""Counting the statements a pool sends: the benchmark and the tests that hold the
PostgreSQL adapters to their round-trip budget share it."""

from __future__ import annotations

from typing import Any

import asyncpg


class RoundTrips:
    """Counts the statements a pool sends (each is one round trip to the server);
    for the benchmark and for tests that hold the adapters to their budget."""

    def __init__(self) -> None:
        self.count = 0

    def connection_class(self) -> type[asyncpg.Connection]:
        counter = self

        class CountingConnection(asyncpg.Connection):
            async def execute(self, *args: Any, **kwargs: Any) -> Any:
                counter.count += 1
                return await super().execute(*args, **kwargs)

            async def executemany(self, *args: Any, **kwargs: Any) -> Any:
                counter.count += 1
                return await super().executemany(*args, **kwargs)

            async def fetch(self, *args: Any, **kwargs: Any) -> Any:
                counter.count += 1
                return await super().fetch(*args, **kwargs)

            async def fetchrow(self, *args: Any, **kwargs: Any) -> Any:
                counter.count += 1
                return await super().fetchrow(*args, **kwargs)

            async def fetchval(self, *args: Any, **kwargs: Any) -> Any:
                counter.count += 1
                return await super().fetchval(*args, **kwargs)

        return CountingConnection
