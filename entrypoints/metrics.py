"""Prometheus metrics of one process, in a registry of their own (not the global one).

Each container builds one :class:`Metrics`, so two apps in one test run never
collide. Every name of our own starts with ``navigator_``; the process and runtime
series (``process_*``, ``python_*``) are the client library's usual ones, registered
on this registry too.

What any process counts itself:

- ``navigator_step_duration_seconds{step,outcome}``: how long steps took, fed by
  :meth:`Metrics.observe_step` (the ``on_step`` hook of ``ProcessJob``). A process
  only knows the steps it ran itself: the worker's figures are in the worker.
- ``navigator_step_retries_total{step}`` and ``navigator_step_failures_total{step}``:
  fed by :meth:`Metrics.record_job` with each job as a worker (or the rescue) left it.
- ``navigator_uploads_total{result}``: uploads the API accepted, found duplicate or
  rejected, or could not store because the database was away (``unavailable``: not
  stored; ``unknown``: cut off while committing).
- ``navigator_http_requests_total{method,route,status}`` and
  ``navigator_http_request_duration_seconds{method,route}``: the API's requests, by
  route *template* (``/api/v1/jobs/{job_id}``, never the path a client sent: ids
  would make a series each), fed by ``entrypoints.api.metrics.HttpMetrics``.

What the API reads from the database for the whole fleet (:class:`QueueCollector`,
shown once the first scrape has read the figures; ``domain.model.QueueFigures``):

- ``navigator_jobs{status}``: jobs in each status;
- ``navigator_queue_oldest_waiting_seconds{status}``: for each claimable status, how
  long its job ready the longest has waited for a worker (0: none waiting);
- ``navigator_queue_leases_past_due``: leases that ran out and wait for a rescue;
- ``navigator_queue_recent_failures{step}``, ``navigator_queue_recent_retries{step}``
  and ``navigator_queue_recent_completions``: within the last
  ``navigator_queue_window_seconds`` (``METRICS_WINDOW_SECONDS``);
- ``navigator_queue_live_workers``: workers that beat recently;
- ``navigator_queue_figures_timestamp_seconds``: when the figures were read;
- ``navigator_database_up``: whether the last scrape could read them.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Iterable, Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
    make_wsgi_app,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from domain.model import Job, QueueFigures
from domain.status import CLAIMABLE, PIPELINE_ORDER, JobStatus, StepName, step_claimable_at

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Steps take from milliseconds (validate) to minutes (a hosted parse of a long PDF).
STEP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
# Requests: milliseconds (health, a job's status) to a minute (a streamed answer).
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
#: Methods counted by name; any other word a client sends counts as ``other``.
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: The route of a request no route matched (a 404): never the path itself.
UNMATCHED = "unmatched"


class Metrics:
    """The metrics of one process; ``render()`` gives the Prometheus text.

    ``registry`` is where anything else of the process registers its own series."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.queue = QueueCollector()
        self.registry.register(self.queue)
        self.step_duration = Histogram(
            "navigator_step_duration_seconds",
            "How long pipeline steps took in this process, by step and outcome "
            "(ok, error, lease_lost, store_unreachable, cancelled).",
            ["step", "outcome"], buckets=STEP_BUCKETS, registry=self.registry,
        )
        self.retries = Counter(
            "navigator_step_retries_total",
            "Steps that failed with a transient error and were scheduled to run again.",
            ["step"], registry=self.registry,
        )
        self.failures = Counter(
            "navigator_step_failures_total",
            "Jobs that failed for good (dead-lettered), by the step that failed.",
            ["step"], registry=self.registry,
        )
        self.uploads = Counter(
            "navigator_uploads_total",
            "Uploads this API process answered, by result (created, duplicate, rejected, "
            "unavailable, unknown).",
            ["result"], registry=self.registry,
        )
        self.database_up = Gauge(
            "navigator_database_up",
            "1 if the last scrape could read the queue's figures from the database, else 0.",
            registry=self.registry,
        )
        self.http_requests = Counter(
            "navigator_http_requests_total",
            "HTTP requests this API process answered, by method, route template and status.",
            ["method", "route", "status"], registry=self.registry,
        )
        self.http_duration = Histogram(
            "navigator_http_request_duration_seconds",
            "How long this API process took to answer, to the last byte, by method and "
            "route template.",
            ["method", "route"], buckets=HTTP_BUCKETS, registry=self.registry,
        )

    def observe_step(self, step: str, seconds: float, outcome: str) -> None:
        """The ``on_step`` hook of ``ProcessJob``: one step ran for ``seconds``."""
        self.step_duration.labels(step=str(step), outcome=outcome).observe(max(seconds, 0.0))

    def record_job(self, job: Job | None) -> None:
        """Count a retry or a failure from a job as a worker or the rescue left it.

        A job sent back to a claimable status with an error is a retry of the step
        claimable there; a failed job counts against its failed stage.
        """
        if job is None:
            return
        if job.status is JobStatus.FAILED:
            self.failures.labels(step=job.failed_stage or "unknown").inc()
        elif job.is_waiting and job.last_error:
            self.retries.labels(step=str(step_claimable_at(job.status).name)).inc()

    def record_upload(self, result: str) -> None:
        self.uploads.labels(result=result).inc()

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """One HTTP request answered: ``route`` is its template, never the raw path."""
        method = method if method in HTTP_METHODS else "other"
        self.http_requests.labels(method=method, route=route, status=str(status)).inc()
        self.http_duration.labels(method=method, route=route).observe(max(seconds, 0.0))

    def set_queue_figures(self, figures: QueueFigures | None) -> None:
        """The figures just read, or None when the database could not be read: the
        queue's series then go away rather than show stale values as current."""
        self.queue.figures = figures
        self.database_up.set(0 if figures is None else 1)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class QueueCollector(Collector):
    """The whole queue's figures as last read (nothing until the first read)."""

    def __init__(self) -> None:
        self.figures: QueueFigures | None = None

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        f = self.figures
        if f is None:
            return
        jobs = GaugeMetricFamily("navigator_jobs", "Jobs in each status, in the whole queue.",
                                 labels=["status"])
        for status in PIPELINE_ORDER:
            jobs.add_metric([status.value], f.counts[status])
        yield jobs
        oldest = GaugeMetricFamily(
            "navigator_queue_oldest_waiting_seconds",
            "How long the job ready the longest in each claimable status has waited for a "
            "worker (0: none waiting; a job waiting out its retry delay is not counted).",
            labels=["status"])
        for status in (s for s in PIPELINE_ORDER if s in CLAIMABLE):
            oldest.add_metric([status.value], f.oldest_waiting(status).total_seconds())
        yield oldest
        yield GaugeMetricFamily(
            "navigator_queue_leases_past_due",
            "Jobs whose worker's lease ran out and that no worker has rescued yet.",
            value=f.leases_past_due)
        for name, what, counts in (
            ("failures", "Jobs that failed for good", f.failures),
            ("retries", "Failed attempts that will run again", f.retries),
        ):
            family = GaugeMetricFamily(
                f"navigator_queue_recent_{name}",
                f"{what} within the last navigator_queue_window_seconds, by step.",
                labels=["step"])
            for step in StepName:
                family.add_metric([step.value], counts[step])
            yield family
        yield GaugeMetricFamily(
            "navigator_queue_recent_completions",
            "Jobs completed within the last navigator_queue_window_seconds.",
            value=f.completions)
        yield GaugeMetricFamily(
            "navigator_queue_window_seconds",
            "The window of the navigator_queue_recent_* figures (METRICS_WINDOW_SECONDS).",
            value=f.window.total_seconds())
        yield GaugeMetricFamily(
            "navigator_queue_live_workers", "Workers that reported in recently.",
            value=f.live_workers)
        yield GaugeMetricFamily(
            "navigator_queue_figures_timestamp_seconds",
            "When the navigator_queue_* figures were read from the database (Unix time).",
            value=f.at.timestamp())


# -- the worker's own port (WORKER_METRICS_PORT) -------------------------------------------


def serve_metrics(metrics: Metrics, host: str, port: int, *, token: str | None,
                  open_without_token: bool) -> WSGIServer:
    """Serve ``metrics`` on ``host:port`` from a daemon thread, behind ``token`` as
    ``/metrics`` is: with a token, only its bearer reads (401 otherwise); without,
    anyone when ``open_without_token`` (development), nobody otherwise (403)."""
    app = _guarded(make_wsgi_app(metrics.registry), token, open_without_token)
    server = make_server(host, port, app, _ThreadingServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server


def _guarded(app: Any, token: str | None, open_without_token: bool) -> Any:
    expected = f"Bearer {token}".encode() if token else None

    def guarded(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if expected is None and open_without_token:
            return app(environ, start_response)
        if expected is None:
            start_response("403 Forbidden", [("Content-Type", "text/plain")])
            return [b"metrics are closed: set METRICS_TOKEN\n"]
        sent = str(environ.get("HTTP_AUTHORIZATION", "")).encode()
        if not hmac.compare_digest(sent, expected):
            start_response("401 Unauthorized", [
                ("Content-Type", "text/plain"),
                ("WWW-Authenticate", 'Bearer realm="insurance-navigator"')])
            return [b"send 'Authorization: Bearer <METRICS_TOKEN>'\n"]
        return app(environ, start_response)

    return guarded


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr: the worker's logs are JSON lines."""

    def log_message(self, format: str, *args: Any) -> None:
        pass
