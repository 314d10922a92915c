"""The database a benchmark runs on: a temporary embedded server (or ``--dsn``), and a
fresh migrated schema per run, dropped afterwards."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from adapters.postgres.connection import connect
from adapters.postgres.embedded import EmbeddedPostgres
from adapters.postgres.migrations import run_migrations


@contextmanager
def database(dsn: str | None) -> Iterator[str]:
    if dsn:
        yield dsn
        return
    base = Path(tempfile.mkdtemp(prefix="navigator-bench-"))
    server = EmbeddedPostgres(base / "pgdata")
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


async def fresh_schema(dsn: str, dimensions: int) -> str:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    await run_migrations(dsn, schema, dimensions)
    return schema


async def drop_schema(dsn: str, schema: str) -> None:
    conn = await connect(dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()
