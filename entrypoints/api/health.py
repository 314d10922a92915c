"""Health for load balancers, platforms and operators: four questions, four paths.

- ``GET /health/live``: does the process answer? Touches nothing else, so a database
  outage never makes a healthy process look dead (a platform restarting it would
  not bring the database back, only drop the requests it is answering with 503).
- ``GET /health/ready``: can it serve members right now? 200 when the database
  answers and holds the schema this code expects (no pending migrations), else 503.
- ``GET /health/started``: has it been ready at least once? Until then it is
  ``/health/ready`` (so a new deploy that cannot reach its database, or finds the
  schema unmigrated, never gets traffic); from then on it is ``/health/live``. This is
  the check for a platform that uses one path both to admit a new deploy and to
  restart a failing instance, as Render's ``healthCheckPath`` does
  (docs/OPERATIONS.md, "Health checks and outages").
- ``GET /health``: the whole report (database, schema, migrations, live workers,
  parser and embedder); 503 when the database cannot be reached. Anonymous callers
  see counts only; with ``Authorization: Bearer <OPERATOR_TOKEN>`` it also names the
  workers (host names, process ids) and where the database lives.

None of them needs a member's token.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from domain.errors import StoreUnavailable
from domain.model import DatabaseReport, WorkerInfo
from entrypoints.api.deps import (
    EmbedderInUse,
    LiveWorkerWindow,
    ParserInUse,
    Probe,
    ServiceClock,
    ServiceSettings,
    Workers,
)
from entrypoints.api.health_schemas import (
    HEALTH_EXAMPLE,
    DatabaseHealth,
    HealthResponse,
    Liveness,
    Readiness,
    WorkerDetail,
    WorkersHealth,
)
from entrypoints.api.problems import RETRY_AFTER_SECONDS

router = APIRouter(tags=["operations"])

_DOWN_EXAMPLE = {
    **HEALTH_EXAMPLE,
    "status": "down",
    "database": {"reachable": False, "schema": "upload_pipeline", "schema_present": False,
                 "migration_version": None, "pending_migrations": [],
                 "error": "cannot reach PostgreSQL: timed out"},
    "workers": {"live": 0, "window_seconds": 60.0},
}
_NOT_READY = {"application/json": {"example": {
    "status": "not_ready", "reason": "cannot reach PostgreSQL: CannotConnectNowError"}}}

operator_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="OperatorToken",
    description="`OPERATOR_TOKEN`: shows the details /health hides from anyone else.",
)


async def is_operator(
    settings: ServiceSettings,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(operator_bearer)],
) -> bool:
    """True when the caller sent ``OPERATOR_TOKEN`` as its bearer token (compared in
    constant time). Any other token (a member's app may send its own on every request)
    gets the anonymous view, never an error: ``/health`` must answer load balancers
    and apps alike."""
    expected = settings.operator_token
    if credentials is None or expected is None:
        return False
    return hmac.compare_digest(credentials.credentials.encode(),
                               expected.get_secret_value().encode())


Operator = Annotated[bool, Depends(is_operator)]


def _not_ready_reason(report: DatabaseReport) -> str | None:
    if not report.reachable:
        return report.error or "cannot reach PostgreSQL"
    if not report.schema_present:
        return (f"the schema {report.schema!r} does not exist: run `navigator migrate` "
                "(the blueprint's preDeployCommand)")
    if report.refused_migrations:
        return (f"the schema holds {len(report.refused_migrations)} migration(s) this code "
                "cannot run with (changed since applied, or a later release's step that "
                "removed something): `navigator migrate --status` says which; deploy the "
                "release that added them, or restore the changed files")
    if report.pending_migrations:
        return (f"{len(report.pending_migrations)} migration(s) this code needs are not "
                "applied: run `navigator migrate`")
    return None


async def _readiness(request: Request, probe: Probe) -> tuple[bool, str | None]:
    report = await probe.check()
    reason = _not_ready_reason(report)
    if reason is None:
        request.app.state.been_ready = True
    return reason is None, reason


def _not_ready(reason: str | None) -> JSONResponse:
    return JSONResponse(Readiness(status="not_ready", reason=reason).model_dump(),
                        status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


@router.get(
    "/health/live",
    response_model=Liveness,
    summary="Liveness: the process answers",
    description="200 whenever the process answers; checks nothing else (not the "
    "database). For a supervisor that restarts a stuck process. Needs no token.",
)
async def check_liveness() -> Liveness:
    return Liveness(status="alive")


@router.get(
    "/health/ready",
    response_model=Readiness,
    summary="Readiness: the service can serve members now",
    description="200 when the database answers and its schema (`DATABASE_SCHEMA`) is "
    "migrated to what this code expects; 503 with the reason otherwise (database "
    "unreachable, schema missing, migrations pending). Needs no token.",
    responses={503: {"model": Readiness, "description": "Not ready", "content": _NOT_READY}},
)
async def check_readiness(request: Request, probe: Probe) -> Readiness | JSONResponse:
    is_ready, reason = await _readiness(request, probe)
    return Readiness(status="ready") if is_ready else _not_ready(reason)


@router.get(
    "/health/started",
    response_model=Readiness,
    summary="Started: ready once, then alive (the platform's health check)",
    description="Until this process has first been ready it answers as `/health/ready` "
    "(503 while the database is unreachable or the schema unmigrated), so a new deploy "
    "gets no traffic before it can serve; from then on it answers 200 without touching "
    "the database, so a database outage does not make the platform restart healthy "
    "processes in a loop (they answer members 503 with Retry-After meanwhile). Render's "
    "`healthCheckPath`. Needs no token.",
    responses={503: {"model": Readiness, "description": "Not ready yet",
                     "content": _NOT_READY}},
)
async def check_started(request: Request, probe: Probe) -> Readiness | JSONResponse:
    if getattr(request.app.state, "been_ready", False):
        return Readiness(status="started")
    is_ready, reason = await _readiness(request, probe)
    return Readiness(status="started") if is_ready else _not_ready(reason)


@router.get(
    "/health",
    response_model=HealthResponse,
    response_model_by_alias=True,
    summary="Health of the service",
    description="Whether the database answers, the schema (`DATABASE_SCHEMA`) exists and is "
    "migrated (latest version, pending files), how many workers reported in recently (a "
    "worker pointed at another database or schema does not show up here), and the parser "
    "and embedder in use.\n\n"
    "200 with `ok`, or `degraded` when no worker is alive or migrations are missing "
    "(uploads are accepted but wait); 503 with `down` when the database cannot be reached. "
    "Needs no token. With `Authorization: Bearer <OPERATOR_TOKEN>` the answer also names "
    "the live workers (host, process id, version) and where the database lives; any "
    "other token gets the anonymous answer.",
    responses={503: {"model": HealthResponse, "description": "The database is unreachable",
                     "content": {"application/json": {"example": _DOWN_EXAMPLE}}},
               },
    # The operator token is optional: anyone may call, an operator sees more.
    openapi_extra={"security": [{}, {"OperatorToken": []}]},
)
async def get_health(
    request: Request, settings: ServiceSettings, window: LiveWorkerWindow, probe: Probe,
    registry: Workers, parser: ParserInUse, embedder: EmbedderInUse, clock: ServiceClock,
    operator: Operator,
) -> JSONResponse:
    report = await probe.check()
    workers: list[WorkerInfo] = []
    if report.reachable:
        try:
            workers = await registry.live(window)
        except StoreUnavailable:
            report = DatabaseReport(False, report.schema, error="cannot reach PostgreSQL",
                                    where=report.where)
    if report.ready:
        request.app.state.been_ready = True
    status: Literal["ok", "degraded", "down"]
    if not report.reachable:
        status = "down"
    elif workers and report.ready:
        status = "ok"
    else:
        status = "degraded"
    body = HealthResponse(
        status=status,
        database=DatabaseHealth(
            reachable=report.reachable, schema_name=report.schema,
            schema_present=report.schema_present, migration_version=report.migration_version,
            pending_migrations=list(report.pending_migrations),
            refused_migrations=list(report.refused_migrations), error=report.error,
            where=(report.where or None) if operator else None,
        ),
        workers=WorkersHealth(
            live=len(workers), window_seconds=window.total_seconds(),
            ids=sorted(w.worker_id for w in workers) if operator else None,
            details=[_detail(w) for w in sorted(workers, key=lambda w: w.worker_id)]
            if operator else None,
        ),
        parser=parser.name,
        embedder={"model": embedder.model, "dimensions": embedder.dimensions},
        environment=settings.environment,
        checked_at=clock.now(),
    )
    dumped = body.model_dump(mode="json", by_alias=True)
    if not operator:  # what anonymous callers never see: not even the keys
        del dumped["database"]["where"]
        del dumped["workers"]["ids"], dumped["workers"]["details"]
    return JSONResponse(dumped, status_code=503 if status == "down" else 200)


def _detail(worker: WorkerInfo) -> WorkerDetail:
    return WorkerDetail(id=worker.worker_id, hostname=worker.hostname, pid=worker.pid,
                        version=worker.version, started_at=worker.started_at,
                        last_seen_at=worker.last_seen_at)
