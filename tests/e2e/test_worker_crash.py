"""A worker killed with SIGKILL in the middle of several documents, and another one
started after it: every document is still processed, and exactly once. Run directly
and through PgBouncer in transaction and in session mode (the lease rescue and the
retries must not depend on a session)."""

from __future__ import annotations

import httpx
import pytest

from tests.corpus import corpus_bytes
from tests.e2e.conftest import ROUTES, Deployment, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres,
              pytest.mark.parametrize("route", ROUTES, indirect=True, scope="module")]

WORKING = ("parsing", "chunking", "embedding_in_progress")
RESULTS = ("parsed", "parse_validated", "chunks_stored", "embedding_queued",
           "embeddings_stored", "complete")


def policy_copies(count: int) -> list[tuple[str, bytes]]:
    """Distinct files with the 232-page policy's content (a PDF may carry bytes after
    its end marker), so each is a document of its own rather than a duplicate."""
    original = corpus_bytes("scan_classic_hmo.pdf")
    return [(f"policy-{n}.pdf", original + f"\n% copy {n}\n".encode()) for n in range(count)]


def test_a_killed_workers_documents_are_finished_by_the_next_worker_exactly_once(
    deployment: Deployment,
) -> None:
    deployment.start_api()
    first = deployment.start_worker()
    with deployment.client() as member:
        uploads = [deployment.upload(member, name, data) for name, data in policy_copies(4)]
        uploads.append(deployment.upload(member, "simulated_insurance_document.pdf"))
        assert [u.status_code for u in uploads] == [202] * 5
        job_ids = [u.json()["job"]["id"] for u in uploads]

        def mid_run() -> bool:
            rows = deployment.sql(
                "SELECT count(*) AS n FROM {s}.upload_jobs "
                "WHERE status = ANY($1::text[]) AND lease_owner IS NOT NULL", list(WORKING))
            return rows[0]["n"] >= 2  # two documents are being worked on right now

        wait_for(mid_run, "two documents in progress", 30, interval=0.02, logs=first.tail)
        first.kill()
        held = deployment.sql("SELECT job_id FROM {s}.upload_jobs WHERE lease_owner IS NOT NULL")
        assert len(held) >= 2  # the dead worker still holds them; its leases must expire

        deployment.start_worker()
        jobs = [deployment.wait_until_done(member, job_id, timeout=90) for job_id in job_ids]

    assert [job["status"] for job in jobs] == ["complete"] * 5, deployment.logs()
    rescued = [job for job in jobs if job["attempts"] >= 1]
    assert len(rescued) >= 2
    for job in rescued:
        details = [event["detail"] for event in job["history"]]
        assert any("expired" in detail for detail in details), details
    _assert_each_step_recorded_once(deployment)
    _assert_no_duplicate_chunks(deployment)


def _assert_each_step_recorded_once(deployment: Deployment) -> None:
    rows = deployment.sql(
        "SELECT job_id, to_status, count(*) AS n FROM {s}.job_events "
        "WHERE to_status = ANY($1::text[]) "
        # a lease that ended while the job waited in a result status is an event from
        # that status to itself, not a second result
        "AND from_status IS DISTINCT FROM to_status "
        "GROUP BY job_id, to_status", list(RESULTS))
    per_job: dict[object, dict[str, int]] = {}
    for row in rows:
        per_job.setdefault(row["job_id"], {})[row["to_status"]] = row["n"]
    assert len(per_job) == 5
    for steps in per_job.values():
        assert steps == dict.fromkeys(RESULTS, 1), steps


def _assert_no_duplicate_chunks(deployment: Deployment) -> None:
    rows = deployment.sql(
        "SELECT d.filename, count(c.*) AS chunks, count(DISTINCT c.ordinal) AS ordinals, "
        "count(e.chunk_id) AS vectors, min(c.ordinal) AS first, max(c.ordinal) AS last "
        "FROM {s}.documents d JOIN {s}.document_chunks c USING (document_id) "
        "LEFT JOIN {s}.chunk_embeddings e ON e.chunk_id = c.chunk_id "
        "GROUP BY d.filename")
    assert len(rows) == 5
    copies = [row for row in rows if row["filename"].startswith("policy-")]
    assert len({row["chunks"] for row in copies}) == 1  # same content, same chunks
    for row in rows:
        assert row["chunks"] == row["ordinals"] == row["vectors"] == row["last"] + 1, dict(row)
        assert row["first"] == 0


def test_the_api_keeps_answering_while_workers_come_and_go(deployment: Deployment) -> None:
    body = httpx.get(deployment.url + "/health").json()
    assert body["database"]["reachable"] is True
    assert body["workers"]["live"] == 1  # the killed worker is no longer counted
