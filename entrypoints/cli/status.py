"""``navigator status``: the operator's view of the queue, straight from the database.

The figures are those the API shows Prometheus on ``/metrics`` (one read of
``QueueFigureReads``: jobs by status, how long the oldest ready job of each
claimable status has waited, leases past due, the failures, retries and completions
of the last ``METRICS_WINDOW_SECONDS``, live workers), with what only an operator at
a terminal needs beside them: which job waits the longest, the last failures with
their reasons, which workers are alive. ``--json`` prints the same as one JSON
object, for scripts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

import attrs

from domain.model import QueueFigures, WorkerInfo
from domain.status import CLAIMABLE, PIPELINE_ORDER, JobStatus
from entrypoints.cli.database import database, database_errors
from entrypoints.cli.operator import require_migrated
from entrypoints.cli.outcomes import OK
from entrypoints.container import build_container, running
from entrypoints.container.database import FailedJob, WaitingJob
from entrypoints.settings import Settings

RECENT_FAILURES = 10


@attrs.frozen
class QueueReport:
    figures: QueueFigures
    oldest_waiting: WaitingJob | None
    failures: tuple[FailedJob, ...]
    workers: tuple[WorkerInfo, ...]

    @property
    def now(self) -> datetime:
        return self.figures.at


def command_status(args: argparse.Namespace, settings: Settings) -> int:
    report = asyncio.run(_status(settings))
    if getattr(args, "json", False):
        print(json.dumps(status_json(report, settings), indent=2))
    else:
        print(render_status(report, settings))
    return OK


async def _status(settings: Settings) -> QueueReport:
    async with database(settings) as dsn:
        with database_errors():
            await require_migrated(dsn, settings)
            container = build_container(settings, dsn)
            async with running(container):
                figures = await container.watch_queue()()
                queries = container.operator_queries()
                return QueueReport(
                    figures=figures,
                    oldest_waiting=await queries.oldest_waiting(figures.at),
                    failures=tuple(await queries.recent_failures(RECENT_FAILURES)),
                    workers=tuple(await container.worker_registry().live(
                        container.live_worker_window())),
                )


def render_status(report: QueueReport, settings: Settings) -> str:
    figures = report.figures
    lines = [f"queue in schema {settings.database_schema}"]
    width = max(len(str(s)) for s in PIPELINE_ORDER)
    for status in PIPELINE_ORDER:
        count = figures.counts[status]
        if count or status in (JobStatus.COMPLETE, JobStatus.FAILED, JobStatus.UPLOADED):
            late = ""
            if status in figures.ready_since:
                late = f"  oldest ready for {humanize(figures.oldest_waiting(status))}"
            lines.append(f"  {status!s:<{width}}  {count:>7,}{late}")
    lines.append(f"  {'total':<{width}}  {sum(figures.counts.values()):>7,}")
    if figures.leases_past_due:
        lines.append(f"  {figures.leases_past_due} lease(s) past due, waiting for a rescue")
    lines.append("")
    waiting = report.oldest_waiting
    if waiting is None:
        lines.append("oldest waiting job: none, nothing is waiting for a worker")
    else:
        age = humanize(report.now - waiting.waiting_since)
        retry = f", {waiting.attempts} failed attempt(s)" if waiting.attempts else ""
        lines.append(f"oldest waiting job: {waiting.job_id} ({waiting.filename}), "
                     f"{waiting.status} for {age}{retry}")
    lines.append("")
    lines.append(_setbacks_line(figures))
    if report.failures:
        lines.append(f"recent failures (last {len(report.failures)}):")
        for failure in report.failures:
            lines.append(f"  {failure.job_id}  {failure.filename}  "
                         f"{humanize(report.now - failure.failed_at)} ago, "
                         f"at {failure.failed_stage}: {failure.last_error}")
        lines.append("  retry one with: navigator retry JOB_ID")
    else:
        lines.append("recent failures: none")
    lines.append("")
    if report.workers:
        lines.append(f"live workers ({len(report.workers)}):")
        for worker in report.workers:
            lines.append(f"  {worker.worker_id}  pid {worker.pid} on {worker.hostname}, "
                         f"up {humanize(report.now - worker.started_at)}, last seen "
                         f"{humanize(report.now - worker.last_seen_at)} ago")
    else:
        lines.append("live workers: none — jobs wait until a worker runs (`navigator worker`)")
    return "\n".join(lines)


def _setbacks_line(figures: QueueFigures) -> str:
    def by_step(counts: dict[Any, int]) -> str:
        found = [f"{step} {n}" for step, n in counts.items() if n]
        return f" ({', '.join(found)})" if found else ""

    failures, retries = sum(figures.failures.values()), sum(figures.retries.values())
    return (f"last {humanize(figures.window)}: {figures.completions} completed, "
            f"{failures} failed{by_step(figures.failures)}, "
            f"{retries} retried{by_step(figures.retries)}")


def status_json(report: QueueReport, settings: Settings) -> dict[str, Any]:
    """The report as JSON: the figures ``/metrics`` shows, under the same names less
    their prefix, then the details."""
    f = report.figures
    waiting = report.oldest_waiting
    return {
        "schema": settings.database_schema,
        "at": f.at.isoformat(),
        "jobs": {str(status): f.counts[status] for status in PIPELINE_ORDER},
        "total": sum(f.counts.values()),
        "oldest_waiting_seconds": {str(status): f.oldest_waiting(status).total_seconds()
                                   for status in PIPELINE_ORDER if status in CLAIMABLE},
        "leases_past_due": f.leases_past_due,
        "window_seconds": f.window.total_seconds(),
        "recent_failures": {str(step): n for step, n in f.failures.items()},
        "recent_retries": {str(step): n for step, n in f.retries.items()},
        "recent_completions": f.completions,
        "live_workers": f.live_workers,
        "oldest_waiting_job": None if waiting is None else {
            "job_id": str(waiting.job_id), "filename": waiting.filename,
            "status": waiting.status, "waiting_since": waiting.waiting_since.isoformat(),
            "attempts": waiting.attempts,
        },
        "failed_jobs": [{
            "job_id": str(failure.job_id), "filename": failure.filename,
            "failed_stage": failure.failed_stage, "last_error": failure.last_error,
            "attempts": failure.attempts, "failed_at": failure.failed_at.isoformat(),
        } for failure in report.failures],
        "workers": [{
            "id": worker.worker_id, "hostname": worker.hostname, "pid": worker.pid,
            "version": worker.version, "started_at": worker.started_at.isoformat(),
            "last_seen_at": worker.last_seen_at.isoformat(),
        } for worker in report.workers],
    }


def humanize(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    return f"{hours // 24}d {hours % 24}h"
