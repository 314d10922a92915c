"""The two stores the scenarios run on: the in-memory adapters and PostgreSQL.

A ``Backend`` is a queue and a document repository over one store, wired as the
composition root wires them, plus a ``Storage`` view for the few checks that
look past the ports (every job in the store, the vectors behind the passages,
what is left after a delete). Both families get the scenario's fake clock: the
PostgreSQL adapters pass its time into every statement, so lease expiry and
back-off are as exact there as in memory.

On PostgreSQL each world gets its own freshly migrated schema and a small pool,
made on the scenario's event loop (asyncpg connections belong to the loop that
opened them) and dropped when the scenario ends.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Protocol
from uuid import UUID

import asyncpg
import attrs

from adapters.memory.documents import InMemoryDocumentRepository
from adapters.memory.job_queue import InMemoryJobQueue
from adapters.memory.queue_figures import InMemoryQueueFigures
from adapters.memory.store import InMemoryStore
from adapters.postgres._rows import document_from_row, event_from_row, job_from_row
from adapters.postgres.connection import connect, create_pool, quote_schema
from adapters.postgres.documents import PostgresDocumentRepository
from adapters.postgres.job_queue import PostgresJobQueue
from adapters.postgres.migrations import run_migrations
from adapters.postgres.operator import PostgresQueueFigures
from domain.model import ChunkVector, Document, Job, JobEvent
from domain.ports import DocumentRepository, JobQueue, QueueFigureReads
from tests.fakes.clock import FakeClock


class Storage(Protocol):
    """What is stored, whoever it belongs to (no port shows all of it)."""

    async def documents(self) -> list[Document]:
        ...

    async def jobs(self) -> list[Job]:
        ...

    async def events(self) -> list[JobEvent]:
        ...

    async def vectors(self) -> dict[UUID, ChunkVector]:
        """Every stored vector, by the chunk it belongs to."""
        ...

    async def remains_of(self, document_id: UUID) -> list[str]:
        """What is still stored that was made from the document (empty when nothing)."""
        ...


@attrs.frozen
class Backend:
    queue: JobQueue
    documents: DocumentRepository
    storage: Storage
    #: The queue's figures as an operator watches them (``/metrics``, ``navigator status``).
    figures: QueueFigureReads


# -- in memory ----------------------------------------------------------------------


@attrs.frozen
class InMemoryStorage:
    store: InMemoryStore

    async def documents(self) -> list[Document]:
        return list(self.store.documents.values())

    async def jobs(self) -> list[Job]:
        return list(self.store.jobs.values())

    async def events(self) -> list[JobEvent]:
        return list(self.store.events)

    async def vectors(self) -> dict[UUID, ChunkVector]:
        return dict(self.store.vectors)

    async def remains_of(self, document_id: UUID) -> list[str]:
        store = self.store
        job_ids = {job.job_id for job in store.jobs.values()}
        chunk_ids = {chunk.chunk_id for chunk in store.chunks.values()}
        found = ["the document"] if document_id in store.documents else []
        found += ["its parsed pages"] if document_id in store.parsed else []
        found += ["its job" for job in store.jobs.values() if job.document_id == document_id]
        found += ["an event of a deleted job" for e in store.events if e.job_id not in job_ids]
        found += ["a passage" for key in store.chunks if key[0] == document_id]
        found += ["a vector of a deleted passage" for c in store.vectors if c not in chunk_ids]
        return found


def memory_backend(clock: FakeClock, vector_dimension: int) -> Backend:
    store = InMemoryStore(vector_dimension=vector_dimension)
    return Backend(InMemoryJobQueue(store, clock), InMemoryDocumentRepository(store),
                   InMemoryStorage(store), InMemoryQueueFigures(store))


# -- PostgreSQL -----------------------------------------------------------------------


@attrs.frozen
class PostgresStorage:
    pool: asyncpg.Pool
    schema: str

    @property
    def _s(self) -> str:
        return quote_schema(self.schema)

    async def documents(self) -> list[Document]:
        rows = await self.pool.fetch(
            f"SELECT * FROM {self._s}.documents ORDER BY created_at, document_id")
        return [document_from_row(row) for row in rows]

    async def jobs(self) -> list[Job]:
        rows = await self.pool.fetch(
            f"SELECT * FROM {self._s}.upload_jobs ORDER BY created_at, job_id")
        return [job_from_row(row) for row in rows]

    async def events(self) -> list[JobEvent]:
        rows = await self.pool.fetch(f"SELECT * FROM {self._s}.job_events ORDER BY id")
        return [event_from_row(row) for row in rows]

    async def vectors(self) -> dict[UUID, ChunkVector]:
        rows = await self.pool.fetch(
            f"SELECT chunk_id, embedding, model FROM {self._s}.chunk_embeddings")
        return {
            row["chunk_id"]: ChunkVector(row["chunk_id"], row["embedding"].to_list(),
                                         row["model"])
            for row in rows
        }

    async def remains_of(self, document_id: UUID) -> list[str]:
        s = self._s
        rows = await self.pool.fetch(
            f"SELECT 'the document' AS what FROM {s}.documents WHERE document_id = $1 "
            f"UNION ALL SELECT 'its job' FROM {s}.upload_jobs WHERE document_id = $1 "
            f"UNION ALL SELECT 'an event of a deleted job' FROM {s}.job_events e "
            f"  WHERE NOT EXISTS (SELECT 1 FROM {s}.upload_jobs j WHERE j.job_id = e.job_id) "
            f"UNION ALL SELECT 'a passage' FROM {s}.document_chunks WHERE document_id = $1",
            document_id,
        )
        return [row["what"] for row in rows]


@attrs.define
class PostgresSchemas:
    """Makes a migrated schema and a pool per world; :meth:`close` drops them all."""

    dsn: str
    loop: asyncio.AbstractEventLoop
    vector_dimension: int
    made: list[tuple[str, asyncpg.Pool]] = attrs.Factory(list)

    def backend(self, clock: FakeClock) -> Backend:
        schema = f"features_{uuid.uuid4().hex[:12]}"
        pool = self.loop.run_until_complete(self._open(schema))
        self.made.append((schema, pool))
        return Backend(
            PostgresJobQueue(pool, clock, schema, vector_dimension=self.vector_dimension),
            PostgresDocumentRepository(pool, schema),
            PostgresStorage(pool, schema),
            PostgresQueueFigures(pool, schema),
        )

    async def _open(self, schema: str) -> asyncpg.Pool:
        await run_migrations(self.dsn, schema, self.vector_dimension)
        return await create_pool(self.dsn, schema, min_size=1, max_size=4)

    async def close(self) -> None:
        for _, pool in self.made:
            try:
                await asyncio.wait_for(pool.close(), timeout=5)
            except TimeoutError:  # a scenario that failed may leave a step holding one
                pool.terminate()
        if not self.made:
            return
        conn = await connect(self.dsn)
        try:
            for schema, _ in self.made:
                await conn.execute(f"DROP SCHEMA IF EXISTS {quote_schema(schema)} CASCADE")
        finally:
            await conn.close()
