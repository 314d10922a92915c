"""Settings from the environment: every variable's name, default and checks.

Nothing is read at import time: :func:`load_settings` builds a :class:`Settings`
at start-up (from ``os.environ``, or from a mapping in tests). A bad value stops
start-up with :class:`SettingsError`, whose message names each variable and what
is allowed, e.g. ``RAG_SIMILARITY_THRESHOLD must be between 0 and 1 (got 7)``.
The value of a secret is never echoed, in errors, ``repr`` or logs.

An empty variable counts as unset (``OPENAI_API_KEY=`` means "no key").

The variables come in groups, one module each (database, auth, service, RAG,
answers, worker, parser, uploads, file store); :class:`Settings` is all of them
together, so every consumer reads ``settings.<field>``. Field ``x`` is variable ``X``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Self

from pydantic import ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from entrypoints.settings.answers import AnswerSettings
from entrypoints.settings.auth import AuthSettings
from entrypoints.settings.database import DatabaseSettings
from entrypoints.settings.errors import SettingsError, format_settings_errors
from entrypoints.settings.files import FileStoreSettings
from entrypoints.settings.parser import ParserSettings
from entrypoints.settings.rag import RagSettings
from entrypoints.settings.service import ServiceSettings
from entrypoints.settings.uploads import UploadSettings
from entrypoints.settings.worker import WorkerSettings

__all__ = ["Settings", "SettingsError", "load_settings"]


# Listed last group first: pydantic orders the fields from the last base to the first,
# so the variables read in this order (database first) in errors and listings.
class Settings(
    BaseSettings, FileStoreSettings, UploadSettings, ParserSettings, WorkerSettings,
    AnswerSettings, RagSettings, ServiceSettings, AuthSettings, DatabaseSettings,
):
    """Every setting of the API, the worker and the CLI. Field ``x`` is variable ``X``."""

    model_config = SettingsConfigDict(
        case_sensitive=False,
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
        validate_default=True,
    )

    @model_validator(mode="after")
    def _check_parser_within_step(self) -> Self:
        if self.parser_timeout_seconds >= self.worker_step_timeout_seconds:
            raise ValueError(
                "PARSER_TIMEOUT_SECONDS must be less than WORKER_STEP_TIMEOUT_SECONDS, so a "
                "file too slow to read fails with its own reason instead of being retried "
                f"(got {self.parser_timeout_seconds:g} and "
                f"{self.worker_step_timeout_seconds:g})"
            )
        return self

    @property
    def effective_worker_log_level(self) -> str:
        return self.worker_log_level or self.log_level


class _MappingSource(EnvSettingsSource):
    """The environment source, reading a given mapping instead of ``os.environ``."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = dict(environ)
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {
            key if self.case_sensitive else key.lower(): value
            for key, value in self._environ.items()
            if not (self.env_ignore_empty and value == "")
        }


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from ``environ`` (default: the process environment).

    Raises :class:`SettingsError` naming every bad variable; the pydantic error
    (which would show the values, secrets included) is not chained.
    """
    source: PydanticBaseSettingsSource = _MappingSource(
        Settings, os.environ if environ is None else environ
    )
    try:
        # Only the given mapping is read (no .env file, no secrets directory).
        return Settings(_build_sources=((source,), {}))  # type: ignore[call-arg]
    except ValidationError as exc:
        problems = format_settings_errors(exc, Settings)
    raise SettingsError(problems)
