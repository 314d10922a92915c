"""Settings of the service process itself: the environment it runs in, its log level,
where the API listens, which browser origins may call it, and who may read its
Prometheus metrics."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def upper_case_level(value: Any) -> Any:
    """Log levels in any case (``info``, ``Info``), as the logging module names them."""
    return value.strip().upper() if isinstance(value, str) else value


class ServiceSettings(BaseModel):
    environment: str = "development"
    debug: bool = False
    log_level: LogLevel = "INFO"
    service_host: str = "0.0.0.0"
    #: The API's port: ``SERVICE_PORT`` when set, else ``PORT`` (the port a platform such
    #: as Render tells a web service to listen on), else 10000.
    service_port: Annotated[int, Field(ge=1, le=65535)] = 10000
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    #: The bearer secret Prometheus sends to ``/metrics`` (and to ``WORKER_METRICS_PORT``).
    #: Unset, the metrics are open in development and closed anywhere else. At least 32
    #: characters (``openssl rand -hex 32``).
    metrics_token: SecretStr | None = None
    #: How old the queue's figures on ``/metrics`` may be: the database answers one read
    #: per this many seconds per API process, however often it is scraped.
    metrics_cache_seconds: Annotated[float, Field(ge=0, le=300)] = 5.0
    #: The window of the failures, retries and completions ``/metrics`` counts.
    metrics_window_seconds: Annotated[float, Field(ge=60, le=86_400)] = 900.0
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: How often a job's event stream (``GET /api/v1/jobs/{id}/events``) looks at the job
    #: in the database, and how long it stays quiet before a keep-alive comment.
    job_events_poll_seconds: Annotated[float, Field(gt=0, le=10)] = 0.5
    job_events_keep_alive_seconds: Annotated[float, Field(gt=0, le=300)] = 15.0

    @model_validator(mode="before")
    @classmethod
    def _port_from_the_platform(cls, data: Any) -> Any:
        """``PORT`` stands in for an unset ``SERVICE_PORT``: the project's own name, set on
        purpose, wins over the platform's. A bad ``PORT`` is reported under its own name
        (by its field), not copied."""
        if not isinstance(data, dict) or data.get("service_port") is not None:
            return data
        port = data.get("port")
        try:
            number = int(str(port).strip()) if port is not None else None
        except ValueError:
            return data
        if number is not None and 1 <= number <= 65535:
            return {**data, "service_port": number}
        return data

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case_level(cls, value: Any) -> Any:
        return upper_case_level(value)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            origins = [part.strip().rstrip("/") for part in value.split(",")]
            return [origin for origin in origins if origin]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _check_origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if origin != "*" and not re.match(r"^https?://[^/\s]+$", origin):
                raise ValueError(
                    "must be a comma-separated list of origins such as "
                    "https://app.example.org (scheme and host, no path)"
                )
        return origins

    @field_validator("metrics_token")
    @classmethod
    def _check_metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters (e.g. `openssl rand -hex 32`)")
        return value

    @field_validator("environment")
    @classmethod
    def _check_environment(cls, value: str) -> str:
        value = value.strip().lower()
        if not re.match(r"^[a-z][a-z0-9_-]*$", value):
            raise ValueError("must be a single word such as development, staging or production")
        return value

    @property
    def is_development(self) -> bool:
        return self.environment in ("development", "dev", "local", "test")
