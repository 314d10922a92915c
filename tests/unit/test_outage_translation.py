"""The PostgreSQL adapters' boundary: what the driver says when the database goes away
becomes the domain's ``StoreUnavailable`` (from the driver's error, naming no host, no
statement, no parameter); every other error passes through as it was raised."""

from __future__ import annotations

import asyncpg
import pytest

from adapters.postgres.errors import DatabaseUnavailable, commit, translates_outages, translating
from domain.errors import NotFound, StoreOutcomeUnknown, StoreUnavailable

#: What the driver (or the socket under it) raises when the server is gone, refuses us,
#: is shutting down or starting up, or ends the session under a call.
OUTAGES = [
    DatabaseUnavailable("cannot reach PostgreSQL at db.internal:5432/postgres"),
    ConnectionRefusedError(111, "Connection refused to db.internal"),
    FileNotFoundError(2, "No such file or directory: /run/db.internal/.s.PGSQL.5432"),
    asyncpg.exceptions.ConnectionDoesNotExistError("db.internal: connection was closed"),
    asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator"),
    asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
    # the upload's transaction exit after the server went away between two statements
    asyncpg.InterfaceError(
        "cannot call Transaction.__aexit__(): the underlying connection is closed"),
    asyncpg.InterfaceError("connection is closed"),
    asyncpg.InterfaceError("cannot call Connection.fetch(): connection has been released "
                           "back to the pool"),  # a lost pooled connection, taken back
    asyncpg.InterfaceError("pool is closing"),
    # the server's farewell error still being read when the next statement is sent
    asyncpg.exceptions.InternalClientError(
        "cannot switch to state 12; another operation (2) is in progress"),
]

#: Errors that are not the database going away: a bug, a refusal, the domain's own word.
NOT_OUTAGES = [
    asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
    asyncpg.exceptions.UndefinedTableError('relation "upload_jobs" does not exist'),
    asyncpg.exceptions.UniqueViolationError("duplicate key value 'maria@example.org'"),
    NotFound("no document 42"),
    ValueError("query vector does not fit the stored vectors"),
]


@translates_outages
class Repository:
    """An adapter whose every call fails with the error it was given."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    async def get(self) -> None:
        raise self.error

    async def _private(self) -> None:
        raise self.error


@translating
async def listing(error: BaseException) -> None:
    raise error


@pytest.mark.parametrize("error", OUTAGES, ids=lambda e: type(e).__name__)
async def test_a_lost_database_reaches_the_caller_as_store_unavailable(
    error: BaseException,
) -> None:
    with pytest.raises(StoreUnavailable) as raised:
        await Repository(error).get()

    assert raised.value.__cause__ is error
    assert not isinstance(raised.value, StoreOutcomeUnknown)  # nothing was committing
    assert "db.internal" not in str(raised.value)  # where the database lives: logs only
    assert str(raised.value) == f"the database is unreachable: {type(error).__name__}"


@pytest.mark.parametrize("error", OUTAGES, ids=lambda e: type(e).__name__)
async def test_a_function_of_an_adapter_translates_a_lost_database_too(
    error: BaseException,
) -> None:
    with pytest.raises(StoreUnavailable) as raised:
        await listing(error)

    assert raised.value.__cause__ is error


async def test_a_timeout_says_the_database_did_not_answer_in_time() -> None:
    with pytest.raises(StoreUnavailable, match="did not answer in time"):
        await Repository(TimeoutError()).get()


@pytest.mark.parametrize("error", NOT_OUTAGES, ids=lambda e: type(e).__name__)
async def test_any_other_error_passes_through_unchanged(error: BaseException) -> None:
    with pytest.raises(type(error)) as raised:
        await Repository(error).get()

    assert raised.value is error


async def test_a_store_unavailable_raised_inside_passes_through_as_it_is() -> None:
    said = StoreOutcomeUnknown("the database went away while committing the upload")

    with pytest.raises(StoreOutcomeUnknown) as raised:
        await Repository(said).get()

    assert raised.value is said


async def test_private_methods_are_left_to_the_public_method_that_calls_them() -> None:
    lost = asyncpg.exceptions.AdminShutdownError("terminating connection")

    with pytest.raises(asyncpg.exceptions.AdminShutdownError):
        await Repository(lost)._private()


# -- a commit cut off -----------------------------------------------------------------


class _Connection:
    def __init__(self, closed: bool) -> None:
        self.closed = closed

    def is_closed(self) -> bool:
        return self.closed


class _Transaction:
    def __init__(self, error: Exception | None) -> None:
        self.error = error
        self.committed = False

    async def commit(self) -> None:
        if self.error is not None:
            raise self.error
        self.committed = True


async def test_a_connection_lost_while_committing_leaves_the_outcome_unknown() -> None:
    lost = asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of "
                                               "operation")

    with pytest.raises(StoreOutcomeUnknown, match="committing the file: whether") as raised:
        await commit(_Connection(closed=False), _Transaction(lost), "the file")  # type: ignore[arg-type]

    assert raised.value.__cause__ is lost


async def test_a_connection_already_closed_sends_no_commit_and_stored_nothing() -> None:
    transaction = _Transaction(None)

    with pytest.raises(StoreUnavailable, match="nothing was stored") as raised:
        await commit(_Connection(closed=True), transaction, "the file")  # type: ignore[arg-type]

    assert not isinstance(raised.value, StoreOutcomeUnknown)
    assert not transaction.committed


async def test_a_commit_refused_for_a_reason_other_than_an_outage_is_not_disguised() -> None:
    refused = asyncpg.SerializationError("could not serialize access")

    with pytest.raises(asyncpg.SerializationError):
        await commit(_Connection(closed=False), _Transaction(refused), "the file")  # type: ignore[arg-type]


async def test_a_commit_that_goes_through_is_committed() -> None:
    transaction = _Transaction(None)

    await commit(_Connection(closed=False), transaction, "the file")  # type: ignore[arg-type]

    assert transaction.committed
