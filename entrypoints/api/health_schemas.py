"""The shapes of the health routes' answers (liveness, readiness, the full report),
with the examples the OpenAPI document shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from entrypoints.api.schemas import WHEN

HEALTH_EXAMPLE: dict[str, Any] = {
    "status": "ok",
    "database": {"reachable": True, "schema": "upload_pipeline", "schema_present": True,
                 "migration_version": 3, "pending_migrations": [], "refused_migrations": [],
                 "error": None},
    "workers": {"live": 1, "window_seconds": 60.0},
    "parser": "local", "embedder": {"model": "text-embedding-3-small", "dimensions": 1536},
    "environment": "production", "checked_at": WHEN,
}

_OPERATORS_ONLY = "only with `Authorization: Bearer <OPERATOR_TOKEN>`"


class DatabaseHealth(BaseModel):
    reachable: bool
    schema_name: str = Field(serialization_alias="schema")
    schema_present: bool
    migration_version: int | None
    pending_migrations: list[str]
    refused_migrations: list[str] = Field(
        default_factory=list,
        description="recorded migrations this code refuses to run with (changed since "
                    "applied, or a later release's contract step): `navigator migrate` "
                    "does not mend them")
    error: str | None = None
    where: str | None = Field(default=None, description="host:port/database; "
                              + _OPERATORS_ONLY)


class WorkerDetail(BaseModel):
    """A live worker as it reported itself (operators only)."""

    id: str
    hostname: str
    pid: int
    version: str
    started_at: datetime
    last_seen_at: datetime


class WorkersHealth(BaseModel):
    live: int = Field(description="workers that reported in within three of their own "
                                  "heartbeats (each records its window when it starts)")
    window_seconds: float = Field(description="the window for a worker of an earlier "
                                              "release, which records none: three "
                                              "heartbeats on this API's WORKER_* settings")
    ids: list[str] | None = Field(default=None, description=_OPERATORS_ONLY)
    details: list[WorkerDetail] | None = Field(default=None, description=_OPERATORS_ONLY)


class Liveness(BaseModel):
    """The process answers (nothing else is checked)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "alive"}]})

    status: Literal["alive"]


class Readiness(BaseModel):
    """Whether this process can serve members: its database answers and holds the
    schema this code expects."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ready",
                                                               "reason": None}]})

    status: Literal["ready", "not_ready", "started"]
    reason: str | None = Field(default=None, description="why not ready")


class HealthResponse(BaseModel):
    """``ok``; ``degraded`` when no worker is alive (uploads wait); ``down`` with 503
    when the database cannot be reached."""

    model_config = ConfigDict(json_schema_extra={"examples": [HEALTH_EXAMPLE]})

    status: Literal["ok", "degraded", "down"]
    database: DatabaseHealth
    workers: WorkersHealth
    parser: str
    embedder: dict[str, Any]
    environment: str
    checked_at: datetime
