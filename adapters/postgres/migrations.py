"""The migrations runner: plain SQL files from ``migrations/``, applied in order.

Files are named ``NNNN_what_it_does.sql``. Each may use two placeholders, replaced
before it runs (and nothing else is touched, so SQL braces are safe):

- ``{schema}``: the schema from ``DATABASE_SCHEMA``, as a quoted identifier;
- ``{vector_dimension}``: ``RAG_VECTOR_DIMENSION``.

Each file is applied in a transaction of its own under a transaction-scoped
PostgreSQL advisory lock derived from the schema name, after re-reading what is
applied, so two processes starting at once apply each file exactly once (and the
runner works through a transaction-mode pooler). It records every applied
file (version, name, SHA-256 of the file's text, time) in ``schema_migrations``
in the schema, and refuses to run, naming the file, when an applied file has
changed or disappeared. It also creates the ``vector`` extension if it is missing
(under a database-wide advisory lock, since the extension is shared by every
schema).
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from pathlib import Path

import asyncpg
import attrs

from adapters.postgres.connection import (
    connect,
    quote_schema,
    search_path,
    vector_schema,
)
from adapters.postgres.errors import MigrationError, MissingExtension

#: The ``migrations/`` directory at the root of the project.
MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
_FILE_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")
_EXTENSION_LOCK = 0x6E61_7669_7665_6374  # "navivect": one per database


@attrs.frozen
class Migration:
    version: int
    name: str
    text: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    @property
    def filename(self) -> str:
        return f"{self.version:04d}_{self.name}.sql"

    def render(self, schema: str, vector_dimension: int) -> str:
        return self.text.replace("{schema}", quote_schema(schema)).replace(
            "{vector_dimension}", str(int(vector_dimension))
        )


@attrs.frozen
class AppliedMigration:
    version: int
    name: str
    checksum: str
    applied_at: datetime


@attrs.frozen
class SchemaStatus:
    """What ``/health`` and ``navigator status`` report about the schema."""

    schema: str
    exists: bool
    applied: tuple[AppliedMigration, ...]
    pending: tuple[str, ...]
    changed: tuple[str, ...]
    vector_dimension: int | None

    @property
    def up_to_date(self) -> bool:
        return self.exists and not self.pending and not self.changed


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files of ``directory`` in version order."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.fullmatch(path.name)
        if match is None:
            raise MigrationError(
                f"migration file {path.name} is not named NNNN_lowercase_name.sql"
            )
        version = int(match.group(1))
        if version in found:
            raise MigrationError(
                f"migrations {found[version].filename} and {path.name} share version {version}"
            )
        found[version] = Migration(version, match.group(2), path.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


def advisory_key(schema: str) -> int:
    """A signed 64-bit lock key from the schema name (stable across processes)."""
    digest = hashlib.sha256(f"migrations:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def applied_migrations(conn: asyncpg.Connection, schema: str) -> list[AppliedMigration]:
    """What the schema's record says was applied (empty if the schema is new)."""
    if not await _record_exists(conn, schema):
        return []
    rows = await conn.fetch(
        f"SELECT version, name, checksum, applied_at FROM {quote_schema(schema)}."
        "schema_migrations ORDER BY version"
    )
    return [
        AppliedMigration(r["version"], r["name"], r["checksum"].strip(), r["applied_at"])
        for r in rows
    ]


async def stored_vector_dimension(conn: asyncpg.Connection, schema: str) -> int | None:
    """The dimension of the stored vectors, or None before migrating: the column
    ``chunk_embeddings.embedding`` (migration 0006), ``document_chunks.embedding``
    before it."""
    value = await conn.fetchval(
        "SELECT a.atttypmod FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relname IN ('chunk_embeddings', 'document_chunks') "
        "AND a.attname = 'embedding' AND NOT a.attisdropped "
        "ORDER BY c.relname = 'chunk_embeddings' DESC LIMIT 1",
        schema,
    )
    return int(value) if value is not None and value > 0 else None


async def schema_status(
    conn: asyncpg.Connection, schema: str, directory: Path = MIGRATIONS_DIR
) -> SchemaStatus:
    exists = bool(
        await conn.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema)
    )
    applied = await applied_migrations(conn, schema)
    files = {m.version: m for m in load_migrations(directory)}
    done = {a.version for a in applied}
    changed = tuple(
        files[a.version].filename if a.version in files else f"{a.version:04d}_{a.name}.sql"
        for a in applied
        if a.version not in files or files[a.version].checksum != a.checksum
    )
    pending = tuple(m.filename for v, m in files.items() if v not in done)
    dimension = await stored_vector_dimension(conn, schema) if exists else None
    return SchemaStatus(schema, exists, tuple(applied), pending, changed, dimension)


async def migrate(
    conn: asyncpg.Connection,
    schema: str,
    vector_dimension: int,
    directory: Path = MIGRATIONS_DIR,
) -> list[str]:
    """Apply the pending migrations to ``schema``; returns the files applied.

    Each file runs in a transaction of its own that first takes the schema's
    advisory lock (transaction-scoped) and re-reads what is applied, so runners
    started at once apply each file exactly once, and nothing (lock, search path)
    outlives a transaction: it works through a transaction-mode pooler too."""
    migrations = load_migrations(directory)
    extension_schema = await ensure_vector_extension(conn)
    quoted = quote_schema(schema)
    key = advisory_key(schema)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", key)
        await conn.execute(
            f"CREATE SCHEMA IF NOT EXISTS {quoted}; "
            f"CREATE TABLE IF NOT EXISTS {quoted}.schema_migrations ("
            "version integer PRIMARY KEY, name text NOT NULL, checksum char(64) NOT NULL, "
            "applied_at timestamptz NOT NULL DEFAULT now())"
        )
    done = []
    for migration in migrations:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", key)
            applied = {a.version: a for a in await applied_migrations(conn, schema)}
            _check_history(applied, migrations)
            if migration.version in applied:
                continue
            await conn.execute(
                f"SET LOCAL search_path TO {search_path(schema, extension_schema)}"
            )
            await conn.execute(migration.render(schema, vector_dimension))
            await conn.execute(
                f"INSERT INTO {quoted}.schema_migrations (version, name, checksum) "
                "VALUES ($1, $2, $3)",
                migration.version, migration.name, migration.checksum,
            )
        done.append(migration.filename)
    await _check_dimension(conn, schema, vector_dimension)
    return done


async def run_migrations(
    dsn: str, schema: str, vector_dimension: int, directory: Path = MIGRATIONS_DIR
) -> list[str]:
    """Connect, migrate, disconnect (what ``navigator migrate`` does)."""
    conn = await connect(dsn)
    try:
        return await migrate(conn, schema, vector_dimension, directory)
    finally:
        await conn.close()


async def ensure_vector_extension(conn: asyncpg.Connection) -> str:
    """Create ``vector`` if it is missing; returns the schema it lives in."""
    found = await vector_schema(conn)
    if found is not None:
        return found
    database = await conn.fetchval("SELECT current_database()")
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _EXTENSION_LOCK)
        try:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except asyncpg.PostgresError as exc:
            raise MissingExtension(
                f"cannot create the pgvector extension in database {database}: {exc}. "
                "Ask the database owner to run CREATE EXTENSION vector"
            ) from None
    created = await vector_schema(conn)
    assert created is not None
    return created


def _check_history(applied: dict[int, AppliedMigration], files: list[Migration]) -> None:
    by_version = {m.version: m for m in files}
    for version, record in sorted(applied.items()):
        migration = by_version.get(version)
        recorded = f"{version:04d}_{record.name}.sql"
        if migration is None:
            raise MigrationError(
                f"migration {recorded} was applied to this schema but is missing from "
                "migrations/: this code is older than the database"
            )
        if migration.checksum != record.checksum:
            raise MigrationError(
                f"migration {migration.filename} changed after it was applied "
                f"(checksum {record.checksum[:12]}… recorded, {migration.checksum[:12]}… on "
                "disk): restore the file and put the change in a new migration"
            )


async def _check_dimension(conn: asyncpg.Connection, schema: str, wanted: int) -> None:
    stored = await stored_vector_dimension(conn, schema)
    if stored is not None and stored != wanted:
        raise MigrationError(
            f"schema {schema} stores vectors of {stored} dimensions but "
            f"RAG_VECTOR_DIMENSION is {wanted}: use a new schema, or re-embed with a "
            "migration that changes the column"
        )


async def _record_exists(conn: asyncpg.Connection, schema: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = $1 AND c.relname = 'schema_migrations'",
            schema,
        )
    )
