"""PostgreSQL adapters: the job queue, the document repository and the worker
registry on asyncpg + pgvector, the migrations runner and the embedded server.

Nothing connects at import time; ``create_pool`` and ``EmbeddedPostgres.start``
are called by the composition root.
"""

from adapters.postgres.connection import (
    DEFAULT_SCHEMA,
    Listener,
    check_schema_name,
    create_pool,
    jobs_channel,
    listen,
)
from adapters.postgres.documents import PostgresDocumentRepository
from adapters.postgres.embedded import EmbeddedPostgres
from adapters.postgres.errors import (
    DatabaseUnavailable,
    InvalidSchemaName,
    MigrationError,
    MissingExtension,
    PostgresError,
)
from adapters.postgres.job_queue import PostgresJobQueue
from adapters.postgres.migrations import (
    SchemaStatus,
    applied_migrations,
    migrate,
    migrations_source,
    run_migrations,
    schema_status,
)
from adapters.postgres.workers import PostgresWorkerRegistry

__all__ = [
    "DEFAULT_SCHEMA",
    "DatabaseUnavailable",
    "EmbeddedPostgres",
    "InvalidSchemaName",
    "Listener",
    "MigrationError",
    "MissingExtension",
    "PostgresDocumentRepository",
    "PostgresError",
    "PostgresJobQueue",
    "PostgresWorkerRegistry",
    "SchemaStatus",
    "applied_migrations",
    "check_schema_name",
    "create_pool",
    "jobs_channel",
    "listen",
    "migrate",
    "migrations_source",
    "run_migrations",
    "schema_status",
]
