"""Use case: a member submits a file."""

from __future__ import annotations

import asyncio
import functools
import hashlib
from collections.abc import Callable
from typing import TypeVar
from uuid import UUID

import attrs

from domain.errors import StoreOutcomeUnknown, UploadRejected
from domain.files import UploadedFile, as_uploaded_file
from domain.model import Admission, Document, Job, MediaType, Submission
from domain.ports import BlobStore, Clock, DocumentRepository, IdFactory, UploadQueue
from domain.upload_policy import UploadPolicy, base_name

T = TypeVar("T")


def blob_key_for(user_id: str, document_id: UUID) -> str:
    """One file per document, under a folder per member (the member id is hashed, so
    any id makes a safe key). A document's file is never shared with another
    document, so deleting one can never take another's file with it."""
    member = hashlib.sha256(user_id.encode()).hexdigest()[:32]
    return f"uploads/{member}/{document_id}"


@attrs.frozen
class SubmitUpload:
    """Store the file and record document + job, all or nothing.

    The server computes the SHA-256 (a client's hash is never trusted). A member
    uploading the same bytes again gets the existing document back and nothing is
    processed twice. The member's quotas (documents and bytes) are checked and
    taken in the same step that records the document, one upload of a member at a
    time, so uploads arriving together can never pass them.

    Where the files live in the database (the default), the bytes, the document,
    the job and the wake-up notice commit together. In object storage the file is
    written *before* the document is recorded (and removed again if it is not), so
    a worker never sees a job whose file is missing.

    The job keeps the trace the upload is part of (``trace_context``, given by the
    process: None when it is not tracing), so the worker's steps join it.
    """

    queue: UploadQueue
    documents: DocumentRepository
    blobs: BlobStore
    clock: Clock
    new_id: IdFactory
    policy: UploadPolicy
    trace_context: Callable[[], str | None] = lambda: None

    async def __call__(
        self,
        user_id: str,
        filename: str,
        data: UploadedFile | bytes,
        declared_type: str | None = None,
    ) -> Submission:
        file = as_uploaded_file(data)
        if self.blobs.kept_with_jobs:
            # The queue looks for the same bytes and asks the quota in the transaction that
            # records the upload: here only the file itself is checked, with no database.
            media_type = await self._check_file(user_id, file, filename, declared_type)
            if isinstance(media_type, Submission):
                return media_type
        else:
            # The file goes to object storage before the document is recorded: a duplicate
            # or an upload past the quota is caught first, so its bytes are never sent.
            existing = await self._existing(user_id, file.sha256)
            if existing is not None:
                return existing
            usage = await self.documents.usage(user_id)  # a first look; the queue decides
            media_type = await _in_thread_if_large(
                file, lambda: self.policy.check(file, filename, declared_type, usage)
            )
        document_id = self.new_id()
        now = self.clock.now()
        document = Document(
            document_id=document_id,
            user_id=user_id,
            filename=_clean_filename(filename),
            media_type=media_type,
            size_bytes=file.size,
            sha256=file.sha256,
            blob_key=blob_key_for(user_id, document_id),
            created_at=now,
        )
        job = Job.new(self.new_id(), document.document_id, user_id, now,
                      trace_context=self.trace_context())
        admit = functools.partial(self.policy.check_quota, file.size)
        if self.blobs.kept_with_jobs:
            return await self.queue.submit(document, job, admit=admit, file=file)
        return await self._store_then_submit(document, job, admit, file)

    async def _check_file(self, user_id: str, file: UploadedFile, filename: str,
                          declared_type: str | None) -> MediaType | Submission:
        """The file's type, or the member's document with the same bytes when the file
        is refused (the same bytes stored before are the member's document whatever the
        name they come under this time), or the refusal."""
        try:
            return await _in_thread_if_large(
                file, lambda: self.policy.check_file(file, filename, declared_type)
            )
        except UploadRejected:
            existing = await self._existing(user_id, file.sha256)
            if existing is None:
                raise
            return existing

    async def _existing(self, user_id: str, sha256: str) -> Submission | None:
        existing = await self.documents.find_by_sha256(user_id, sha256)
        if existing is None:
            return None
        return Submission(existing, await self.queue.job_for_document(existing.document_id),
                          created=False)

    async def _store_then_submit(
        self, document: Document, job: Job, admit: Admission, file: UploadedFile
    ) -> Submission:
        await self.blobs.put(document.blob_key, file)
        try:
            submission = await self.queue.submit(document, job, admit=admit)
        except StoreOutcomeUnknown:  # the document may have been recorded: keep its file
            raise
        except BaseException:  # nothing refers to the file: don't leave it behind
            await self.blobs.delete(document.blob_key)
            raise
        if not submission.created:  # the same file arrived twice at once: keep the first
            await self.blobs.delete(document.blob_key)
        return submission


#: Above this size the policy reads the file in a thread, so a large upload does not
#: hold up the other requests.
_THREAD_BYTES = 1 << 20


async def _in_thread_if_large(file: UploadedFile, check: Callable[[], T]) -> T:
    if file.size < _THREAD_BYTES:
        return check()
    return await asyncio.to_thread(check)


def _clean_filename(filename: str) -> str:
    """Keep the base name only, without control characters, at most 255 characters."""
    cleaned = "".join(ch for ch in base_name(filename) if ch.isprintable()).strip()
    return (cleaned or "upload")[:255]
