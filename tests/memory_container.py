"""The composition root with the database swapped for the in-memory adapters.

Tests (API, CLI, worker) build the real container from settings, then call
:func:`use_memory_adapters`: the pool is never opened, the clock is a
:class:`FakeClock` that moves only when told and the retry jitter is always 0,
so times are exact. Undo with ``container.reset_override()``.
"""

from __future__ import annotations

import attrs
from dependency_injector import providers

from adapters.memory.blobs import InMemoryBlobStore
from adapters.memory.documents import InMemoryDocumentRepository
from adapters.memory.job_queue import InMemoryJobQueue
from adapters.memory.probe import InMemoryDatabaseProbe
from adapters.memory.queue_figures import InMemoryQueueFigures
from adapters.memory.store import InMemoryStore
from adapters.memory.workers import InMemoryWorkerRegistry
from entrypoints.container import Container
from entrypoints.settings import Settings
from tests.fakes.clock import FakeClock


@attrs.frozen
class MemoryAdapters:
    """What :func:`use_memory_adapters` put in the container, for tests to look at."""

    store: InMemoryStore
    clock: FakeClock
    job_queue: InMemoryJobQueue
    documents: InMemoryDocumentRepository
    blobs: InMemoryBlobStore
    worker_registry: InMemoryWorkerRegistry


def use_memory_adapters(container: Container, clock: FakeClock | None = None) -> MemoryAdapters:
    """Replace the database, the file store and the clock by the in-memory adapters
    (files kept with the documents, as the default PostgreSQL store keeps them)."""
    settings: Settings = container.settings()
    clock = clock or FakeClock()
    store = InMemoryStore(vector_dimension=settings.rag_vector_dimension)
    memory = MemoryAdapters(
        store=store,
        clock=clock,
        job_queue=InMemoryJobQueue(store, clock),
        documents=InMemoryDocumentRepository(store),
        blobs=InMemoryBlobStore(store),  # kept with the documents, as in PostgreSQL
        worker_registry=InMemoryWorkerRegistry(store, clock),
    )
    container.override_providers(
        pool=providers.Object(None),
        clock=providers.Object(clock),
        jitter=providers.Object(lambda: 0.0),
        job_queue=providers.Object(memory.job_queue),
        documents=providers.Object(memory.documents),
        blobs=providers.Object(memory.blobs),
        worker_registry=providers.Object(memory.worker_registry),
        database_probe=providers.Object(InMemoryDatabaseProbe()),
        queue_figure_reads=providers.Object(InMemoryQueueFigures(store)),
        job_notices=providers.Object(None),
    )
    return memory
