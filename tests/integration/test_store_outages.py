"""The database goes away under the PostgreSQL adapters: every call says
``StoreUnavailable`` (never a driver error), and an upload cut off before its COMMIT
is not stored, while one cut off during its COMMIT says the outcome is unknown."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from adapters.postgres.documents import PostgresDocumentRepository
from adapters.postgres.errors import is_unreachable
from adapters.postgres.files import PostgresBlobStore
from adapters.postgres.job_queue import PostgresJobQueue, _commit
from adapters.postgres.workers import PostgresWorkerRegistry
from domain.errors import StoreOutcomeUnknown, StoreUnavailable
from domain.files import BytesFile
from tests.contract.builders import MARIA, upload
from tests.fakes.clock import FakeClock

pytestmark = pytest.mark.postgres

POLICY = b"Deductible: $250 per year. Out-of-pocket maximum: $1,500.\n"


class RecordingPool:
    """The pool, remembering the connection each ``acquire`` handed out."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self.acquired: list[asyncpg.Connection] = []

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[asyncpg.Connection]:
        async with self._pool.acquire() as conn:
            self.acquired.append(conn)
            yield conn

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


class ServerEndsSessionAfterLastPart(BytesFile):
    """A file whose last part, once written, sees the server end the session that wrote
    it (an administrator's ``pg_terminate_backend``, a restart): the upload's statements
    all ran, its COMMIT has not been sent."""

    def __init__(self, data: bytes, pool: RecordingPool, dsn: str) -> None:
        super().__init__(data)
        self._pool = pool
        self._dsn = dsn

    async def parts(self, size: int = 1024 * 1024) -> AsyncIterator[bytes]:
        async for part in super().parts(size):
            yield part
        conn = self._pool.acquired[-1]
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        admin = await asyncpg.connect(self._dsn)
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", conn.get_server_pid())
        finally:
            await admin.close()
        async with asyncio.timeout(10):  # until the client has seen the server hang up
            await lost.wait()


async def test_an_upload_whose_session_ends_before_commit_is_not_stored_and_says_so(
    pg_pool: asyncpg.Pool, pg_schema: str, postgres_dsn: str,
) -> None:
    clock = FakeClock()
    pool = RecordingPool(pg_pool)
    queue = PostgresJobQueue(pool, clock, pg_schema)  # type: ignore[arg-type]
    document, job = upload(MARIA, POLICY, clock.now())

    with pytest.raises(StoreUnavailable, match="nothing was stored") as raised:
        await queue.submit(document, job, file=ServerEndsSessionAfterLastPart(
            POLICY, pool, postgres_dsn))

    assert not isinstance(raised.value, StoreOutcomeUnknown)
    documents = PostgresDocumentRepository(pg_pool, pg_schema)
    assert await documents.find_by_sha256(MARIA, document.sha256) is None
    # and the same bytes, sent again once the database answers, are stored once
    again, job_again = upload(MARIA, POLICY, clock.now())
    stored = await queue.submit(again, job_again, file=BytesFile(POLICY))
    assert stored.created
    assert (await documents.usage(MARIA)).documents == 1


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

    with pytest.raises(StoreOutcomeUnknown, match="whether it was stored") as raised:
        await _commit(_Connection(closed=False), _Transaction(lost))  # type: ignore[arg-type]

    assert raised.value.__cause__ is lost


async def test_a_connection_already_closed_sends_no_commit_and_stored_nothing() -> None:
    transaction = _Transaction(None)

    with pytest.raises(StoreUnavailable, match="nothing was stored") as raised:
        await _commit(_Connection(closed=True), transaction)  # type: ignore[arg-type]

    assert not isinstance(raised.value, StoreOutcomeUnknown)
    assert not transaction.committed


async def test_a_commit_refused_for_a_reason_other_than_an_outage_is_not_disguised() -> None:
    refused = asyncpg.SerializationError("could not serialize access")

    with pytest.raises(asyncpg.SerializationError):
        await _commit(_Connection(closed=False), _Transaction(refused))  # type: ignore[arg-type]


@pytest.fixture
async def gone_pool() -> AsyncIterator[asyncpg.Pool]:
    """A pool whose server is gone: a port nothing listens on."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        gone = f"postgresql://navigator@127.0.0.1:{closed.getsockname()[1]}/navigator"
    pool = await asyncpg.create_pool(gone, min_size=0, max_size=1)
    try:
        yield pool
    finally:
        await pool.close()


async def test_every_adapter_says_store_unavailable_when_the_server_is_gone(
    gone_pool: asyncpg.Pool, pg_schema: str,
) -> None:
    clock = FakeClock()
    document, job = upload(MARIA, POLICY, clock.now())
    calls = {
        "documents.list": PostgresDocumentRepository(gone_pool, pg_schema).list(MARIA, 10, 0),
        "documents.search": PostgresDocumentRepository(gone_pool, pg_schema).search(
            MARIA, [1.0, 0.0], "m", 0.0, 5),
        "queue.submit": PostgresJobQueue(gone_pool, clock, pg_schema).submit(
            document, job, file=BytesFile(POLICY)),
        "queue.get_job": PostgresJobQueue(gone_pool, clock, pg_schema).get_job(job.job_id),
        "blobs.get": PostgresBlobStore(gone_pool, pg_schema).get(document.blob_key),
        "workers.live": PostgresWorkerRegistry(gone_pool, clock, pg_schema).live(
            clock.now() - clock.now()),
    }
    for name, call in calls.items():
        with pytest.raises(StoreUnavailable) as raised:
            await call
        assert is_unreachable(raised.value.__cause__ or raised.value), name
