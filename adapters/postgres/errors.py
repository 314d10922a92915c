"""What can go wrong with the database itself, in words an operator can act on.

These are not domain errors: they stop the service from starting (or a health check
from passing), they do not decide what happens to a job. Messages name the host,
port and database but never the password.
"""

from __future__ import annotations


class PostgresError(Exception):
    """Base of the PostgreSQL adapter's own errors."""


class InvalidSchemaName(PostgresError, ValueError):
    """``DATABASE_SCHEMA`` is not a plain lowercase SQL identifier."""


class DatabaseUnavailable(PostgresError):
    """The database cannot be reached or refuses the connection."""


class MissingExtension(PostgresError):
    """The pgvector extension is not installed in the database."""


class MigrationError(PostgresError):
    """The migrations on disk and the ones recorded in the schema disagree."""
