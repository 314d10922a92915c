"""A member's documents through the real services: ``navigator api`` and ``navigator
worker`` as processes, real files from the corpus, HTTP all the way; directly and
through PgBouncer in transaction and in session mode."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.corpus import CORPUS_DIR
from tests.e2e.conftest import ROUTES, Deployment, Service

pytestmark = [pytest.mark.e2e, pytest.mark.postgres,
              pytest.mark.parametrize("route", ROUTES, indirect=True, scope="module")]


@pytest.fixture(scope="module")
def services(deployment: Deployment) -> Iterator[tuple[Service, Service]]:
    api = deployment.start_api()
    worker = deployment.start_worker()
    yield api, worker


@pytest.fixture(scope="module")
def member(deployment: Deployment, services: object) -> Iterator[httpx.Client]:
    with deployment.client() as client:
        yield client


@pytest.fixture(scope="module")
def processed(deployment: Deployment, member: httpx.Client) -> dict[str, dict[str, object]]:
    """Every corpus file uploaded at once, and each followed to its end (or refusal)."""
    responses = {name: deployment.upload(member, name) for name in (
        "simulated_insurance_document.pdf", "scan_classic_hmo.pdf", "broken_startxref.pdf",
        "fake_docx_plain_text.docx",
    )}
    outcomes: dict[str, dict[str, object]] = {}
    for name, response in responses.items():
        if response.status_code != 202:
            outcomes[name] = {"status_code": response.status_code, **response.json()}
            continue
        job = deployment.wait_until_done(member, response.json()["job"]["id"])
        outcomes[name] = {"status_code": 202, **job}
    return outcomes


def test_real_policies_are_processed_to_complete(processed: dict[str, dict[str, object]]
                                                 ) -> None:
    for name in ("simulated_insurance_document.pdf", "scan_classic_hmo.pdf"):
        job = processed[name]
        assert job["status"] == "complete", (name, job)
        assert job["attempts"] == 0
        statuses = [event["to_status"] for event in job["history"]]  # type: ignore[attr-defined]
        assert statuses[-1] == "complete"
        assert statuses.count("parsed") == 1


def test_a_damaged_pdf_fails_once_with_a_reason_a_member_understands(
    processed: dict[str, dict[str, object]],
) -> None:
    job = processed["broken_startxref.pdf"]
    assert job["status"] == "failed"
    assert job["failed_stage"] == "parse"
    assert "damaged" in str(job["last_error"])
    assert job["attempts"] == 1  # permanent: never retried
    assert "retry" in job["links"]  # type: ignore[operator]


def test_a_text_file_named_like_a_word_document_is_refused_at_upload(
    processed: dict[str, dict[str, object]],
) -> None:
    refusal = processed["fake_docx_plain_text.docx"]
    assert refusal["status_code"] == 415
    assert "not" in str(refusal["detail"]) and "Word" in str(refusal["detail"])


def test_searching_finds_the_plans_maximum_out_of_pocket_amount(
    member: httpx.Client, processed: object
) -> None:
    response = member.post("/api/v1/search", json={"query": "maximum out-of-pocket"})
    assert response.status_code == 200
    chunks = response.json()["chunks"]
    hits = [c for c in chunks if c["filename"] == "scan_classic_hmo.pdf" and c["page"] == 57
            and "$1,500" in c["text"]]
    assert hits, [(c["filename"], c["page"], c["similarity"]) for c in chunks]


def test_another_member_finds_nothing_of_these_documents(
    deployment: Deployment, processed: object
) -> None:
    with deployment.client("member-someone-else") as other:
        response = other.post("/api/v1/search", json={"query": "maximum out-of-pocket"})
    assert response.status_code == 200
    assert response.json()["chunks"] == []


def test_the_same_file_again_is_the_same_document_and_is_not_processed_twice(
    deployment: Deployment, member: httpx.Client, processed: dict[str, dict[str, object]],
) -> None:
    again = deployment.upload(member, "simulated_insurance_document.pdf")
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["job"]["id"] == processed["simulated_insurance_document.pdf"]["id"]
    rows = deployment.sql("SELECT count(*) AS n FROM {s}.upload_jobs")
    assert rows[0]["n"] == 3


def test_health_shows_the_database_migrated_and_the_live_worker(
    deployment: Deployment, services: tuple[Service, Service]
) -> None:
    body = httpx.get(deployment.url + "/health").json()
    assert body["status"] == "ok"
    assert body["database"]["schema"] == deployment.schema
    assert body["database"]["pending_migrations"] == []
    assert body["workers"]["live"] == 1


def test_the_worker_shows_its_step_durations_and_failures_to_prometheus(
    deployment: Deployment, processed: dict[str, dict[str, object]]
) -> None:
    port = deployment.env["WORKER_METRICS_PORT"]
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert 'navigator_step_duration_seconds_count{outcome="ok",step="parse"}' in text
    assert 'navigator_step_failures_total{step="parse"} 1.0' in text  # the damaged PDF


def test_the_cli_uploads_follows_and_searches_like_a_newcomer(
    deployment: Deployment, processed: object
) -> None:
    uploaded = deployment.run("upload", "--api", deployment.url,
                              str(CORPUS_DIR / "scan_classic_hmo.pdf"),
                              str(CORPUS_DIR / "simulated_insurance_document.pdf"))
    assert uploaded.returncode == 0, uploaded.stdout + uploaded.stderr
    assert "2 complete" in uploaded.stdout

    found = deployment.run("search", "--api", deployment.url, "maximum out-of-pocket")
    assert found.returncode == 0, found.stderr
    assert "scan_classic_hmo.pdf, page 57" in found.stdout
    assert "$1,500" in found.stdout


def test_the_cli_exits_1_and_says_why_when_a_file_fails(
    deployment: Deployment, processed: object
) -> None:
    result = deployment.run("upload", "--api", deployment.url,
                            str(CORPUS_DIR / "broken_startxref.pdf"),
                            str(CORPUS_DIR / "fake_docx_plain_text.docx"))
    assert result.returncode == 1
    assert "failed at parse" in result.stdout and "damaged" in result.stdout
    assert "rejected" in result.stdout
    assert "2 failed" in result.stdout


def test_the_worker_health_check_passes_against_the_running_deployment(
    deployment: Deployment, services: object
) -> None:
    result = deployment.run("worker", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("healthy")


def test_stopped_with_sigterm_the_services_exit_cleanly_and_the_worker_unregisters(
    deployment: Deployment, services: tuple[Service, Service]
) -> None:
    api, worker = services
    assert worker.stop() == 0, worker.tail()
    assert deployment.sql("SELECT * FROM {s}.workers") == []
    assert api.stop() == 0, api.tail()
