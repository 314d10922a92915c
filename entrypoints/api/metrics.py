"""``GET /metrics``: Prometheus text of this process's metrics and the queue's counts."""

from __future__ import annotations

from fastapi import APIRouter, Response

from domain.errors import StoreUnavailable
from entrypoints.api.deps import CountJobsCase, ProcessMetrics
from entrypoints.metrics import CONTENT_TYPE

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    response_class=Response,
    summary="Prometheus metrics",
    description="Jobs by status (`navigator_jobs`, read from the database at each scrape), "
    "step durations (`navigator_step_duration_seconds`), retries and failures by step "
    "(`navigator_step_retries_total`, `navigator_step_failures_total`), uploads "
    "(`navigator_uploads_total`) and `navigator_database_up`. Step figures are those of "
    "the process scraped: scrape the workers for theirs. Needs no token.",
    responses={200: {"content": {CONTENT_TYPE: {"example": (
        '# HELP navigator_jobs Jobs in each status, read from the database at scrape time.\n'
        '# TYPE navigator_jobs gauge\nnavigator_jobs{status="complete"} 42.0\n')}},
        "description": "Prometheus text exposition format"}},
)
async def get_metrics(collected: ProcessMetrics, count_jobs: CountJobsCase) -> Response:
    try:
        counts = await count_jobs()
    except StoreUnavailable:
        collected.database_up.set(0)
    else:
        collected.set_job_counts(counts)
        collected.database_up.set(1)
    return Response(collected.render(), media_type=CONTENT_TYPE)
