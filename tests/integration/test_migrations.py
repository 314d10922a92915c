"""Migrations on a real PostgreSQL: applied in order, once, recorded with checksums,
and the schema they build is the one the code and the state machine expect."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path

import asyncpg
import pytest

from adapters.postgres.errors import InvalidSchemaName, MigrationError
from adapters.postgres.migrations import (
    MIGRATIONS_DIR,
    load_migrations,
    migrate,
    run_migrations,
    schema_status,
)
from domain.status import CLAIMABLE, WORKING, JobStatus

pytestmark = pytest.mark.postgres


@pytest.fixture
def migrations_copy(tmp_path: Path) -> Path:
    target = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, target)
    return target


async def test_every_migration_is_applied_once_and_recorded_with_its_checksum(
    conn: asyncpg.Connection, blank_schema: str
) -> None:
    applied = await migrate(conn, blank_schema, 8)
    again = await migrate(conn, blank_schema, 8)

    files = load_migrations()
    assert applied == [m.filename for m in files]
    assert again == []
    status = await schema_status(conn, blank_schema)
    assert status.up_to_date
    assert [(a.version, a.checksum) for a in status.applied] == [
        (m.version, m.checksum) for m in files
    ]
    assert status.vector_dimension == 8


async def test_the_schema_has_the_tables_the_adapters_use(
    conn: asyncpg.Connection, pg_schema: str
) -> None:
    tables = {
        r["table_name"]
        for r in await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1",
            pg_schema,
        )
    }
    assert tables == {
        "documents", "upload_jobs", "job_events", "document_chunks", "chunk_embeddings", "workers",
        "document_files",
        "schema_migrations",
    }


async def test_the_status_check_allows_exactly_the_state_machine_statuses(
    conn: asyncpg.Connection, pg_schema: str
) -> None:
    document_id = uuid.uuid4()
    await conn.execute(
        f'INSERT INTO "{pg_schema}".documents VALUES ($1, $2, $3, $4, $5, $6, $7, now())',
        document_id, "member-a", "policy.pdf", "application/pdf", 10, "a" * 64, "k",
    )
    accepted = []
    for status in [*JobStatus, "done", "PARSING", "embedding"]:
        holder = "worker-1" if status in WORKING else None
        try:
            async with conn.transaction():
                await conn.execute(
                    f'INSERT INTO "{pg_schema}".upload_jobs (job_id, document_id, user_id, '
                    "status, available_at, created_at, updated_at, failed_stage, "
                    "lease_owner, lease_expires_at) "
                    "VALUES ($1, $2, 'member-a', $3, now(), now(), now(), 'parse', $4, "
                    "CASE WHEN $4::text IS NULL THEN NULL ELSE now() END)",
                    uuid.uuid4(), document_id, str(status), holder,
                )
                raise _Rollback
        except _Rollback:
            accepted.append(str(status))
        except asyncpg.CheckViolationError:
            pass
    assert accepted == [str(s) for s in JobStatus]


class _Rollback(Exception):
    pass


async def test_a_job_shown_as_being_worked_on_must_have_a_holder(
    conn: asyncpg.Connection, pg_schema: str
) -> None:
    document_id = uuid.uuid4()
    await conn.execute(
        f'INSERT INTO "{pg_schema}".documents VALUES ($1, $2, $3, $4, $5, $6, $7, now())',
        document_id, "member-a", "policy.pdf", "application/pdf", 10, "c" * 64, "k",
    )
    for status in sorted(WORKING):
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                f'INSERT INTO "{pg_schema}".upload_jobs (job_id, document_id, user_id, '
                "status, available_at, created_at, updated_at) "
                "VALUES ($1, $2, 'member-a', $3, now(), now(), now())",
                uuid.uuid4(), document_id, str(status),
            )
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(
            f'INSERT INTO "{pg_schema}".upload_jobs (job_id, document_id, user_id, '
            "status, available_at, created_at, updated_at, failed_stage) "
            "VALUES ($1, $2, 'member-a', 'failed', now(), now(), now(), 'somewhere')",
            uuid.uuid4(), document_id,
        )


async def test_the_claim_index_covers_exactly_the_claimable_statuses(
    conn: asyncpg.Connection, pg_schema: str
) -> None:
    definition = await conn.fetchval(
        "SELECT pg_get_indexdef(c.oid) FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = 'upload_jobs_ready'",
        pg_schema,
    )
    listed = {s for s in JobStatus if f"'{s}'" in definition}
    assert listed == set(CLAIMABLE)
    assert "lease_owner IS NULL" in definition


async def test_a_member_cannot_upload_the_same_bytes_twice_into_two_rows(
    conn: asyncpg.Connection, pg_schema: str
) -> None:
    insert = (
        f'INSERT INTO "{pg_schema}".documents VALUES ($1, $2, $3, $4, $5, $6, $7, now())'
    )
    await conn.execute(insert, uuid.uuid4(), "member-a", "a.pdf", "application/pdf", 1,
                       "b" * 64, "k")
    await conn.execute(insert, uuid.uuid4(), "member-b", "a.pdf", "application/pdf", 1,
                       "b" * 64, "k")
    with pytest.raises(asyncpg.UniqueViolationError):
        await conn.execute(insert, uuid.uuid4(), "member-a", "b.pdf", "application/pdf", 1,
                           "b" * 64, "k")


async def test_a_changed_migration_file_stops_the_runner_and_names_the_file(
    conn: asyncpg.Connection, blank_schema: str, migrations_copy: Path
) -> None:
    await migrate(conn, blank_schema, 8, migrations_copy)
    first = _edit_first_file(migrations_copy)

    with pytest.raises(MigrationError, match=first.name):
        await migrate(conn, blank_schema, 8, migrations_copy)
    assert (await schema_status(conn, blank_schema, migrations_copy)).changed == (first.name,)


def _edit_first_file(directory: Path) -> Path:
    first = sorted(directory.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- an innocent-looking edit\n")
    return first


async def test_a_new_migration_file_is_applied_after_the_others(
    conn: asyncpg.Connection, blank_schema: str, migrations_copy: Path
) -> None:
    await migrate(conn, blank_schema, 8, migrations_copy)
    (migrations_copy / "9000_member_notes.sql").write_text(
        "CREATE TABLE {schema}.member_notes (note text NOT NULL DEFAULT '{}');\n"
    )
    assert (await schema_status(conn, blank_schema, migrations_copy)).pending == (
        "9000_member_notes.sql",
    )

    assert await migrate(conn, blank_schema, 8, migrations_copy) == ["9000_member_notes.sql"]
    default = await conn.fetchval(
        "SELECT column_default FROM information_schema.columns "
        "WHERE table_schema = $1 AND table_name = 'member_notes'",
        blank_schema,
    )
    assert default == "'{}'::text"


async def test_a_failing_migration_leaves_nothing_half_applied(
    conn: asyncpg.Connection, blank_schema: str, migrations_copy: Path
) -> None:
    (migrations_copy / "9001_broken.sql").write_text(
        "CREATE TABLE {schema}.half (id int);\nSELECT * FROM no_such_table;\n"
    )
    with pytest.raises(asyncpg.UndefinedTableError):
        await migrate(conn, blank_schema, 8, migrations_copy)

    status = await schema_status(conn, blank_schema, migrations_copy)
    assert status.pending == ("9001_broken.sql",)
    assert not await conn.fetchval(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 "
        "AND table_name = 'half'",
        blank_schema,
    )


async def test_processes_migrating_at_once_apply_each_file_exactly_once(
    postgres_dsn: str, conn: asyncpg.Connection, blank_schema: str
) -> None:
    results = await asyncio.gather(
        *(run_migrations(postgres_dsn, blank_schema, 8) for _ in range(4))
    )

    # Each file takes the lock on its own, so the files may be shared among the runners,
    # but each is applied by exactly one of them.
    applied = sorted(name for result in results for name in result)
    assert applied == [m.filename for m in load_migrations()]
    assert (await schema_status(conn, blank_schema)).up_to_date


async def test_a_different_vector_size_than_the_schema_stores_is_refused(
    conn: asyncpg.Connection, blank_schema: str
) -> None:
    await migrate(conn, blank_schema, 8)
    with pytest.raises(MigrationError, match="8 dimensions but RAG_VECTOR_DIMENSION is 16"):
        await migrate(conn, blank_schema, 16)


async def test_a_schema_name_that_is_not_a_plain_identifier_is_refused(
    conn: asyncpg.Connection,
) -> None:
    for name in ['upload"; DROP TABLE x; --', "Upload", "pg_catalog", ""]:
        with pytest.raises(InvalidSchemaName):
            await migrate(conn, name, 8)


async def test_a_schema_that_was_never_migrated_reports_every_file_pending(
    conn: asyncpg.Connection, blank_schema: str
) -> None:
    status = await schema_status(conn, blank_schema)

    assert not status.exists
    assert not status.up_to_date
    assert status.pending == tuple(m.filename for m in load_migrations())
