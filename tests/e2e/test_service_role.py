"""The services as a least-privilege role: ``navigator migrate`` and ``navigator
grant-service-role`` as the owner, then ``navigator api`` and ``navigator worker`` as
real processes logged in as a role that may read and write rows and nothing more.

A real policy must come out ``complete`` and be found by search; the role must be
refused any change to a table; ``navigator validate``, run with the services'
settings, must pass and name the role.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import asyncpg
import attrs
import pytest

from adapters.postgres.connection import connect
from tests.e2e.conftest import Deployment, drop_schema, make_deployment, navigator_command
from tests.roles import create_login_role, drop_role, dsn_as

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

POLICY = "scan_classic_hmo.pdf"


@attrs.frozen
class Deployed:
    owner: Deployment
    service: Deployment
    role: str


def _on_server(dsn: str, run: Any) -> Any:
    async def go() -> Any:
        conn = await connect(dsn)
        try:
            return await run(conn)
        finally:
            await conn.close()

    return asyncio.run(go())


@pytest.fixture(scope="module")
def deployed(postgres_dsn: str, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[Deployed]:
    home = tmp_path_factory.mktemp("service-role")
    owner = make_deployment(postgres_dsn, home)  # migrated as the owner
    role: str = _on_server(postgres_dsn, create_login_role)
    service_dsn = dsn_as(postgres_dsn, role)
    service = Deployment(service_dsn, owner.schema, home, owner.port,
                         {**owner.env, "DATABASE_URL": service_dsn})
    try:
        granted = owner.run("grant-service-role", role)
        assert granted.returncode == 0, granted.stderr
        assert granted.stdout.startswith(f"{role} granted read and write rights"), granted.stdout
        service.start_api()
        service.start_worker()
        yield Deployed(owner, service, role)
    finally:
        service.stop_all()
        drop_schema(postgres_dsn, owner.schema)
        _on_server(postgres_dsn, lambda conn: drop_role(conn, role))
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def completed(deployed: Deployed) -> dict[str, Any]:
    with deployed.service.client() as member:
        response = deployed.service.upload(member, POLICY)
        assert response.status_code == 202, response.text
        return deployed.service.wait_until_done(member, response.json()["job"]["id"], 120)


def test_the_api_and_the_worker_are_logged_in_as_the_service_role(
    deployed: Deployed, completed: dict[str, Any],
) -> None:
    sessions = deployed.owner.sql(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE usename = $1", deployed.role)
    assert sessions[0]["n"] >= 2  # the API's pool and the worker's


def test_a_real_policy_is_completed_and_found_by_search_as_the_service_role(
    deployed: Deployed, completed: dict[str, Any],
) -> None:
    assert completed["status"] == "complete", (completed["last_error"],
                                               deployed.service.logs())
    with deployed.service.client() as member:
        response = member.post("/api/v1/search", json={"query": "maximum out-of-pocket"})
    assert response.status_code == 200
    hits = [c for c in response.json()["chunks"] if c["filename"] == POLICY
            and "$1,500" in c["text"]]
    assert hits, response.json()["chunks"]


@pytest.mark.parametrize("ddl", [
    "CREATE TABLE {s}.smuggled (id int)",
    "ALTER TABLE {s}.upload_jobs ADD COLUMN smuggled text",
    "DROP TABLE {s}.job_events",
    "ALTER TABLE {s}.documents DISABLE ROW LEVEL SECURITY",
])
def test_a_ddl_statement_as_the_service_role_is_refused(deployed: Deployed, ddl: str) -> None:
    statement = ddl.replace("{s}", f'"{deployed.owner.schema}"')

    async def attempt(conn: asyncpg.Connection) -> None:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement)

    _on_server(deployed.service.dsn, attempt)


def test_migrate_with_the_service_roles_url_is_refused_naming_the_fix(
    deployed: Deployed,
) -> None:
    result = deployed.service.run("migrate")

    assert result.returncode == 1
    assert f"this connection is {deployed.role}" in result.stderr
    assert "set MIGRATION_DATABASE_URL to the owner's URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_takes_the_owners_url_from_migration_database_url(
    deployed: Deployed, postgres_dsn: str,
) -> None:
    """The services keep the service role's DATABASE_URL; the pre-deploy command,
    unchanged, migrates as the owner."""
    env = {**deployed.service.env, "MIGRATION_DATABASE_URL": postgres_dsn}
    status = subprocess.run([*navigator_command(), "migrate", "--status"], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    migrated = subprocess.run([*navigator_command(), "migrate"], env=env,
                              capture_output=True, text=True, timeout=120, check=False)

    assert status.returncode == 0, status.stderr
    assert migrated.returncode == 0, migrated.stderr
    assert "up to date; nothing to apply" in migrated.stdout
    assert postgres_dsn not in migrated.stdout + migrated.stderr


def test_granting_a_role_that_does_not_exist_says_how_to_create_it(deployed: Deployed) -> None:
    result = deployed.owner.run("grant-service-role", "navigator_nobody")

    assert result.returncode == 1
    assert result.stderr.startswith(
        "navigator grant-service-role: role navigator_nobody does not exist: create it first")
    assert "Traceback" not in result.stderr


def test_validate_as_the_service_role_passes_and_names_the_role(
    deployed: Deployed, completed: dict[str, Any],
) -> None:
    result = deployed.service.run("validate", "--api", deployed.service.url, "--json",
                                  "--load", "1", "--timeout", "60", timeout=240)
    report = json.loads(result.stdout)
    failed = [c for c in report["checks"] if not c["passed"]]
    assert failed == [], json.dumps(failed, indent=2) + deployed.service.logs()
    items = {c["item"]: c for c in report["checks"]}
    assert items["database role"]["detail"].startswith(f"{deployed.role} (service role: ")
    assert items["row-level security on every table"]["detail"].startswith("on for all ")
    assert items["pooler mode"]["data"] == {"pooler_setting": "auto", "pooler_mode": "session"}
