"""The in-memory "database" for ``/health``: always there, nothing to migrate."""

from __future__ import annotations

from domain.model import DatabaseReport


class InMemoryDatabaseProbe:
    """The in-memory adapters' "database" is always there and needs no migrations."""

    def __init__(self, schema: str = "in-memory") -> None:
        self._schema = schema

    async def check(self) -> DatabaseReport:
        return DatabaseReport(True, self._schema, schema_present=True)
