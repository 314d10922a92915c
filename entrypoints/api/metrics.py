"""``GET /metrics``: Prometheus text of this process's metrics and the whole queue's
figures, behind ``METRICS_TOKEN``; and :class:`HttpMetrics`, which counts and times
every request by its route template.

Who may read: with ``METRICS_TOKEN`` set, whoever sends it as a bearer token (401
otherwise); unset, anyone in development (``navigator up`` listens on 127.0.0.1
only) and nobody elsewhere (403 naming the setting): the figures tell how busy the
service is, which is nobody else's business.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.errors import StoreUnavailable
from entrypoints.access_tokens import Unauthorized
from entrypoints.api.deps import ProcessMetrics, ServiceSettings, WatchQueueCase
from entrypoints.api.problems import PROBLEM_JSON, PROBLEM_REF, PROBLEM_TYPE_PREFIX, problem
from entrypoints.metrics import CONTENT_TYPE, UNMATCHED, Metrics

router = APIRouter(tags=["operations"])


CLOSED = ("metrics are closed in {environment}: set METRICS_TOKEN and send it as "
          "'Authorization: Bearer <METRICS_TOKEN>'")


def _problem(status: int, slug: str, title: str, detail: str,
             description: str) -> dict[str, object]:
    example = {"type": PROBLEM_TYPE_PREFIX + slug, "title": title, "status": status,
               "detail": detail, "instance": "/metrics"}
    return {"description": description, "content": {PROBLEM_JSON: {
        "schema": {"$ref": PROBLEM_REF}, "example": example}}}


metrics_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="MetricsToken",
    description="`METRICS_TOKEN`: what Prometheus sends to read `/metrics`.",
)


async def may_read_metrics(
    settings: ServiceSettings,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(metrics_bearer)],
) -> None:
    """Let the caller in, or say why not (the token compared in constant time)."""
    expected = settings.metrics_token
    if expected is None:
        if settings.is_development:
            return
        raise MetricsClosed(CLOSED.format(environment=settings.environment))
    if credentials is None:
        raise Unauthorized("send 'Authorization: Bearer <METRICS_TOKEN>'", error=None)
    if not hmac.compare_digest(credentials.credentials.encode(),
                               expected.get_secret_value().encode()):
        raise Unauthorized("that is not the METRICS_TOKEN")


class MetricsClosed(Exception):
    """``/metrics`` outside development with no ``METRICS_TOKEN`` set: a 403."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


async def _closed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MetricsClosed)
    return problem(403, exc.detail, instance=request.url.path, slug="metrics-closed",
                   title="Metrics closed")


def install(app: FastAPI, metrics: Metrics) -> None:
    """The route's 403, and the middleware that counts every request (the app includes
    ``router`` with the others)."""
    app.add_exception_handler(MetricsClosed, _closed)
    # Outermost but for Starlette's own error middleware: every request counts, with
    # the status its client got (problems.install answers crashes inside it).
    app.add_middleware(HttpMetrics, metrics=metrics)


@router.get(
    "/metrics",
    response_class=Response,
    summary="Prometheus metrics",
    description="The whole queue's figures, read from the database at most once per "
    "`METRICS_CACHE_SECONDS` whoever scrapes: jobs by status (`navigator_jobs`), how long "
    "the oldest ready job of each claimable status has waited "
    "(`navigator_queue_oldest_waiting_seconds`), leases past due, failures, retries and "
    "completions of the last `METRICS_WINDOW_SECONDS` by step "
    "(`navigator_queue_recent_*`), live workers, and `navigator_database_up`. Then this "
    "process's own: HTTP requests and their durations by route template, step durations, "
    "retries and failures of the steps it ran, uploads, and the process and runtime "
    "series (`process_*`, `python_*`). Needs `Authorization: Bearer <METRICS_TOKEN>` when "
    "`METRICS_TOKEN` is set; without it, open in development and closed (403) elsewhere.",
    responses={
        200: {"content": {CONTENT_TYPE: {"example": (
            "# HELP navigator_jobs Jobs in each status, in the whole queue.\n"
            '# TYPE navigator_jobs gauge\nnavigator_jobs{status="complete"} 42.0\n')}},
            "description": "Prometheus text exposition format"},
        401: _problem(401, "unauthorized", "Unauthorized",
                      "send 'Authorization: Bearer <METRICS_TOKEN>'",
                      "`METRICS_TOKEN` is set and the request did not send it"),
        403: _problem(403, "metrics-closed", "Metrics closed",
                      CLOSED.format(environment="production"),
                      "`METRICS_TOKEN` is unset outside development"),
    },
    dependencies=[Depends(may_read_metrics)],
    openapi_extra={"security": [{}, {"MetricsToken": []}]},
)
async def get_metrics(collected: ProcessMetrics, watch: WatchQueueCase) -> Response:
    try:
        figures = await watch()
    except StoreUnavailable:
        figures = None
    collected.set_queue_figures(figures)
    return Response(collected.render(), media_type=CONTENT_TYPE)


class HttpMetrics:
    """ASGI middleware: each HTTP request counted and timed (to its last byte, so a
    streamed answer counts whole) under its method, its status and the *template* of
    the route that took it (``/api/v1/jobs/{job_id}``), or ``unmatched``."""

    def __init__(self, app: ASGIApp, metrics: Metrics,
                 timer: Callable[[], float] = time.perf_counter) -> None:
        self.app = app
        self.metrics = metrics
        self.timer = timer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = self.timer()
        status = 500  # what the server answers if the app raises before answering

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.metrics.observe_request(str(scope.get("method", "")), route_template(scope),
                                         status, self.timer() - started)


def route_template(scope: Scope) -> str:
    """The path template of the route that took the request (Starlette notes it in the
    scope, for a partial match too: the path is right, the method is not), never the
    path itself."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else UNMATCHED
