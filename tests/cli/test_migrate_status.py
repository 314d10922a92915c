"""``navigator migrate --status``: what is applied, pending or changed, with checksums,
without applying anything; its exit code lets a deploy script stop on pending work."""

from __future__ import annotations

import re
import uuid

import asyncpg
import pytest

from adapters.postgres.migrations import SUPERSEDED, load_migrations
from tests.cli.conftest import Cli
from tests.cli.test_operator_commands import drop

pytestmark = pytest.mark.postgres


async def test_a_migrated_schema_lists_every_file_applied_with_its_checksum_and_exits_0(
    db_cli: Cli,
) -> None:
    result = await db_cli.run_async("migrate", "--status")

    assert result.code == 0, result.err
    files = load_migrations()
    for migration in files:
        [line] = [ln for ln in result.out.splitlines() if migration.filename in ln]
        assert line.split()[:3] == ["applied", migration.filename, migration.checksum]
    assert f"{len(files)} applied, 0 pending" in result.out


async def test_a_new_schema_lists_every_file_pending_applies_nothing_and_exits_1(
    db_cli: Cli, conn: asyncpg.Connection, postgres_dsn: str,
) -> None:
    schema = f"cli_status_{uuid.uuid4().hex[:8]}"
    db_cli.set(DATABASE_SCHEMA=schema)
    try:
        result = await db_cli.run_async("migrate", "--status")
        created = await conn.fetchval(
            "SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema)
    finally:
        await drop(postgres_dsn, schema)

    assert result.code == 1
    assert "(the schema does not exist yet)" in result.out
    pending = [ln.split()[1] for ln in result.out.splitlines() if ln.startswith("  pending ")]
    assert pending == [m.filename for m in load_migrations()]
    assert "run `navigator migrate` to apply them" in result.out
    assert created == 0


async def test_a_changed_file_is_shown_with_both_checksums_and_exits_1(
    db_cli: Cli, conn: asyncpg.Connection, pg_schema: str,
) -> None:
    await conn.execute(
        f'UPDATE "{pg_schema}".schema_migrations SET checksum = $1 WHERE version = 2', "e" * 64)

    result = await db_cli.run_async("migrate", "--status")

    assert result.code == 1
    second = load_migrations()[1]
    # the file names are padded to the longest one's width
    assert re.search(rf"changed +{re.escape(second.filename)} +{second.checksum}", result.out)
    assert f"recorded as  {'e' * 64}" in result.out
    assert "`navigator migrate` refuses to run" in result.out


async def test_the_first_text_of_0006_shows_as_superseded_and_counts_as_up_to_date(
    db_cli: Cli, conn: asyncpg.Connection, pg_schema: str,
) -> None:
    [old] = SUPERSEDED[6]
    await conn.execute(
        f'UPDATE "{pg_schema}".schema_migrations SET checksum = $1 WHERE version = 6', old)

    result = await db_cli.run_async("migrate", "--status")

    assert result.code == 0, result.out
    [line] = [ln for ln in result.out.splitlines() if ln.startswith("  superseded")]
    assert "0006_vectors_in_their_own_table.sql" in line
    assert f"recorded as  {old}" in result.out


async def test_a_recorded_migration_this_code_lacks_shows_as_missing_and_exits_1(
    db_cli: Cli, conn: asyncpg.Connection, pg_schema: str,
) -> None:
    await conn.execute(
        f'INSERT INTO "{pg_schema}".schema_migrations (version, name, checksum) '
        "VALUES (9999, 'from_a_newer_release', $1)", "f" * 64)

    result = await db_cli.run_async("migrate", "--status")

    assert result.code == 1
    [line] = [ln for ln in result.out.splitlines() if "9999_" in ln]
    assert line.split()[:3] == ["missing", "9999_from_a_newer_release.sql", "f" * 64]
    assert "1 missing" in result.out
    assert "this code is older than the database" in result.out


@pytest.mark.parametrize(("step", "state", "code"), [("expand", "newer", 0),
                                                     ("contract", "missing", 1)])
async def test_a_later_release_s_migration_is_newer_when_it_only_expanded(
    db_cli: Cli, conn: asyncpg.Connection, pg_schema: str, step: str, state: str, code: int,
) -> None:
    await conn.execute(
        f'INSERT INTO "{pg_schema}".schema_migrations (version, name, checksum, step) '
        "VALUES (9999, 'from_a_newer_release', $1, $2)", "f" * 64, step)

    result = await db_cli.run_async("migrate", "--status")

    assert result.code == code, result.out
    [line] = [ln for ln in result.out.splitlines() if "9999_" in ln]
    assert line.split()[:2] == [state, "9999_from_a_newer_release.sql"]
    assert f"1 {state}" in result.out
    explained = ("this code runs on them" if state == "newer"
                 else "this code is older than the database")
    assert explained in result.out
