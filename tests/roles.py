"""Database roles for the least-privilege tests: Supabase's API roles, created as
Supabase creates them, and throwaway service roles.

Supabase's roles (supabase/postgres, ``init-scripts``): ``anon`` and ``authenticated``
are NOLOGIN NOINHERIT; ``service_role`` is NOLOGIN NOINHERIT BYPASSRLS;
``authenticator`` is LOGIN NOINHERIT and granted all three, so PostgREST connects as
``authenticator`` and ``SET ROLE``s to the one a request's JWT names. Roles belong
to the whole server: these are created once if missing and kept (a test server is
thrown away after the run); service roles are dropped by the test that made them.
"""

from __future__ import annotations

import contextlib
import secrets
import uuid
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

#: The password of roles these tests create (local trust authentication ignores it;
#: a server that checks passwords gets it in the DSN).
PASSWORD = "navigator-test-" + secrets.token_hex(8)


def dsn_as(dsn: str, role: str, password: str = PASSWORD) -> str:
    """The same server and database as ``dsn``, logged in as ``role``."""
    parts = urlsplit(dsn)
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{quote(role, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


async def ensure_supabase_roles(conn: asyncpg.Connection) -> None:
    """``anon``, ``authenticated``, ``service_role`` and ``authenticator``, as on Supabase."""
    existing = {r["rolname"] for r in await conn.fetch(
        "SELECT rolname FROM pg_roles WHERE rolname = ANY($1::text[])",
        ["anon", "authenticated", "service_role", "authenticator"])}
    statements = {
        "anon": "CREATE ROLE anon NOLOGIN NOINHERIT",
        "authenticated": "CREATE ROLE authenticated NOLOGIN NOINHERIT",
        "service_role": "CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS",
        "authenticator": f"CREATE ROLE authenticator LOGIN NOINHERIT PASSWORD '{PASSWORD}'",
    }
    for name, statement in statements.items():
        if name not in existing:
            # another test run may have created it meanwhile
            with contextlib.suppress(asyncpg.DuplicateObjectError):
                await conn.execute(statement)
    await conn.execute("GRANT anon, authenticated, service_role TO authenticator")


async def create_login_role(conn: asyncpg.Connection, prefix: str = "svc") -> str:
    """A new LOGIN role with no rights at all; returns its name."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    await conn.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{PASSWORD}'")
    return name


async def drop_role(conn: asyncpg.Connection, name: str) -> None:
    """Drop a role made by :func:`create_login_role`, with its grants and policies in
    the connection's database."""
    await conn.execute(f'DROP OWNED BY "{name}"; DROP ROLE IF EXISTS "{name}"')
