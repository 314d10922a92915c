"""Least privilege: a service role with DML rights only, and row security on every table.

Migrations run as the owner of the schema's tables (on Supabase, ``postgres``). The
API and the worker may run as a role of their own that can read and write rows but
change no table: :func:`grant_service_role` gives an existing role

- ``USAGE`` on the schema and on the schema that holds the ``vector`` extension;
- ``SELECT, INSERT, UPDATE, DELETE`` on every table (``SELECT`` only on
  ``schema_migrations``: the services read which migrations ran, never record one);
- ``USAGE, SELECT`` on every sequence (``job_events.id``);
- the permissive policy :data:`SERVICE_POLICY` on every table, ``FOR ALL ... USING
  (true) WITH CHECK (true)``, listing the service roles: every table has row-level
  security on (migration 0007), and a role with neither a policy nor BYPASSRLS reads
  no rows.

A policy rather than BYPASSRLS, because on PostgreSQL 15 and older only a superuser
may give BYPASSRLS (from 16, only a role that has it), and Supabase's ``postgres``
is not a superuser; a policy is the owner's to create on any version.

No ``CREATE`` on the schema, no ownership: the role cannot create, alter or drop a
table (DDL is refused). Grants and policies are written for the tables that exist;
:func:`regrant_service_roles`, run by ``navigator migrate`` after the migrations,
gives every role already named in a ``navigator_service`` policy the same rights on
tables later migrations add (rather than ``ALTER DEFAULT PRIVILEGES``: policies have
no defaults, so one mechanism covers both). Only what is missing is written, so a
``migrate`` with nothing new takes no lock on a table the services use.
"""

from __future__ import annotations

import asyncpg
import attrs

from adapters.postgres.connection import quote_schema, vector_schema
from adapters.postgres.errors import MigrationError, PostgresError

#: The policy, on every table, that admits the service roles' reads and writes.
SERVICE_POLICY = "navigator_service"
#: Supabase's Data API roles: they must never be given anything in the schema.
API_ROLES = ("anon", "authenticated")
#: The table only migrations write.
RECORD_TABLE = "schema_migrations"
TABLE_RIGHTS = ("SELECT", "INSERT", "UPDATE", "DELETE")


class RoleError(PostgresError, ValueError):
    """The role cannot be made a service role; the message says why and what to do.
    (A :class:`PostgresError`, so ``navigator migrate``, which re-grants, reports it
    like any other database trouble: a hand-edited policy naming ``anon`` stops it.)"""


@attrs.frozen
class ServiceGrant:
    """What :func:`grant_service_role` did: the tables the role may now read and write,
    and the statements it ran (empty when everything was in place already)."""

    role: str
    schema: str
    tables: tuple[str, ...]
    statements: tuple[str, ...]


@attrs.frozen
class RowSecurity:
    """Row security in a schema: its tables, those without it, and what Supabase's
    API roles were granted on them (``"anon: SELECT on documents"``)."""

    tables: tuple[str, ...]
    without: tuple[str, ...]
    api_grants: tuple[str, ...]

    @property
    def everywhere(self) -> bool:
        return bool(self.tables) and not self.without


@attrs.frozen
class RoleInUse:
    """The role a connection acts as, and how it gets past row security."""

    name: str
    superuser: bool
    bypassrls: bool
    owns_tables: bool
    service_policy: bool

    def describe(self) -> str:
        if self.superuser:
            return f"{self.name} (a superuser: every right, row security does not apply)"
        if self.owns_tables:
            return (f"{self.name} (owner of the tables: may run migrations; row security "
                    "does not apply to an owner)")
        if self.bypassrls:
            return f"{self.name} (BYPASSRLS: row security does not apply)"
        if self.service_policy:
            return (f"{self.name} (service role: reads and writes rows through policy "
                    f"{SERVICE_POLICY}, no DDL)")
        return (f"{self.name} (neither owner nor service role: run `navigator "
                f"grant-service-role {self.name}` as the owner)")


def quote_identifier(name: str) -> str:
    """Any identifier, quoted for SQL (a role name is the operator's choice)."""
    if not name or "\x00" in name:
        raise RoleError("a role name must be a non-empty name without NUL characters")
    return '"' + name.replace('"', '""') + '"'


async def tables_of(conn: asyncpg.Connection, schema: str) -> list[str]:
    """The schema's tables, by name."""
    rows = await conn.fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY c.relname",
        schema,
    )
    return [r["relname"] for r in rows]


async def service_roles(conn: asyncpg.Connection, schema: str) -> list[str]:
    """The roles named in the schema's ``navigator_service`` policies."""
    rows = await conn.fetch(
        "SELECT DISTINCT unnest(roles)::text AS role FROM pg_policies "
        "WHERE schemaname = $1 AND policyname = $2 ORDER BY 1",
        schema, SERVICE_POLICY,
    )
    return [r["role"] for r in rows if r["role"] != "public"]


async def grant_service_role(conn: asyncpg.Connection, schema: str, role: str
                             ) -> ServiceGrant:
    """Give ``role`` (which must exist) DML on every table of the migrated ``schema``
    and admit it through row security; run as the tables' owner. Idempotent: only
    what is missing is granted, in one transaction."""
    if not await conn.fetchval("SELECT count(*) FROM pg_roles WHERE rolname = $1", role):
        raise RoleError(
            f"role {role} does not exist: create it first, e.g. "
            f"CREATE ROLE {quote_identifier(role)} LOGIN PASSWORD '…' (see "
            "docs/OPERATIONS.md, \"Roles and row-level security\")")
    if role in API_ROLES or role == "public":
        raise RoleError(
            f"{role} is a Supabase Data API role: it must never read members' rows; "
            "create a role of its own for the services")
    current = await conn.fetchval("SELECT current_user")
    if role == current:
        raise RoleError(
            f"{role} is the role running this command (the owner): a service role must "
            "be another role")
    tables = await tables_of(conn, schema)
    if not tables:
        raise RoleError(f"schema {schema} has no tables yet: run `navigator migrate` first")
    statements = await _missing_grants(conn, schema, role, tables)
    if statements:
        async with conn.transaction():
            for statement in statements:
                await conn.execute(statement)
    return ServiceGrant(role, schema, tuple(tables), tuple(statements))


async def regrant_service_roles(conn: asyncpg.Connection, schema: str) -> list[str]:
    """Give every service role of ``schema`` its rights on every table (those that
    later migrations added); returns the roles that needed something."""
    changed = []
    for role in await service_roles(conn, schema):
        grant = await grant_service_role(conn, schema, role)
        if grant.statements:
            changed.append(role)
    return changed


async def _missing_grants(conn: asyncpg.Connection, schema: str, role: str,
                          tables: list[str]) -> list[str]:
    s = quote_schema(schema)
    r = quote_identifier(role)
    statements = []
    if not await conn.fetchval("SELECT has_schema_privilege($1, $2, 'USAGE')", role, schema):
        statements.append(f"GRANT USAGE ON SCHEMA {s} TO {r}")
    extension = await vector_schema(conn)
    if extension is not None and not await conn.fetchval(
            "SELECT has_schema_privilege($1, $2, 'USAGE')", role, extension):
        statements.append(f"GRANT USAGE ON SCHEMA {quote_identifier(extension)} TO {r}")
    for table in tables:
        rights = ("SELECT",) if table == RECORD_TABLE else TABLE_RIGHTS
        qualified = f"{s}.{quote_identifier(table)}"
        missing = [
            right for right in rights
            if not await conn.fetchval("SELECT has_table_privilege($1, $2, $3)",
                                       role, qualified, right)
        ]
        if missing:
            statements.append(f"GRANT {', '.join(missing)} ON {qualified} TO {r}")
        policy = await conn.fetchrow(
            "SELECT roles::text[] AS roles FROM pg_policies "
            "WHERE schemaname = $1 AND tablename = $2 AND policyname = $3",
            schema, table, SERVICE_POLICY,
        )
        if policy is None:
            statements.append(f"CREATE POLICY {SERVICE_POLICY} ON {qualified} AS PERMISSIVE "
                              f"FOR ALL TO {r} USING (true) WITH CHECK (true)")
        elif role not in policy["roles"]:
            names = [quote_identifier(n) for n in policy["roles"] if n != "public"]
            statements.append(f"ALTER POLICY {SERVICE_POLICY} ON {qualified} "
                              f"TO {', '.join([*names, r])}")
    sequences = await conn.fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relkind = 'S' ORDER BY c.relname",
        schema,
    )
    for row in sequences:
        qualified = f"{s}.{quote_identifier(row['relname'])}"
        if not await conn.fetchval("SELECT has_sequence_privilege($1, $2, 'USAGE')",
                                   role, qualified):
            statements.append(f"GRANT USAGE, SELECT ON SEQUENCE {qualified} TO {r}")
    return statements


async def require_migration_rights(conn: asyncpg.Connection, schema: str) -> None:
    """:class:`MigrationError` naming the fix when the connection's role does not own
    the schema's migrated tables (a service role's URL given to ``navigator
    migrate``), instead of PostgreSQL's bare ``permission denied``."""
    row = await conn.fetchrow(
        "SELECT current_user AS me, pg_get_userbyid(c.relowner) AS owner, "
        "pg_has_role(current_user, c.relowner, 'USAGE') AS owns "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relname = $2",
        schema, RECORD_TABLE,
    )
    if row is not None and not row["owns"]:
        raise MigrationError(
            f"migrations must run as the owner of schema {schema}'s tables ({row['owner']}); "
            f"this connection is {row['me']}, which may not change them: set "
            "MIGRATION_DATABASE_URL to the owner's URL for `navigator migrate` (see "
            "docs/OPERATIONS.md, \"Roles and row-level security\")")


async def row_security(conn: asyncpg.Connection, schema: str) -> RowSecurity:
    """Which of the schema's tables lack row security, and what the API roles hold."""
    rows = await conn.fetch(
        "SELECT c.relname, c.relrowsecurity FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY c.relname",
        schema,
    )
    # From the catalog's ACLs, not information_schema, which shows only grants the
    # connection's own role takes part in (a service role would see none of them).
    grants = await conn.fetch(
        "SELECT r.rolname AS grantee, a.privilege_type, c.relname AS table_name "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "CROSS JOIN LATERAL aclexplode(c.relacl) a JOIN pg_roles r ON r.oid = a.grantee "
        "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND r.rolname = ANY($2::text[]) "
        "ORDER BY 1, 3, 2",
        schema, list(API_ROLES),
    )
    return RowSecurity(
        tables=tuple(r["relname"] for r in rows),
        without=tuple(r["relname"] for r in rows if not r["relrowsecurity"]),
        api_grants=tuple(f"{g['grantee']}: {g['privilege_type']} on {g['table_name']}"
                         for g in grants),
    )


async def role_in_use(conn: asyncpg.Connection, schema: str) -> RoleInUse:
    """The connection's role: superuser, BYPASSRLS, owner of the schema's tables, or a
    service role named in its policies."""
    row = await conn.fetchrow(
        "SELECT current_user AS name, r.rolsuper, r.rolbypassrls, "
        "EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') "
        "          AND pg_has_role(current_user, c.relowner, 'USAGE')) AS owns "
        "FROM pg_roles r WHERE r.rolname = current_user",
        schema,
    )
    policy = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = $1 AND policyname = $2 "
        "AND current_user = ANY(roles::text[]))",
        schema, SERVICE_POLICY,
    )
    return RoleInUse(row["name"], row["rolsuper"], row["rolbypassrls"], row["owns"],
                     bool(policy))
