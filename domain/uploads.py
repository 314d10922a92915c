"""Use case: a member submits a file."""

from __future__ import annotations

import asyncio
import hashlib
from uuid import UUID

import attrs

from domain.model import Document, Job
from domain.ports import BlobStore, Clock, DocumentRepository, IdFactory, JobQueue, Submission
from domain.upload_policy import UploadPolicy, base_name


def blob_key_for(user_id: str, document_id: UUID) -> str:
    """One file per document, under a folder per member (the member id is hashed, so
    any id makes a safe key). A document's file is never shared with another
    document, so deleting one can never take another's file with it."""
    member = hashlib.sha256(user_id.encode()).hexdigest()[:32]
    return f"uploads/{member}/{document_id}"


@attrs.frozen
class SubmitUpload:
    """Store the file, then record document + job in one step.

    The server computes the SHA-256 (a client's hash is never trusted). A member
    uploading the same bytes again gets the existing document back and nothing is
    processed twice. The bytes are stored *before* the job exists, so a worker never
    sees a job whose file is missing.
    """

    queue: JobQueue
    documents: DocumentRepository
    blobs: BlobStore
    clock: Clock
    new_id: IdFactory
    policy: UploadPolicy

    async def __call__(
        self, user_id: str, filename: str, data: bytes, declared_type: str | None = None
    ) -> Submission:
        sha256 = await _sha256(data)
        existing = await self.documents.find_by_sha256(user_id, sha256)
        if existing is not None:
            return Submission(existing, await self.queue.job_for_document(existing.document_id),
                              created=False)
        usage = await self.documents.usage(user_id)
        media_type = self.policy.check(data, filename, declared_type, usage)
        document_id = self.new_id()
        key = blob_key_for(user_id, document_id)
        await self.blobs.put(key, data)
        now = self.clock.now()
        document = Document(
            document_id=document_id,
            user_id=user_id,
            filename=_clean_filename(filename),
            media_type=media_type,
            size_bytes=len(data),
            sha256=sha256,
            blob_key=key,
            created_at=now,
        )
        try:
            submission = await self.queue.submit(
                document, Job.new(self.new_id(), document.document_id, user_id, now)
            )
        except BaseException:  # nothing refers to the file: don't leave it behind
            await self.blobs.delete(key)
            raise
        if not submission.created:  # the same file arrived twice at once: keep the first
            await self.blobs.delete(key)
        return submission


#: Above this size the hash is computed in a thread (hashlib releases the GIL), so a
#: large upload does not hold up the other requests.
_HASH_IN_THREAD_BYTES = 1 << 20


async def _sha256(data: bytes) -> str:
    if len(data) < _HASH_IN_THREAD_BYTES:
        return hashlib.sha256(data).hexdigest()
    return await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())


def _clean_filename(filename: str) -> str:
    """Keep the base name only, without control characters, at most 255 characters."""
    cleaned = "".join(ch for ch in base_name(filename) if ch.isprintable()).strip()
    return (cleaned or "upload")[:255]
