"""Every contract test runs once per adapter: in memory and on PostgreSQL.

A ``Backend`` is one adapter family wired the same way the composition root does
it: a queue and a repository over one store (one schema), and a fake clock that
only moves when a test says so. PostgreSQL gets the same clock, so lease expiry
and back-off are exact on both.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from adapters.filesystem_blobs import FilesystemBlobStore
from adapters.memory.blobs import InMemoryBlobStore
from adapters.memory.clock import FakeClock
from adapters.memory.documents import InMemoryDocumentRepository
from adapters.memory.job_queue import InMemoryJobQueue
from adapters.memory.store import InMemoryStore
from adapters.memory.workers import InMemoryWorkerRegistry
from adapters.postgres.documents import PostgresDocumentRepository
from adapters.postgres.job_queue import PostgresJobQueue
from adapters.postgres.workers import PostgresWorkerRegistry
from domain.ports import BlobStore, DocumentRepository, JobQueue, WorkerRegistry
from tests.conftest import TEST_VECTOR_DIMENSION

DIMENSIONS = TEST_VECTOR_DIMENSION


@attrs.define
class Backend:
    name: str
    queue: JobQueue
    documents: DocumentRepository
    clock: FakeClock


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
                       InMemoryDocumentRepository(store), clock)
    pool: Any = request.getfixturevalue("pg_pool")
    schema: str = request.getfixturevalue("pg_schema")
    return Backend(
        "postgres",
        PostgresJobQueue(pool, clock, schema),
        PostgresDocumentRepository(pool, schema),
        clock,
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


@pytest.fixture(params=["memory", "filesystem"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "memory":
        yield InMemoryBlobStore()
    else:
        yield FilesystemBlobStore(tmp_path / "blobs")
