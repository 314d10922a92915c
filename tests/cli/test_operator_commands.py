"""The operator's commands against a real schema: status, retry, migrate, the
worker's health check and the deployment checklist."""

from __future__ import annotations

import json
import socket
import uuid
from datetime import timedelta

import pytest

from adapters.postgres.connection import connect
from adapters.postgres.migrations import migrations_source
from domain.model import Job
from entrypoints.container import Container
from tests.cli.conftest import Cli
from tests.fakes.anthropic_models_server import FakeAnthropicModels
from tests.fakes.fixtures import llamaparse_server, openai_server
from tests.fakes.llamaparse_server import FakeLlamaParse
from tests.fakes.openai_server import FakeOpenAI
from tests.ports import free_port

pytestmark = pytest.mark.postgres
__all__ = ["llamaparse_server", "openai_server"]  # fixtures

MEMBER = "member-cli"
LEASE = timedelta(seconds=30)
DAMAGED = "this PDF is damaged and has no text we can read"


async def upload(container: Container, name: str) -> Job:
    text = f"# {name}\n\nThe deductible is $250 per year.\n".encode()
    submission = await container.submit_upload()(MEMBER, name, text)
    return submission.job


async def failed_job(container: Container, name: str = "damaged.md") -> Job:
    job = await upload(container, name)
    [lease] = await container.job_queue().claim("worker-cli-test", 1, LEASE)
    assert lease.job_id == job.job_id
    return await container.job_queue().fail(lease, DAMAGED)


async def drop(dsn: str, schema: str) -> None:
    conn = await connect(dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


# -- status -----------------------------------------------------------------------------------


async def test_status_shows_counts_the_oldest_waiting_job_recent_failures_and_live_workers(
    db_cli: Cli, container: Container,
) -> None:
    failed = await failed_job(container)
    waiting = await upload(container, "waiting.md")
    await container.worker_registry().register("worker-on-duty", "host-a", 4242)

    result = await db_cli.run_async("status")

    assert result.code == 0, result.err
    lines = result.out.splitlines()
    [uploaded] = [line for line in lines if line.split()[:2] == ["uploaded", "1"]]
    assert "oldest ready for" in uploaded
    assert any(line.split() == ["failed", "1"] for line in lines)
    assert any(line.split() == ["total", "2"] for line in lines)
    assert f"oldest waiting job: {waiting.job_id} (waiting.md), uploaded for" in result.out
    assert f"{failed.job_id}  damaged.md" in result.out
    assert f"at parse: {DAMAGED}" in result.out
    assert "worker-on-duty  pid 4242 on host-a" in result.out
    assert "1 failed (parse 1), 0 retried" in result.out


async def test_status_as_json_gives_the_figures_metrics_shows_and_the_details(
    db_cli: Cli, container: Container,
) -> None:
    failed = await failed_job(container)
    waiting = await upload(container, "waiting.md")
    await container.worker_registry().register("worker-on-duty", "host-a", 4242)

    result = await db_cli.run_async("status", "--json")

    assert result.code == 0, result.err
    status = json.loads(result.out)
    assert status["jobs"]["uploaded"] == status["jobs"]["failed"] == 1
    assert status["total"] == 2
    assert set(status["oldest_waiting_seconds"]) == {
        "uploaded", "parsed", "parse_validated", "chunks_stored", "embedding_queued",
        "embeddings_stored"}
    assert status["oldest_waiting_seconds"]["uploaded"] >= 0
    assert status["recent_failures"]["parse"] == 1
    assert sum(status["recent_retries"].values()) == 0
    assert (status["leases_past_due"], status["recent_completions"]) == (0, 0)
    assert status["window_seconds"] == 900
    assert status["live_workers"] == 1
    assert status["oldest_waiting_job"]["job_id"] == str(waiting.job_id)
    [failure] = status["failed_jobs"]
    assert (failure["job_id"], failure["failed_stage"], failure["last_error"]) == (
        str(failed.job_id), "parse", DAMAGED)
    assert [w["id"] for w in status["workers"]] == ["worker-on-duty"]


async def test_status_of_an_empty_queue_says_nothing_waits_and_no_worker_runs(
    db_cli: Cli, container: Container,
) -> None:
    result = await db_cli.run_async("status")
    assert result.code == 0
    assert "nothing is waiting" in result.out
    assert "recent failures: none" in result.out
    assert "live workers: none" in result.out


async def test_status_of_a_schema_never_migrated_says_to_run_migrate(db_cli: Cli) -> None:
    db_cli.set(DATABASE_SCHEMA=f"never_{uuid.uuid4().hex[:8]}")
    result = await db_cli.run_async("status")
    assert result.code == 1
    assert "navigator migrate" in result.err


# -- retry ------------------------------------------------------------------------------------


async def test_retry_sends_a_failed_job_back_to_the_step_that_failed(
    db_cli: Cli, container: Container,
) -> None:
    failed = await failed_job(container)
    result = await db_cli.run_async("retry", str(failed.job_id))
    assert result.code == 0, result.err
    assert "will run again from uploaded" in result.out
    job = await container.job_queue().get_job(failed.job_id)
    assert (job.status, job.attempts, job.last_error) == ("uploaded", 0, None)
    history = await container.job_queue().history(failed.job_id)
    assert history[-1].detail == "retried by operator"


async def test_retrying_a_job_that_has_not_failed_is_refused_as_a_conflict(
    db_cli: Cli, container: Container,
) -> None:
    job = await upload(container, "fine.md")
    result = await db_cli.run_async("retry", str(job.job_id))
    assert result.code == 1
    assert "conflict: only a failed job can be retried; this one is uploaded" in result.err


async def test_retrying_an_unknown_job_says_there_is_no_such_job(db_cli: Cli) -> None:
    missing = uuid.uuid4()
    result = await db_cli.run_async("retry", str(missing))
    assert result.code == 1
    assert f"no job {missing}" in result.err


def test_retry_of_something_that_is_not_a_job_id_is_a_usage_error(cli: Cli) -> None:
    result = cli.run("retry", "last-tuesday")
    assert result.code == 2
    assert "JOB_ID must be a job's UUID" in result.err


# -- migrate ----------------------------------------------------------------------------------


async def test_migrate_applies_the_files_once_then_reports_the_schema_up_to_date(
    db_cli: Cli, postgres_dsn: str,
) -> None:
    schema = f"cli_migrate_{uuid.uuid4().hex[:8]}"
    db_cli.set(DATABASE_SCHEMA=schema)
    try:
        first = await db_cli.run_async("migrate")
        second = await db_cli.run_async("migrate")
    finally:
        await drop(postgres_dsn, schema)
    assert first.code == 0, first.err
    files = sorted(p.name for p in migrations_source().glob("*.sql"))
    assert f"applied {len(files)} migration(s) to schema {schema}" in first.out
    assert all(name in first.out for name in files)
    assert second.code == 0
    assert "up to date; nothing to apply" in second.out


# -- worker --check ---------------------------------------------------------------------------


async def test_the_worker_health_check_passes_and_counts_the_jobs_ready_to_claim(
    db_cli: Cli, container: Container,
) -> None:
    await upload(container, "ready.md")
    result = await db_cli.run_async("worker", "--check")
    assert result.code == 0
    assert result.out.strip().startswith("healthy: database reachable, 1 job(s) ready to claim")
    assert len(result.out.strip().splitlines()) == 1


async def test_the_worker_health_check_fails_when_the_database_cannot_be_reached(
    db_cli: Cli,
) -> None:
    db_cli.set(DATABASE_URL="postgresql://postgres@/postgres?host=/nonexistent-socket-dir")
    result = await db_cli.run_async("worker", "--check")
    assert result.code == 1
    assert result.out.startswith("unhealthy: cannot reach PostgreSQL")


async def test_the_worker_health_check_fails_on_a_schema_without_tables(db_cli: Cli) -> None:
    db_cli.set(DATABASE_SCHEMA=f"never_{uuid.uuid4().hex[:8]}")
    result = await db_cli.run_async("worker", "--check")
    assert result.code == 1
    assert "navigator migrate" in result.out


async def test_a_worker_refuses_to_start_before_the_migrations_it_needs(
    db_cli: Cli, postgres_dsn: str, pg_schema: str,
) -> None:
    """A release's worker started before `navigator migrate` ran (the blueprint's
    pre-deploy command runs it first) would fail every chunk step: it says so instead."""
    last = sorted(migrations_source().glob("*.sql"))[-1].name
    conn = await connect(postgres_dsn)
    try:
        await conn.execute(f'DELETE FROM "{pg_schema}".schema_migrations '
                           "WHERE version = $1", int(last[:4]))
    finally:
        await conn.close()

    result = await db_cli.run_async("worker")

    assert result.code == 1
    assert f"1 migration(s) this worker needs are not applied to schema {pg_schema} " \
        f"({last}): run `navigator migrate` first" in result.err
    assert "Traceback" not in result.err


async def test_a_worker_whose_metrics_port_is_taken_says_which_variable_to_change(
    db_cli: Cli,
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        db_cli.set(SERVICE_HOST="127.0.0.1", WORKER_METRICS_PORT=str(port))
        result = await db_cli.run_async("worker")
    assert result.code == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.err
    assert "WORKER_METRICS_PORT" in result.err
    assert "Traceback" not in result.err


# -- validate ---------------------------------------------------------------------------------
# The whole checklist against a real API and worker is in tests/e2e/test_validate.py; here
# the parts that need no running services: settings, database, hosted keys, exit codes.


def crosses(out: str) -> list[str]:
    return [line.split(":")[0] for line in out.splitlines() if line.startswith("✗")]


async def test_validate_names_every_problem_of_a_misconfigured_production_deployment(
    db_cli: Cli, container: Container,
) -> None:
    db_cli.unset("SUPABASE_JWT_SECRET")
    db_cli.set(ENVIRONMENT="production", CORS_ORIGINS="*", RAG_VECTOR_DIMENSION="16")
    result = await db_cli.run_async("validate", "--api", f"http://127.0.0.1:{free_port()}",
                                    "--timeout", "1")
    assert result.code == 1
    for item in ("✗ vector dimension", "✗ live worker", "✗ API reaches the database",
                 "✗ canary document processed", "✗ CORS preflight from an allowed origin is "
                 "accepted", "✗ token scheme in force", "✗ schema is this environment's own"):
        assert item in crosses(result.out), result.out
    assert "RAG_VECTOR_DIMENSION is 16" in result.out
    assert "no token for the canaries: SUPABASE_JWT_SECRET must be set" in result.out
    assert "CORS_ORIGINS is * (every origin): list the app's origins in production" \
        in result.out
    assert "neither SUPABASE_JWT_SECRET nor SUPABASE_URL is set in production" in result.out
    assert "✓ nothing of the canaries left: no canary was created" in result.out


async def test_validate_reports_a_database_it_cannot_reach(db_cli: Cli) -> None:
    db_cli.set(DATABASE_URL="postgresql://postgres@/postgres?host=/nonexistent-socket-dir")
    result = await db_cli.run_async("validate", "--api", f"http://127.0.0.1:{free_port()}",
                                    "--timeout", "1")
    assert result.code == 1
    assert "✗ database reachable: cannot reach PostgreSQL at socket /nonexistent-socket-dir" \
        in result.out
    assert "✗ SQL invariants: the database cannot be reached" in result.out


def test_validate_with_settings_that_do_not_load_fails_naming_the_variable(cli: Cli) -> None:
    cli.set(WORKER_CONCURRENCY="0")
    result = cli.run("validate")
    assert result.code == 1
    assert result.out.startswith(
        "connectivity\n✗ settings load: WORKER_CONCURRENCY must be between 1 and 256")


def test_validate_json_says_what_failed_for_machines(cli: Cli) -> None:
    cli.set(WORKER_CONCURRENCY="0")
    result = cli.run("validate", "--json")
    assert result.code == 1
    body = json.loads(result.out)
    assert body["passed"] is False
    assert body["checks"][0]["item"] == "settings load"
    assert body["checks"][0]["passed"] is False


async def test_validate_checks_each_configured_hosted_key_with_a_call_that_costs_nothing(
    db_cli: Cli, openai_server: FakeOpenAI, llamaparse_server: FakeLlamaParse,
) -> None:
    with FakeAnthropicModels() as anthropic_server:
        db_cli.set(OPENAI_API_KEY=openai_server.api_key, OPENAI_BASE_URL=openai_server.base_url,
                   LLAMAPARSE_API_KEY="llx-wrong-key-never-shown-5678",
                   LLAMAPARSE_BASE_URL=llamaparse_server.base_url,
                   ANTHROPIC_API_KEY=anthropic_server.api_key,
                   ANTHROPIC_BASE_URL=anthropic_server.base_url)
        result = await db_cli.run_async("validate", "--api",
                                        f"http://127.0.0.1:{free_port()}", "--timeout", "1")
    assert "✓ OpenAI key: key accepted (3 models listed; text-embedding-3-small available)" \
        in result.out
    assert "✗ LlamaParse key: the provider refused the key (401)" in result.out
    assert "✓ Anthropic key: key accepted (2 models listed)" in result.out
    assert "never-shown" not in result.out + result.err
    assert openai_server.request_count == 0 and llamaparse_server.uploads == 0


@pytest.mark.parametrize("argv", [("--api", "api.example.org"), ("--load", "0"),
                                  ("--timeout", "0")])
def test_validate_refuses_bad_arguments_naming_them(cli: Cli, argv: tuple[str, str]) -> None:
    result = cli.run("validate", *argv)
    assert result.code == 2
    assert argv[0] in result.err
