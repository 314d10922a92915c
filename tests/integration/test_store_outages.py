"""The database goes away under the PostgreSQL adapters: every call says
``StoreUnavailable`` (never a driver error), and an upload cut off before its COMMIT
is not stored, while one cut off during its COMMIT says the outcome is unknown.

Two outages: a server that is gone (nothing listens where the pool connects), and a
server whose sessions end under a live pool (a proxy in front of the real server cuts
every connection at the next statement and refuses new ones), so a statement in
flight is lost as it is when PostgreSQL restarts or an administrator ends sessions."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import asyncpg
import pytest

from adapters.postgres.documents import PostgresDocumentRepository
from adapters.postgres.errors import is_unreachable
from adapters.postgres.files import PostgresBlobStore, stored_documents
from adapters.postgres.invariants import PostgresCanaryRows, PostgresInvariants
from adapters.postgres.job_queue import PostgresJobQueue
from adapters.postgres.operator import PostgresOperatorQueries, PostgresQueueFigures
from adapters.postgres.probe import PostgresDatabaseProbe
from adapters.postgres.workers import PostgresWorkerRegistry
from domain.errors import StoreOutcomeUnknown, StoreUnavailable
from domain.files import BytesFile
from domain.model import Document, DocumentCursor, Job, Lease, Moved
from domain.retry import RetryPolicy
from domain.status import JobStatus
from tests.contract.builders import MARIA, upload
from tests.fakes.clock import FakeClock
from tests.ports import free_port

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


# -- every adapter, every public method ----------------------------------------------


class CuttableProxy:
    """A TCP proxy on 127.0.0.1 in front of the server. Once :meth:`cut`, every
    connection it carries is closed at the next bytes its client sends (the statement
    is lost with the session, as when the server restarts), and new connections are
    closed as soon as they open (the server does not answer yet)."""

    def __init__(self, upstream_dsn: str) -> None:
        parts = urlsplit(upstream_dsn)
        query = parse_qs(parts.query)
        self._host = query.get("host", [parts.hostname or "127.0.0.1"])[0]
        self._port = int(query.get("port", [str(parts.port or 5432)])[0])
        self._parts = parts
        self._cut = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        """Listen; the DSN that reaches the server through the proxy."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        user = quote(self._parts.username or "postgres", safe="")
        password = f":{quote(self._parts.password, safe='')}" if self._parts.password else ""
        database = self._parts.path.lstrip("/") or "postgres"
        return f"postgresql://{user}{password}@127.0.0.1:{port}/{database}"

    def cut(self) -> None:
        self._cut = True

    async def close(self) -> None:
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        if self._cut:
            writer.close()
            return
        if self._host.startswith("/"):
            upstream = await asyncio.open_unix_connection(f"{self._host}/.s.PGSQL.{self._port}")
        else:
            upstream = await asyncio.open_connection(self._host, self._port)
        self._writers.add(upstream[1])
        ends = (writer, upstream[1])
        await asyncio.gather(self._pump(reader, upstream[1], ends, from_client=True),
                             self._pump(upstream[0], writer, ends, from_client=False),
                             return_exceptions=True)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    ends: tuple[asyncio.StreamWriter, ...], *, from_client: bool) -> None:
        try:
            while data := await reader.read(65536):
                if from_client and self._cut:
                    break
                writer.write(data)
                await writer.drain()
        finally:
            for end in ends:
                end.close()


#: Goes with the DSN of the server that is gone: it must never show in an error.
PASSWORD = "outage-s3cret"


@pytest.fixture(params=["server gone", "sessions ended"])
async def lost_pool(request: pytest.FixtureRequest, postgres_dsn: str
                    ) -> AsyncIterator[asyncpg.Pool]:
    """A pool whose database went away: nothing listens where it connects, or its live
    connection (and any new one) is cut at the next statement."""
    if request.param == "server gone":
        gone = f"postgresql://navigator:{PASSWORD}@127.0.0.1:{free_port()}/navigator"
        pool = await asyncpg.create_pool(gone, min_size=0, max_size=1)
        try:
            yield pool
        finally:
            await pool.close()
        return
    proxy = CuttableProxy(postgres_dsn)
    pool = await asyncpg.create_pool(await proxy.start(), min_size=1, max_size=1)
    try:
        assert await pool.fetchval("SELECT 1") == 1  # the session is live ...
        proxy.cut()  # ... and ends under the next statement
        yield pool
    finally:
        pool.terminate()
        await proxy.close()


#: A schema the calls never reach (each fails before its statement is answered).
SCHEMA = "upload_pipeline_outage"
CLOCK = FakeClock()
DOCUMENT, JOB = upload(MARIA, POLICY, CLOCK.now())
LEASE = Lease(JOB, "worker-1", 1)

Call = Callable[[asyncpg.Pool, Document, Job], Awaitable[object]]


def _documents(pool: asyncpg.Pool) -> PostgresDocumentRepository:
    return PostgresDocumentRepository(pool, SCHEMA)


def _blobs(pool: asyncpg.Pool) -> PostgresBlobStore:
    return PostgresBlobStore(pool, SCHEMA)


def _workers(pool: asyncpg.Pool) -> PostgresWorkerRegistry:
    return PostgresWorkerRegistry(pool, CLOCK, SCHEMA)


def _queue(pool: asyncpg.Pool) -> PostgresJobQueue:
    return PostgresJobQueue(pool, CLOCK, SCHEMA)


#: One call of every public method of the adapters below (and a few of the queue's),
#: named ``Class.method``.
CALLS: dict[str, Call] = {
    "PostgresDocumentRepository.get": lambda p, d, j: _documents(p).get(d.document_id),
    "PostgresDocumentRepository.list": lambda p, d, j: _documents(p).list(MARIA, 10, 0),
    "PostgresDocumentRepository.usage": lambda p, d, j: _documents(p).usage(MARIA),
    "PostgresDocumentRepository.find_by_sha256":
        lambda p, d, j: _documents(p).find_by_sha256(MARIA, d.sha256),
    "PostgresDocumentRepository.parsed": lambda p, d, j: _documents(p).parsed(d.document_id),
    "PostgresDocumentRepository.chunks": lambda p, d, j: _documents(p).chunks(d.document_id),
    "PostgresDocumentRepository.search":
        lambda p, d, j: _documents(p).search(MARIA, [1.0, 0.0], "m", 0.0, 5, text="deductible"),
    "PostgresBlobStore.put": lambda p, d, j: _blobs(p).put(d.blob_key, BytesFile(POLICY)),
    "PostgresBlobStore.get": lambda p, d, j: _blobs(p).get(d.blob_key),
    "PostgresBlobStore.delete": lambda p, d, j: _blobs(p).delete(d.blob_key),
    # an async generator, not a coroutine: its first part is where the outage shows
    "PostgresBlobStore.read": lambda p, d, j: anext(aiter(_blobs(p).read(d.blob_key, 2, 9))),
    "PostgresDocumentRepository.unknown":
        lambda p, d, j: _documents(p).unknown(MARIA, [d.document_id]),
    "PostgresDocumentRepository.embedded_by_other_models":
        lambda p, d, j: _documents(p).embedded_by_other_models("m"),
    "PostgresDocumentRepository.not_searched":
        lambda p, d, j: _documents(p).not_searched(MARIA, "m", [d.document_id]),
    "PostgresDocumentRepository.list after a cursor":
        lambda p, d, j: _documents(p).list(MARIA, 10, after=DocumentCursor.after(d),
                                           statuses=[JobStatus.COMPLETE]),
    "stored_documents": lambda p, d, j: stored_documents(p, SCHEMA),
    "PostgresWorkerRegistry.register":
        lambda p, d, j: _workers(p).register("worker-1", "host-1", 4242),
    "PostgresWorkerRegistry.beat": lambda p, d, j: _workers(p).beat("worker-1"),
    "PostgresWorkerRegistry.unregister": lambda p, d, j: _workers(p).unregister("worker-1"),
    "PostgresWorkerRegistry.live": lambda p, d, j: _workers(p).live(timedelta(minutes=1)),
    "PostgresOperatorQueries.oldest_waiting":
        lambda p, d, j: PostgresOperatorQueries(p, SCHEMA).oldest_waiting(datetime.now(UTC)),
    "PostgresOperatorQueries.recent_failures":
        lambda p, d, j: PostgresOperatorQueries(p, SCHEMA).recent_failures(),
    "PostgresOperatorQueries.ready_to_claim":
        lambda p, d, j: PostgresOperatorQueries(p, SCHEMA).ready_to_claim(),
    "PostgresQueueFigures.figures": lambda p, d, j: PostgresQueueFigures(p, SCHEMA).figures(
        datetime.now(UTC), window=timedelta(minutes=15), live_within=timedelta(minutes=1)),
    "PostgresInvariants.check": lambda p, d, j: PostgresInvariants(p, SCHEMA).check(),
    "PostgresCanaryRows.rows_of_document": lambda p, d, j: PostgresCanaryRows(
        p, SCHEMA).rows_of_document(str(d.document_id), str(j.job_id)),
    "PostgresCanaryRows.canaries_of_member":
        lambda p, d, j: PostgresCanaryRows(p, SCHEMA).canaries_of_member(MARIA, "canary-"),
    "PostgresCanaryRows.delete_canaries":
        lambda p, d, j: PostgresCanaryRows(p, SCHEMA).delete_canaries(MARIA, "canary-"),
    # the job queue: every method of its own, and two of the rules it inherits
    "PostgresJobQueue.submit": lambda p, d, j: _queue(p).submit(d, j, file=BytesFile(POLICY)),
    "PostgresJobQueue.delete": lambda p, d, j: _queue(p).delete(d.document_id, MARIA),
    "PostgresJobQueue.get_job": lambda p, d, j: _queue(p).get_job(j.job_id, MARIA),
    "PostgresJobQueue.job_for_document":
        lambda p, d, j: _queue(p).job_for_document(d.document_id),
    "PostgresJobQueue.history": lambda p, d, j: _queue(p).history(j.job_id),
    "PostgresJobQueue.counts": lambda p, d, j: _queue(p).counts(),
    "PostgresJobQueue.stored_job": lambda p, d, j: _queue(p).stored_job(j.job_id),
    "PostgresJobQueue.expired_leases": lambda p, d, j: _queue(p).expired_leases(CLOCK.now()),
    "PostgresJobQueue.store_move": lambda p, d, j: _queue(p).store_move(j, Moved(j)),
    "PostgresJobQueue.claim":
        lambda p, d, j: _queue(p).claim("worker-1", 2, timedelta(seconds=30)),
    "PostgresJobQueue.heartbeat":
        lambda p, d, j: _queue(p).heartbeat(LEASE, timedelta(seconds=30)),
    "PostgresJobQueue.rescue_expired":
        lambda p, d, j: _queue(p).rescue_expired(RetryPolicy(), lambda: 0.0),
}

#: The adapters whose every public method must have a call above.
ADAPTERS = (PostgresDocumentRepository, PostgresBlobStore, PostgresWorkerRegistry,
            PostgresOperatorQueries, PostgresQueueFigures, PostgresInvariants,
            PostgresCanaryRows, PostgresJobQueue)


@pytest.mark.parametrize("name", sorted(CALLS))
async def test_every_adapter_says_store_unavailable_when_the_database_goes_away(
    lost_pool: asyncpg.Pool, name: str,
) -> None:
    with pytest.raises(StoreUnavailable) as raised:
        await CALLS[name](lost_pool, DOCUMENT, JOB)

    error = raised.value
    assert type(error).__module__ == "domain.errors"  # nothing of asyncpg's reaches callers
    assert error.__cause__ is not None and is_unreachable(error.__cause__)
    assert PASSWORD not in str(error) and "127.0.0.1" not in str(error)


def test_every_public_method_of_the_adapters_has_an_outage_case() -> None:
    public = {
        f"{adapter.__name__}.{method}" for adapter in ADAPTERS
        for method, member in vars(adapter).items()
        if not method.startswith("_") and inspect.iscoroutinefunction(member)
    }

    assert public - set(CALLS) == set()


async def test_the_probe_reports_a_database_gone_away_and_raises_nothing(
    lost_pool: asyncpg.Pool,
) -> None:
    dsn = f"postgresql://navigator:{PASSWORD}@127.0.0.1:1/navigator"
    report = await PostgresDatabaseProbe(lost_pool, SCHEMA, dsn).check()

    assert not report.reachable
    assert report.error is not None and report.error.startswith("cannot reach PostgreSQL")
    assert PASSWORD not in repr(report)
