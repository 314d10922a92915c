"""Prometheus metrics of one process, in a registry of their own (not the global one).

Each container builds one :class:`Metrics`, so two apps in one test run never
collide. Every name starts with ``navigator_``.

- ``navigator_jobs{status}``: jobs in each status, read from the database when
  ``/metrics`` is scraped (so every process reports the whole queue).
- ``navigator_step_duration_seconds{step,outcome}``: how long steps took, fed by
  :meth:`Metrics.observe_step` (the ``on_step`` hook of ``ProcessJob``). A process
  only knows the steps it ran itself: the worker's figures are in the worker.
- ``navigator_step_retries_total{step}`` and ``navigator_step_failures_total{step}``:
  fed by :meth:`Metrics.record_job` with each job as a worker (or the rescue) left it.
- ``navigator_database_up``: whether the last scrape could read the counts.
- ``navigator_uploads_total{result}``: uploads the API accepted, found duplicate or
  rejected, or could not store because the database was away (``unavailable``: not
  stored; ``unknown``: cut off while committing).
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from domain.model import Job
from domain.status import JobStatus, step_claimable_at

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Steps take from milliseconds (validate) to minutes (a hosted parse of a long PDF).
STEP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


class Metrics:
    """The metrics of one process; ``render()`` gives the Prometheus text."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.jobs = Gauge(
            "navigator_jobs", "Jobs in each status, read from the database at scrape time.",
            ["status"], registry=self.registry,
        )
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
            "1 if the last scrape could read the job counts from the database, else 0.",
            registry=self.registry,
        )
        for status in JobStatus:
            self.jobs.labels(status=status.value).set(0)

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

    def set_job_counts(self, counts: Mapping[JobStatus, int]) -> None:
        for status in JobStatus:
            self.jobs.labels(status=status.value).set(counts.get(status, 0))

    def render(self) -> bytes:
        return generate_latest(self.registry)
