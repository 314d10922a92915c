"""A member's document with its job: one aggregate, created, moved and removed
together. Its write port, and the reads of its job.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from domain.files import UploadedFile
from domain.model import (
    Admission,
    Document,
    Job,
    JobEvent,
    Lease,
    Moved,
    QueueFigures,
    StepOutput,
    Stored,
    Submission,
)
from domain.status import JobStatus


class DocumentJobs(Protocol):
    """Every write to a document with its job, each one atomic: the upload, a move
    the domain decided (with the step's artefacts), the removal."""

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

    async def store_move(
        self, current: Job, moved: Moved, *, lease: Lease | None = None,
        now: datetime | None = None, output: StepOutput | None = None, notify: bool = False,
    ) -> Stored:
        """Store a move the domain decided (``domain.queue``): the job, its events and
        ``output``'s artefacts, all or nothing, if the job still is ``current`` and,
        with a ``lease``, that lease is alive at ``now`` (compare-and-set); ``notify``
        announces the job to waiting workers. Answers with the job as stored, or the
        job as it was found."""
        ...

    async def delete(self, document_id: UUID, user_id: str) -> Document:
        """Remove a member's document with its job, history, chunks and vectors (and
        its file, where files live with the jobs); ``NotFound`` unless it is theirs.
        A worker still holding the job loses its lease."""
        ...


class LeaseReads(Protocol):
    """What the queue's rules read before deciding a move."""

    async def stored_job(self, job_id: UUID) -> Job | None:
        """The job as it is stored now; None once it is gone."""
        ...

    async def expired_leases(self, now: datetime) -> list[Job]:
        """Jobs whose lease has run out by ``now``, the longest expired first."""
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


class QueueFigureReads(Protocol):
    """The figures operators alert on, for the whole fleet, in one cheap read."""

    async def figures(self, now: datetime, *, window: timedelta,
                      live_within: timedelta) -> QueueFigures:
        """The queue at ``now``: jobs by status, the oldest ready job of each claimable
        status, leases past due, the failures, retries and completions of the
        ``window`` before ``now``, and the workers seen within ``live_within``."""
        ...
