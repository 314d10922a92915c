"""The domain model: documents, jobs, their history, parsed pages and chunks.

Everything here is an immutable value; changes return new values (``attrs.evolve``).
Time, ids and randomness always come in as arguments.
"""

from __future__ import annotations

import base64
import binascii
import enum
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from uuid import UUID

import attrs

from domain.errors import (
    Conflict,
    IllegalTransition,
    InvalidRequest,
    LeaseLost,
    PermanentError,
    TransientError,
)
from domain.retry import RetryPolicy
from domain.status import (
    CLAIMABLE,
    REPROCESS_FROM,
    JobStatus,
    Step,
    StepName,
    check_transition,
    next_step,
    step_claimable_at,
    step_held_at,
    step_named,
)


class MediaType(enum.StrEnum):
    """File types the pipeline understands, decided from the bytes, not the name."""

    PDF = "application/pdf"
    DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    HTML = "text/html"
    MARKDOWN = "text/markdown"
    TEXT = "text/plain"


def _pages(pages: Iterable[ParsedPage]) -> tuple[ParsedPage, ...]:
    return tuple(pages)


def _strings(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(items)


def _floats(items: Iterable[float]) -> tuple[float, ...]:
    return tuple(items)


@attrs.frozen
class Document:
    """A member's uploaded file. ``sha256`` is computed by the server."""

    document_id: UUID
    user_id: str
    filename: str
    media_type: MediaType
    size_bytes: int
    sha256: str
    blob_key: str
    created_at: datetime


#: How a job's history marks a failed attempt that will run again (``Job.retry_later``):
#: the queue's figures count retries by it (adapters/postgres/queue.sql, ``queue_figures``).
WILL_RETRY = "will retry: "


@attrs.frozen
class JobEvent:
    """One recorded status change: the job's history is a list of these."""

    job_id: UUID
    from_status: JobStatus | None
    to_status: JobStatus
    at: datetime
    attempt: int
    worker: str | None = None
    detail: str = ""


@attrs.frozen
class Job:
    """The processing job of one document.

    ``attempts`` counts failed tries (errors of either kind and expired leases); the
    attempt in progress is ``attempts + 1``. ``fencing_token`` grows on every
    claim; a write carrying an older token is refused.

    ``trace_context`` is the trace the upload started in (a W3C ``traceparent``,
    opaque to the domain), so a worker's steps join the request's trace; None when
    the upload was not traced.
    """

    job_id: UUID
    document_id: UUID
    user_id: str
    status: JobStatus
    created_at: datetime
    updated_at: datetime
    available_at: datetime
    attempts: int = 0
    priority: int = 100
    last_error: str | None = None
    failed_stage: StepName | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    fencing_token: int = 0
    parser_job_id: str | None = None
    embedding_tokens: int = 0
    trace_context: str | None = None

    @classmethod
    def new(cls, job_id: UUID, document_id: UUID, user_id: str, now: datetime,
            trace_context: str | None = None) -> Job:
        return cls(
            job_id=job_id,
            document_id=document_id,
            user_id=user_id,
            status=JobStatus.UPLOADED,
            created_at=now,
            updated_at=now,
            available_at=now,
            trace_context=trace_context,
        )

    def first_event(self) -> JobEvent:
        return JobEvent(self.job_id, None, JobStatus.UPLOADED, self.created_at, attempt=1)

    @property
    def is_held(self) -> bool:
        return self.lease_owner is not None

    @property
    def is_waiting(self) -> bool:
        """Waiting for a worker: at the start of a step, held by no one (maybe until
        ``available_at``, after a failed attempt)."""
        return self.status in CLAIMABLE and not self.is_held

    def is_claimable(self, now: datetime) -> bool:
        return self.is_waiting and self.available_at <= now

    def lease_expired(self, now: datetime) -> bool:
        return self.lease_expires_at is not None and self.lease_expires_at <= now

    # -- transitions: each returns the new job and the events that record it ------

    def _move(
        self, to: JobStatus, now: datetime, worker: str | None, detail: str,
        changed: Job | None = None,
    ) -> Moved:
        """``changed`` (this job with the transition's other changes) moved to ``to``,
        and the event that records it."""
        check_transition(self.status, to)
        event = JobEvent(
            self.job_id, self.status, to, now, attempt=self.attempts + 1, worker=worker,
            detail=detail,
        )
        return Moved(attrs.evolve(changed or self, status=to, updated_at=now), (event,))

    def claim(self, worker: str, now: datetime, lease_for: timedelta) -> Moved:
        """Take the lease for the step claimable at the current status."""
        if not self.is_claimable(now):
            raise IllegalTransition(f"job {self.job_id} is not claimable ({self.status})")
        step = step_claimable_at(self.status)
        leased = attrs.evolve(self, lease_owner=worker, lease_expires_at=now + lease_for,
                              fencing_token=self.fencing_token + 1)
        if step.working is None:
            return Moved(attrs.evolve(leased, updated_at=now))
        return self._move(step.working, now, worker, f"{step.name} started", leased)

    def current_step(self) -> Step:
        return step_held_at(self.status)

    def is_held_by(self, lease: Lease, now: datetime) -> bool:
        """Whether ``lease`` is the current, unexpired lease on this job."""
        return (
            self.fencing_token == lease.token
            and self.lease_owner == lease.worker
            and self.lease_expires_at is not None
            and self.lease_expires_at > now
        )

    def check_lease(self, lease: Lease, now: datetime) -> None:
        """Refuse a write from anyone but the current, unexpired lease holder."""
        if not self.is_held_by(lease, now):
            raise LeaseLost(f"worker {lease.worker} no longer holds job {self.job_id}")

    def renew(self, lease: Lease, now: datetime, lease_for: timedelta) -> Moved:
        self.check_lease(lease, now)
        return Moved(attrs.evolve(self, lease_expires_at=now + lease_for))

    def finish_step(
        self, lease: Lease, now: datetime, lease_for: timedelta, *, detail: str = "",
        continue_: bool = True, embedding_tokens: int = 0,
    ) -> Moved:
        """Record the current step's result (and the embedding tokens it used); with
        ``continue_`` the same worker keeps the lease and starts the next step at once."""
        self.check_lease(lease, now)
        step = self.current_step()
        following = next_step(step)
        keep = continue_ and following is not None
        done = self._move(
            step.result, now, lease.worker, detail or f"{step.name} done",
            attrs.evolve(
                self, last_error=None, available_at=now,
                embedding_tokens=self.embedding_tokens + embedding_tokens,
                lease_owner=self.lease_owner if keep else None,
                lease_expires_at=now + lease_for if keep else None,
            ),
        )
        if not keep or following is None or following.working is None:
            return done
        return done.then(done.job._move(following.working, now, lease.worker,
                                        f"{following.name} started"))

    def record_parser_job(self, lease: Lease, now: datetime, parser_job_id: str) -> Moved:
        """Remember a hosted parser's job id, so a successor resumes instead of paying twice."""
        self.check_lease(lease, now)
        return Moved(attrs.evolve(self, parser_job_id=parser_job_id))

    def check_own_chunks(self, chunks: Iterable[Chunk]) -> None:
        """Refuse chunks that are not this job's document's, or that share an ordinal."""
        ordinals = set()
        for chunk in chunks:
            if chunk.document_id != self.document_id or chunk.user_id != self.user_id:
                raise ValueError(f"chunk {chunk.ordinal} belongs to another document or member")
            if chunk.ordinal in ordinals:
                raise ValueError("two chunks share an ordinal")
            ordinals.add(chunk.ordinal)

    def retry_later(
        self, lease: Lease | None, now: datetime, error: str, available_at: datetime,
        *, worker: str | None = None,
    ) -> Moved:
        """Send the job back to the start of its step; counts one failed attempt."""
        if lease is not None:
            self.check_lease(lease, now)
        step = self.current_step()
        return self._move(
            step.claim_from, now, worker or (lease.worker if lease else None),
            f"{WILL_RETRY}{error}",
            attrs.evolve(self, attempts=self.attempts + 1, last_error=error,
                         available_at=available_at, lease_owner=None, lease_expires_at=None),
        )

    def release(self, lease: Lease, now: datetime, reason: str = "released at shutdown") -> Moved:
        """Give the job back without counting an attempt (graceful shutdown, or a
        step's result the database could not take)."""
        self.check_lease(lease, now)
        step = self.current_step()
        released = attrs.evolve(self, lease_owner=None, lease_expires_at=None, available_at=now)
        if step.working is None:
            return Moved(attrs.evolve(released, updated_at=now))
        return self._move(step.claim_from, now, lease.worker, reason, released)

    def fail(
        self, lease: Lease | None, now: datetime, error: str, *, worker: str | None = None,
    ) -> Moved:
        """Dead-letter the job, keeping the stage and the reason."""
        if lease is not None:
            self.check_lease(lease, now)
        step = self.current_step()
        return self._move(
            JobStatus.FAILED, now, worker or (lease.worker if lease else None), error,
            attrs.evolve(self, attempts=self.attempts + 1, last_error=error,
                         failed_stage=step.name, lease_owner=None, lease_expires_at=None),
        )

    def rescue(self, now: datetime, policy: RetryPolicy, u: float) -> Moved:
        """Take back a job whose holder's lease expired (the worker died or stalled).

        Counts as a failed attempt, so a file that crashes every worker fails in the end.
        """
        if not (self.is_held and self.lease_expired(now)):
            raise IllegalTransition(f"job {self.job_id} has no expired lease to rescue")
        error = TransientError(f"the lease of worker {self.lease_owner} expired")
        decision = policy.decide(error, self.attempts, now, u)
        if decision.retry_at is None:
            return self.fail(None, now, decision.reason, worker="rescue")
        return self.retry_later(None, now, decision.reason, decision.retry_at, worker="rescue")

    def requeue(self, now: datetime, by: str) -> Moved:
        """A member or operator retries a failed job: attempts reset, history kept.

        The job resumes at the start of the step that failed. A hosted parser's job
        id is forgotten, so the retry parses afresh instead of waiting again on the
        external job that failed.
        """
        if self.status is not JobStatus.FAILED:
            raise Conflict(f"only a failed job can be retried; this one is {self.status}")
        if self.failed_stage is None:
            raise IllegalTransition(f"failed job {self.job_id} does not say which step failed")
        return self._move(
            step_named(self.failed_stage).claim_from, now, None, f"retried by {by}",
            attrs.evolve(self, attempts=0, available_at=now, last_error=None,
                         failed_stage=None, parser_job_id=None),
        )

    def reprocess(self, now: datetime, by: str) -> Moved:
        """Chunk and embed a complete document again (a new embedding model, new chunking):
        the job goes back to the chunk step, which reads the parsed pages kept from the
        first time; attempts reset, history kept. Until it is complete again the
        document is not searched (and searches say so)."""
        if self.status is not JobStatus.COMPLETE:
            hint = ("retry it instead" if self.status is JobStatus.FAILED
                    else "wait until it is complete")
            raise Conflict(f"only a complete document can be processed again; this one is "
                           f"{self.status}: {hint}")
        return self._move(
            REPROCESS_FROM, now, None, f"reprocess requested by {by}",
            attrs.evolve(self, attempts=0, available_at=now, last_error=None,
                         failed_stage=None, parser_job_id=None),
        )


@attrs.frozen
class Moved:
    """What every transition returns: the job as it now is, and the events that
    record how it got there (none for a change that is not a move: a renewal, a
    claim or release in place, a parser's job id)."""

    job: Job
    events: tuple[JobEvent, ...] = ()

    def then(self, following: Moved) -> Moved:
        """This move followed by another made from its job."""
        return Moved(following.job, self.events + following.events)


@attrs.frozen
class Stored:
    """What storing a decided move found: the job as stored when it wrote; else the
    job as it found it (None: gone), and whether the step's vectors named a chunk its
    document does not have."""

    job: Job | None = None
    found: Job | None = None
    unknown_chunks: bool = False


@attrs.frozen
class Lease:
    """What a worker holds after a claim: the job as claimed and its fencing token."""

    job: Job
    worker: str
    token: int

    @property
    def job_id(self) -> UUID:
        return self.job.job_id


@attrs.frozen
class ParsedPage:
    number: int
    markdown: str


@attrs.frozen
class ParsedDocument:
    """A parser's output: markdown, page by page (page numbers start at 1)."""

    pages: tuple[ParsedPage, ...] = attrs.field(converter=_pages)
    parser: str = ""

    @property
    def text_length(self) -> int:
        return sum(len(p.markdown.strip()) for p in self.pages)


@attrs.frozen
class Chunk:
    """A piece of a document sized for embedding, with where it came from."""

    chunk_id: UUID
    document_id: UUID
    user_id: str
    ordinal: int
    text: str
    token_count: int
    heading_path: tuple[str, ...] = attrs.field(converter=_strings, default=())
    page: int | None = None
    char_start: int = 0
    char_end: int = 0
    chunker: str = ""


@attrs.frozen
class ChunkVector:
    """The embedding of one chunk, written by chunk id."""

    chunk_id: UUID
    vector: tuple[float, ...] = attrs.field(converter=_floats)
    model: str = ""


@attrs.frozen
class ScoredChunk:
    """A chunk found by a search.

    ``similarity`` is the cosine similarity of the chunk's vector to the question's;
    ``score`` is what the results are ordered by: the similarity itself in a
    vector search, the fused reciprocal-rank score in a hybrid search, the keyword
    relevance in a keyword search (``SearchIndex``). ``keyword_rank`` and
    ``vector_rank`` are the chunk's places (1 = best) in the keyword and the vector
    candidates, None when it was not among them. ``highlight`` is the part of the
    text that matched, the question's words marked ``**like this**``.
    """

    chunk: Chunk
    similarity: float
    filename: str = ""
    score: float = attrs.field(
        default=attrs.Factory(lambda self: self.similarity, takes_self=True)
    )
    keyword_rank: int | None = None
    vector_rank: int | None = None
    highlight: str = ""

    @property
    def keyword_match(self) -> bool:
        """Found by the question's words (so kept whatever its vector similarity)."""
        return self.keyword_rank is not None


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
        kinds = [self.parsed is not None, self.chunks is not None, self.vectors is not None]
        if sum(kinds) > 1:
            raise ValueError("a step stores parsed pages, chunks or vectors: one kind, "
                             "not several at once")


@attrs.frozen
class Usage:
    documents: int
    bytes: int


#: Decides, from what a member already stores, whether one more upload fits their
#: quota; raises ``QuotaExceeded`` if not (``UploadPolicy.check_quota``).
Admission = Callable[[Usage], None]


@attrs.frozen
class ParseRequest:
    document_id: UUID
    filename: str
    media_type: MediaType
    data: bytes


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


@attrs.frozen
class DatabaseReport:
    """Is the database there, with our schema migrated? (``/health``, ``navigator status``)"""

    reachable: bool
    schema: str
    schema_present: bool = False
    migration_version: int | None = None
    pending_migrations: tuple[str, ...] = ()
    error: str | None = None
    #: Recorded migrations this code refuses to run with: a file changed since it was
    #: applied, or a later release's migration it cannot run on (``navigator migrate
    #: --status`` says which); ``navigator migrate`` does not mend them.
    refused_migrations: tuple[str, ...] = ()
    #: Where the database lives (``host:port/database``, never a password): for
    #: operators only, never shown to anonymous callers.
    where: str = ""

    @property
    def ready(self) -> bool:
        """Reachable, with the schema migrated to what this code expects."""
        return (self.reachable and self.schema_present and not self.pending_migrations
                and not self.refused_migrations)


def _every_status(counts: Mapping[JobStatus, int]) -> dict[JobStatus, int]:
    return {status: counts.get(status, 0) for status in JobStatus}


def _every_step(counts: Mapping[StepName, int]) -> dict[StepName, int]:
    return {step: counts.get(step, 0) for step in StepName}


@attrs.frozen
class QueueFigures:
    """The whole queue as operators watch it (``/metrics``, ``navigator status``), read
    from the database at ``at``, so every API replica reports the same fleet.

    ``ready_since`` holds, for each claimable status with a job ready to be claimed
    (unheld, ``available_at`` passed), the earliest moment one of them became ready;
    a job waiting out its retry delay is not late, so it is not in it. ``failures``
    and ``retries`` count the setbacks recorded by each step within ``window`` before
    ``at``, ``completions`` the jobs that finished then.
    """

    at: datetime
    counts: dict[JobStatus, int] = attrs.field(converter=_every_status)
    ready_since: dict[JobStatus, datetime] = attrs.field(factory=dict)
    leases_past_due: int = 0
    window: timedelta = timedelta(minutes=15)
    failures: dict[StepName, int] = attrs.field(factory=dict, converter=_every_step)
    retries: dict[StepName, int] = attrs.field(factory=dict, converter=_every_step)
    completions: int = 0
    live_workers: int = 0

    @ready_since.validator
    def _only_claimable(self, _attribute: object, value: dict[JobStatus, datetime]) -> None:
        if not set(value) <= CLAIMABLE:
            raise ValueError("only a claimable status has jobs waiting for a worker")

    def oldest_waiting(self, status: JobStatus) -> timedelta:
        """How long the job ready the longest at ``status`` has waited (zero: none)."""
        since = self.ready_since.get(status)
        return max(self.at - since, timedelta(0)) if since is not None else timedelta(0)

    @property
    def longest_wait(self) -> timedelta:
        """The longest any ready job has waited, whatever its status."""
        return max((self.oldest_waiting(s) for s in self.ready_since), default=timedelta(0))


@attrs.frozen
class WorkerInfo:
    """A running worker as it last reported itself (for health and ``navigator status``)."""

    worker_id: str
    hostname: str
    pid: int
    started_at: datetime
    last_seen_at: datetime
    version: str = ""
    #: how long after a heartbeat the worker counts as live (three of its heartbeats),
    #: None for a worker of a release that did not say: judged by the asker's window
    live_for: timedelta | None = attrs.field(default=None)

    @live_for.validator
    def _a_duration(self, _: object, value: timedelta | None) -> None:
        if value is not None and value <= timedelta(0):  # as the column's CHECK (0015)
            raise ValueError(f"a worker's live window must be longer than 0, got {value}")

    def is_live(self, now: datetime, otherwise: timedelta) -> bool:
        """Whether it beat within its own window (``otherwise`` if it named none)."""
        return self.last_seen_at >= now - (otherwise if self.live_for is None else self.live_for)


@attrs.frozen
class DocumentCursor:
    """Where a page of a member's documents (newest first) ended: the last document's
    creation time and id. The next page holds the documents strictly older in that
    order, so documents uploaded meanwhile (newer) never shift it."""

    created_at: datetime
    document_id: UUID

    @classmethod
    def after(cls, document: Document) -> DocumentCursor:
        return cls(document.created_at, document.document_id)

    def encode(self) -> str:
        """An opaque token (URL-safe base64 of the time and the id)."""
        raw = f"{self.created_at.isoformat()}|{self.document_id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> DocumentCursor:
        """The cursor a page returned; ``InvalidRequest`` for anything else."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            when, document_id = raw.split("|")
            created_at = datetime.fromisoformat(when)
            if created_at.tzinfo is None:
                raise ValueError("naive time")
            created_at.astimezone(UTC)  # a time at the calendar's edge no store can compare
            return cls(created_at, UUID(document_id))
        except (ValueError, OverflowError, UnicodeDecodeError, binascii.Error):
            raise InvalidRequest(
                "cursor: not a cursor this service returned; pass the `next_cursor` of the "
                "previous page as it was, or leave it out for the first page") from None


class NotSearchedReason(enum.StrEnum):
    """Why a search could not look into one of the member's documents."""

    PROCESSING = "processing"
    FAILED = "failed"
    OTHER_MODEL = "embedded_by_another_model"


def not_searched_reason(status: JobStatus, other_model: bool) -> NotSearchedReason | None:
    """Why a search leaves out a document whose job is at ``status`` (``other_model``:
    a passage's vector is not of the model in use), or None: it is searched."""
    if status is JobStatus.FAILED:
        return NotSearchedReason.FAILED
    if status is not JobStatus.COMPLETE:
        return NotSearchedReason.PROCESSING
    return NotSearchedReason.OTHER_MODEL if other_model else None


@attrs.frozen
class NotSearched:
    """A member's document a search left out, and why: still being processed (a new
    upload, or one being chunked and embedded again), failed, or embedded by another
    model than the one in use (waiting to be re-embedded: ``navigator reprocess
    --stale-model`` or the reprocess route)."""

    document_id: UUID
    filename: str
    reason: NotSearchedReason
    status: JobStatus


@attrs.frozen
class MemberUsage:
    """What a member uses of each limit: documents and bytes stored (of the upload
    quota), answers asked in the current window (of the answer rate limit)."""

    documents: int
    max_documents: int
    bytes: int
    max_bytes: int
    answers: int
    max_answers: int
    answer_window: timedelta
