"""``navigator validate`` against real deployments: ``navigator api`` and ``navigator
worker`` as processes on the test server, and ``navigator validate`` as the operator
runs it, with the services' environment and ``--api``.

One deployment is healthy (staging-like: its own schema, a worker, one allowed
browser origin); the other is broken: validate is given another schema than the
API's, and no worker runs. Both must leave nothing of the canaries behind.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from entrypoints.cli.validate import VALIDATION_MEMBER
from tests.e2e.conftest import Deployment, drop_schema, make_deployment

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

ORIGIN = "https://app.example.org"
PIPELINE = ("uploaded → parsing → parsed → parse_validated → chunking → chunks_stored → "
            "embedding_queued → embedding_in_progress → embeddings_stored → complete")


@pytest.fixture(scope="module")
def healthy(postgres_dsn: str, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Deployment]:
    home = tmp_path_factory.mktemp("validate-healthy")
    deployment = make_deployment(postgres_dsn, home, ENVIRONMENT="staging",
                                 CORS_ORIGINS=ORIGIN)
    try:
        deployment.start_api()
        deployment.start_worker()
        yield deployment
    finally:
        deployment.stop_all()
        drop_schema(postgres_dsn, deployment.schema)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def broken(postgres_dsn: str, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Deployment]:
    """An API on its schema, no worker at all."""
    home = tmp_path_factory.mktemp("validate-broken")
    deployment = make_deployment(postgres_dsn, home, ENVIRONMENT="staging",
                                 CORS_ORIGINS=ORIGIN)
    try:
        deployment.start_api()
        yield deployment
    finally:
        deployment.stop_all()
        drop_schema(postgres_dsn, deployment.schema)
        shutil.rmtree(home, ignore_errors=True)


ORDINARY = b"# My own notes\n\nThe validation member's own document, not a canary.\n"
LEFT_OVER = b"# A canary of a run that was killed\n\nIt must be swept away.\n"


@pytest.fixture(scope="module")
def report(healthy: Deployment) -> dict[str, Any]:
    with healthy.client(VALIDATION_MEMBER) as member:
        assert healthy.upload(member, "notes.md", ORDINARY).status_code == 202
        assert healthy.upload(member, "navigator-validate-killedrun-canary.md",
                              LEFT_OVER).status_code == 202
    result = healthy.run("validate", "--api", healthy.url, "--json", "--load", "3",
                         "--timeout", "60", timeout=240)
    assert result.stdout.startswith("{"), result.stdout + result.stderr
    body: dict[str, Any] = json.loads(result.stdout)
    body["exit_code"] = result.returncode
    return body


def item(report: dict[str, Any], name: str) -> dict[str, Any]:
    found = [c for c in report["checks"] if c["item"] == name]
    assert len(found) == 1, f"{name!r} not in {[c['item'] for c in report['checks']]}"
    return found[0]


def test_a_healthy_deployment_passes_every_item_and_exits_zero(
    report: dict[str, Any], healthy: Deployment,
) -> None:
    failed = [c for c in report["checks"] if not c["passed"]]
    assert failed == [], json.dumps(failed, indent=2) + healthy.logs()
    assert report["exit_code"] == 0
    assert report["passed"] is True
    assert (report["environment"], report["schema"]) == ("staging", healthy.schema)
    sections = [c["section"] for c in report["checks"]]
    assert list(dict.fromkeys(sections)) == [
        "connectivity", "queue", "error handling", "retry logic", "transaction consistency",
        "performance under load", "security", "cleanup"]


def test_the_canary_goes_through_all_ten_statuses_in_order_and_is_deleted_without_trace(
    report: dict[str, Any],
) -> None:
    assert item(report, "canary document processed")["detail"].startswith(
        f"uploaded as member {VALIDATION_MEMBER}, complete in ")
    assert item(report, "canary history holds all ten statuses")["detail"] == PIPELINE
    assert item(report, "canary deleted")["detail"] == (
        "no document, job, history, chunk or stored file of it remains")


def test_the_damaged_canary_fails_at_parse_with_the_reason(report: dict[str, Any]) -> None:
    detail = item(report, "damaged canary fails with its reason")["detail"]
    assert detail.startswith("failed at parse after 1 attempt(s): ")
    assert "damaged" in detail


def test_the_retry_policy_is_shown_with_the_delays_it_will_use(report: dict[str, Any]) -> None:
    retry = item(report, "retry policy")
    # the e2e workers run with WORKER_RETRY_BASE_DELAY=0.2 and the default 3 retries
    assert retry["data"]["delays_seconds"] == [0.2, 0.4, 0.8]
    assert "after 0.2s, 0.4s, 0.8s" in retry["detail"]


def test_the_sql_invariants_hold_and_are_each_one_line(report: dict[str, Any]) -> None:
    rules = [c for c in report["checks"] if c["section"] == "transaction consistency"]
    assert [c["item"] for c in rules] == [
        "no job without its document", "no document without its job",
        "no history without its job", "no chunk without its job",
        "no vector without its model",
        "no vector filed under another document or member than its chunk's",
        "no complete document with a chunk left unembedded",
        "no bytes without a document"]
    assert all(c["data"]["violations"] == 0 for c in rules)


def test_the_load_check_reports_the_median_and_worst_time_of_all_canaries(
    report: dict[str, Any],
) -> None:
    load = item(report, "3 canaries at once")
    assert load["data"]["complete"] == 3
    assert 0 < load["data"]["median_seconds"] <= load["data"]["worst_seconds"]
    assert "median" in load["detail"] and "worst" in load["detail"]


def test_security_items_cover_tokens_cors_schema_and_keys(report: dict[str, Any],
                                                           healthy: Deployment) -> None:
    assert item(report, "a request without a token is refused")["detail"] == "401"
    assert item(report, "a request with a forged token is refused")["detail"] == "401"
    assert item(report, "CORS preflight from an allowed origin is accepted")["detail"] == (
        f"{ORIGIN}: 200, allow-origin {ORIGIN}")
    assert "not allowed" in item(report, "CORS preflight from another origin is refused")[
        "detail"]
    assert item(report, "schema is this environment's own")["detail"] == (
        f"API and workers use {healthy.schema}, not upload_pipeline (the other "
        "environment's)")
    assert item(report, "token scheme in force")["detail"] == (
        "HS256 with the legacy secret SUPABASE_JWT_SECRET")
    assert item(report, "OpenAI key")["detail"].startswith("OPENAI_API_KEY not set")


def test_nothing_of_the_canaries_is_left_and_nothing_else_is_touched(
    report: dict[str, Any], healthy: Deployment,
) -> None:
    cleanup = item(report, "nothing of the canaries left")
    assert cleanup["passed"]
    assert "1 left by an earlier run removed" in cleanup["detail"]
    rows = healthy.sql("SELECT filename FROM {s}.documents WHERE user_id = $1",
                       VALIDATION_MEMBER)
    assert [r["filename"] for r in rows] == ["notes.md"]
    assert healthy.sql("SELECT count(*) AS n FROM {s}.upload_jobs")[0]["n"] == 1


def test_a_deployment_on_another_schema_without_a_worker_shows_each_problem_as_a_cross(
    broken: Deployment,
) -> None:
    wrong = dict(broken.env, DATABASE_SCHEMA=f"{broken.schema}_other")
    validator = Deployment(broken.dsn, broken.schema, broken.home, broken.port, wrong)
    result = validator.run("validate", "--api", broken.url, "--load", "2", "--timeout", "3",
                           timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    crosses = [line.split(":")[0] for line in lines if line.startswith("✗")]
    for expected in ("✗ schema present", "✗ live worker", "✗ API reaches the database",
                     "✗ canary document processed", "✗ damaged canary fails with its reason",
                     "✗ 2 canaries at once", "✗ schema is this environment's own"):
        assert expected in crosses, result.stdout
    assert (f"✗ API reaches the database: the API uses schema {broken.schema}, this check "
            f"{broken.schema}_other") in result.stdout
    assert "✗ canary document processed: still uploaded after 3s" in result.stdout
    for passing in ("✓ a request without a token is refused",
                    "✓ a request with a forged token is refused"):
        assert any(line.startswith(passing) for line in lines), result.stdout
    # The canaries went into the API's schema and were all deleted from it.
    assert broken.sql("SELECT count(*) AS n FROM {s}.documents")[0]["n"] == 0
    assert any(line.startswith("✓ nothing of the canaries left") for line in lines), \
        result.stdout
