"""``/metrics`` on the real adapters: the queue's figures read by the one statement
from PostgreSQL, after a run with a retry and a failure (a clock that moves only
when told, so the ages are exact)."""

from __future__ import annotations

from pathlib import Path

import pytest
from dependency_injector import providers
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import api_on_postgres, bearer
from tests.fakes.clock import FakeClock
from tests.faults import ScriptedParser

pytestmark = pytest.mark.postgres

TOKEN = "metrics-token-for-the-postgres-suite-0123456789"


async def test_a_scrape_after_a_run_with_a_retry_and_a_failure_reads_the_figures_from_postgres(
    postgres_dsn: str, pg_schema: str, tmp_path: Path,
) -> None:
    async with api_on_postgres(postgres_dsn, pg_schema, tmp_path, ENVIRONMENT="staging",
                               METRICS_TOKEN=TOKEN) as (client, container):
        clock = FakeClock()
        parser = ScriptedParser()
        parser.fail_transiently(1, "the parser timed out", filename="flaky.md")
        parser.fail_permanently("the file is damaged", filename="damaged.md")
        container.clock.override(providers.Object(clock))
        container.jitter.override(providers.Object(lambda: 0.0))
        container.parser.override(providers.Object(parser))
        try:
            for name in ("benefits.md", "flaky.md", "damaged.md"):
                uploaded = await client.post("/api/v1/documents", headers=bearer(), files={
                    "file": (name, f"# {name}\n\nThe deductible is $500.\n".encode())})
                assert uploaded.status_code == 202, uploaded.text
            await container.worker_registry().register("worker-on-duty", "host-a", 4242)
            worker = container.worker(worker_id="worker-on-duty")
            await worker.drain()
            clock.advance(1)
            await worker.drain()
            clock.advance(1)
            await client.post("/api/v1/documents", headers=bearer(),
                              files={"file": ("late.md", b"# Late\n\nUploaded last.\n")})
            clock.advance(45)

            refused = await client.get("/metrics")
            response = await client.get("/metrics",
                                        headers={"Authorization": f"Bearer {TOKEN}"})
        finally:
            container.reset_override()

    assert refused.status_code == 401
    assert response.status_code == 200
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(response.text)
               for s in family.samples}
    assert samples[("navigator_jobs", (("status", "complete"),))] == 2
    assert samples[("navigator_jobs", (("status", "failed"),))] == 1
    assert samples[("navigator_jobs", (("status", "uploaded"),))] == 1
    assert samples[("navigator_queue_recent_failures", (("step", "parse"),))] == 1
    assert samples[("navigator_queue_recent_retries", (("step", "parse"),))] == 1
    assert samples[("navigator_queue_recent_retries", (("step", "embed"),))] == 0
    assert samples[("navigator_queue_recent_completions", ())] == 2
    assert samples[("navigator_queue_oldest_waiting_seconds", (("status", "uploaded"),))] == 45
    assert samples[("navigator_queue_leases_past_due", ())] == 0
    assert samples[("navigator_queue_live_workers", ())] == 1
    assert samples[("navigator_database_up", ())] == 1
