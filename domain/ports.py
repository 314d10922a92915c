"""The ports: what the domain needs from the outside world, in its own words.

Every adapter (PostgreSQL, OpenAI, LlamaParse, local, in-memory) implements
one of these protocols and passes the same contract suite in ``tests/contract``.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

import attrs

from domain.errors import PermanentError
from domain.files import UploadedFile
from domain.grounding import AnswerKind, GroundedPrompt
from domain.grounding import Usage as AnswerUsage
from domain.hybrid import SearchMode
from domain.model import (
    Chunk,
    ChunkVector,
    Document,
    Job,
    JobEvent,
    Lease,
    MediaType,
    ParsedDocument,
    ScoredChunk,
)
from domain.retry import RetryPolicy
from domain.status import JobStatus


@attrs.frozen
class Submission:
    """The result of submitting an upload: ``created`` is False for a duplicate."""

    document: Document
    job: Job
    created: bool


def _chunks(items: Iterable[Chunk] | None) -> tuple[Chunk, ...] | None:
    return None if items is None else tuple(items)


def _vectors(items: Iterable[ChunkVector] | None) -> tuple[ChunkVector, ...] | None:
    return None if items is None else tuple(items)


@attrs.frozen
class StepOutput:
    """What a finished step leaves behind, written in the same transaction as
    the status change (so a crash never leaves half a step)."""

    parsed: ParsedDocument | None = None
    chunks: tuple[Chunk, ...] | None = attrs.field(default=None, converter=_chunks)
    vectors: tuple[ChunkVector, ...] | None = attrs.field(default=None, converter=_vectors)
    embedding_tokens: int = 0
    detail: str = ""

    def __attrs_post_init__(self) -> None:
        if self.chunks is not None and self.vectors is not None:
            raise ValueError("a step stores chunks or vectors, not both at once")


@attrs.frozen
class Usage:
    documents: int
    bytes: int


#: Decides, from what a member already stores, whether one more upload fits their
#: quota; raises ``QuotaExceeded`` if not (``UploadPolicy.check_quota``).
Admission = Callable[[Usage], None]


class JobIntake(Protocol):
    """What puts work in the queue: a member's upload, and a failed job sent back
    (by its member, or by an operator)."""

    async def submit(
        self,
        document: Document,
        job: Job,
        *,
        admit: Admission | None = None,
        file: UploadedFile | None = None,
    ) -> Submission:
        """Record document + job (+ wake-up notice) at once; a member's second upload
        of the same bytes returns the existing pair with ``created=False``.

        One member's submissions are serialised (a per-member lock), and inside it the
        member's usage is read and ``admit`` asked, so a quota holds exactly however
        many uploads arrive at once. ``file`` (for a store whose bytes live with the
        jobs, ``BlobStore.kept_with_jobs``) is written in the same transaction: the
        upload is all there or not at all."""
        ...

    async def requeue(self, job_id: UUID, by: str, user_id: str | None = None) -> Job:
        """Retry a failed job (member: ``user_id`` set; operator: None); ``Conflict``
        unless it has failed."""
        ...


class WorkerQueue(Protocol):
    """The queue as a worker uses it: claim ready jobs, renew and give back leases,
    record each step's result, rescue jobs whose worker died. Every write is fenced
    by the worker's lease."""

    async def claim(self, worker: str, limit: int, lease_for: timedelta) -> list[Lease]:
        """Lease up to ``limit`` ready jobs (claimable, available, not held), oldest first
        by (priority, available_at, job_id), never one held by someone else."""
        ...

    async def heartbeat(self, lease: Lease, lease_for: timedelta) -> Lease:
        """Extend a lease; raises ``LeaseLost`` if it is no longer ours."""
        ...

    async def finish_step(
        self, lease: Lease, output: StepOutput, lease_for: timedelta, *, continue_: bool = True
    ) -> Lease | None:
        """Record the step's result and artefacts (fenced). With ``continue_`` the
        worker keeps the job for the next step and gets the renewed lease back."""
        ...

    async def record_parser_job(self, lease: Lease, parser_job_id: str) -> Lease:
        """Remember a hosted parser's job id before waiting on it (fenced)."""
        ...

    async def retry_later(self, lease: Lease, error: str, available_at: datetime) -> Job:
        """Send the job back to its step's start, one more failed attempt (fenced)."""
        ...

    async def fail(self, lease: Lease, error: str) -> Job:
        """Dead-letter the job with its stage and reason (fenced)."""
        ...

    async def release(self, lease: Lease, reason: str = "released at shutdown") -> Job:
        """Give the job back without counting an attempt (graceful shutdown, or a
        step's result the database could not take); ``reason`` goes in its history."""
        ...

    async def rescue_expired(self, policy: RetryPolicy, jitter: Jitter) -> list[Job]:
        """Take back jobs whose lease expired (``Job.rescue``): each counts as a failed
        attempt, so a file that kills every worker that touches it ends up failed."""
        ...

    async def get_job(self, job_id: UUID, user_id: str | None = None) -> Job:
        """The job as it stands now (a worker's last look at a job it let go)."""
        ...


class JobReads(Protocol):
    """A job as a member (or an operator) looks at it: the job, its document's
    job, its history. A member only sees their own."""

    async def get_job(self, job_id: UUID, user_id: str | None = None) -> Job:
        """One job; ``NotFound`` when missing or owned by another member."""
        ...

    async def job_for_document(self, document_id: UUID) -> Job:
        ...

    async def history(self, job_id: UUID) -> list[JobEvent]:
        """The job's events, oldest first."""
        ...


class JobCounts(Protocol):
    """The operator's view of the whole queue (``navigator status``, ``/metrics``)."""

    async def counts(self) -> dict[JobStatus, int]:
        """How many jobs are in each status (every status present, zero or not)."""
        ...


class UploadQueue(JobIntake, JobReads, Protocol):
    """What an upload needs: submitting it, and the job of a duplicate it turns out to be."""


class JobQueue(JobIntake, WorkerQueue, JobReads, JobCounts, Protocol):
    """The job table as a queue: every port above, as the adapters implement them
    (``PostgresJobQueue``, ``InMemoryJobQueue``) and the contract suite tests them.
    Use cases depend on the narrow port they use."""


class Jitter(Protocol):
    def __call__(self) -> float:
        """A random draw in [0, 1) for the retry policy's jitter."""
        ...


class DocumentRepository(Protocol):
    """Documents, their parsed pages, chunks and vectors. Reads are scoped by member."""

    async def get(self, document_id: UUID, user_id: str | None = None) -> Document:
        ...

    async def list(self, user_id: str, limit: int, offset: int) -> list[tuple[Document, Job]]:
        """A member's documents, newest first, each with its job."""
        ...

    async def usage(self, user_id: str) -> Usage:
        """How many documents and bytes a member has stored (for the quota)."""
        ...

    async def find_by_sha256(self, user_id: str, sha256: str) -> Document | None:
        """The member's document with exactly these bytes, if any."""
        ...

    async def parsed(self, document_id: UUID) -> ParsedDocument:
        ...

    async def chunks(self, document_id: UUID) -> builtins.list[Chunk]:
        """A document's chunks in order."""
        ...

    async def search(
        self, user_id: str, vector: Sequence[float], model: str, min_similarity: float,
        limit: int, *, text: str = "", mode: SearchMode = SearchMode.VECTOR,
    ) -> builtins.list[ScoredChunk]:
        """The member's best chunks of completed documents embedded by ``model``, best
        first, at most ``limit``. ``vector`` is the question's embedding, ``text`` its
        words. Mode ``vector``: chunks at least ``min_similarity`` (cosine) similar;
        ``keyword``: chunks holding the question's words; ``hybrid``: both lists
        fused by reciprocal rank, the threshold gating only the vector list (rules in
        ``domain.hybrid``). Every chunk carries its similarity and a highlight of the
        part that matched."""
        ...

    async def delete(self, document_id: UUID, user_id: str) -> Document:
        """Remove a document with its job, history and chunks; returns what was removed."""
        ...


class BlobStore(Protocol):
    """Uploaded files, one per document, by the document's ``blob_key``.

    ``kept_with_jobs`` is True for a store in the queue's own database: its bytes
    are written by ``JobQueue.submit`` in the transaction that records the document,
    and removed with the document. Otherwise (object storage) the file is put first
    and the document recorded after, so a document never names a file that was not
    written.
    """

    @property
    def kept_with_jobs(self) -> bool:
        ...

    async def put(self, key: str, file: UploadedFile) -> None:
        """Store (or replace) the file under ``key``, streamed part by part."""
        ...

    async def get(self, key: str) -> bytes:
        """The whole file; ``NotFound`` if there is none."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the file; no error if there is none."""
        ...


@attrs.frozen
class ParseRequest:
    document_id: UUID
    filename: str
    media_type: MediaType
    data: bytes


class ParseCheckpoint(Protocol):
    """Lets a hosted parser remember its external job id on our job, so a crashed
    worker's successor resumes waiting instead of submitting the file again."""

    @property
    def external_id(self) -> str | None:
        ...

    async def save(self, external_id: str) -> None:
        ...


class Parser(Protocol):
    """Bytes of a known type in, markdown page by page out.

    Raises ``PermanentError`` for a corrupt, encrypted or text-less file and
    ``TransientError`` for anything worth retrying (timeouts, 429, 5xx).
    """

    name: str

    def supports(self, media_type: MediaType) -> bool:
        ...

    async def parse(self, request: ParseRequest, checkpoint: ParseCheckpoint) -> ParsedDocument:
        ...


@attrs.frozen
class EmbeddingLimits:
    """A provider's request limits; the batcher never builds a request past them."""

    max_inputs: int = 2048
    max_tokens_per_request: int = 300_000
    max_tokens_per_input: int = 8191

    def check_input(self, position: int, tokens: int) -> int:
        """A text over the per-input limit can never be embedded: a permanent error."""
        if tokens > self.max_tokens_per_input:
            raise PermanentError(
                f"text {position} has {tokens} tokens, more than the "
                f"{self.max_tokens_per_input} one embedding input may have"
            )
        return tokens


@attrs.frozen
class Embeddings:
    vectors: tuple[tuple[float, ...], ...]
    tokens_used: int


class Embedder(Protocol):
    """Texts in, one unit-length vector per text out, in order."""

    model: str
    dimensions: int
    limits: EmbeddingLimits

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        ...


class Tokenizer(Protocol):
    """cl100k tokens, as the embedding model counts them."""

    def encode(self, text: str) -> list[int]:
        ...

    def decode(self, tokens: Sequence[int]) -> str:
        ...

    def count(self, text: str) -> int:
        ...


@attrs.frozen
class DatabaseReport:
    """Is the database there, with our schema migrated? (``/health``, ``navigator status``)"""

    reachable: bool
    schema: str
    schema_present: bool = False
    migration_version: int | None = None
    pending_migrations: tuple[str, ...] = ()
    error: str | None = None
    #: Where the database lives (``host:port/database``, never a password): for
    #: operators only, never shown to anonymous callers.
    where: str = ""

    @property
    def ready(self) -> bool:
        """Reachable, with the schema migrated to what this code expects."""
        return self.reachable and self.schema_present and not self.pending_migrations


class DatabaseProbe(Protocol):
    async def check(self) -> DatabaseReport:
        """Never raises: an unreachable database is ``reachable=False`` with a reason
        that names neither a password nor where the database lives."""
        ...


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware UTC time."""
        ...


class Timer(Protocol):
    async def sleep(self, seconds: float) -> None:
        """Return once ``seconds`` have passed (on a fake clock: once it has moved that
        far), so time limits can be tested without waiting."""
        ...


class IdFactory(Protocol):
    def __call__(self) -> UUID:
        ...


@attrs.frozen
class WorkerInfo:
    """A running worker as it last reported itself (for health and ``navigator status``)."""

    worker_id: str
    hostname: str
    pid: int
    started_at: datetime
    last_seen_at: datetime
    version: str = ""


class WorkerRegistry(Protocol):
    """Workers announce themselves and beat regularly; the live ones are those seen
    recently. Lets an operator tell "no workers" from "workers, but stuck"."""

    async def register(self, worker_id: str, hostname: str, pid: int, version: str = "") -> None:
        """Announce a worker (again, after a restart with the same id: started anew)."""
        ...

    async def beat(self, worker_id: str) -> None:
        """Record that the worker is alive now; ``NotFound`` if it never registered."""
        ...

    async def unregister(self, worker_id: str) -> None:
        """Forget a worker that stops cleanly (no error if unknown)."""
        ...

    async def live(self, within: timedelta) -> list[WorkerInfo]:
        """Workers seen within ``within`` of now, by worker id."""
        ...


class Answerer(Protocol):
    """Writes an answer to a grounded prompt, citing its passages as ``[n]``.

    ``stream`` yields the answer's text piece by piece, then one ``AnswerUsage``
    (the tokens billed; zeros when nothing was billed). It never sees anything
    but the prompt: the member's own passages, chosen by search. It raises
    ``TransientError`` (with the provider's Retry-After) for rate limits,
    overload and 5xx, ``PermanentError`` for a refused key or request.
    """

    kind: AnswerKind
    model: str

    def stream(self, prompt: GroundedPrompt) -> AsyncIterator[str | AnswerUsage]:
        ...


class AnswerRateLimiter(Protocol):
    """Counts the answers each member asked for, to enforce the per-member limit."""

    async def take(self, user_id: str, now: datetime, limit: int, window: timedelta
                   ) -> timedelta | None:
        """Count one answer for ``user_id`` at ``now`` if fewer than ``limit`` were
        counted in the ``window`` before it, and return None; otherwise count nothing
        and return how long until one more would be allowed."""
        ...
