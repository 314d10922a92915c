"""The migrations runner: plain SQL files from the ``migrations`` package, applied in
order.

The files are package data of the ``migrations`` package and are read with
``importlib.resources``, so an installed wheel and a checkout find the same files.
Finding none is a :class:`MigrationError` naming where the runner looked: an empty
list never counts as "up to date".

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

A migration that was rewritten after release (0006 became expand-only) is accepted
in its old form too: :data:`SUPERSEDED` lists the checksums of those old texts, so
a database that applied one is not refused. Any other change is.

Each record also says the migration's **step**, read from its header when it was
applied: ``contract`` when a comment line before the first statement says
``-- step: contract``, else ``expand`` (docs/OPERATIONS.md, "Migrations: expand, then
contract"). That is what lets an older release run on a newer schema (a *Rollback*):
recorded migrations numbered above every file it has are ``newer``, and accepted
when all of them are expand steps, which by the rule only add what it does not
notice. A newer contract step, a newer one recorded before steps were (no step), or
a recorded version missing below the newest file is still refused: "this code is
older than the database".
"""

from __future__ import annotations

import hashlib
import importlib.resources
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from importlib.resources.abc import Traversable

import asyncpg
import attrs

from adapters.postgres.connection import (
    connect,
    quote_schema,
    search_path,
    vector_schema,
)
from adapters.postgres.errors import MigrationError, MissingExtension
from adapters.postgres.roles import regrant_service_roles, require_migration_rights

#: The package whose ``*.sql`` files are the migrations.
MIGRATIONS_PACKAGE = "migrations"

#: Checksums of earlier texts of a migration that are still accepted as applied. Each
#: entry is a file rewritten after release without changing what the schema ends up
#: holding for the code: databases that applied the old text must not be refused.
#:
#: 0006: first released as "create chunk_embeddings and drop the old vector columns"
#: in one step; rewritten as expand-only (the drop is the next release's contract
#: step, docs/OPERATIONS.md) so a rolling deploy's old release keeps working.
SUPERSEDED: Mapping[int, frozenset[str]] = {
    6: frozenset({"d04ad2fa8d77bdef2a06e1d1d90782afb6bec3eaf741d135099232642b833da0"}),
}
#: Steps of migrations released before headers said them: 0005 dropped two indexes.
STEPS_BEFORE_HEADERS: Mapping[int, str] = {5: "contract"}
_FILE_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")
_CONTRACT_MARKER = re.compile(r"^--\s*step:\s*contract\s*$", re.IGNORECASE | re.MULTILINE)
EXPAND, CONTRACT = "expand", "contract"
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

    @property
    def step(self) -> str:
        """``contract`` when its header says ``-- step: contract`` (or it is listed in
        :data:`STEPS_BEFORE_HEADERS`), else ``expand``."""
        if self.version in STEPS_BEFORE_HEADERS:
            return STEPS_BEFORE_HEADERS[self.version]
        return CONTRACT if is_contract_step(self.text) else EXPAND

    def render(self, schema: str, vector_dimension: int) -> str:
        return self.text.replace("{schema}", quote_schema(schema)).replace(
            "{vector_dimension}", str(int(vector_dimension))
        )


def is_contract_step(sql: str) -> bool:
    """Whether the header (the comment lines before the first statement) declares a
    contract step."""
    header = []
    for line in sql.splitlines():
        if line.strip() and not line.lstrip().startswith("--"):
            break
        header.append(line.strip())
    return bool(_CONTRACT_MARKER.search("\n".join(header)))


@attrs.frozen
class AppliedMigration:
    version: int
    name: str
    checksum: str
    applied_at: datetime
    #: ``expand`` or ``contract``; None when a release that did not record steps applied it
    step: str | None = None


@attrs.frozen
class SchemaStatus:
    """What ``/health`` and ``navigator status`` report about the schema."""

    schema: str
    exists: bool
    applied: tuple[AppliedMigration, ...]
    pending: tuple[str, ...]
    changed: tuple[str, ...]
    vector_dimension: int | None
    #: every migration, recorded or on file, with its state (``navigator migrate --status``)
    migrations: tuple[MigrationState, ...] = ()

    @property
    def up_to_date(self) -> bool:
        return self.exists and not self.pending and not self.changed


@attrs.frozen
class MigrationState:
    """One migration as ``navigator migrate --status`` shows it.

    ``state`` is ``applied`` (recorded with the file's checksum), ``superseded``
    (recorded with an earlier text listed in :data:`SUPERSEDED`), ``changed``
    (recorded with a checksum the file no longer has), ``newer`` (recorded, no such
    file, numbered above every file, and an expand step: a later release's, which this
    code runs on), ``missing`` (recorded, but no such file, and not ``newer``: the code
    is older than the database) or ``pending`` (not applied yet).
    """

    filename: str
    state: str
    file_checksum: str | None
    recorded_checksum: str | None
    applied_at: datetime | None


def compare(applied: Sequence[AppliedMigration], files: Sequence[Migration]
            ) -> list[MigrationState]:
    """Each migration, recorded or on file, in version order, with its state."""
    records = {a.version: a for a in applied}
    by_version = {m.version: m for m in files}
    states = []
    for version in sorted(records.keys() | by_version.keys()):
        record, migration = records.get(version), by_version.get(version)
        if migration is None:
            assert record is not None
            state = "newer" if is_newer_expand(record, files) else "missing"
            states.append(MigrationState(f"{version:04d}_{record.name}.sql", state, None,
                                         record.checksum, record.applied_at))
            continue
        if record is None:
            state = "pending"
        elif record.checksum == migration.checksum:
            state = "applied"
        elif accepts(migration, record.checksum):
            state = "superseded"
        else:
            state = "changed"
        states.append(MigrationState(
            migration.filename, state, migration.checksum,
            record.checksum if record else None, record.applied_at if record else None,
        ))
    return states


def is_newer_expand(record: AppliedMigration, files: Sequence[Migration]) -> bool:
    """Whether a recorded migration with no file here is a later release's expand step:
    numbered above every file, and recorded as ``expand``."""
    newest = max((m.version for m in files), default=0)
    return record.version > newest and record.step == EXPAND


def migrations_source() -> Traversable:
    """Where the migrations ship: the ``migrations`` package's files."""
    try:
        return importlib.resources.files(MIGRATIONS_PACKAGE)
    except ModuleNotFoundError:
        raise MigrationError(
            f"no migration files: the package {MIGRATIONS_PACKAGE!r} is not installed "
            "(the wheel must ship migrations/*.sql as package data)"
        ) from None


def load_migrations(directory: Traversable | None = None) -> list[Migration]:
    """The migration files of ``directory`` (default: the ``migrations`` package) in
    version order; raises :class:`MigrationError` naming ``directory`` if it holds
    none."""
    directory = migrations_source() if directory is None else directory
    found: dict[int, Migration] = {}
    try:
        files = sorted(
            (p for p in directory.iterdir() if p.name.endswith(".sql") and p.is_file()),
            key=lambda p: p.name,
        )
    except (FileNotFoundError, NotADirectoryError):
        files = []
    if not files:
        raise MigrationError(
            f"no migration files (*.sql) found in {directory}: the installed package is "
            "missing its migrations, so nothing can be applied or checked"
        )
    for path in files:
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


def accepts(migration: Migration, recorded_checksum: str) -> bool:
    """Whether a schema that recorded ``recorded_checksum`` for this migration's version
    has applied it: its current text, or an earlier one listed in :data:`SUPERSEDED`."""
    return recorded_checksum == migration.checksum or recorded_checksum in SUPERSEDED.get(
        migration.version, frozenset()
    )


def advisory_key(schema: str) -> int:
    """A signed 64-bit lock key from the schema name (stable across processes)."""
    digest = hashlib.sha256(f"migrations:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def applied_migrations(conn: asyncpg.Connection, schema: str) -> list[AppliedMigration]:
    """What the schema's record says was applied (empty if the schema is new)."""
    if not await _record_exists(conn, schema):
        return []
    # ``step`` through to_jsonb: a record written by a release before steps has no column.
    rows = await conn.fetch(
        f"SELECT version, name, checksum, applied_at, to_jsonb(m) ->> 'step' AS step "
        f"FROM {quote_schema(schema)}.schema_migrations m ORDER BY version"
    )
    return [
        AppliedMigration(r["version"], r["name"], r["checksum"].strip(), r["applied_at"],
                         r["step"])
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
    conn: asyncpg.Connection, schema: str, directory: Traversable | None = None
) -> SchemaStatus:
    exists = bool(
        await conn.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema)
    )
    applied = await applied_migrations(conn, schema)
    states = tuple(compare(applied, load_migrations(directory)))
    pending = tuple(m.filename for m in states if m.state == "pending")
    changed = tuple(m.filename for m in states if m.state in ("changed", "missing"))
    dimension = await stored_vector_dimension(conn, schema) if exists else None
    return SchemaStatus(schema, exists, tuple(applied), pending, changed, dimension, states)


async def migrate(
    conn: asyncpg.Connection,
    schema: str,
    vector_dimension: int,
    directory: Traversable | None = None,
) -> list[str]:
    """Apply the pending migrations to ``schema``; returns the files applied.

    Each file runs in a transaction of its own that first takes the schema's
    advisory lock (transaction-scoped) and re-reads what is applied, so runners
    started at once apply each file exactly once, and nothing (lock, search path)
    outlives a transaction: it works through a transaction-mode pooler too."""
    migrations = load_migrations(directory)
    await require_migration_rights(conn, schema)
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
        if not await _has_step_column(conn, schema):  # a record kept by an earlier release
            await _add_step_column(conn, quoted)
        # Records from releases before steps were kept: the step of the text they applied
        # (a superseded or changed text's step is not known: it stays empty).
        await conn.executemany(
            f"UPDATE {quoted}.schema_migrations SET step = $2 "
            "WHERE version = $1 AND checksum = $3 AND step IS NULL",
            [(m.version, m.step, m.checksum) for m in migrations],
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
                f"INSERT INTO {quoted}.schema_migrations (version, name, checksum, step) "
                "VALUES ($1, $2, $3, $4)",
                migration.version, migration.name, migration.checksum, migration.step,
            )
        done.append(migration.filename)
    await _check_dimension(conn, schema, vector_dimension)
    async with conn.transaction():  # later tables too (adapters/postgres/roles.py)
        await conn.execute("SELECT pg_advisory_xact_lock($1)", key)
        await regrant_service_roles(conn, schema)
    return done


async def run_migrations(
    dsn: str, schema: str, vector_dimension: int, directory: Traversable | None = None
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
            if is_newer_expand(record, files):
                continue  # a later release's expand step: nothing this code uses is gone
            raise MigrationError(
                f"migration {recorded} was applied to this schema but is missing from "
                f"the migrations package: {_why_missing(record, files)}"
            )
        if not accepts(migration, record.checksum):
            raise MigrationError(
                f"migration {migration.filename} changed after it was applied "
                f"(checksum {record.checksum[:12]}… recorded, {migration.checksum[:12]}… on "
                "disk): restore the file and put the change in a new migration"
            )


def _why_missing(record: AppliedMigration, files: Sequence[Migration]) -> str:
    if record.version < max((m.version for m in files), default=0):
        return ("it is numbered among this code's own migrations, so the package lost it: "
                "restore the file (applied migrations are never deleted)")
    if record.step == CONTRACT:
        why = "a contract step: it removed something this code may use"
    elif record.step is None:
        why = "recorded before migrations recorded their step, so it may be a contract step"
    else:
        why = f"recorded as step {record.step!r}, which this code does not know"
    return f"this code is older than the database ({why}); deploy the release that added it"


async def _check_dimension(conn: asyncpg.Connection, schema: str, wanted: int) -> None:
    stored = await stored_vector_dimension(conn, schema)
    if stored is not None and stored != wanted:
        raise MigrationError(
            f"schema {schema} stores vectors of {stored} dimensions but "
            f"RAG_VECTOR_DIMENSION is {wanted}: use a new schema, or re-embed with a "
            "migration that changes the column"
        )


async def _add_step_column(conn: asyncpg.Connection, quoted: str) -> None:
    """Once per schema. It locks the record a moment, and every health check reads it:
    it must not queue behind a long transaction (and the checks behind it)."""
    await conn.execute("SET LOCAL lock_timeout = '5s'")
    try:
        await conn.execute(
            f"ALTER TABLE {quoted}.schema_migrations ADD COLUMN step text "
            f"CHECK (step IN ('{EXPAND}', '{CONTRACT}'))"
        )
    except asyncpg.LockNotAvailableError:
        raise MigrationError(
            "schema_migrations stayed locked for 5 s (a long transaction holds it): "
            "run `navigator migrate` again once it has finished"
        ) from None
    await conn.execute("SET LOCAL lock_timeout = DEFAULT")


async def _has_step_column(conn: asyncpg.Connection, schema: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 "
            "AND c.relname = 'schema_migrations' AND a.attname = 'step' "
            "AND NOT a.attisdropped",
            schema,
        )
    )


async def _record_exists(conn: asyncpg.Connection, schema: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = $1 AND c.relname = 'schema_migrations'",
            schema,
        )
    )
