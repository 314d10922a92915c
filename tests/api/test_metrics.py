"""``/metrics``: Prometheus text, each process with its own registry: the whole queue's
figures (read at most once per ``METRICS_CACHE_SECONDS``), the HTTP requests by route
template, the process and runtime series, behind ``METRICS_TOKEN``."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from domain.errors import StoreUnavailable
from domain.model import QueueFigures
from domain.status import JobStatus
from domain.watching import WatchQueue
from entrypoints.metrics import Metrics
from tests.api.conftest import Api, MakeApi, bearer
from tests.api.test_documents import PNG, POLICY
from tests.api.test_jobs import scripted
from tests.api.test_problems import broken
from tests.fakes.clock import FakeClock
from tests.faults import ScriptedParser

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
TOKEN = "metrics-token-for-the-api-suite-0123456789abcdef"


async def scrape(api: Api, headers: dict[str, str] | None = None) -> Samples:
    response = await api.client.get("/metrics", headers=headers)
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
        "queue_figure_reads",
        StoreUnavailable("the database is unreachable: ConnectionRefusedError")))

    samples = await scrape(api)

    assert samples[("navigator_database_up", ())] == 0
    assert not [name for name, _ in samples if name.startswith("navigator_queue_")]


def test_each_container_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.record_upload("created")

    assert b'navigator_uploads_total{result="created"} 1.0' in first.render()
    assert b"navigator_uploads_total{" not in second.render()


# -- the whole queue, from the database -----------------------------------------------------


async def test_a_scrape_after_a_run_with_a_retry_and_a_failure_shows_the_queue_figures(
    make_api: MakeApi,
) -> None:
    parser = ScriptedParser()
    parser.fail_transiently(1, "the parser timed out", filename="flaky.md")
    parser.fail_permanently("the file is damaged", filename="damaged.md")
    api = await make_api(override=scripted(parser))
    for name in ("benefits.md", "flaky.md", "damaged.md"):
        await api.upload(name, f"# {name}\n\nThe deductible is $500.\n".encode())
    await api.memory.worker_registry.register("worker-on-duty", "host-a", 4242)
    worker = api.container.worker(worker_id="worker-on-duty")
    await worker.drain()  # benefits complete, damaged fails, flaky waits out its delay
    api.memory.clock.advance(1)
    await worker.drain()  # flaky completes on its second attempt
    api.memory.clock.advance(1)
    late = (await api.upload("late.md", b"# Late\n\nUploaded last.\n")).json()
    api.memory.clock.advance(90)  # no worker ran since: late has waited 90 s
    await api.memory.worker_registry.beat("worker-on-duty")  # alive, merely idle

    samples = await scrape(api)

    def jobs(status: str) -> float:
        return samples[("navigator_jobs", (("status", status),))]

    assert (jobs("complete"), jobs("failed"), jobs("uploaded")) == (2, 1, 1)
    assert samples[("navigator_queue_recent_failures", (("step", "parse"),))] == 1
    assert samples[("navigator_queue_recent_retries", (("step", "parse"),))] == 1
    for step in ("validate", "chunk", "queue", "embed", "finalize"):
        assert samples[("navigator_queue_recent_failures", (("step", step),))] == 0
        assert samples[("navigator_queue_recent_retries", (("step", step),))] == 0
    assert samples[("navigator_queue_recent_completions", ())] == 2
    assert samples[("navigator_queue_window_seconds", ())] == 900
    oldest = "navigator_queue_oldest_waiting_seconds"
    assert samples[(oldest, (("status", "uploaded"),))] == 90
    assert samples[(oldest, (("status", "parsed"),))] == 0
    assert samples[("navigator_queue_leases_past_due", ())] == 0
    assert samples[("navigator_queue_live_workers", ())] == 1
    assert samples[("navigator_queue_figures_timestamp_seconds", ())] == (
        api.memory.clock.now().timestamp())
    assert samples[("navigator_database_up", ())] == 1
    assert late["job"]["status"] == "uploaded"


async def test_the_figures_are_read_once_per_cache_period_however_often_it_is_scraped(
    make_api: MakeApi,
) -> None:
    api = await make_api(METRICS_CACHE_SECONDS="10")
    await api.upload("benefits.md", POLICY)
    first = await scrape(api)

    await api.upload("other.md", b"# Other\n\nAnother document.")
    api.memory.clock.advance(9)
    cached = await scrape(api)
    api.memory.clock.advance(1)
    fresh = await scrape(api)

    key = ("navigator_jobs", (("status", "uploaded"),))
    assert (first[key], cached[key], fresh[key]) == (1, 1, 2)


class CountingReads:
    def __init__(self) -> None:
        self.reads = 0
        self.release = asyncio.Event()

    async def figures(self, now, *, window, live_within):  # type: ignore[no-untyped-def]
        self.reads += 1
        await self.release.wait()
        return QueueFigures(at=now, counts={JobStatus.UPLOADED: self.reads}, window=window)


async def test_scrapes_arriving_together_share_one_read() -> None:
    reads, clock = CountingReads(), FakeClock()
    watch = WatchQueue(reads, clock, window=timedelta(minutes=15),
                       live_within=timedelta(minutes=1), max_age=timedelta(seconds=5))

    scrapes = [asyncio.create_task(watch()) for _ in range(5)]
    await asyncio.sleep(0)
    reads.release.set()
    answers = await asyncio.gather(*scrapes)

    assert reads.reads == 1
    assert {a.counts[JobStatus.UPLOADED] for a in answers} == {1}


async def test_a_failed_read_is_not_kept() -> None:
    class FlakyReads:
        calls = 0

        async def figures(self, now, *, window, live_within):  # type: ignore[no-untyped-def]
            self.calls += 1
            if self.calls == 1:
                raise StoreUnavailable("the database is unreachable")
            return QueueFigures(at=now, counts={}, window=window)

    watch = WatchQueue(FlakyReads(), FakeClock(), window=timedelta(minutes=15),
                       live_within=timedelta(minutes=1), max_age=timedelta(seconds=5))
    try:
        await watch()
    except StoreUnavailable:
        pass
    else:
        raise AssertionError("the first read should have failed")

    assert (await watch()).counts[JobStatus.UPLOADED] == 0


# -- HTTP requests by route template -------------------------------------------------------


async def test_requests_are_counted_and_timed_by_route_template_never_by_path(api: Api) -> None:
    first = (await api.upload("benefits.md", POLICY)).json()
    second = (await api.upload("other.md", b"# Other\n\nAnother document.")).json()
    for job in (first["job"], second["job"]):
        assert (await api.client.get(job["links"]["self"], headers=bearer())).status_code == 200
    await api.client.get("/api/v1/no/such/route/1234")
    await api.client.request("BREW", "/api/v1/documents")

    samples = await scrape(api)

    route = "/api/v1/jobs/{job_id}"
    assert samples[("navigator_http_requests_total",
                    (("method", "GET"), ("route", route), ("status", "200")))] == 2
    assert samples[("navigator_http_request_duration_seconds_count",
                    (("method", "GET"), ("route", route)))] == 2
    assert samples[("navigator_http_requests_total",
                    (("method", "POST"), ("route", "/api/v1/documents"),
                     ("status", "202")))] == 2
    assert samples[("navigator_http_requests_total",
                    (("method", "GET"), ("route", "unmatched"), ("status", "404")))] == 1
    assert samples[("navigator_http_requests_total",
                    (("method", "other"), ("route", "/api/v1/documents"),
                     ("status", "405")))] == 1
    routes = {dict(labels).get("route") for name, labels in samples
              if name == "navigator_http_requests_total"}
    assert not any(first["job"]["id"] in str(r) or "1234" in str(r) for r in routes)


async def test_the_process_and_runtime_series_are_there(api: Api) -> None:
    samples = await scrape(api)
    names = {name for name, _ in samples}

    assert {"process_resident_memory_bytes", "process_cpu_seconds_total",
            "python_info", "python_gc_collections_total"} <= names


# -- who may read --------------------------------------------------------------------------


async def test_with_a_metrics_token_only_its_bearer_may_read(make_api: MakeApi) -> None:
    api = await make_api(METRICS_TOKEN=TOKEN)

    anonymous = await api.client.get("/metrics")
    wrong = await api.client.get("/metrics", headers={"Authorization": "Bearer " + "x" * 48})
    member = await api.client.get("/metrics", headers=bearer())
    samples = await scrape(api, headers={"Authorization": f"Bearer {TOKEN}"})

    assert [r.status_code for r in (anonymous, wrong, member)] == [401, 401, 401]
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert "METRICS_TOKEN" in anonymous.json()["detail"]
    assert TOKEN not in anonymous.text + wrong.text
    assert samples[("navigator_database_up", ())] == 1


async def test_deployed_without_a_metrics_token_the_metrics_are_closed(
    make_api: MakeApi,
) -> None:
    api = await make_api(ENVIRONMENT="production")

    response = await api.client.get("/metrics")

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Metrics closed"
    assert "set METRICS_TOKEN" in response.json()["detail"]


def test_a_short_metrics_token_is_refused_naming_the_variable() -> None:
    from entrypoints.settings import SettingsError, load_settings

    try:
        load_settings({"METRICS_TOKEN": "short"})
    except SettingsError as exc:
        assert "METRICS_TOKEN" in str(exc) and "short" not in str(exc).replace(
            "METRICS_TOKEN", "")
    else:
        raise AssertionError("a short METRICS_TOKEN should be refused")
