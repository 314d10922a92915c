"""The world the scenarios run in: the real use cases over one store.

The store is the in-memory adapters or a PostgreSQL schema (``backends``; every
scenario runs on both). A clock that moves only when a scenario says so, the
local parser behind a scriptable wrapper, the hashing embedder behind a
scriptable wrapper, and the real tokenizer. Everything runs on ONE event loop
per scenario; steps are synchronous and drive coroutines through :meth:`World.run`.

Settings a scenario does not mention: passages of about 64 tokens (so a short
document gives several), a 60-second hold on a document, retries with a 1 second
base delay and a jitter draw of 0 (so waits are exact), 256-dimension vectors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4

import attrs
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from adapters.memory.blobs import InMemoryBlobStore
from adapters.text_search import EnglishWords
from domain.chunking import ChunkingConfig
from domain.errors import PipelineError
from domain.lay_terms import LayTerms
from domain.members import CountJobs, DeleteDocument, RetryFailedJob, ShowJob
from domain.model import (
    Chunk,
    ChunkVector,
    Document,
    Job,
    JobEvent,
    Lease,
    QueueFigures,
    Submission,
)
from domain.ports import DocumentRepository, JobQueue, Parser, QueueFigureReads, Tokenizer
from domain.processing import ProcessJob
from domain.retrieval import RetrievalOptions
from domain.retry import RetryPolicy
from domain.search import SearchDocuments
from domain.upload_policy import UploadPolicy
from domain.uploads import SubmitUpload
from domain.watching import WatchQueue
from domain.worker import RescueExpiredLeases, Worker
from entrypoints import tracing
from tests.fakes.clock import FakeClock
from tests.faults import ScriptedEmbedder, ScriptedParser
from tests.features.backends import Backend, Storage

T = TypeVar("T")

DIMENSIONS = 256
MEMBERS = {"Maria": "member-maria", "Omar": "member-omar"}
FIRST_WORKER = "worker-1"
#: The span that stands for the member's upload request when the service traces.
UPLOAD_SPAN = "POST /api/v1/documents"
OTHER_WORKER = "worker-2"
#: How members say insurance things, as production reads them (the container's).
LAY_TERMS = LayTerms.of(EnglishWords())


def member_id(name: str) -> str:
    try:
        return MEMBERS[name]
    except KeyError:
        raise KeyError(f"no member called {name!r} in the scenarios") from None


@attrs.frozen
class Outcome:
    """What a member's request came to: a value, or the error they were given."""

    value: Any = None
    error: PipelineError | None = None


@attrs.frozen
class Upload:
    """A member's upload as the scenario remembers it (the latest one is "the document")."""

    member: str
    filename: str
    submission: Submission | None = None
    refused: PipelineError | None = None
    earlier: Upload | None = None

    @property
    def document(self) -> Document:
        assert self.submission is not None, f"the upload was refused: {self.refused}"
        return self.submission.document


@attrs.define(eq=False)
class World:
    loop: asyncio.AbstractEventLoop
    tokenizer: Tokenizer
    parser: ScriptedParser
    embedder: ScriptedEmbedder
    clock: FakeClock
    queue: JobQueue
    documents: DocumentRepository
    storage: Storage
    figure_reads: QueueFigureReads
    blobs: InMemoryBlobStore = attrs.Factory(InMemoryBlobStore)
    retry_policy: RetryPolicy = attrs.Factory(lambda: RetryPolicy(max_retries=3, base_delay=1.0))
    upload_policy: UploadPolicy = attrs.Factory(UploadPolicy)
    search_defaults: RetrievalOptions = attrs.Factory(RetrievalOptions)
    chunking: ChunkingConfig = attrs.Factory(
        lambda: ChunkingConfig(target_tokens=64, overlap_tokens=8))
    #: The window of the failures and retries an operator sees (METRICS_WINDOW_SECONDS).
    figures_window: timedelta = timedelta(minutes=15)
    lease_for: timedelta = timedelta(seconds=60)
    #: Where finished spans go once a scenario says the service records traces: each
    #: upload is then a request span (``UPLOAD_SPAN``) and each step a span, as in the
    #: services (entrypoints/tracing.py).
    spans: InMemorySpanExporter | None = None

    @staticmethod
    def jitter() -> float:
        return 0.0

    # -- running coroutines ---------------------------------------------------------

    def run(self, work: Awaitable[T]) -> T:
        return self.loop.run_until_complete(work)

    def attempt(self, coro: Coroutine[Any, Any, Any]) -> Outcome:
        try:
            return Outcome(value=self.run(coro))
        except PipelineError as exc:
            return Outcome(error=exc)

    # -- the use cases, built from the current settings -----------------------------

    def submit(self, member: str, filename: str, data: bytes) -> Outcome:
        if self.spans is not None:
            use_case = SubmitUpload(self.queue, self.documents, self.blobs, self.clock, uuid4,
                                    self.upload_policy, tracing.current_trace_context)
            with trace.get_tracer("navigator.features").start_as_current_span(UPLOAD_SPAN):
                return self.attempt(use_case(member_id(member), filename, data))
        use_case = SubmitUpload(self.queue, self.documents, self.blobs, self.clock, uuid4,
                                self.upload_policy)
        return self.attempt(use_case(member_id(member), filename, data))

    @property
    def process(self) -> ProcessJob:
        return ProcessJob(
            queue=self.queue, documents=self.documents, blobs=self.blobs, parser=self.parser,
            embedder=self.embedder, tokenizer=self.tokenizer, clock=self.clock,
            jitter=self.jitter, retry_policy=self.retry_policy, chunking=self.chunking,
            lease_for=self.lease_for,
            **({} if self.spans is None else {
                "trace_step": tracing.step_span,
                "on_step": tracing.step_observer(lambda step, seconds, outcome: None)}),
        )

    def worker(self, name: str = FIRST_WORKER) -> Worker:
        """The worker loop the services run, on the scenario's clock (it never waits
        on real time: a finished job frees its slot at once)."""
        rescue = RescueExpiredLeases(self.queue, self.retry_policy, self.jitter)
        return Worker(self.queue, self.process, rescue, name, ticker=self.clock,
                      lease_for=self.lease_for)

    def look_for_work(self, name: str = FIRST_WORKER) -> int:
        """A worker starts: it takes back lapsed holds, then works until nothing is
        ready, and stops. Returns how many holds it worked on."""
        return self.run(self.worker(name).drain())

    def claim(self, worker: str, limit: int = 1) -> list[Lease]:
        return self.run(self.queue.claim(worker, limit, self.lease_for))

    def retry(self, member: str, job_id: UUID) -> Outcome:
        return self.attempt(RetryFailedJob(self.queue)(job_id, by="member",
                                                       user_id=member_id(member)))

    def delete(self, member: str, document_id: UUID) -> Outcome:
        return self.attempt(DeleteDocument(self.queue, self.blobs)(document_id,
                                                                       member_id(member)))

    def show_job(self, member: str, job_id: UUID) -> Outcome:
        return self.attempt(ShowJob(self.queue, self.documents)(job_id, member_id(member)))

    def search(self, member: str, question: str, **options: Any) -> Outcome:
        use_case = SearchDocuments(self.documents, self.embedder, self.tokenizer,
                                   defaults=self.search_defaults, lay_terms=LAY_TERMS)
        return self.attempt(use_case(member_id(member), question, **options))

    def counts(self) -> dict[str, int]:
        return {str(s): n for s, n in self.run(CountJobs(self.queue)()).items()}

    def queue_figures(self) -> QueueFigures:
        """What an operator sees of the whole queue now (``/metrics``, ``navigator status``)."""
        watch = WatchQueue(self.figure_reads, self.clock, window=self.figures_window,
                           live_within=self.lease_for)
        return self.run(watch())

    # -- looking things up ----------------------------------------------------------

    def documents_of(self, member: str) -> list[Document]:
        return [d for d, _ in self.run(self.documents.list(member_id(member), 1000, 0))]

    def document_named(self, member: str, filename: str) -> Document:
        found = [d for d in self.documents_of(member) if d.filename == filename]
        assert found, f"{member} has no document {filename!r}"
        return found[0]

    def job_of(self, document: Document) -> Job:
        return self.run(self.queue.job_for_document(document.document_id))

    def history(self, job: Job) -> list[JobEvent]:
        return self.run(self.queue.history(job.job_id))

    def chunks_of(self, document: Document) -> list[Chunk]:
        return self.run(self.documents.chunks(document.document_id))

    # -- looking past the ports (whatever the store) ------------------------------------

    def all_documents(self) -> list[Document]:
        return self.run(self.storage.documents())

    def all_jobs(self) -> list[Job]:
        return self.run(self.storage.jobs())

    def all_events(self) -> list[JobEvent]:
        return self.run(self.storage.events())

    def vectors(self) -> dict[UUID, ChunkVector]:
        return self.run(self.storage.vectors())

    def remains_of(self, document: Document) -> list[str]:
        return self.run(self.storage.remains_of(document.document_id))


def build_world(loop: asyncio.AbstractEventLoop, tokenizer: Tokenizer, parser: Parser,
                embedder_factory: Callable[[], Any],
                new_backend: Callable[[FakeClock], Backend]) -> World:
    """A fresh world over a new, empty store that runs on the world's fake clock."""
    clock = FakeClock()
    backend = new_backend(clock)
    return World(loop=loop, tokenizer=tokenizer, parser=ScriptedParser(parser),
                 embedder=ScriptedEmbedder(embedder_factory()), clock=clock, queue=backend.queue,
                 documents=backend.documents, storage=backend.storage,
                 figure_reads=backend.figures)
