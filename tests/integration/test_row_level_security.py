"""Least privilege on a real PostgreSQL: row security on every table, nothing for
Supabase's Data API roles, and a service role that reads and writes rows but changes
no table (migration 0007, adapters/postgres/roles.py)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from adapters.postgres.connection import connect, create_pool, quote_schema, vector_schema
from adapters.postgres.documents import PostgresDocumentRepository
from adapters.postgres.errors import MigrationError
from adapters.postgres.job_queue import PostgresJobQueue
from adapters.postgres.migrations import migrate, migrations_source, run_migrations
from adapters.postgres.roles import (
    SERVICE_POLICY,
    RoleError,
    grant_service_role,
    role_in_use,
    row_security,
    tables_of,
)
from adapters.postgres.workers import PostgresWorkerRegistry
from domain.status import JobStatus
from entrypoints.cli.validate.connectivity import role_checks
from entrypoints.cli.validate.security import row_security_checks
from entrypoints.settings import Settings, load_settings
from tests.conftest import TEST_VECTOR_DIMENSION
from tests.contract.builders import LEASE, MARIA, run_to, submit, unit
from tests.corpus import REPO_DIR
from tests.fakes.clock import FakeClock
from tests.roles import create_login_role, drop_role, dsn_as, ensure_supabase_roles

pytestmark = pytest.mark.postgres

ROW_SECURITY = 7  # the migration that turns it on
API_ROLES = ("anon", "authenticated")
MODEL = "text-embedding-3-small"


@pytest.fixture
async def supabase_roles(conn: asyncpg.Connection) -> None:
    await ensure_supabase_roles(conn)


@pytest.fixture
async def service_role(conn: asyncpg.Connection) -> AsyncIterator[str]:
    name = await create_login_role(conn)
    try:
        yield name
    finally:
        await drop_role(conn, name)


@pytest.fixture
async def populated(pg_pool: asyncpg.Pool, pg_schema: str, conn: asyncpg.Connection) -> str:
    """A schema with rows in every table: a member's document taken to complete, its
    stored bytes, and a registered worker."""
    queue = PostgresJobQueue(pg_pool, FakeClock(), pg_schema,
                             vector_dimension=TEST_VECTOR_DIMENSION)
    submission = await submit(queue, MARIA, b"maria's policy", FakeClock().now())
    [lease] = await queue.claim("worker-1", 1, LEASE)
    await run_to(queue, lease, JobStatus.COMPLETE, TEST_VECTOR_DIMENSION)
    await pg_pool.execute(
        f"INSERT INTO {quote_schema(pg_schema)}.document_files (document_id, part, data) "
        "VALUES ($1, 0, $2)", submission.document.document_id, b"%PDF-1.7 maria")
    await PostgresWorkerRegistry(pg_pool, FakeClock(), pg_schema).register(
        "worker-1", "worker-host", 4242)
    counts = await _counts(conn, pg_schema)
    empty = [table for table, n in counts.items() if n == 0]
    assert not empty, f"give these tables a row in this fixture: {empty}"
    return pg_schema


async def _counts(conn: asyncpg.Connection, schema: str) -> dict[str, int]:
    return {table: await conn.fetchval(f"SELECT count(*) FROM {quote_schema(schema)}.{table}")
            for table in await tables_of(conn, schema)}


def _migrations_up_to(version: int, target: Path) -> Path:
    target.mkdir()
    for path in migrations_source().iterdir():
        if path.name.endswith(".sql") and int(path.name[:4]) <= version:
            (target / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    return target


# -- row security everywhere -------------------------------------------------------------


async def test_every_table_of_a_migrated_schema_has_row_level_security_on(
    conn: asyncpg.Connection, pg_schema: str
) -> None:
    """The invariant a future migration must keep: a table it adds turns row security
    on, or this fails naming the table."""
    rows = await conn.fetch(
        "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')", pg_schema)
    assert {r["relname"] for r in rows} >= {
        "documents", "document_files", "upload_jobs", "job_events", "document_chunks",
        "chunk_embeddings", "workers", "schema_migrations"}
    assert [r["relname"] for r in rows if not r["relrowsecurity"]] == []
    # not forced: the owner (migrations, operator commands) is not subject to it
    assert [r["relname"] for r in rows if r["relforcerowsecurity"]] == []


async def test_the_owner_still_reads_and_writes_every_row(
    conn: asyncpg.Connection, populated: str
) -> None:
    role = await role_in_use(conn, populated)
    assert role.owns_tables or role.superuser
    assert all(n > 0 for n in (await _counts(conn, populated)).values())


# -- Supabase's Data API roles -------------------------------------------------------------


async def test_migration_0007_takes_back_what_anon_and_authenticated_were_granted(
    conn: asyncpg.Connection, blank_schema: str, supabase_roles: None, tmp_path: Path
) -> None:
    before = _migrations_up_to(ROW_SECURITY - 1, tmp_path / "before")
    await migrate(conn, blank_schema, TEST_VECTOR_DIMENSION, before)
    s = quote_schema(blank_schema)
    await conn.execute(f"GRANT USAGE ON SCHEMA {s} TO anon, authenticated; "
                       f"GRANT ALL ON ALL TABLES IN SCHEMA {s} TO anon, authenticated; "
                       f"GRANT ALL ON ALL SEQUENCES IN SCHEMA {s} TO anon, authenticated")
    assert (await row_security(conn, blank_schema)).api_grants

    applied = await migrate(conn, blank_schema, TEST_VECTOR_DIMENSION)

    assert applied[0] == "0007_row_level_security.sql"  # later migrations follow it
    security = await row_security(conn, blank_schema)
    assert security.api_grants == ()
    assert security.everywhere
    for role in API_ROLES:
        assert not await conn.fetchval("SELECT has_schema_privilege($1, $2, 'USAGE')",
                                       role, blank_schema)


async def test_anon_and_authenticated_are_refused_on_every_table(
    postgres_dsn: str, conn: asyncpg.Connection, populated: str, supabase_roles: None
) -> None:
    """As the Data API reaches the database: logged in as authenticator, then SET ROLE."""
    tables = await tables_of(conn, populated)
    api = await connect(dsn_as(postgres_dsn, "authenticator"))
    try:
        for role in API_ROLES:
            await api.execute(f"SET ROLE {role}")
            for table in tables:
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await api.fetch(f"SELECT * FROM {quote_schema(populated)}.{table}")
            await api.execute("RESET ROLE")
    finally:
        await api.close()


async def test_even_granted_select_anon_and_authenticated_read_no_row(
    postgres_dsn: str, conn: asyncpg.Connection, populated: str, supabase_roles: None
) -> None:
    """An operator exposes the schema the way Supabase's guide says (usage and every
    right on every table): row security still shows the API roles nothing, nor lets
    them write."""
    s = quote_schema(populated)
    await conn.execute(f"GRANT USAGE ON SCHEMA {s} TO anon, authenticated; "
                       f"GRANT ALL ON ALL TABLES IN SCHEMA {s} TO anon, authenticated")
    owner_sees = await _counts(conn, populated)
    api = await connect(dsn_as(postgres_dsn, "authenticator"))
    try:
        for role in API_ROLES:
            await api.execute(f"SET ROLE {role}")
            assert await _counts(api, populated) == dict.fromkeys(owner_sees, 0), role
            deleted = await api.execute(f"DELETE FROM {s}.documents")
            assert deleted == "DELETE 0"
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
                await api.execute(f"INSERT INTO {s}.workers (worker_id, hostname, pid, "
                                  "started_at, last_seen_at) VALUES ('w', 'h', 1, now(), now())")
            await api.execute("RESET ROLE")
    finally:
        await api.close()
    assert await _counts(conn, populated) == owner_sees


# -- the service role ----------------------------------------------------------------------


async def test_a_service_role_runs_the_pipeline_and_searches(
    postgres_dsn: str, conn: asyncpg.Connection, pg_schema: str, service_role: str
) -> None:
    grant = await grant_service_role(conn, pg_schema, service_role)
    assert grant.statements and set(grant.tables) == set(await tables_of(conn, pg_schema))

    pool = await create_pool(dsn_as(postgres_dsn, service_role), pg_schema, max_size=2)
    try:
        queue = PostgresJobQueue(pool, FakeClock(), pg_schema,
                                 vector_dimension=TEST_VECTOR_DIMENSION)
        submission = await submit(queue, MARIA, b"maria's policy", FakeClock().now())
        [lease] = await queue.claim("worker-1", 1, LEASE)
        assert await run_to(queue, lease, JobStatus.COMPLETE, TEST_VECTOR_DIMENSION,
                            ["Deductible is $500 per year", "Copay is $20"]) is None
        await PostgresWorkerRegistry(pool, FakeClock(), pg_schema).register("w", "h", 1)
        hits = await PostgresDocumentRepository(pool, pg_schema).search(
            MARIA, unit(1, TEST_VECTOR_DIMENSION), MODEL, 0.0, 2)
        history = await queue.history(submission.job.job_id)
    finally:
        await pool.close()
    assert hits[0].chunk.text == "Copay is $20"
    assert history[-1].to_status is JobStatus.COMPLETE


@pytest.mark.parametrize("ddl", [
    "CREATE TABLE {s}.smuggled (id int)",
    "ALTER TABLE {s}.documents ADD COLUMN smuggled text",
    "ALTER TABLE {s}.documents DISABLE ROW LEVEL SECURITY",
    "DROP TABLE {s}.workers",
    "TRUNCATE {s}.job_events",
    "CREATE INDEX smuggled ON {s}.documents (filename)",
    "CREATE POLICY smuggled ON {s}.documents USING (true)",
    "INSERT INTO {s}.schema_migrations (version, name, checksum) "
    "VALUES (999, 'smuggled', repeat('0', 64))",
])
async def test_a_service_role_changes_no_table(
    postgres_dsn: str, conn: asyncpg.Connection, pg_schema: str, service_role: str, ddl: str
) -> None:
    await grant_service_role(conn, pg_schema, service_role)
    as_service = await connect(dsn_as(postgres_dsn, service_role))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await as_service.execute(ddl.replace("{s}", quote_schema(pg_schema)))
    finally:
        await as_service.close()


async def test_granting_twice_changes_nothing_the_second_time(
    conn: asyncpg.Connection, pg_schema: str, service_role: str
) -> None:
    await grant_service_role(conn, pg_schema, service_role)

    again = await grant_service_role(conn, pg_schema, service_role)

    assert again.statements == ()


async def test_two_service_roles_share_the_policy(
    conn: asyncpg.Connection, pg_schema: str, service_role: str
) -> None:
    other = await create_login_role(conn)
    try:
        await grant_service_role(conn, pg_schema, service_role)
        await grant_service_role(conn, pg_schema, other)
        roles = await conn.fetch(
            "SELECT tablename, roles::text[] AS roles FROM pg_policies "
            "WHERE schemaname = $1 AND policyname = $2", pg_schema, SERVICE_POLICY)
        assert len(roles) == len(await tables_of(conn, pg_schema))
        assert all(sorted(r["roles"]) == sorted([service_role, other]) for r in roles)
    finally:
        await drop_role(conn, other)


async def test_migrate_gives_service_roles_the_tables_later_migrations_add(
    postgres_dsn: str, conn: asyncpg.Connection, blank_schema: str, service_role: str,
    tmp_path: Path,
) -> None:
    directory = _migrations_up_to(ROW_SECURITY, tmp_path / "migrations")
    await migrate(conn, blank_schema, TEST_VECTOR_DIMENSION, directory)
    await grant_service_role(conn, blank_schema, service_role)
    (directory / "0099_member_notes.sql").write_text(
        "CREATE TABLE {schema}.member_notes (id integer PRIMARY KEY, note text NOT NULL);\n"
        "CREATE SEQUENCE {schema}.member_note_numbers;\n"
        "ALTER TABLE {schema}.member_notes ENABLE ROW LEVEL SECURITY;\n")

    assert await migrate(conn, blank_schema, TEST_VECTOR_DIMENSION, directory) == [
        "0099_member_notes.sql"]

    s = quote_schema(blank_schema)
    as_service = await connect(dsn_as(postgres_dsn, service_role))
    try:
        await as_service.execute(f"INSERT INTO {s}.member_notes VALUES "
                                 f"(nextval('{s}.member_note_numbers'), 'a note')")
        assert await as_service.fetchval(f"SELECT note FROM {s}.member_notes") == "a note"
    finally:
        await as_service.close()
    assert (await grant_service_role(conn, blank_schema, service_role)).statements == ()


@pytest.mark.parametrize("role, reason", [
    ("no_such_role_anywhere", "does not exist: create it first"),
    ("anon", "Supabase Data API role"),
    ("authenticated", "Supabase Data API role"),
])
async def test_granting_is_refused_for_a_role_that_must_not_be_a_service_role(
    conn: asyncpg.Connection, pg_schema: str, supabase_roles: None, role: str, reason: str
) -> None:
    with pytest.raises(RoleError, match=reason):
        await grant_service_role(conn, pg_schema, role)


async def test_granting_is_refused_to_the_owner_itself_and_before_migrating(
    conn: asyncpg.Connection, pg_schema: str, blank_schema: str, service_role: str
) -> None:
    owner = await conn.fetchval("SELECT current_user")
    with pytest.raises(RoleError, match="the role running this command"):
        await grant_service_role(conn, pg_schema, owner)
    with pytest.raises(RoleError, match="run `navigator migrate` first"):
        await grant_service_role(conn, blank_schema, service_role)


# -- what `navigator validate` reports -------------------------------------------------------


def _settings(schema: str, pooler: str = "auto") -> Settings:
    return load_settings({"DATABASE_SCHEMA": schema, "DATABASE_POOLER_MODE": pooler})


async def test_validate_reports_the_role_in_use_and_the_pooler_mode(
    postgres_dsn: str, conn: asyncpg.Connection, pg_schema: str, service_role: str
) -> None:
    await grant_service_role(conn, pg_schema, service_role)
    service_dsn = dsn_as(postgres_dsn, service_role)
    as_service = await connect(service_dsn)
    try:
        service = await role_checks(as_service, _settings(pg_schema, "transaction"),
                                    service_dsn)
    finally:
        await as_service.close()
    owner = await role_checks(conn, _settings(pg_schema), postgres_dsn)

    role, mode = service
    assert role.passed and role.detail.startswith(f"{service_role} (service role: ")
    assert role.data["service_policy"] and not role.data["owner"]
    assert mode.passed and mode.detail.startswith("transaction pooler")
    assert owner[0].data["owner"] or owner[0].data["superuser"]
    assert owner[1].detail == ("direct connection or session pooler "
                               "(DATABASE_POOLER_MODE=auto)")


@pytest.mark.parametrize("checked_as", ["owner", "service role"])
async def test_validate_fails_a_table_without_row_security_or_with_grants_to_the_api_roles(
    postgres_dsn: str, conn: asyncpg.Connection, pg_schema: str, supabase_roles: None,
    service_role: str, checked_as: str,
) -> None:
    """Whoever runs validate (the services' role, usually) sees the owner's grants."""
    await grant_service_role(conn, pg_schema, service_role)
    settings = _settings(pg_schema)
    checker = conn if checked_as == "owner" else await connect(
        dsn_as(postgres_dsn, service_role))
    try:
        assert [c.passed for c in await row_security_checks(checker, settings)] == [True, True]

        s = quote_schema(pg_schema)
        await conn.execute(f"ALTER TABLE {s}.workers DISABLE ROW LEVEL SECURITY; "
                           f"GRANT SELECT ON {s}.documents TO anon")
        rls, api = await row_security_checks(checker, settings)
    finally:
        if checker is not conn:
            await checker.close()

    assert not rls.passed and rls.detail.startswith("off on workers: ")
    assert not api.passed and api.detail.startswith("anon: SELECT on documents")


async def test_migrating_as_a_service_role_is_refused_naming_the_owner(
    postgres_dsn: str, conn: asyncpg.Connection, pg_schema: str, service_role: str
) -> None:
    await grant_service_role(conn, pg_schema, service_role)
    owner = await conn.fetchval(
        "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = $1::regclass",
        f"{quote_schema(pg_schema)}.schema_migrations")

    with pytest.raises(MigrationError) as refused:
        await run_migrations(dsn_as(postgres_dsn, service_role), pg_schema,
                             TEST_VECTOR_DIMENSION)

    assert str(refused.value).startswith(
        f"migrations must run as the owner of schema {pg_schema}'s tables ({owner}); "
        f"this connection is {service_role}")
    assert "set MIGRATION_DATABASE_URL to the owner's URL" in str(refused.value)


# -- the SQL in docs/OPERATIONS.md ------------------------------------------------------------

OPERATIONS = REPO_DIR / "docs" / "OPERATIONS.md"


def _documented_grant_sql() -> str:
    """The snippet under "The same in SQL" in the operator's runbook."""
    text = OPERATIONS.read_text(encoding="utf-8")
    after = text.split("**The same in SQL**", 1)[1]
    return after.split("```sql\n", 1)[1].split("```", 1)[0]


async def test_the_documented_sql_grants_exactly_what_the_command_grants(
    conn: asyncpg.Connection, pg_schema: str, service_role: str
) -> None:
    extension = await vector_schema(conn)
    sql = _documented_grant_sql()
    sql = re.sub(r"\b(TO|FROM) navigator_service\b", rf'\1 "{service_role}"', sql)
    sql = sql.replace("SCHEMA extensions", f'SCHEMA "{extension}"')
    sql = sql.replace("'upload_pipeline'", f"'{pg_schema}'").replace(
        "upload_pipeline", quote_schema(pg_schema))

    await conn.execute(sql)

    assert (await grant_service_role(conn, pg_schema, service_role)).statements == ()
    # and retiring the role, as documented, leaves no policy behind
    await conn.execute(f'DROP OWNED BY "{service_role}"')
    assert await conn.fetchval("SELECT count(*) FROM pg_policies WHERE schemaname = $1",
                               pg_schema) == 0


async def test_migrate_stops_when_someone_put_an_api_role_in_the_service_policy(
    conn: asyncpg.Connection, pg_schema: str, service_role: str, supabase_roles: None
) -> None:
    await grant_service_role(conn, pg_schema, service_role)
    await conn.execute(f"ALTER POLICY {SERVICE_POLICY} ON {quote_schema(pg_schema)}.documents "
                       f'TO "{service_role}", anon')

    with pytest.raises(RoleError, match="anon is a Supabase Data API role"):
        await migrate(conn, pg_schema, TEST_VECTOR_DIMENSION)
