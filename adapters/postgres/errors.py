"""What can go wrong with the database itself, in words an operator can act on.

Two kinds of trouble live here:

- errors that stop the service from starting (or a health check from passing):
  ``PostgresError`` and its subclasses. Messages name the host, port and database
  but never the password;
- a database that goes away while the service runs. Every adapter translates it at
  its boundary (:func:`translates_outages` on a class, :func:`translating` on a
  function) into the domain's ``StoreUnavailable``, or ``StoreOutcomeUnknown`` when a
  commit was cut off (:func:`commit`), so neither the API nor the worker needs to know
  asyncpg's exception classes to answer 503 or to try again later. Any other error
  (a bug, a refused write) passes through unchanged, so its traceback stays whole.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

import asyncpg

from domain.errors import StoreOutcomeUnknown, StoreUnavailable


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
#: starting up, a refused or missing socket, a timeout, a connection closed in the
#: middle of a statement): worth answering 503 and trying again, never a bug.
#: (``TimeoutError`` is an ``OSError``; asyncpg's ``ConnectionDoesNotExistError`` is a
#: ``PostgresConnectionError``.)
DATABASE_UNREACHABLE: tuple[type[Exception], ...] = (
    DatabaseUnavailable,
    StoreUnavailable,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.TooManyConnectionsError,
    OSError,
)

#: What asyncpg says, as an ``InterfaceError`` and not as a connection error, when the
#: connection (or the whole pool) was closed under a call: the server went away between
#: two statements, e.g. ``cannot call Transaction.__aexit__(): the underlying connection
#: is closed``; a pooled connection that is lost is taken back by the pool at once, so
#: the next call on it says it ``has been released back to the pool``. Any other
#: ``InterfaceError`` is a misuse of the driver (a bug).
_CLOSED_UNDER_US = ("connection is closed", "released back to the pool", "pool is closing",
                    "pool is closed")

#: What asyncpg's protocol says, as an ``InternalClientError``, when a call meets a
#: connection whose server has just ended the session: the server's farewell error
#: (``terminating connection due to administrator command``) arrived and is still being
#: read (protocol state 2, ``ERROR_CONSUME``) when the next statement is sent, before
#: the connection is seen to close; or the protocol already failed or lost its socket.
#: Found by tests/e2e/test_outage_under_load.py: it answered 500 before.
_SESSION_ENDED_UNDER_US = ("another operation (2) is in progress",
                           'protocol is in the "failed" state', "not connected")

#: Every class :func:`is_unreachable` may say yes to.
MAYBE_UNREACHABLE: tuple[type[Exception], ...] = (
    *DATABASE_UNREACHABLE, asyncpg.InterfaceError, asyncpg.exceptions.InternalClientError,
)

#: Anything that goes wrong talking to the database, for a command or a probe that
#: reports it rather than crashing.
DATABASE_TROUBLE: tuple[type[Exception], ...] = (
    PostgresError, asyncpg.PostgresError, *MAYBE_UNREACHABLE,
)


def is_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database went away (or cannot be reached), not a bug."""
    if isinstance(exc, DATABASE_UNREACHABLE):
        return True
    if isinstance(exc, asyncpg.InterfaceError):
        return any(words in str(exc) for words in _CLOSED_UNDER_US)
    if isinstance(exc, asyncpg.exceptions.InternalClientError):
        return any(words in str(exc) for words in _SESSION_ENDED_UNDER_US)
    return False


def store_unavailable(exc: BaseException) -> StoreUnavailable:
    """The domain's error for a database that went away; names only the error's class
    (an asyncpg message may quote a statement's parameters)."""
    if isinstance(exc, StoreUnavailable):
        return exc
    if isinstance(exc, TimeoutError):
        return StoreUnavailable("the database did not answer in time")
    return StoreUnavailable(f"the database is unreachable: {type(exc).__name__}")


P = ParamSpec("P")
R = TypeVar("R")
C = TypeVar("C", bound=type)


def translating(method: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Function decorator: the coroutine raises ``StoreUnavailable`` (from the original
    error) when the database cannot be reached or goes away under it, and anything
    else unchanged."""

    @functools.wraps(method)
    async def translated(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(*args, **kwargs)
        except StoreUnavailable:
            raise
        except Exception as exc:
            if is_unreachable(exc):
                raise store_unavailable(exc) from exc
            raise

    return translated


def translates_outages(cls: C) -> C:
    """Class decorator: every public coroutine method of a PostgreSQL adapter raises
    ``StoreUnavailable`` (from the original error) when the database cannot be reached
    or goes away under it, and anything else unchanged."""
    for name, member in list(vars(cls).items()):
        if not name.startswith("_") and inspect.iscoroutinefunction(member):
            setattr(cls, name, translating(member))
    return cls


async def commit(conn: asyncpg.Connection, transaction: Any, what: str) -> None:
    """Commit ``transaction`` (begun on ``conn`` with ``conn.transaction()`` and
    ``start()``), telling a write that was lost from one whose fate is unknown.

    A connection that is already closed has not sent COMMIT, so the server rolled the
    transaction back: ``StoreUnavailable``, nothing was stored. A connection lost once
    COMMIT is on its way may have been committed or not: ``StoreOutcomeUnknown``. (No
    await lies between the check and the COMMIT being written, so the check cannot be
    stale.) ``what`` names the write in the message (never its contents).
    """
    if _is_closed(conn):
        raise StoreUnavailable(f"the database went away before {what} was committed: "
                               "nothing was stored")
    try:
        await transaction.commit()
    except Exception as exc:
        if is_unreachable(exc):
            raise StoreOutcomeUnknown(
                f"the database went away while committing {what}: whether it was stored "
                "is known once it answers again") from exc
        raise


@contextlib.asynccontextmanager
async def committing(conn: asyncpg.Connection, what: str) -> AsyncIterator[None]:
    """A transaction on ``conn`` around the block: rolled back if the block raises,
    else committed with :func:`commit` (so a lost COMMIT says its fate is unknown)."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):  # a lost connection rolled back already
            await transaction.rollback()
        raise
    await commit(conn, transaction, what)


def _is_closed(conn: asyncpg.Connection) -> bool:
    try:
        return conn.is_closed()
    except asyncpg.InterfaceError:  # lost, so its pool took it back and detached it
        return True


__all__ = [
    "DATABASE_TROUBLE",
    "DATABASE_UNREACHABLE",
    "MAYBE_UNREACHABLE",
    "DatabaseUnavailable",
    "InvalidSchemaName",
    "MigrationError",
    "MissingExtension",
    "PostgresError",
    "commit",
    "committing",
    "is_unreachable",
    "store_unavailable",
    "translates_outages",
    "translating",
]
