"""What can go wrong with the database itself, in words an operator can act on.

These are not domain errors: they stop the service from starting (or a health check
from passing), they do not decide what happens to a job. Messages name the host,
port and database but never the password.
"""

from __future__ import annotations

import asyncpg


class PostgresError(Exception):
    """Base of the PostgreSQL adapter's own errors."""


class InvalidSchemaName(PostgresError, ValueError):
    """``DATABASE_SCHEMA`` is not a plain lowercase SQL identifier."""


class DatabaseUnavailable(PostgresError):
    """The database cannot be reached or refuses the connection."""


class MissingExtension(PostgresError):
    """The pgvector extension is not installed in the database."""


class PoolerMismatch(PostgresError):
    """The database sits behind a transaction-mode pooler, but the service was told to
    count on sessions (``DATABASE_POOLER_MODE``)."""


class MigrationError(PostgresError):
    """The migrations on disk and the ones recorded in the schema disagree."""


#: The database cannot be reached right now (a server gone away, shutting down or
#: starting up, a refused or missing socket, a timeout): worth answering 503 and
#: trying again, never a bug. (``TimeoutError`` is an ``OSError``.)
DATABASE_UNREACHABLE: tuple[type[Exception], ...] = (
    DatabaseUnavailable,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.TooManyConnectionsError,
    OSError,
)

#: Anything that goes wrong talking to the database, for a command or a probe that
#: reports it rather than crashing.
DATABASE_TROUBLE: tuple[type[Exception], ...] = (
    PostgresError, asyncpg.PostgresError, asyncpg.InterfaceError, *DATABASE_UNREACHABLE,
)
