"""The job queue's ports as its callers use them: members' intake, the worker's
leased writes, and the whole queue the adapters implement.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from domain.files import UploadedFile
from domain.model import Admission, Document, Job, Lease, StepOutput, Submission
from domain.ports.jobs import DocumentJobs, JobCounts, JobReads, LeaseReads
from domain.retry import RetryPolicy


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
        """``DocumentJobs.submit``: document, job and notice at once, deduplicated by
        the member's bytes, ``admit`` asked under the member's lock."""
        ...

    async def requeue(self, job_id: UUID, by: str, user_id: str | None = None) -> Job:
        """Retry a failed job (member: ``user_id`` set; operator: None); ``Conflict``
        unless it has failed."""
        ...

    async def reprocess(self, job_id: UUID, by: str, user_id: str | None = None) -> Job:
        """Send a complete job back to the chunk step (``Job.reprocess``), announced to
        the workers; ``Conflict`` unless it is complete, ``NotFound`` unless it is the
        member's (``user_id`` None: an operator, any member's)."""
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


class UploadQueue(JobIntake, JobReads, Protocol):
    """What an upload needs: submitting it, and the job of a duplicate it turns out to be."""


class JobQueue(DocumentJobs, LeaseReads, JobIntake, WorkerQueue, JobReads, JobCounts, Protocol):
    """The job table as a queue: every port above, as the adapters implement them
    (``PostgresJobQueue``, ``InMemoryJobQueue``: the domain's ``QueueRules`` on top of
    ``DocumentJobs`` and ``LeaseReads``) and the contract suite tests them. Use cases
    depend on the narrow port they use."""


class Jitter(Protocol):
    def __call__(self) -> float:
        """A random draw in [0, 1) for the retry policy's jitter."""
        ...
