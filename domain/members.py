"""Use cases a member (or an operator) starts: retry, delete, look at a job."""

from __future__ import annotations

from uuid import UUID

import attrs

from domain.errors import NotFound
from domain.model import Document, Job, JobEvent
from domain.ports import (
    BlobStore,
    DocumentJobs,
    DocumentRepository,
    JobCounts,
    JobIntake,
    JobReads,
)
from domain.status import JobStatus


@attrs.frozen
class RetryFailedJob:
    """A failed job starts again from the step that failed: attempts reset, history kept.

    ``user_id`` None means an operator (any member's job); otherwise only the owner's.
    """

    queue: JobIntake

    async def __call__(self, job_id: UUID, by: str, user_id: str | None = None) -> Job:
        return await self.queue.requeue(job_id, by=by, user_id=user_id)


@attrs.frozen
class DeleteDocument:
    """Remove a member's document, its job, history, chunks and stored file.

    Rows go first (so it leaves search at once); the file with them where files live
    in the database, else right after. A worker still holding the job loses its
    lease and writes nothing.
    """

    queue: DocumentJobs
    blobs: BlobStore

    async def __call__(self, document_id: UUID, user_id: str) -> Document:
        document = await self.queue.delete(document_id, user_id)
        await self.blobs.delete(document.blob_key)  # this document's own file
        return document


@attrs.frozen
class JobReport:
    job: Job
    document: Document
    history: tuple[JobEvent, ...]


@attrs.frozen
class ShowJob:
    """A job with its document and whole history; another member's job is not found."""

    queue: JobReads
    documents: DocumentRepository

    async def __call__(self, job_id: UUID, user_id: str | None) -> JobReport:
        job = await self.queue.get_job(job_id, user_id)
        try:
            document = await self.documents.get(job.document_id, user_id)
        except NotFound:
            raise NotFound(f"no job {job_id}") from None
        return JobReport(job, document, tuple(await self.queue.history(job_id)))


@attrs.frozen
class ShowDocument:
    """One of a member's documents with its job; another member's is not found."""

    queue: JobReads
    documents: DocumentRepository

    async def __call__(self, document_id: UUID, user_id: str) -> tuple[Document, Job]:
        document = await self.documents.get(document_id, user_id)
        return document, await self.queue.job_for_document(document_id)


@attrs.frozen
class CountJobs:
    queue: JobCounts

    async def __call__(self) -> dict[JobStatus, int]:
        return await self.queue.counts()
