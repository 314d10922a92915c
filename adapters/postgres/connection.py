"""Connections: the schema name, the asyncpg pool, and LISTEN for wake-ups.

Every SQL statement of the adapters names its tables with the schema
(``"upload_pipeline".upload_jobs``), so two environments can share one database.
The pool's ``search_path`` is the schema, then the schema that holds the
``vector`` extension, then ``public``, so the ``vector`` type and its operators
resolve wherever the provider installed the extension.

Transaction-mode poolers (pgbouncer, Supavisor on port 6543) cannot keep
prepared statements or session settings between transactions: pass
``pooler_mode=True`` and the pool uses ``statement_cache_size=0`` and sets
nothing per session (the tables are schema-qualified anyway; the ``vector``
extension must then be on the role's default ``search_path``, as it is on
Supabase). LISTEN needs a session too: point the worker's listener at a direct
connection (port 5432), or rely on polling alone.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
from pgvector.asyncpg import register_vector

from adapters.postgres.errors import DatabaseUnavailable, InvalidSchemaName, MissingExtension

DEFAULT_SCHEMA = "upload_pipeline"
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")
CONNECT_TIMEOUT = 10.0


SCHEMA_RULE = (
    "must be a plain SQL identifier: lowercase letters, digits and underscores, "
    "starting with a letter or underscore, at most 63 characters, not starting with pg_"
)


def check_schema_name(schema: str) -> str:
    """Accept only plain lowercase identifiers (no quoting games, at most 63 bytes)."""
    if not _IDENTIFIER.fullmatch(schema) or schema.startswith("pg_"):
        raise InvalidSchemaName(f"DATABASE_SCHEMA {SCHEMA_RULE}: got {schema!r}")
    return schema


def quote_schema(schema: str) -> str:
    """The schema as a quoted identifier, ready to put into SQL."""
    return f'"{check_schema_name(schema)}"'


def jobs_channel(schema: str) -> str:
    """The NOTIFY channel that announces new or requeued jobs of ``schema``."""
    return f"{check_schema_name(schema)}_jobs"


def describe_dsn(dsn: str) -> str:
    """Where a DSN points, for error messages: ``host:port/database``, never a password."""
    try:
        parts = urlsplit(dsn)
        query = parse_qs(parts.query)
        host = query.get("host", [parts.hostname or "localhost"])[0]
        port = query.get("port", [str(parts.port or 5432)])[0]
        database = query.get("dbname", [parts.path.lstrip("/") or parts.username or ""])[0]
    except ValueError:
        return "the configured database (unparseable DATABASE_URL)"
    where = f"socket {host}" if host.startswith("/") else f"{host}:{port}"
    return f"{where}/{database}" if database else where


async def connect(
    dsn: str, *, connect_timeout: float = CONNECT_TIMEOUT, **kwargs: Any
) -> asyncpg.Connection:
    """One connection, with unreachable or refusing databases reported clearly."""
    try:
        return await asyncpg.connect(dsn, timeout=connect_timeout, **kwargs)
    except (OSError, TimeoutError, socket.gaierror) as exc:
        raise DatabaseUnavailable(
            f"cannot reach PostgreSQL at {describe_dsn(dsn)}: {_reason(exc)}"
        ) from None
    except asyncpg.PostgresError as exc:
        raise DatabaseUnavailable(
            f"PostgreSQL at {describe_dsn(dsn)} refused the connection: {exc}"
        ) from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


async def vector_schema(conn: asyncpg.Connection) -> str | None:
    """The schema the ``vector`` extension lives in, or None if it is not installed."""
    value = await conn.fetchval(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'vector'"
    )
    return str(value) if value is not None else None


async def require_vector(conn: asyncpg.Connection, dsn: str) -> str:
    """The extension's schema; :class:`MissingExtension` with what to do if absent."""
    where = await vector_schema(conn)
    if where is not None:
        return where
    available = await conn.fetchval(
        "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'"
    )
    hint = (
        "run `navigator migrate` (it creates it) or `CREATE EXTENSION vector` as an owner"
        if available
        else "this PostgreSQL server does not ship pgvector; install it or use a provider "
        "that has it"
    )
    raise MissingExtension(
        f"the pgvector extension is not installed in {describe_dsn(dsn)}: {hint}"
    )


def search_path(schema: str, extension_schema: str) -> str:
    names = [check_schema_name(schema), extension_schema, "public"]
    unique = list(dict.fromkeys(names))
    return ", ".join(f'"{name}"' for name in unique)


async def create_pool(
    dsn: str,
    schema: str = DEFAULT_SCHEMA,
    *,
    pooler_mode: bool = False,
    statement_cache_size: int | None = None,
    min_size: int = 1,
    max_size: int = 10,
    connect_timeout: float = CONNECT_TIMEOUT,
    connection_class: type[asyncpg.Connection] = asyncpg.Connection,
) -> asyncpg.Pool:
    """A pool whose connections know the ``vector`` type and search the schema first.

    Checks the database first, so a wrong host or a missing pgvector fails here
    with a message naming the problem rather than deep inside a request.
    """
    check_schema_name(schema)
    probe = await connect(dsn, connect_timeout=connect_timeout)
    try:
        extension_schema = await require_vector(probe, dsn)
    finally:
        await probe.close()

    async def init(conn: asyncpg.Connection) -> None:
        await register_vector(conn, schema=extension_schema)

    async def reset(conn: asyncpg.Connection) -> None:
        """Nothing to undo: the adapters keep no session state on pooled connections
        (settings are ``SET LOCAL``, LISTEN has its own connection), so the default
        ``RESET ALL; UNLISTEN *; ...`` round trip on every release is skipped. An open
        transaction is still rolled back by asyncpg before this runs."""

    settings: dict[str, str] = {}
    if not pooler_mode:
        settings["search_path"] = search_path(schema, extension_schema)
    if statement_cache_size is None:
        statement_cache_size = 0 if pooler_mode else 100
    try:
        pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            init=init,
            reset=reset,
            server_settings=settings,
            statement_cache_size=statement_cache_size,
            timeout=connect_timeout,
            connection_class=connection_class,
        )
    except (OSError, TimeoutError) as exc:
        raise DatabaseUnavailable(
            f"cannot reach PostgreSQL at {describe_dsn(dsn)}: {_reason(exc)}"
        ) from None
    assert pool is not None
    return pool


class Listener:
    """A dedicated connection LISTENing on one channel; ``close()`` when done.

    ``alive`` turns False if the connection drops: the worker then keeps polling
    (always correct on its own) and may open a new listener.
    """

    def __init__(self, conn: asyncpg.Connection, channel: str, owns_connection: bool) -> None:
        self._conn = conn
        self.channel = channel
        self._owns = owns_connection
        self.alive = True

    def _lost(self, _conn: object) -> None:
        self.alive = False

    async def close(self) -> None:
        if self._conn.is_closed():
            self.alive = False
            return
        try:
            await self._conn.execute(f'UNLISTEN "{self.channel}"')
        finally:
            self.alive = False
            if self._owns:
                await self._conn.close()


async def listen(
    target: str | asyncpg.Connection, channel: str, callback: Callable[[str], object]
) -> Listener:
    """Call ``callback(payload)`` for every NOTIFY on ``channel`` (the payload of a
    job notice is its job id). ``target`` is a DSN (a connection of its own is
    opened) or a connection the caller keeps."""
    owns = isinstance(target, str)
    conn = await connect(target) if isinstance(target, str) else target
    listener = Listener(conn, channel, owns)

    def deliver(_conn: object, _pid: int, _channel: str, payload: object) -> None:
        callback(str(payload))

    await conn.add_listener(channel, deliver)
    conn.add_termination_listener(listener._lost)
    return listener


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
