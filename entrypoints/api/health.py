"""``GET /health``: can this service do its job? For load balancers and operators."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from domain.ports import DatabaseReport, WorkerInfo
from entrypoints.api.deps import (
    EmbedderInUse,
    LiveWorkerWindow,
    ParserInUse,
    Probe,
    ServiceClock,
    ServiceSettings,
    Workers,
)
from entrypoints.api.problems import DATABASE_DOWN
from entrypoints.api.schemas import (
    HEALTH_EXAMPLE,
    DatabaseHealth,
    HealthResponse,
    WorkersHealth,
)

router = APIRouter(tags=["operations"])

_DOWN_EXAMPLE = {
    **HEALTH_EXAMPLE,
    "status": "down",
    "database": {"reachable": False, "schema": "upload_pipeline", "schema_present": False,
                 "migration_version": None, "pending_migrations": [],
                 "error": "cannot reach PostgreSQL at db.example.org:5432/postgres: timed out"},
    "workers": {"live": 0, "window_seconds": 60.0, "ids": []},
}


@router.get(
    "/health",
    response_model=HealthResponse,
    response_model_by_alias=True,
    summary="Health of the service",
    description="Whether the database answers, the schema (`DATABASE_SCHEMA`) exists and is "
    "migrated (latest version, pending files), which workers reported in recently (a "
    "worker pointed at another database or schema does not show up here), and the parser "
    "and embedder in use.\n\n"
    "200 with `ok`, or `degraded` when no worker is alive or migrations are missing "
    "(uploads are accepted but wait); 503 with `down` when the database cannot be reached. "
    "Needs no token.",
    responses={503: {"model": HealthResponse, "description": "The database is unreachable",
                     "content": {"application/json": {"example": _DOWN_EXAMPLE}}}},
)
async def health(
    settings: ServiceSettings, window: LiveWorkerWindow, probe: Probe, registry: Workers,
    parser: ParserInUse, embedder: EmbedderInUse, clock: ServiceClock,
) -> JSONResponse:
    report = await probe.check()
    workers: list[WorkerInfo] = []
    if report.reachable:
        try:
            workers = await registry.live(window)
        except DATABASE_DOWN as exc:
            report = DatabaseReport(False, report.schema, error=type(exc).__name__)
    status: Literal["ok", "degraded", "down"]
    if not report.reachable:
        status = "down"
    elif workers and report.schema_present and not report.pending_migrations:
        status = "ok"
    else:
        status = "degraded"
    body = HealthResponse(
        status=status,
        database=DatabaseHealth(
            reachable=report.reachable, schema_name=report.schema,
            schema_present=report.schema_present, migration_version=report.migration_version,
            pending_migrations=list(report.pending_migrations), error=report.error,
        ),
        workers=WorkersHealth(live=len(workers), window_seconds=window.total_seconds(),
                              ids=sorted(w.worker_id for w in workers)),
        parser=parser.name,
        embedder={"model": embedder.model, "dimensions": embedder.dimensions},
        environment=settings.environment,
        checked_at=clock.now(),
    )
    return JSONResponse(body.model_dump(mode="json", by_alias=True),
                        status_code=503 if status == "down" else 200)
