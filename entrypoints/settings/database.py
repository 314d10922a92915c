"""Settings of the database: where it is (``DATABASE_URL``, or ``SUPABASE_DB_*``, or
none: the embedded server), the schema, and the pooler in front of it. The schema
name and the pooler mode are checked by the database adapter's own rules."""

from __future__ import annotations

from typing import Annotated, Any, Self
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from adapters.postgres.connection import (
    SCHEMA_RULE,
    TRANSACTION_POOLER_PORT,
    PoolerSetting,
    check_schema_name,
    pooler_hint,
)
from adapters.postgres.errors import InvalidSchemaName

#: The spellings ``DATABASE_POOLER_MODE`` accepted before it took mode names.
_POOLER_ALIASES = {
    "true": "transaction", "1": "transaction", "yes": "transaction", "on": "transaction",
    "false": "session", "0": "session", "no": "session", "off": "session",
    "direct": "session",
}


DSN_RULE = ("must be a postgresql://user:password@host:port/database URL; percent-encode "
            "any / # ? @ : in the user name or password (Python: urllib.parse.quote(password, "
            "safe=''))")


def _readable_dsn(dsn: str) -> bool:
    """Whether ``dsn`` parses as a PostgreSQL URL whose host and port are where they
    belong: an unencoded "/", "#" or "?" in the password moves the rest of it into the
    path, fragment or query, and leaves part of it where the port is read."""
    try:
        parts = urlsplit(dsn)
        parts.port  # noqa: B018  # a port that is not a number raises
    except ValueError:
        return False
    return (parts.scheme in ("postgres", "postgresql") and "@" not in parts.path
            and not parts.fragment)


class DatabaseSettings(BaseModel):
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

    @field_validator("database_url", "migration_database_url")
    @classmethod
    def _a_url(cls, value: SecretStr | None) -> SecretStr | None:
        """A DSN the driver can read; the message never quotes it (the driver's own
        error for a password holding "/" quoted part of the password)."""
        if value is not None and not _readable_dsn(value.get_secret_value()):
            raise ValueError(DSN_RULE)
        return value

    @field_validator("database_pooler_mode", mode="before")
    @classmethod
    def _pooler_aliases(cls, value: Any) -> Any:
        if isinstance(value, bool):
            return "transaction" if value else "session"
        if isinstance(value, str):
            word = value.strip().lower()
            return _POOLER_ALIASES.get(word, word)
        return value

    @field_validator("database_schema")
    @classmethod
    def _check_schema(cls, value: str) -> str:
        try:
            return check_schema_name(value)  # the rule the database adapter enforces
        except InvalidSchemaName:
            raise ValueError(SCHEMA_RULE) from None

    @model_validator(mode="after")
    def _check_pooler_against_port(self) -> Self:
        dsn = self.database_dsn()
        if (self.database_pooler_mode == "session" and dsn is not None
                and pooler_hint(dsn) == "transaction"):
            raise ValueError(
                f"DATABASE_POOLER_MODE is session (or false) but the database URL points at "
                f"port {TRANSACTION_POOLER_PORT}, Supabase's transaction-mode pooler: set "
                "DATABASE_POOLER_MODE=transaction (or auto), or use the pooler's session "
                "port 5432"
            )
        return self

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

    def for_migrations(self) -> Self:
        """These settings as ``navigator migrate`` uses them: on
        ``MIGRATION_DATABASE_URL`` (the owner) when it is set."""
        if self.migration_database_url is None:
            return self
        return self.model_copy(update={"database_url": self.migration_database_url})

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_dsn() is None
