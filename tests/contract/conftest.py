"""Every contract test runs once per adapter: in memory and on PostgreSQL.

A ``Backend`` is one adapter family wired the same way the composition root does
it: a queue and a repository over one store (one schema), and a fake clock that
only moves when a test says so. PostgreSQL gets the same clock, so lease expiry
and back-off are exact on both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from adapters.filesystem_blobs import FilesystemBlobStore
from adapters.memory.blobs import InMemoryBlobStore
from adapters.memory.documents import InMemoryDocumentRepository
from adapters.memory.job_queue import InMemoryJobQueue
from adapters.memory.store import InMemoryStore
from adapters.memory.workers import InMemoryWorkerRegistry
from adapters.postgres.documents import PostgresDocumentRepository
from adapters.postgres.files import PostgresBlobStore
from adapters.postgres.job_queue import PostgresJobQueue
from adapters.postgres.workers import PostgresWorkerRegistry
from adapters.s3_blobs import MIN_PART_BYTES, S3BlobStore
from domain.ports import BlobStore, DocumentRepository, JobQueue, WorkerRegistry
from tests.conftest import TEST_VECTOR_DIMENSION
from tests.contract.builders import MARIA, upload
from tests.fakes.clock import FakeClock
from tests.fakes.s3_server import (
    ACCESS_KEY_ID,
    REGION,
    SECRET_ACCESS_KEY,
    S3Server,
    new_bucket_name,
)

DIMENSIONS = TEST_VECTOR_DIMENSION


@attrs.define
class Backend:
    name: str
    queue: JobQueue
    documents: DocumentRepository
    clock: FakeClock
    #: The file store kept with the jobs (written by ``queue.submit``).
    files: BlobStore


ADAPTERS = [
    pytest.param("memory", id="memory"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=ADAPTERS)
def backend(request: pytest.FixtureRequest) -> Backend:
    clock = FakeClock()
    if request.param == "memory":
        store = InMemoryStore(vector_dimension=DIMENSIONS)
        return Backend("memory", InMemoryJobQueue(store, clock),
                       InMemoryDocumentRepository(store), clock, InMemoryBlobStore(store))
    pool: Any = request.getfixturevalue("pg_pool")
    schema: str = request.getfixturevalue("pg_schema")
    return Backend(
        "postgres",
        PostgresJobQueue(pool, clock, schema),
        PostgresDocumentRepository(pool, schema),
        clock,
        PostgresBlobStore(pool, schema),
    )


@attrs.define
class Registry:
    registry: WorkerRegistry
    clock: FakeClock


@pytest.fixture(params=ADAPTERS)
def workers(request: pytest.FixtureRequest) -> Registry:
    clock = FakeClock()
    if request.param == "memory":
        return Registry(InMemoryWorkerRegistry(InMemoryStore(), clock), clock)
    pool: Any = request.getfixturevalue("pg_pool")
    schema: str = request.getfixturevalue("pg_schema")
    return Registry(PostgresWorkerRegistry(pool, clock, schema), clock)


#: Keys the blob contract uses. A store kept with the jobs holds only files of
#: documents, so its fixture first records a document for each of these keys.
BLOB_KEYS = ("uploads/3f2a/9c1e0b", "uploads/3f2a/77ab01")

BLOB_STORES = [
    pytest.param("memory", id="memory"),
    pytest.param("memory-kept", id="memory-kept-with-jobs"),
    pytest.param("filesystem", id="filesystem"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    pytest.param("s3", id="s3"),
]


@pytest.fixture(params=BLOB_STORES)
def blob_store_kind(request: pytest.FixtureRequest) -> tuple[str, Any]:
    """Which store, and what it runs on (set up here: async fixtures cannot ask for
    other async fixtures by name)."""
    if request.param == "postgres":
        return "postgres", (request.getfixturevalue("pg_pool"),
                            request.getfixturevalue("pg_schema"))
    if request.param == "s3":
        return "s3", request.getfixturevalue("s3_server")
    return request.param, None


@pytest.fixture
async def blobs(blob_store_kind: tuple[str, Any], tmp_path: Path) -> AsyncIterator[BlobStore]:
    kind, base = blob_store_kind
    if kind == "memory":
        yield InMemoryBlobStore()
    elif kind == "memory-kept":
        store = InMemoryStore(vector_dimension=DIMENSIONS)
        await _documents_for_keys(InMemoryJobQueue(store, FakeClock()))
        yield InMemoryBlobStore(store)
    elif kind == "filesystem":
        yield FilesystemBlobStore(tmp_path / "blobs")
    elif kind == "postgres":
        pool, schema = base
        await _documents_for_keys(PostgresJobQueue(pool, FakeClock(), schema))
        yield PostgresBlobStore(pool, schema)
    else:
        server: S3Server = base
        s3 = S3BlobStore(new_bucket_name(), endpoint_url=server.endpoint_url, region=REGION,
                         access_key_id=ACCESS_KEY_ID, secret_access_key=SECRET_ACCESS_KEY,
                         part_bytes=MIN_PART_BYTES)
        await s3.create_bucket()
        try:
            yield s3
        finally:
            await s3.aclose()


async def _documents_for_keys(queue: JobQueue) -> None:
    clock = FakeClock()
    for number, key in enumerate(BLOB_KEYS):
        document, job = upload(MARIA, f"file {number}".encode(), clock.now())
        await queue.submit(attrs.evolve(document, blob_key=key), job)
