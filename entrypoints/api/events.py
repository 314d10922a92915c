"""``/api/v1/jobs/{id}/events``: a job's progress pushed as server-sent events.

Each change of the job's status is one event, read from the database (the job and
its history), so any API replica serves it whichever worker moves the job::

    id: 3
    event: status
    data: {the job, exactly as GET /api/v1/jobs/{id} returns it}

``id`` is how many status changes the job's history holds; a client that reconnects
with ``Last-Event-ID`` gets only what came after. The job as it is comes first; the
stream ends after ``complete`` or ``failed``. A comment line (``: keep-alive``) is
sent after ``JOB_EVENTS_KEEP_ALIVE_SECONDS`` without a change, so proxies keep the
connection open. If the document is deleted meanwhile, the stream ends with
``event: error`` (a problem+json body).

Browsers: the route needs the ``Authorization`` header, which ``EventSource`` cannot
send; read it with ``fetch`` and a stream reader.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse

from domain.errors import NotFound, PipelineError, StoreUnavailable
from domain.members import JobReport
from entrypoints.api.auth import Member
from entrypoints.api.deps import FollowJobCase, ShowJobCase
from entrypoints.api.problems import DATABASE_AWAY, problem_responses
from entrypoints.api.schemas import API, PROBLEM_TYPE_PREFIX, JobDetail

log = logging.getLogger(__name__)

router = APIRouter(prefix=f"{API}/jobs", tags=["jobs"])

EVENT_STREAM = "text/event-stream"
#: More digits than any job's count of events: not a position in its history.
_ID_DIGITS = 18

_EXAMPLE = (
    'id: 1\nevent: status\ndata: {"id": "5c1e7d2a-...", "status": "uploaded", '
    '"progress": 0.0, ...}\n\n'
    'id: 2\nevent: status\ndata: {"id": "5c1e7d2a-...", "status": "parsing", ...}\n\n'
    ": keep-alive\n\n"
    'id: 10\nevent: status\ndata: {"id": "5c1e7d2a-...", "status": "complete", '
    '"progress": 1.0, ...}\n\n'
)


@router.get(
    "/{job_id}/events",
    response_class=StreamingResponse,
    summary="Follow a job's progress",
    description="Server-sent events (`text/event-stream`): one `status` event per change of "
    "the job's status, its `data` the job exactly as `GET /api/v1/jobs/{id}` returns it, "
    "its `id` the number of changes so far. The job as it is comes first; the stream ends "
    "after `complete` or `failed`. Changes are read from the database, so every API replica "
    "serves them; they reach the client within `JOB_EVENTS_POLL_SECONDS` (changes made "
    "closer together come as one event of the latest state). Send `Last-Event-ID` to resume "
    "after the last event received. A `: keep-alive` comment comes after "
    "`JOB_EVENTS_KEEP_ALIVE_SECONDS` of quiet. Needs the bearer token like every route: in "
    "a browser read it with `fetch` and a stream reader (`EventSource` cannot send the "
    "`Authorization` header). Another member's job is answered as not found.",
    responses={
        200: {"description": "The job's status changes, as they happen",
              "content": {EVENT_STREAM: {"schema": {"type": "string"}, "example": _EXAMPLE}}},
        **problem_responses(401, 404, 422, 503),
    },
)
async def stream_job_events(
    job_id: UUID, member: Member, show: ShowJobCase, follow: FollowJobCase, request: Request,
    last_event_id: Annotated[str | None, Header(
        alias="Last-Event-ID", description="the `id` of the last event received")] = None,
) -> StreamingResponse:
    await show(job_id, member)  # another member's or a missing job: 404 before streaming
    # ASCII digits only, and few of them: str.isdigit() also accepts '²' (a header's byte
    # 0xB2), and int() refuses both it and more than 4,300 digits; any other value
    # resumes from the start
    seen = 0
    if last_event_id and len(last_event_id) <= _ID_DIGITS and last_event_id.isascii() \
            and last_event_id.isdigit():
        seen = int(last_event_id)
    return StreamingResponse(
        _events(follow(job_id, member, min(seen, 10**9)), request.url.path),
        media_type=EVENT_STREAM,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _events(reports: AsyncIterator[JobReport | None], path: str) -> AsyncIterator[bytes]:
    try:
        async for report in reports:
            if report is None:
                yield b": keep-alive\n\n"
                continue
            data = JobDetail.from_report(report).model_dump_json()
            yield f"id: {len(report.history)}\nevent: status\ndata: {data}\n\n".encode()
    except PipelineError as exc:  # the stream has begun: end it with an event
        if isinstance(exc, NotFound):
            status, slug, title, detail = 404, "not-found", "Not found", str(exc)
        elif isinstance(exc, StoreUnavailable):
            status, slug, title = 503, "database-unavailable", "Database unavailable"
            detail = DATABASE_AWAY
        else:
            raise
        log.warning("job event stream stopped: %s", type(exc).__name__)
        body = {"type": PROBLEM_TYPE_PREFIX + slug, "title": title, "status": status,
                "detail": detail, "instance": path}
        yield f"event: error\ndata: {json.dumps(body)}\n\n".encode()
