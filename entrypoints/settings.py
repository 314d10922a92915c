"""Settings from the environment: the names of DESIGN.md §7, their defaults, and checks.

Nothing is read at import time: :func:`load_settings` builds a :class:`Settings`
at start-up (from ``os.environ``, or from a mapping in tests). A bad value stops
start-up with :class:`SettingsError`, whose message names each variable and what
is allowed, e.g. ``RAG_SIMILARITY_THRESHOLD must be between 0 and 1 (got 7)``.
The value of a secret is never echoed, in errors, ``repr`` or logs.

An empty variable counts as unset (``OPENAI_API_KEY=`` means "no key").
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

import annotated_types
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from adapters.postgres.connection import (
    SCHEMA_RULE,
    TRANSACTION_POOLER_PORT,
    PoolerSetting,
    check_schema_name,
    pooler_hint,
)
from adapters.postgres.errors import InvalidSchemaName

MIB = 1024 * 1024
GIB = 1024 * MIB
DEFAULT_HOME = "~/.local/share/insurance-navigator"
LIVE_WORKER_HEARTBEATS = 3
# At most 2,000 dimensions: a vector then still fits in its row (migration 0005 keeps
# vectors in-row for search; larger ones would go to TOAST and slow every search).
MAX_INDEXED_DIMENSIONS = 2000

#: The spellings ``DATABASE_POOLER_MODE`` accepted before it took mode names.
_POOLER_ALIASES = {
    "true": "transaction", "1": "transaction", "yes": "transaction", "on": "transaction",
    "false": "session", "0": "session", "no": "session", "off": "session",
    "direct": "session",
}

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class SettingsError(Exception):
    """The environment holds a value the service cannot start with.

    ``problems`` holds one line per bad variable, each naming the variable.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "the service cannot start; fix these environment variables:\n  "
            + "\n  ".join(problems)
        )


class Settings(BaseSettings):
    """Every setting of the API, the worker and the CLI. Field ``x`` is variable ``X``."""

    model_config = SettingsConfigDict(
        case_sensitive=False,
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
        validate_default=True,
    )

    # -- database ------------------------------------------------------------------
    database_url: SecretStr | None = None
    #: The owner's DSN, for ``navigator migrate`` alone, when the services' own
    #: ``DATABASE_URL`` is a least-privilege role that may not run DDL.
    migration_database_url: SecretStr | None = None
    supabase_db_host: str | None = None
    supabase_db_port: Annotated[int, Field(ge=1, le=65535)] = 5432
    supabase_db_user: str = "postgres"
    supabase_db_password: SecretStr | None = None
    supabase_db_name: str = "postgres"
    database_schema: str = "upload_pipeline"
    #: ``auto`` (the default): transaction mode for port 6543 or a pooler seen sharing
    #: server sessions, else session mode; ``transaction`` (also ``true``, the old
    #: spelling): Supavisor's port 6543 or PgBouncer ``pool_mode=transaction``, no
    #: prepared statements, session settings or LISTEN; ``session`` (also ``false``):
    #: a direct connection or a session-mode pooler.
    database_pooler_mode: PoolerSetting = "auto"

    # -- Supabase --------------------------------------------------------------------
    supabase_url: str | None = None
    supabase_jwt_secret: SecretStr | None = None
    #: How long the project's signing keys (JWKS) are cached, and the least time between
    #: two fetches of them (an unknown ``kid`` refetches at most this often).
    auth_jwks_cache_seconds: Annotated[float, Field(gt=0, le=86_400)] = 600.0
    auth_jwks_refetch_seconds: Annotated[float, Field(ge=1, le=3600)] = 30.0

    # -- service ---------------------------------------------------------------------
    environment: str = "development"
    debug: bool = False
    log_level: LogLevel = "INFO"
    service_host: str = "0.0.0.0"
    #: The API's port: ``SERVICE_PORT`` when set, else ``PORT`` (the port a platform such
    #: as Render tells a web service to listen on), else 10000.
    service_port: Annotated[int, Field(ge=1, le=65535)] = 10000
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: A bearer secret that shows operators the details ``/health`` hides from anyone
    #: else (worker hosts and process ids, where the database lives); unset, nobody sees
    #: them over HTTP. At least 32 characters (``openssl rand -hex 32``).
    operator_token: SecretStr | None = None

    # -- retrieval -------------------------------------------------------------------
    rag_similarity_threshold: Annotated[float, Field(ge=0, le=1)] = 0.3
    rag_max_chunks: Annotated[int, Field(ge=1, le=50)] = 10
    rag_token_budget: Annotated[int, Field(ge=1, le=32_000)] = 4000
    rag_embedding_model: str = "text-embedding-3-small"
    rag_vector_dimension: Annotated[int, Field(ge=2, le=MAX_INDEXED_DIMENSIONS)] = 1536
    #: How search finds passages: ``hybrid`` (the question's words and its meaning,
    #: fused by reciprocal rank), ``vector`` (meaning only) or ``keyword`` (words only).
    rag_search_mode: Literal["hybrid", "vector", "keyword"] = "hybrid"

    # -- providers -------------------------------------------------------------------
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    anthropic_api_key: SecretStr | None = None
    llamaparse_api_key: SecretStr | None = None
    llamaparse_base_url: str | None = None

    # -- answers (issue 12) ------------------------------------------------------------
    #: Claude model of generated answers (used when ANTHROPIC_API_KEY is set).
    anthropic_model: str = "claude-sonnet-4-6"
    anthropic_base_url: str | None = None
    anthropic_max_output_tokens: Annotated[int, Field(ge=1, le=32_000)] = 1024
    #: Answers a member may ask for per window, per API replica (in memory).
    answer_rate_limit: Annotated[int, Field(ge=1, le=100_000)] = 30
    answer_rate_window_seconds: Annotated[float, Field(gt=0, le=86_400)] = 600.0

    # -- worker ----------------------------------------------------------------------
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

    # -- time and memory limits (issue 10) ---------------------------------------------
    #: A step still running after this long is stopped and retried (a passing failure).
    worker_step_timeout_seconds: Annotated[float, Field(gt=0, le=86_400)] = 900.0
    #: Each file is parsed locally in a child process that may use at most this much
    #: memory (address space), this much CPU time, and this long on the clock; a file
    #: that breaks one fails for good ("this file takes too long to read...").
    parser_memory_limit_mib: Annotated[int, Field(ge=64, le=65_536)] = 1024
    parser_cpu_limit_seconds: Annotated[float, Field(gt=0, le=3600)] = 120.0
    parser_timeout_seconds: Annotated[float, Field(gt=0, le=3600)] = 300.0

    # -- uploads and chunking --------------------------------------------------------
    upload_max_bytes: Annotated[int, Field(ge=1)] = 50 * MIB
    upload_max_documents_per_member: Annotated[int, Field(ge=1)] = 1000
    upload_max_bytes_per_member: Annotated[int, Field(ge=1)] = 2 * GIB
    chunk_target_tokens: Annotated[int, Field(ge=16, le=8191)] = 512
    chunk_overlap_tokens: Annotated[int, Field(ge=0)] = 64

    # -- local files -----------------------------------------------------------------
    navigator_home: Path = Path(DEFAULT_HOME)
    #: Where files were kept on disk before they moved into FILE_STORE; read (and
    #: emptied) only by ``navigator migrate``.
    blob_dir: Path | None = None

    # -- the file store (uploaded files) ------------------------------------------------
    #: ``postgres``: in DATABASE_SCHEMA, beside the documents (the default); ``s3``: an
    #: S3-compatible bucket (AWS S3, Supabase Storage, Cloudflare R2, MinIO).
    file_store: Literal["postgres", "s3"] = "postgres"
    s3_endpoint_url: str | None = None
    s3_bucket: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_key_prefix: str = ""

    # -- checks ----------------------------------------------------------------------

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

    @field_validator("log_level", "worker_log_level", mode="before")
    @classmethod
    def _upper_case_level(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("database_pooler_mode", mode="before")
    @classmethod
    def _pooler_aliases(cls, value: Any) -> Any:
        if isinstance(value, bool):
            return "transaction" if value else "session"
        if isinstance(value, str):
            word = value.strip().lower()
            return _POOLER_ALIASES.get(word, word)
        return value

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

    @field_validator("supabase_url")
    @classmethod
    def _check_supabase_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        if not re.match(r"^https?://[^/\s?#]+$", value):
            raise ValueError("must be the project's URL such as https://abcd.supabase.co "
                             "(scheme and host, no path)")
        return value

    @field_validator("operator_token")
    @classmethod
    def _check_operator_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters (e.g. `openssl rand -hex 32`)")
        return value

    @field_validator("database_schema")
    @classmethod
    def _check_schema(cls, value: str) -> str:
        try:
            return check_schema_name(value)  # the rule the database adapter enforces
        except InvalidSchemaName:
            raise ValueError(SCHEMA_RULE) from None

    @field_validator("environment")
    @classmethod
    def _check_environment(cls, value: str) -> str:
        value = value.strip().lower()
        if not re.match(r"^[a-z][a-z0-9_-]*$", value):
            raise ValueError("must be a single word such as development, staging or production")
        return value

    @field_validator("navigator_home", "blob_dir")
    @classmethod
    def _expand_home(cls, value: Path | None) -> Path | None:
        return None if value is None else value.expanduser()

    @field_validator("file_store", mode="before")
    @classmethod
    def _lower_case_store(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("s3_endpoint_url")
    @classmethod
    def _check_endpoint(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+(/\S*)?$", value):
            raise ValueError("must be an http(s) URL such as "
                             "https://<project>.supabase.co/storage/v1/s3")
        return value

    @model_validator(mode="after")
    def _check_together(self) -> Settings:
        if self.file_store == "s3" and not self.s3_bucket:
            raise ValueError("FILE_STORE=s3 needs S3_BUCKET (and S3_ENDPOINT_URL, "
                             "S3_REGION, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY unless the "
                             "defaults of AWS apply)")
        if (self.s3_access_key_id is None) != (self.s3_secret_access_key is None):
            raise ValueError("S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together: set "
                             "both or neither")
        dsn = self.database_dsn()
        if (self.database_pooler_mode == "session" and dsn is not None
                and pooler_hint(dsn) == "transaction"):
            raise ValueError(
                f"DATABASE_POOLER_MODE is session (or false) but the database URL points at "
                f"port {TRANSACTION_POOLER_PORT}, Supabase's transaction-mode pooler: set "
                "DATABASE_POOLER_MODE=transaction (or auto), or use the pooler's session "
                "port 5432"
            )
        if self.chunk_overlap_tokens >= self.chunk_target_tokens:
            raise ValueError(
                f"CHUNK_OVERLAP_TOKENS must be less than CHUNK_TARGET_TOKENS "
                f"(got {self.chunk_overlap_tokens} and {self.chunk_target_tokens})"
            )
        if self.worker_retry_max_delay < self.worker_retry_base_delay:
            raise ValueError(
                "WORKER_RETRY_MAX_DELAY must be at least WORKER_RETRY_BASE_DELAY "
                f"(got {self.worker_retry_max_delay:g} and {self.worker_retry_base_delay:g})"
            )
        if self.parser_timeout_seconds >= self.worker_step_timeout_seconds:
            raise ValueError(
                "PARSER_TIMEOUT_SECONDS must be less than WORKER_STEP_TIMEOUT_SECONDS, so a "
                "file too slow to read fails with its own reason instead of being retried "
                f"(got {self.parser_timeout_seconds:g} and "
                f"{self.worker_step_timeout_seconds:g})"
            )
        if self.heartbeat_seconds >= self.worker_lease_seconds:
            raise ValueError(
                "WORKER_HEARTBEAT_SECONDS must be less than WORKER_LEASE_SECONDS, so a lease "
                f"is renewed before it expires (got {self.heartbeat_seconds:g} and "
                f"{self.worker_lease_seconds:g})"
            )
        return self

    # -- derived values ----------------------------------------------------------------

    def database_dsn(self) -> str | None:
        """``DATABASE_URL``, else a DSN from ``SUPABASE_DB_*`` when the host is set, else
        None (meaning: the embedded server). Contains the password: never log it."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        if self.supabase_db_host:
            password = (
                ":" + quote(self.supabase_db_password.get_secret_value(), safe="")
                if self.supabase_db_password is not None
                else ""
            )
            return (
                f"postgresql://{quote(self.supabase_db_user, safe='')}{password}"
                f"@{self.supabase_db_host}:{self.supabase_db_port}"
                f"/{quote(self.supabase_db_name, safe='')}"
            )
        return None

    def for_migrations(self) -> Settings:
        """These settings as ``navigator migrate`` uses them: on
        ``MIGRATION_DATABASE_URL`` (the owner) when it is set."""
        if self.migration_database_url is None:
            return self
        return self.model_copy(update={"database_url": self.migration_database_url})

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_dsn() is None

    @property
    def pgdata_dir(self) -> Path:
        """The embedded PostgreSQL server's data folder, used when no database is named."""
        return self.navigator_home / "pgdata"

    @property
    def blob_path(self) -> Path:
        """Where earlier versions kept uploaded files on disk: ``BLOB_DIR``, else
        ``NAVIGATOR_HOME/blobs``. ``navigator migrate`` moves them into the file store."""
        return self.blob_dir if self.blob_dir is not None else self.navigator_home / "blobs"

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

    @property
    def effective_worker_log_level(self) -> str:
        return self.worker_log_level or self.log_level

    @property
    def is_development(self) -> bool:
        return self.environment in ("development", "dev", "local", "test")


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
        problems = format_settings_errors(exc)
    raise SettingsError(problems)


# -- turning pydantic's errors into sentences about variables ----------------------


def format_settings_errors(exc: ValidationError) -> list[str]:
    """One line per problem: the variable, what is allowed, and (unless secret) the value."""
    lines: list[str] = []
    for error in exc.errors(include_url=False):
        line = _describe(error)
        if line not in lines:
            lines.append(line)
    return lines


def _describe(error: ErrorDetails) -> str:
    loc = error["loc"]
    if not loc:  # a check across variables: its message names them itself
        return error["msg"].removeprefix("Value error, ")
    field = str(loc[0])
    name = field.upper()
    rule = _rule(field, error)
    if _is_secret(field):
        return f"{name} {rule}"
    got = error.get("input")
    if not isinstance(got, str | int | float | bool):
        return f"{name} {rule}"
    shown = str(got)
    if not shown or any(ch.isspace() for ch in shown):
        shown = repr(shown)
    return f"{name} {rule} (got {shown})"


def _rule(field: str, error: ErrorDetails) -> str:
    kind = error["type"]
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return _bounds(field)
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return "must be a whole number"
    if kind in ("float_parsing", "float_type", "finite_number"):
        return "must be a number"
    if kind in ("bool_parsing", "bool_type"):
        return "must be true or false (also accepted: 1/0, yes/no, on/off)"
    if kind == "literal_error":
        return f"must be one of {error.get('ctx', {}).get('expected', '')}"
    if kind == "value_error":
        return error["msg"].removeprefix("Value error, ")
    return error["msg"].lower()


def _bounds(field: str) -> str:
    low: tuple[str, float] | None = None
    high: tuple[str, float] | None = None
    for item in _constraints(field):
        if isinstance(item, annotated_types.Ge):
            low = ("ge", item.ge)  # type: ignore[assignment]
        elif isinstance(item, annotated_types.Gt):
            low = ("gt", item.gt)  # type: ignore[assignment]
        elif isinstance(item, annotated_types.Le):
            high = ("le", item.le)  # type: ignore[assignment]
        elif isinstance(item, annotated_types.Lt):
            high = ("lt", item.lt)  # type: ignore[assignment]
    if low and high and low[0] == "ge" and high[0] == "le":
        return f"must be between {low[1]:g} and {high[1]:g}"
    parts = []
    if low:
        parts.append(f"at least {low[1]:g}" if low[0] == "ge" else f"greater than {low[1]:g}")
    if high:
        parts.append(f"at most {high[1]:g}" if high[0] == "le" else f"less than {high[1]:g}")
    return "must be " + " and ".join(parts)


def _constraints(field: str) -> list[object]:
    info = Settings.model_fields[field]
    found = list(info.metadata)
    for arg in getattr(info.annotation, "__args__", ()):  # Annotated[..., Field(...)] | None
        for meta in getattr(arg, "__metadata__", ()):
            found.extend(getattr(meta, "metadata", [meta]))
    return found


def _is_secret(field: str) -> bool:
    annotation = Settings.model_fields[field].annotation
    return annotation is SecretStr or SecretStr in getattr(annotation, "__args__", ())
