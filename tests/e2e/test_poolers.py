"""The services through a real pooler, as they reach Supabase through Supavisor.

PgBouncer (Debian's package) sits in front of the test run's PostgreSQL, in
transaction mode (Supavisor's port 6543) and in session mode (port 5432). The API
and two workers each have a home and a working folder of their own and reach the
database only through the pooler; migrations run on the direct connection, as the
blueprint's pre-deploy command does. Real policies must complete, and search and
answers must work, in both modes.

Then each pooler mode meets each ``DATABASE_POOLER_MODE``: the API either starts
and answers, or stops at once with a message naming the setting to change, never
a traceback.

The two ways the services have failed to start behind a pooler are what it
guards: in transaction mode, the probe connection's prepared statements colliding
in the pooler; in session mode with the default setting, the pooler refusing the
``search_path`` startup parameter.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.corpus import CORPUS_DIR, REPO_DIR
from tests.e2e.conftest import (
    FAST_WORKER,
    SECRET,
    START_TIMEOUT,
    drop_schema,
    member_client,
    navigator_command,
    upload_and_follow,
    wait_for,
)
from tests.e2e.test_separate_machines import SCHEMA, Topology
from tests.pooler import Poolers, PoolMode
from tests.ports import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

MEMBER = "member-pooled-maria"
POLICIES = ("simulated_insurance_document.pdf", "scan_classic_hmo.pdf")
#: (the pooler's mode, DATABASE_POOLER_MODE given to the services; None: unset, auto)
SETUPS = {"transaction": "true", "session": None}


def _answers(url: str) -> bool:
    try:
        return httpx.get(url + "/health", timeout=2).status_code in (200, 503)
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module", params=list(SETUPS))
def pooled(request: pytest.FixtureRequest, postgres_dsn: str, poolers: Poolers,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    """Migrate directly, then start the API and two workers through the pooler."""
    mode: PoolMode = request.param
    shared = {"DATABASE_URL": poolers.dsn(mode), "DATABASE_SCHEMA": SCHEMA,
              "ENVIRONMENT": "staging", "SUPABASE_JWT_SECRET": SECRET}
    setting = SETUPS[mode]
    if setting is not None:
        shared["DATABASE_POOLER_MODE"] = setting
    root = tmp_path_factory.mktemp(f"pooled-{mode}")
    topology = Topology(postgres_dsn, free_port(), shared)  # .sql() goes direct
    drop_schema(postgres_dsn, SCHEMA)
    try:
        api = topology.machine("api", root, SERVICE_HOST="127.0.0.1",
                               SERVICE_PORT=str(topology.port))
        migrated = subprocess.run([*navigator_command(), "migrate"],
                                  env={**api.env, "DATABASE_URL": postgres_dsn},
                                  cwd=api.workdir, capture_output=True, text=True,
                                  timeout=120, check=False)
        assert migrated.returncode == 0, migrated.stderr
        api_service = topology.start(api, "api")
        wait_for(lambda: _answers(topology.url) or not api_service.alive(),
                 "the API to answer", 3 * START_TIMEOUT, interval=0.5, logs=topology.logs)
        assert api_service.alive(), topology.logs()
        for name in ("worker-a", "worker-b"):
            topology.start(topology.machine(name, root, **FAST_WORKER), "worker")
        wait_for(lambda: len(topology.sql("SELECT 1 FROM {s}.workers")) == 2,
                 "both workers to register", 3 * START_TIMEOUT, interval=0.5,
                 logs=topology.logs)
        yield topology
    finally:
        for service in topology.services:
            service.stop()
        drop_schema(postgres_dsn, SCHEMA)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def member(pooled: Topology) -> Iterator[httpx.Client]:
    with member_client(pooled.url, MEMBER) as client:
        yield client


@pytest.fixture(scope="module")
def finished(pooled: Topology, member: httpx.Client) -> dict[str, dict[str, Any]]:
    """Each real policy uploaded over HTTP and followed to its end."""
    return upload_and_follow(member, POLICIES, pooled.logs, 180)


def test_real_policies_complete_through_the_pooler(
    pooled: Topology, finished: dict[str, dict[str, Any]],
) -> None:
    for name, job in finished.items():
        assert job["status"] == "complete", (name, job["last_error"], pooled.logs())
        workers = {event["worker"] for event in job["history"] if event["worker"]}
        assert workers and workers <= {row["worker_id"] for row in
                                       pooled.sql("SELECT worker_id FROM {s}.workers")}


def test_search_through_the_pooler_finds_the_plans_maximum_out_of_pocket(
    member: httpx.Client, finished: dict[str, dict[str, Any]],
) -> None:
    response = member.post("/api/v1/search", json={"query": "maximum out-of-pocket"})

    assert response.status_code == 200, response.text
    hits = [c for c in response.json()["chunks"]
            if c["filename"] == "scan_classic_hmo.pdf" and "$1,500" in c["text"]]
    assert hits


def test_an_answer_through_the_pooler_cites_the_members_own_policy(
    member: httpx.Client, finished: dict[str, dict[str, Any]],
) -> None:
    response = member.post("/api/v1/answers",
                           json={"question": "What is the maximum out-of-pocket amount?"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["covered"] is True
    assert body["citations"]
    assert {c["filename"] for c in body["citations"]} <= set(POLICIES)


def test_a_failed_document_retried_by_its_member_runs_again_through_the_pooler(
    pooled: Topology, member: httpx.Client, finished: dict[str, dict[str, Any]],
) -> None:
    uploaded = member.post("/api/v1/documents", files={
        "file": ("broken_startxref.pdf", (CORPUS_DIR / "broken_startxref.pdf").read_bytes())})
    assert uploaded.status_code == 202, uploaded.text
    job_id = uploaded.json()["job"]["id"]

    def ended(after: int) -> dict[str, Any] | None:
        job: dict[str, Any] = member.get(f"/api/v1/jobs/{job_id}").json()
        return job if job["status"] == "failed" and len(job["history"]) > after else None

    first = wait_for(lambda: ended(0), "the damaged PDF to fail", 60, logs=pooled.logs)
    retried = member.post(f"/api/v1/jobs/{job_id}/retry")
    assert retried.status_code in (200, 202), retried.text
    second = wait_for(lambda: ended(len(first["history"]) + 1), "the retried PDF to fail again",
                      60, logs=pooled.logs)

    assert second["failed_stage"] == "parse"
    statuses = [event["to_status"] for event in second["history"]]
    assert statuses.count("failed") == 2 and statuses.count("parsing") == 2


def test_health_and_the_operators_status_work_through_the_pooler(
    pooled: Topology, finished: dict[str, dict[str, Any]],
) -> None:
    body = httpx.get(pooled.url + "/health", timeout=10).json()
    assert body["status"] == "ok", body
    assert body["database"]["pending_migrations"] == []
    assert body["workers"]["live"] == 2

    status = pooled.run(pooled.machines["api"], "status")
    assert status.returncode == 0, status.stderr
    assert "complete" in status.stdout


def test_workers_listen_for_notices_only_where_a_session_can_hold_them(
    request: pytest.FixtureRequest, pooled: Topology, finished: dict[str, dict[str, Any]],
) -> None:
    listening = pooled.sql(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE 'LISTEN %' "
        "AND query LIKE $1", f"%{SCHEMA}_jobs%")[0]["n"]

    mode = request.node.callspec.params["pooled"]
    assert listening == {"transaction": 0, "session": 2}[mode]  # in transaction mode: polls


def test_no_service_logged_a_traceback_or_a_prepared_statement_error(
    pooled: Topology, finished: dict[str, dict[str, Any]],
) -> None:
    for service in pooled.services:
        text = service.log.read_text(errors="replace")
        assert "Traceback" not in text, service.tail()
        assert "prepared statement" not in text, service.tail()


# -- each pooler mode against each setting --------------------------------------------------

MATRIX = [
    ("transaction", "auto", "starts"),
    ("transaction", "transaction", "starts"),
    ("transaction", "false", "refused"),
    ("session", "auto", "starts"),
    ("session", "false", "starts"),
    ("session", "true", "starts"),
]


@pytest.mark.parametrize(("mode", "setting", "outcome"), MATRIX)
def test_the_api_starts_or_names_the_setting_to_change(
    postgres_dsn: str, poolers: Poolers, tmp_path_factory: pytest.TempPathFactory,
    mode: PoolMode, setting: str, outcome: str,
) -> None:
    schema = f"e2e_pooler_{mode}_{setting}"
    home = tmp_path_factory.mktemp("pooler-matrix")
    port = free_port()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("OPENAI_", "LLAMAPARSE_", "DATABASE_", "SUPABASE_",
                                  "WORKER_", "RAG_", "SERVICE_", "NAVIGATOR_", "S3_",
                                  "FILE_STORE", "BLOB_", "UPLOAD_"))}
    env.update({"NAVIGATOR_HOME": str(home), "PYTHONUNBUFFERED": "1",
                "DATABASE_URL": poolers.dsn(mode), "DATABASE_SCHEMA": schema,
                "DATABASE_POOLER_MODE": setting, "SUPABASE_JWT_SECRET": SECRET,
                "SERVICE_HOST": "127.0.0.1", "SERVICE_PORT": str(port)})
    command = navigator_command()
    try:
        migrated = subprocess.run([*command, "migrate"],
                                  env={**env, "DATABASE_URL": postgres_dsn}, cwd=REPO_DIR,
                                  capture_output=True, text=True, timeout=120, check=False)
        assert migrated.returncode == 0, migrated.stderr
        log = home / "api.log"
        with log.open("wb") as out:
            api = subprocess.Popen([*command, "api"], env=env, cwd=REPO_DIR, stdout=out,
                                   stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for(lambda: _answers(url) or api.poll() is not None, "the API to answer or "
                     "stop", 3 * START_TIMEOUT, interval=0.3, logs=log.read_text)
            text = log.read_text(errors="replace")
            if outcome == "starts":
                assert api.poll() is None, text
                database = httpx.get(url + "/health", timeout=10).json()["database"]
                assert database["reachable"] is True, database
                assert database["pending_migrations"] == [], database
            else:
                assert api.wait(timeout=30) != 0
                assert "DATABASE_POOLER_MODE=transaction" in log.read_text(), text
            assert "Traceback" not in log.read_text(errors="replace"), text
        finally:
            if api.poll() is None:
                api.terminate()
                api.wait(timeout=30)
    finally:
        drop_schema(postgres_dsn, schema)
