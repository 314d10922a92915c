"""Connections: the schema name, the asyncpg pool, and LISTEN for wake-ups.

Every SQL statement of the adapters names its tables with the schema
(``"upload_pipeline".upload_jobs``), so two environments can share one database.

Poolers. Supabase serves its database through Supavisor, in session mode (port
5432 of ``*.pooler.supabase.com``) or transaction mode (port 6543); PgBouncer
works the same way. :func:`resolve_pooler_mode` turns the operator's setting
(``auto``, ``transaction`` or ``session``) into the mode in use:

- ``transaction``: a server session lasts one transaction, so nothing may outlive
  one: no named prepared statements (``statement_cache_size=0``), no ``SET``, no
  LISTEN (the worker polls). The ``vector`` type and its operators must then be on
  the role's default ``search_path`` (they are on Supabase, where ``extensions`` is
  on it); start-up checks that and names the fix if not.
- ``session`` (also a direct connection): each pooled connection sets its
  ``search_path`` (the schema, the extension's schema, ``public``) with ``SET``
  when it opens; never as a startup parameter, which poolers refuse.

``auto`` picks transaction mode for port 6543, or when two connections opened side
by side turn out to share or switch server sessions (only a transaction pooler does
that), else session mode. An explicit ``session`` facing either sign is refused at
start-up with :class:`PoolerMismatch`, which names ``DATABASE_POOLER_MODE``.

Single connections (:func:`connect`: the probe, migrations, operator commands,
the listener) never cache prepared statements, so they work through any pooler.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import asyncpg
from pgvector.asyncpg import register_vector

from adapters.postgres.errors import (
    DatabaseUnavailable,
    InvalidSchemaName,
    MissingExtension,
    PoolerMismatch,
)

#: How the service talks to the database: through a transaction pooler, or over
#: connections that keep their session (a session pooler or a direct connection).
PoolerMode = Literal["transaction", "session"]
#: What the operator may ask for (``DATABASE_POOLER_MODE``): a mode, or ``auto``.
PoolerSetting = Literal["auto", "transaction", "session"]
POOLER_SETTINGS: tuple[PoolerSetting, ...] = ("auto", "transaction", "session")
#: Supavisor's transaction-mode port on Supabase.
TRANSACTION_POOLER_PORT = 6543
_SUPABASE_POOLER_HOST = re.compile(r"(^|\.)pooler\.supabase\.com$", re.IGNORECASE)

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
    """One connection, with unreachable or refusing databases reported clearly.

    It prepares no named statements (unless ``statement_cache_size`` says so), so it
    works through a transaction pooler too."""
    kwargs.setdefault("statement_cache_size", 0)  # works through a transaction pooler
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


# -- poolers ------------------------------------------------------------------------------


def pooler_hint(dsn: str) -> PoolerMode | None:
    """What the DSN's address says: Supabase's transaction port (6543) means
    ``transaction``, its pooler host on another port ``session``, anything else
    nothing."""
    try:
        parts = urlsplit(dsn)
        query = parse_qs(parts.query)
        host = query.get("host", [parts.hostname or ""])[0]
        port = int(query.get("port", [str(parts.port or 5432)])[0])
    except ValueError:
        return None
    if port == TRANSACTION_POOLER_PORT:
        return "transaction"
    if _SUPABASE_POOLER_HOST.search(host.rstrip(".")):
        return "session"
    return None


async def shares_server_sessions(first: asyncpg.Connection, dsn: str,
                                 connect_timeout: float = CONNECT_TIMEOUT) -> bool:
    """Whether server sessions are shared: a second connection opened beside
    ``first``, and each asks for its server process id in turn. Over a direct
    connection or a session pooler each connection keeps one process of its own; a
    transaction pooler hands whichever is free to whoever asks next, so a process id
    seen twice across the two, or changing within one, proves one (the opposite
    proves nothing)."""
    second = await connect(dsn, connect_timeout=connect_timeout)
    seen: tuple[set[int], set[int]] = (set(), set())
    try:
        for _ in range(_SESSION_PROBES):
            for conn, pids in zip((first, second), seen, strict=True):
                pids.add(int(await conn.fetchval("SELECT pg_backend_pid()")))
    finally:
        await second.close()
    return any(len(pids) != 1 for pids in seen) or bool(seen[0] & seen[1])


_SESSION_PROBES = 3


async def resolve_pooler_mode(probe: asyncpg.Connection, dsn: str, setting: PoolerSetting,
                              connect_timeout: float = CONNECT_TIMEOUT) -> PoolerMode:
    """The mode to use for ``setting``; :class:`PoolerMismatch` naming the setting to
    change when ``session`` was asked for but the database is behind a transaction
    pooler (which would break prepared statements and ``SET`` at random)."""
    if setting not in POOLER_SETTINGS:
        raise ValueError(f"pooler setting must be one of {POOLER_SETTINGS}, got {setting!r}")
    if setting == "transaction":
        return "transaction"
    hint = pooler_hint(dsn)
    if hint == "transaction":
        evidence = f"the database URL points at port {TRANSACTION_POOLER_PORT}, the port of " \
                   "Supabase's transaction-mode pooler"
    elif await shares_server_sessions(probe, dsn, connect_timeout):
        evidence = "its connections switched or shared server sessions between " \
                   "statements, as only a transaction-mode pooler does"
    else:
        return "session"
    if setting == "auto":
        return "transaction"
    raise PoolerMismatch(
        f"{describe_dsn(dsn)} is a transaction-mode pooler ({evidence}), but "
        "DATABASE_POOLER_MODE is session (or false): set DATABASE_POOLER_MODE=transaction "
        "(or auto), or use the pooler's session port (5432)"
    )


async def check_pooler(dsn: str, setting: PoolerSetting,
                       connect_timeout: float = CONNECT_TIMEOUT) -> PoolerMode:
    """The start-up check, over a connection of its own: the mode ``setting`` comes
    to (:func:`resolve_pooler_mode`), and in transaction mode a pgvector the service
    could not find (:class:`MissingExtension` with the fix). A database without
    pgvector yet passes: ``navigator migrate`` creates it."""
    probe = await connect(dsn, connect_timeout=connect_timeout)
    try:
        mode = await resolve_pooler_mode(probe, dsn, setting, connect_timeout)
        extension_schema = await vector_schema(probe)
        if mode == "transaction" and extension_schema is not None:
            await _require_vector_visible(probe, dsn, extension_schema)
        return mode
    finally:
        await probe.close()


async def _require_vector_visible(conn: asyncpg.Connection, dsn: str,
                                  extension_schema: str) -> None:
    """Behind a transaction pooler nothing can put the extension's schema on the
    ``search_path``: it must be on the role's default one already."""
    if await conn.fetchval("SELECT to_regtype('vector') IS NOT NULL"):
        return
    user = await conn.fetchval("SELECT current_user")
    raise MissingExtension(
        f"the pgvector extension is in schema {extension_schema}, which is not on the "
        f"search_path of role {user} at {describe_dsn(dsn)}; behind a transaction-mode "
        "pooler the service cannot set it per session. Run (as an owner): ALTER ROLE "
        f'"{user}" SET search_path = "$user", public, "{extension_schema}"; '
        "or set DATABASE_POOLER_MODE=session and use the pooler's session port (5432)"
    )


async def create_pool(dsn: str, schema: str = DEFAULT_SCHEMA, **options: Any) -> asyncpg.Pool:
    """:func:`open_pool` without the mode it settled on."""
    pool, _mode = await open_pool(dsn, schema, **options)
    return pool


async def open_pool(
    dsn: str,
    schema: str = DEFAULT_SCHEMA,
    *,
    pooler_mode: PoolerSetting = "session",
    statement_cache_size: int | None = None,
    min_size: int = 1,
    max_size: int = 10,
    connect_timeout: float = CONNECT_TIMEOUT,
    connection_class: type[asyncpg.Connection] = asyncpg.Connection,
) -> tuple[asyncpg.Pool, PoolerMode]:
    """A pool whose connections know the ``vector`` type and find its operators, and
    the pooler mode it uses.

    Checks the database first, so a wrong host, a missing pgvector or a pooler mode
    that does not fit fails here with a message naming the problem rather than deep
    inside a request. ``pooler_mode``: see the module's docstring.
    """
    check_schema_name(schema)
    probe = await connect(dsn, connect_timeout=connect_timeout)
    try:
        extension_schema = await require_vector(probe, dsn)
        mode = await resolve_pooler_mode(probe, dsn, pooler_mode, connect_timeout)
        if mode == "transaction":
            await _require_vector_visible(probe, dsn, extension_schema)
    finally:
        await probe.close()
    path = search_path(schema, extension_schema)

    async def init(conn: asyncpg.Connection) -> None:
        if mode == "session":  # the connection keeps its server session: set it once
            await conn.execute(f"SET search_path TO {path}")
        await register_vector(conn, schema=extension_schema)

    async def reset(conn: asyncpg.Connection) -> None:
        """Nothing to undo: the adapters keep no session state on pooled connections
        (settings are ``SET LOCAL``, LISTEN has its own connection), so the default
        ``RESET ALL; UNLISTEN *; ...`` round trip on every release is skipped (and the
        ``search_path`` set by ``init`` stays). An open transaction is still rolled back
        by asyncpg before this runs."""

    if statement_cache_size is None:
        statement_cache_size = 0 if mode == "transaction" else 100
    try:
        pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            init=init,
            reset=reset,
            statement_cache_size=statement_cache_size,
            timeout=connect_timeout,
            connection_class=connection_class,
        )
    except (OSError, TimeoutError) as exc:
        raise DatabaseUnavailable(
            f"cannot reach PostgreSQL at {describe_dsn(dsn)}: {_reason(exc)}"
        ) from None
    assert pool is not None
    return pool, mode


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
