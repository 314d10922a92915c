"""Settings of the worker: how often it polls, how many jobs it runs at once, its
leases and heartbeats, the retry policy, and how long a step may run."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Self

from pydantic import BaseModel, Field, field_validator, model_validator

from entrypoints.settings.service import LogLevel, upper_case_level

#: A worker counts as live while it has beaten within this many heartbeats.
LIVE_WORKER_HEARTBEATS = 3


class WorkerSettings(BaseModel):
    worker_poll_interval: Annotated[float, Field(gt=0, le=3600)] = 5.0
    worker_max_retries: Annotated[int, Field(ge=0, le=100)] = 3
    worker_retry_base_delay: Annotated[float, Field(ge=0)] = 1.0
    worker_retry_max_delay: Annotated[float, Field(ge=0)] = 300.0
    worker_log_level: LogLevel | None = None
    worker_concurrency: Annotated[int, Field(ge=1, le=256)] = 4
    worker_lease_seconds: Annotated[float, Field(ge=1)] = 60.0
    worker_heartbeat_seconds: Annotated[float, Field(gt=0)] | None = None
    worker_rescue_interval: Annotated[float, Field(gt=0)] = 30.0
    worker_shutdown_grace: Annotated[float, Field(ge=0)] = 30.0
    #: Serve the worker's own Prometheus metrics (step durations, retries, failures) on
    #: this port; unset, the worker serves none (``navigator up`` shows them at /metrics).
    worker_metrics_port: Annotated[int, Field(ge=1, le=65535)] | None = None
    #: A step still running after this long is stopped and retried (a passing failure).
    worker_step_timeout_seconds: Annotated[float, Field(gt=0, le=86_400)] = 900.0
    #: The worker computes each chunk's keyword index (its tsvector) itself, once its
    #: first chunk write has checked that the database's ``english`` configuration
    #: agrees; false leaves every chunk to the database (migration 0014's trigger).
    worker_indexes_keywords: bool = True

    @field_validator("worker_log_level", mode="before")
    @classmethod
    def _upper_case_worker_level(cls, value: Any) -> Any:
        return upper_case_level(value)

    @model_validator(mode="after")
    def _check_timing(self) -> Self:
        if self.worker_retry_max_delay < self.worker_retry_base_delay:
            raise ValueError(
                "WORKER_RETRY_MAX_DELAY must be at least WORKER_RETRY_BASE_DELAY "
                f"(got {self.worker_retry_max_delay:g} and {self.worker_retry_base_delay:g})"
            )
        if self.heartbeat_seconds >= self.worker_lease_seconds:
            raise ValueError(
                "WORKER_HEARTBEAT_SECONDS must be less than WORKER_LEASE_SECONDS, so a lease "
                f"is renewed before it expires (got {self.heartbeat_seconds:g} and "
                f"{self.worker_lease_seconds:g})"
            )
        return self

    @property
    def heartbeat_seconds(self) -> float:
        """``WORKER_HEARTBEAT_SECONDS``, else a third of the lease."""
        if self.worker_heartbeat_seconds is not None:
            return self.worker_heartbeat_seconds
        return self.worker_lease_seconds / 3

    @property
    def live_worker_window(self) -> timedelta:
        """A worker counts as live while it has beaten within three heartbeats."""
        return timedelta(seconds=self.heartbeat_seconds * LIVE_WORKER_HEARTBEATS)
