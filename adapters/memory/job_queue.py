"""The job queue in memory, with the same claims, fencing and leases as PostgreSQL.

The domain's ``QueueRules`` decide every write; this class stores them. Each of
its own methods runs without awaiting in between, so on one event loop it is
atomic, like the single statement or short transaction of the real adapter, and a
move decided from a copy that has changed since is refused, as there.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from adapters.memory.store import InMemoryStore
from adapters.vectors import check_vector
from domain.errors import Conflict, NotFound
from domain.files import UploadedFile, read_all
from domain.model import (
    Admission,
    Document,
    Job,
    JobEvent,
    Lease,
    Moved,
    StepOutput,
    Stored,
    Submission,
)
from domain.ports import Clock
from domain.queue import QueueRules
from domain.status import JobStatus


class InMemoryJobQueue(QueueRules):
    """``JobQueue`` in memory: the domain's ``QueueRules`` decide the writes, this
    class stores them (``JobMoves``)."""

    def __init__(self, store: InMemoryStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self.notices: list[UUID] = []  # what NOTIFY would have announced

    # -- members ------------------------------------------------------------------

    async def submit(
        self,
        document: Document,
        job: Job,
        *,
        admit: Admission | None = None,
        file: UploadedFile | None = None,
    ) -> Submission:
        # Read the file first: from here on nothing awaits, so the look at the
        # member's usage and the insert are one atomic step, as under PostgreSQL's
        # per-member lock.
        data = None if file is None else await read_all(file)
        if data is not None and len(data) != document.size_bytes:
            raise ValueError(f"the file has {len(data)} bytes, the document says "
                             f"{document.size_bytes}")
        existing = self._store.find_by_sha256(document.user_id, document.sha256)
        if existing is not None:
            return Submission(existing, self._store.job_of(existing.document_id), False)
        if document.document_id in self._store.documents or job.job_id in self._store.jobs:
            raise Conflict(f"document {document.document_id} or job {job.job_id} already exists")
        if admit is not None:
            admit(self._store.usage(document.user_id))
        self._store.documents[document.document_id] = document
        if data is not None:
            self._store.files[document.document_id] = data
        self._store.jobs[job.job_id] = job
        self._store.events.append(job.first_event())
        self.notices.append(job.job_id)
        return Submission(document, job, True)

    async def delete(self, document_id: UUID, user_id: str) -> Document:
        document = self._store.documents.get(document_id)
        if document is None or document.user_id != user_id:
            raise NotFound(f"no document {document_id}")
        self._store.delete_document(document_id)
        return document

    async def get_job(self, job_id: UUID, user_id: str | None = None) -> Job:
        return self._get(job_id, user_id)

    async def job_for_document(self, document_id: UUID) -> Job:
        try:
            return self._store.job_of(document_id)
        except KeyError:
            raise NotFound(f"no job for document {document_id}") from None

    async def history(self, job_id: UUID) -> list[JobEvent]:
        return [e for e in self._store.events if e.job_id == job_id]

    async def counts(self) -> dict[JobStatus, int]:
        counts = dict.fromkeys(JobStatus, 0)
        for job in self._store.jobs.values():
            counts[job.status] += 1
        return counts

    # -- workers ------------------------------------------------------------------

    async def claim(self, worker: str, limit: int, lease_for: timedelta) -> list[Lease]:
        if limit < 1:
            return []
        now = self._clock.now()
        ready = sorted(
            (j for j in self._store.jobs.values() if j.is_claimable(now)),
            key=lambda j: (j.priority, j.available_at, str(j.job_id)),
        )
        leases = []
        for job in ready[:limit]:
            claimed = self._save(job.claim(worker, now, lease_for))
            leases.append(Lease(claimed, worker, claimed.fencing_token))
        return leases

    async def expired_leases(self, now: datetime) -> list[Job]:
        return sorted(
            (j for j in self._store.jobs.values() if j.is_held and j.lease_expired(now)),
            key=lambda j: (j.lease_expires_at, str(j.job_id)),
        )

    async def stored_job(self, job_id: UUID) -> Job | None:
        return self._store.jobs.get(job_id)

    async def store_move(
        self, current: Job, moved: Moved, *, lease: Lease | None = None,
        now: datetime | None = None, output: StepOutput | None = None, notify: bool = False,
    ) -> Stored:
        """Compare and set, like the real adapter's one statement: the move is stored
        only if the job still is ``current`` and the lease (if any) alive at ``now``."""
        found = self._store.jobs.get(current.job_id)
        if found != current or (lease is not None and (
                found is None or now is None or not found.is_held_by(lease, now))):
            return Stored(found=found)
        assert found is not None
        if output is not None:
            if not self._knows_chunks(found, output):
                return Stored(found=found, unknown_chunks=True)
            self._write_artefacts(found, output)
        job = self._save(moved)
        if notify:
            self.notices.append(job.job_id)
        return Stored(job=job)

    # -- internals ----------------------------------------------------------------

    def _get(self, job_id: UUID, user_id: str | None) -> Job:
        job = self._store.jobs.get(job_id)
        if job is None or (user_id is not None and job.user_id != user_id):
            raise NotFound(f"no job {job_id}")
        return job

    def _save(self, moved: Moved) -> Job:
        self._store.jobs[moved.job.job_id] = moved.job
        self._store.events.extend(moved.events)
        return moved.job

    def _knows_chunks(self, job: Job, output: StepOutput) -> bool:
        """Whether every chunk the step's vectors name is one of the document's."""
        known = {c.chunk_id for k, c in self._store.chunks.items() if k[0] == job.document_id}
        return all(vector.chunk_id in known for vector in output.vectors or ())

    def _write_artefacts(self, job: Job, output: StepOutput) -> None:
        """Check everything first, then write: like the single statement of the real
        adapter, a step's artefacts are stored entirely or not at all."""
        store = self._store
        for vector in output.vectors or ():
            check_vector(vector.vector, store.vector_dimension)
        if output.parsed is not None:
            store.parsed[job.document_id] = output.parsed
        if output.chunks is not None:
            keep = {c.ordinal for c in output.chunks}
            for key in [k for k in store.chunks if k[0] == job.document_id and k[1] not in keep]:
                store.vectors.pop(store.chunks.pop(key).chunk_id, None)
            for chunk in output.chunks:
                old = store.chunks.get((job.document_id, chunk.ordinal))
                if old is not None and old != chunk:
                    store.vectors.pop(old.chunk_id, None)
                store.chunks[(job.document_id, chunk.ordinal)] = chunk
        for vector in output.vectors or ():
            store.vectors[vector.chunk_id] = vector
