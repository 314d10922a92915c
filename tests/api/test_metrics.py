"""``/metrics``: Prometheus text, each process with its own registry."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from domain.errors import StoreUnavailable
from entrypoints.metrics import Metrics
from tests.api.conftest import Api, MakeApi
from tests.api.test_documents import PNG, POLICY
from tests.api.test_jobs import scripted
from tests.api.test_problems import broken
from tests.faults import ScriptedParser


async def scrape(api: Api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


async def test_jobs_are_counted_by_status_at_scrape_time(api: Api) -> None:
    await api.upload("benefits.md", POLICY)
    await api.upload("other.md", b"# Other\n\nAnother document.")

    samples = await scrape(api)

    assert samples[("navigator_jobs", (("status", "uploaded"),))] == 2
    assert samples[("navigator_jobs", (("status", "complete"),))] == 0
    assert samples[("navigator_database_up", ())] == 1


async def test_uploads_are_counted_by_result(api: Api) -> None:
    await api.upload("benefits.md", POLICY)
    await api.upload("benefits.md", POLICY)
    await api.upload("scan.pdf", PNG)

    samples = await scrape(api)

    for result in ("created", "duplicate", "rejected"):
        assert samples[("navigator_uploads_total", (("result", result),))] == 1


async def test_step_durations_are_recorded_for_the_steps_this_process_ran(api: Api) -> None:
    await api.upload("benefits.md", POLICY)
    await api.run_worker()

    samples = await scrape(api)

    for step in ("parse", "validate", "chunk", "queue", "embed", "finalize"):
        key = ("navigator_step_duration_seconds_count", (("outcome", "ok"), ("step", step)))
        assert samples[key] == 1


async def test_retries_and_failures_are_counted_by_step(make_api: MakeApi) -> None:
    parser = ScriptedParser()
    parser.fail_transiently(1, "the parser timed out")
    api = await make_api(override=scripted(parser))
    await api.upload("benefits.md", POLICY)
    worker = api.container.worker(worker_id="test-worker")  # counts each job it leaves

    await worker.drain()
    parser.fail_permanently("the file is damaged")
    api.memory.clock.advance(1)
    await worker.drain()

    samples = await scrape(api)
    assert samples[("navigator_step_retries_total", (("step", "parse"),))] == 1
    assert samples[("navigator_step_failures_total", (("step", "parse"),))] == 1
    assert samples[("navigator_jobs", (("status", "failed"),))] == 1


async def test_an_unreachable_database_shows_as_down_in_the_metrics(make_api: MakeApi) -> None:
    api = await make_api(override=broken(
        "count_jobs", StoreUnavailable("the database is unreachable: ConnectionRefusedError")))

    samples = await scrape(api)

    assert samples[("navigator_database_up", ())] == 0


def test_each_container_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.record_upload("created")

    assert b'navigator_uploads_total{result="created"} 1.0' in first.render()
    assert b"navigator_uploads_total{" not in second.render()
