"""``/api/v1/jobs``: where a document's processing stands, and retrying a failed one."""

from __future__ import annotations

import inspect
from uuid import UUID

from fastapi import APIRouter, Response

from domain.members import RetryFailedJob, ShowJob
from entrypoints.api.auth import Member
from entrypoints.api.deps import RetryFailedJobCase, ShowJobCase
from entrypoints.api.problems import problem_responses
from entrypoints.api.schemas import API, JobDetail, job_url

router = APIRouter(prefix=f"{API}/jobs", tags=["jobs"])


@router.get(
    "/{job_id}",
    response_model=JobDetail,
    summary="Show a job",
    description=inspect.cleandoc(ShowJob.__doc__ or "") + "\n\n"
    "Shows the status, progress (0 to 1), failed attempts, the last error and the stage "
    "that failed, when a waiting job may next be picked up, the embedding tokens used, "
    "and every status change, oldest first.",
    responses=problem_responses(401, 404, 422, 503),
)
async def get_job(job_id: UUID, member: Member, show: ShowJobCase) -> JobDetail:
    report = await show(job_id, member)
    return JobDetail.from_report(report)


@router.post(
    "/{job_id}/retry",
    status_code=202,
    response_model=JobDetail,
    summary="Retry a failed job",
    description=inspect.cleandoc(RetryFailedJob.__doc__ or "") + "\n\n"
    "Only a failed job can be retried (409 otherwise). Answers 202 with the job, "
    "waiting to be picked up again.",
    responses=problem_responses(401, 404, 409, 422, 503),
)
async def retry_job(
    job_id: UUID, member: Member, retry: RetryFailedJobCase, show: ShowJobCase,
    response: Response,
) -> JobDetail:
    await retry(job_id, by="member", user_id=member)
    response.headers["Location"] = job_url(job_id)
    return JobDetail.from_report(await show(job_id, member))
