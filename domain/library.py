"""Use cases of a member's own library: paging through it, opening a file, seeing what
they use of their limits, following a job as it moves."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from uuid import UUID

import attrs

from domain.answering import AnswerRateLimit
from domain.errors import InvalidRequest
from domain.members import JobReport, ShowJob
from domain.model import Document, DocumentCursor, Job, MemberUsage
from domain.ports import AnswerRateLimiter, BlobStore, Clock, DocumentRepository, JobReads, Timer
from domain.status import JobStatus
from domain.upload_policy import UploadPolicy


@attrs.frozen
class DocumentPage:
    """One page of a member's documents, newest first; ``next_cursor`` is None on the last."""

    items: tuple[tuple[Document, Job], ...]
    next_cursor: DocumentCursor | None


@attrs.frozen
class ListDocuments:
    """A member's documents with their jobs, newest first, a page at a time.

    A page ends with a cursor (the last document's creation time and id); the next
    page holds the documents after it in that order. Documents uploaded meanwhile are
    newer, so they never shift a later page: nothing repeats and nothing is skipped.
    Filtered by the jobs' statuses when asked.
    """

    documents: DocumentRepository

    async def __call__(
        self, user_id: str, limit: int, *, cursor: DocumentCursor | None = None,
        statuses: Collection[JobStatus] = (), offset: int = 0,
    ) -> DocumentPage:
        rows = await self.documents.list(user_id, limit + 1, offset, after=cursor,
                                         statuses=statuses)
        page = tuple(rows[:limit])
        more = len(rows) > limit and page
        return DocumentPage(page, DocumentCursor.after(page[-1][0]) if more else None)


class RangeNotSatisfiable(InvalidRequest):
    """A byte range that lies wholly past the end of the file."""

    def __init__(self, size: int) -> None:
        super().__init__(f"the file has {size} bytes; ask for a range that starts before "
                         f"byte {size}, or for the whole file")
        self.size = size


@attrs.frozen
class ByteRange:
    """Bytes ``start`` to ``end`` (exclusive) of a file."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start

    @classmethod
    def resolve(cls, first: int | None, last: int | None, size: int) -> ByteRange:
        """The range ``first``-``last`` (inclusive, as HTTP says it) of a file of ``size``
        bytes: ``first`` None means the last ``last`` bytes, ``last`` None (or past the
        end) means to the end. ``RangeNotSatisfiable`` when no byte of it exists."""
        if first is None:
            if not last:
                raise RangeNotSatisfiable(size)
            return cls(max(0, size - last), size)
        if first >= size or (last is not None and last < first):
            raise RangeNotSatisfiable(size)
        end = size if last is None else min(last + 1, size)
        return cls(first, end)


@attrs.frozen
class DocumentFile:
    """A member's file (or the asked part of it), ready to be sent part by part."""

    document: Document
    range: ByteRange
    partial: bool
    parts: AsyncIterator[bytes]


@attrs.frozen
class ReadDocumentFile:
    """The bytes a member uploaded, as stored, whole or a range of them; never the
    whole file in memory. Another member's document is not found."""

    documents: DocumentRepository
    blobs: BlobStore

    async def __call__(self, document_id: UUID, user_id: str,
                       wanted: tuple[int | None, int | None] | None = None) -> DocumentFile:
        document = await self.documents.get(document_id, user_id)
        size = document.size_bytes
        span = ByteRange(0, size) if wanted is None else ByteRange.resolve(*wanted, size)
        parts = self.blobs.read(document.blob_key, span.start, span.end)
        return DocumentFile(document, span, wanted is not None, parts)


@attrs.frozen
class ShowUsage:
    """What a member uses of each limit: documents and bytes stored against the upload
    quota (``UPLOAD_MAX_DOCUMENTS_PER_MEMBER``, ``UPLOAD_MAX_BYTES_PER_MEMBER``), answers
    asked in the current window against ``ANSWER_RATE_LIMIT``."""

    documents: DocumentRepository
    limiter: AnswerRateLimiter
    policy: UploadPolicy
    rate_limit: AnswerRateLimit
    clock: Clock

    async def __call__(self, user_id: str) -> MemberUsage:
        stored = await self.documents.usage(user_id)
        window = self.rate_limit.window
        answers = await self.limiter.used(user_id, self.clock.now(), window)
        return MemberUsage(
            documents=stored.documents, max_documents=self.policy.max_documents_per_member,
            bytes=stored.bytes, max_bytes=self.policy.max_bytes_per_member,
            answers=answers, max_answers=self.rate_limit.limit, answer_window=window,
        )


def _look(job: Job) -> tuple[object, ...]:
    """What changes when a job moves (a lease renewal changes none of it)."""
    return (job.status, job.updated_at, job.attempts, job.fencing_token, job.last_error)


@attrs.frozen
class FollowJob:
    """A member's job as it moves, read from the database (so any API replica can
    serve it, whichever worker moves the job): the job as it is first, then again each
    time its history grows, until it is complete or failed.

    The job is looked at every ``poll_every`` seconds (one small read; the whole
    report only when it changed), so a change reaches the member within that. Changes
    recorded between two looks come as one report of the latest state (its history
    holds every change). ``seen`` is how many history events the member already had
    (resuming): nothing is repeated. None is yielded after ``keep_alive_every``
    seconds without a change, for the caller to show the connection is alive.
    """

    show: ShowJob
    queue: JobReads
    timer: Timer
    poll_every: float = 0.5
    keep_alive_every: float = 15.0

    async def __call__(self, job_id: UUID, user_id: str, seen: int = 0
                       ) -> AsyncIterator[JobReport | None]:
        looked: tuple[object, ...] | None = None
        quiet = 0.0
        while True:
            job = await self.queue.get_job(job_id, user_id)
            if _look(job) != looked:
                looked = _look(job)
                report = await self.show(job_id, user_id)
                if seen > len(report.history):  # an id this job never gave: start again
                    seen = 0
                if len(report.history) > seen:
                    seen, quiet = len(report.history), 0.0
                    yield report
                if report.job.status.is_terminal:
                    return
            await self.timer.sleep(self.poll_every)
            quiet += self.poll_every
            if quiet >= self.keep_alive_every:
                quiet = 0.0
                yield None
