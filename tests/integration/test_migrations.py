"""Migrations on a real PostgreSQL: applied in order, once, recorded with checksums,
and the schema they build is the one the code and the state machine expect."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path

import asyncpg
import pytest

from adapters.postgres import migrations as migrations_module
from adapters.postgres.connection import create_pool
from adapters.postgres.documents import PostgresDocumentRepository
from adapters.postgres.errors import InvalidSchemaName, MigrationError
from adapters.postgres.job_queue import PostgresJobQueue
from adapters.postgres.migrations import (
    SUPERSEDED,
    load_migrations,
    migrate,
    migrations_source,
    run_migrations,
    schema_status,
)
from adapters.postgres.probe import PostgresDatabaseProbe
from domain.hybrid import SearchMode
from domain.status import CLAIMABLE, WORKING, JobStatus
from tests.contract.builders import LEASE, MARIA, run_to, submit
from tests.fakes.clock import FakeClock

pytestmark = pytest.mark.postgres


@pytest.fixture
def migrations_copy(tmp_path: Path) -> Path:
    target = tmp_path / "migrations"
    shutil.copytree(Path(str(migrations_source())), target,
                    ignore=shutil.ignore_patterns("*.py", "__pycache__"))
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
        "document_files", "document_chunk_totals",
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


# -- an older release on a newer schema (a rollback) -----------------------------------------


NEWER_EXPAND = "-- A later release's table.\nCREATE TABLE {schema}.member_notes (note text);\n"
NEWER_CONTRACT = ("-- step: contract\n-- A later release stops keeping the notes.\n"
                  "ALTER TABLE {schema}.member_notes DROP COLUMN note;\n")


async def test_each_migration_is_recorded_with_the_step_its_header_declares(
    conn: asyncpg.Connection, blank_schema: str
) -> None:
    await migrate(conn, blank_schema, 8)

    steps = dict(await conn.fetch(
        f'SELECT version, step FROM "{blank_schema}".schema_migrations'))
    assert steps == {m.version: m.step for m in load_migrations()}
    assert steps[CONTRACT_THE_CHUNKS] == "contract"
    assert steps[CONTRACT_THE_CHUNKS + 1] == "expand"


async def test_records_kept_before_steps_existed_get_their_steps_from_the_files(
    conn: asyncpg.Connection, blank_schema: str
) -> None:
    await migrate(conn, blank_schema, 8)
    await conn.execute(f'ALTER TABLE "{blank_schema}".schema_migrations DROP COLUMN step')
    assert all(a.step is None for a in (await schema_status(conn, blank_schema)).applied)

    assert await migrate(conn, blank_schema, 8) == []

    applied = (await schema_status(conn, blank_schema)).applied
    assert [a.step for a in applied] == [m.step for m in load_migrations()]


async def test_a_record_of_a_superseded_text_keeps_no_step_since_its_step_is_not_known(
    conn: asyncpg.Connection, blank_schema: str
) -> None:
    await migrate(conn, blank_schema, 8)
    await conn.execute(f'ALTER TABLE "{blank_schema}".schema_migrations DROP COLUMN step')
    [old] = SUPERSEDED[6]
    await _record_checksum(conn, blank_schema, 6, old)

    await migrate(conn, blank_schema, 8)

    steps = {a.version: a.step for a in (await schema_status(conn, blank_schema)).applied}
    assert steps[6] is None
    assert steps[5] == "contract" and steps[CONTRACT_THE_CHUNKS] == "contract"
    assert steps[7] == "expand"


async def test_an_older_release_runs_on_a_schema_a_later_one_only_expanded(
    conn: asyncpg.Connection, blank_schema: str, migrations_copy: Path
) -> None:
    (migrations_copy / "9000_member_notes.sql").write_text(NEWER_EXPAND)
    await migrate(conn, blank_schema, 8, migrations_copy)  # the later release deploys

    assert await migrate(conn, blank_schema, 8) == []  # the older one's pre-deploy migrate
    status = await schema_status(conn, blank_schema)
    assert status.up_to_date
    assert [(m.filename, m.state) for m in status.migrations][-1] == (
        "9000_member_notes.sql", "newer")


async def test_the_older_release_s_health_probe_calls_the_expanded_schema_ready(
    conn: asyncpg.Connection, blank_schema: str, migrations_copy: Path, postgres_dsn: str,
) -> None:
    (migrations_copy / "9000_member_notes.sql").write_text(NEWER_EXPAND)
    await migrate(conn, blank_schema, 8, migrations_copy)
    pool = await create_pool(postgres_dsn, blank_schema, min_size=1, max_size=1)
    try:
        report = await PostgresDatabaseProbe(pool, blank_schema, postgres_dsn).check()
    finally:
        await pool.close()

    assert report.ready, report
    assert report.migration_version == 9000


async def test_an_older_release_refuses_a_schema_a_later_one_contracted(
    conn: asyncpg.Connection, blank_schema: str, migrations_copy: Path, postgres_dsn: str,
) -> None:
    (migrations_copy / "9000_member_notes.sql").write_text(NEWER_EXPAND)
    (migrations_copy / "9001_member_notes_shrink.sql").write_text(NEWER_CONTRACT)
    await migrate(conn, blank_schema, 8, migrations_copy)

    refused = r"9001_member_notes_shrink\.sql .*older than the database \(a contract step"
    with pytest.raises(MigrationError, match=refused):
        await migrate(conn, blank_schema, 8)
    status = await schema_status(conn, blank_schema)
    assert not status.up_to_date
    assert status.changed == ("9001_member_notes_shrink.sql",)
    pool = await create_pool(postgres_dsn, blank_schema, min_size=1, max_size=1)
    try:
        report = await PostgresDatabaseProbe(pool, blank_schema, postgres_dsn).check()
    finally:
        await pool.close()
    assert not report.ready
    assert (report.pending_migrations, report.refused_migrations) == (
        (), ("9001_member_notes_shrink.sql",))


async def test_a_recorded_migration_missing_below_the_newest_file_is_still_refused(
    conn: asyncpg.Connection, blank_schema: str, migrations_copy: Path
) -> None:
    await migrate(conn, blank_schema, 8, migrations_copy)
    (migrations_copy / "0002_working_status_needs_a_holder.sql").unlink()

    with pytest.raises(MigrationError, match=r"0002_.*the package lost it: restore the file"):
        await migrate(conn, blank_schema, 8, migrations_copy)


# -- where the files come from ---------------------------------------------------------------


def test_the_migrations_are_read_from_the_installed_package() -> None:
    names = [m.filename for m in load_migrations()]

    assert names[0] == "0001_initial.sql"
    assert names == sorted(p.name for p in Path(str(migrations_source())).glob("*.sql"))


async def test_a_folder_without_migration_files_is_an_error_naming_it_never_up_to_date(
    conn: asyncpg.Connection, blank_schema: str, tmp_path: Path
) -> None:
    empty = tmp_path / "no-sql-here"
    empty.mkdir()
    (empty / "__init__.py").write_text("")

    with pytest.raises(MigrationError, match=f"no migration files .* found in {empty}"):
        await migrate(conn, blank_schema, 8, empty)
    with pytest.raises(MigrationError, match="no-sql-here"):
        await schema_status(conn, blank_schema, empty)
    with pytest.raises(MigrationError, match="missing-folder"):
        load_migrations(tmp_path / "missing-folder")


def test_a_missing_migrations_package_is_an_error_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(migrations_module, "MIGRATIONS_PACKAGE", "no_such_migrations_here")

    with pytest.raises(MigrationError, match="'no_such_migrations_here' is not installed"):
        load_migrations()


# -- a rewritten migration ---------------------------------------------------------------------


async def _record_checksum(conn: asyncpg.Connection, schema: str, version: int,
                           checksum: str) -> None:
    await conn.execute(
        f'UPDATE "{schema}".schema_migrations SET checksum = $2 WHERE version = $1',
        version, checksum,
    )


async def test_a_schema_that_applied_the_first_text_of_0006_is_accepted(
    conn: asyncpg.Connection, blank_schema: str, tmp_path: Path
) -> None:
    """0006 first dropped the old vector columns; a database that applied that text has
    no such columns and its record holds the old checksum. It must not be refused, and
    the contract step (0012), which drops them IF EXISTS, applies to it too."""
    await migrate(conn, blank_schema, 8, _migrations_before(tmp_path, CONTRACT_THE_CHUNKS))
    s = f'"{blank_schema}"'
    await conn.execute(
        f"DROP TRIGGER chunk_embeddings_from_old_insert ON {s}.document_chunks; "
        f"DROP TRIGGER chunk_embeddings_from_old_update ON {s}.document_chunks; "
        f"DROP FUNCTION {s}.chunk_embeddings_from_old_columns(); "
        f"DROP INDEX {s}.document_chunks_member_search; "
        f"ALTER TABLE {s}.document_chunks DROP COLUMN embedding_bits, DROP COLUMN embedding, "
        "DROP COLUMN embedding_model"
    )
    [old] = SUPERSEDED[6]
    await _record_checksum(conn, blank_schema, 6, old)

    assert [name[:4] for name in await migrate(conn, blank_schema, 8)] == _numbers_from(
        CONTRACT_THE_CHUNKS)
    status = await schema_status(conn, blank_schema)
    assert status.up_to_date
    assert status.changed == ()
    assert status.vector_dimension == 8


async def test_a_changed_0006_is_still_refused_although_an_older_text_is_accepted(
    conn: asyncpg.Connection, blank_schema: str, migrations_copy: Path
) -> None:
    await migrate(conn, blank_schema, 8, migrations_copy)
    await _record_checksum(conn, blank_schema, 6, "0" * 64)

    with pytest.raises(MigrationError, match=r"0006_vectors_in_their_own_table\.sql changed"):
        await migrate(conn, blank_schema, 8, migrations_copy)
    assert (await schema_status(conn, blank_schema, migrations_copy)).changed == (
        "0006_vectors_in_their_own_table.sql",
    )


async def test_an_edit_to_0006_on_disk_is_refused(
    conn: asyncpg.Connection, blank_schema: str, migrations_copy: Path
) -> None:
    await migrate(conn, blank_schema, 8, migrations_copy)
    sixth = migrations_copy / "0006_vectors_in_their_own_table.sql"
    sixth.write_text(sixth.read_text() + "\n-- tidied up\n")

    with pytest.raises(MigrationError, match=r"0006_vectors_in_their_own_table\.sql changed"):
        await migrate(conn, blank_schema, 8, migrations_copy)


# -- expand/contract: the previous release keeps working during a deploy -------------------

CONTRACT_THE_CHUNKS = 12  # drops what 0004-0006 left on document_chunks


def _migrations_before(tmp_path: Path, version: int) -> Path:
    """A folder with only the migration files numbered below ``version``."""
    target = tmp_path / f"before-{version}"
    target.mkdir()
    for path in migrations_source().glob("*.sql"):
        if int(path.name[:4]) < version:
            shutil.copy(path, target / path.name)
    return target


def _numbers_from(version: int) -> list[str]:
    """The numbers of the migration files from ``version`` on, as migrate names them."""
    return [f"{m.version:04d}" for m in load_migrations() if m.version >= version]


async def _chunks_table(conn: asyncpg.Connection, schema: str) -> dict[str, list[str]]:
    """The columns, indexes and triggers of ``document_chunks``."""
    table = f'"{schema}".document_chunks'
    columns = await conn.fetch(
        "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 "
        "AND NOT attisdropped ORDER BY attnum", table)
    indexes = await conn.fetch(
        "SELECT indexname FROM pg_indexes WHERE schemaname = $1 "
        "AND tablename = 'document_chunks' ORDER BY indexname", schema)
    triggers = await conn.fetch(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal "
        "ORDER BY tgname", table)
    return {"columns": [r["attname"] for r in columns],
            "indexes": [r["indexname"] for r in indexes],
            "triggers": [r["tgname"] for r in triggers]}


async def test_the_chunks_table_keeps_only_what_this_and_the_previous_release_use(
    conn: asyncpg.Connection, pg_schema: str
) -> None:
    """After the contract step (0012): no vector columns, no trigger mirroring them, and
    the member GIN index as keyword search's only index besides the keys."""
    assert await _chunks_table(conn, pg_schema) == {
        "columns": ["chunk_id", "document_id", "user_id", "ordinal", "text", "token_count",
                    "heading_path", "page", "char_start", "char_end", "chunker",
                    "text_search"],
        "indexes": ["document_chunks_member_text_search", "document_chunks_order",
                    "document_chunks_pkey"],
        "triggers": ["document_chunk_totals_after_delete",
                     "document_chunk_totals_after_insert",
                     "document_chunk_totals_after_update",
                     "document_chunks_text_search_on_insert",
                     "document_chunks_text_search_on_update"],
    }
    assert not await conn.fetchval(
        "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = $1 AND p.proname = 'chunk_embeddings_from_old_columns'", pg_schema)


async def test_the_contract_step_on_a_populated_schema_keeps_every_chunk_vector_and_match(
    postgres_dsn: str, conn: asyncpg.Connection, blank_schema: str, tmp_path: Path
) -> None:
    """Documents completed on the schema before 0012 keep their chunks, vectors, totals
    and keyword matches through the contract step, 0013 and 0014, and the worker
    completes new documents after them. The first document's chunks and vector are
    written as the release that shipped 0011 wrote them (no tsvector named: the
    generated column computed it); this release's chunk statement names the column, so
    it runs on the migrated schema only, as a deploy runs it."""
    await migrate(conn, blank_schema, 8, _migrations_before(tmp_path, CONTRACT_THE_CHUNKS))
    pool = await create_pool(postgres_dsn, blank_schema, min_size=1, max_size=2)
    try:
        queue = PostgresJobQueue(pool, FakeClock(), blank_schema, vector_dimension=8)
        first = await submit(queue, MARIA, b"maria's policy", FakeClock().now())
        texts = ["Orthodontia is covered at 50%", "Copay is $20 per visit"]
        s = f'"{blank_schema}"'
        await conn.execute(
            f"INSERT INTO {s}.document_chunks (document_id, user_id, chunk_id, ordinal, "
            "text, token_count, chunker) SELECT $1, $2, gen_random_uuid(), n::int - 1, t, 6, "
            "'before' FROM unnest($3::text[]) WITH ORDINALITY AS u(t, n)",
            first.document.document_id, MARIA, texts)
        await conn.execute(
            f"INSERT INTO {s}.chunk_embeddings (chunk_id, document_id, user_id, model, "
            f"embedding) SELECT chunk_id, document_id, user_id, 'text-embedding-3-small', "
            f"'[1,0,0,0,0,0,0,0]' FROM {s}.document_chunks")
        await conn.execute(f"UPDATE {s}.upload_jobs SET status = 'complete'")
        counts = (f"SELECT (SELECT count(*) FROM {s}.document_chunks), "
                  f"(SELECT count(*) FROM {s}.chunk_embeddings), "
                  f"(SELECT sum(chunks) FROM {s}.document_chunk_totals)")
        before = tuple(await conn.fetchrow(counts))
        assert before == (2, 2, 2)

        applied = await migrate(conn, blank_schema, 8)

        # the contract step, then the expand steps after it (0013 recounts totals from a
        # document's own chunks, 0014 lets the writer supply the tsvector)
        assert [name[:4] for name in applied] == _numbers_from(CONTRACT_THE_CHUNKS)
        assert tuple(await conn.fetchrow(counts)) == before
        table = await _chunks_table(conn, blank_schema)
        assert not [c for c in table["columns"] if c.startswith("embedding")]
        assert table["indexes"] == ["document_chunks_member_text_search",
                                    "document_chunks_order", "document_chunks_pkey"]
        hits = await PostgresDocumentRepository(pool, blank_schema).search(
            MARIA, [1.0] + [0.0] * 7, "text-embedding-3-small", 0.0, 5,
            text="orthodontia", mode=SearchMode.KEYWORD)
        assert [h.chunk.text for h in hits] == texts[:1]

        await submit(queue, MARIA, b"maria's dental rider", FakeClock().now())
        [lease] = await queue.claim("worker-1", 1, LEASE)
        assert await run_to(queue, lease, JobStatus.COMPLETE, 8, ["Sealants are free"]) is None
        assert tuple(await conn.fetchrow(counts)) == (3, 3, 3)
    finally:
        await pool.close()
