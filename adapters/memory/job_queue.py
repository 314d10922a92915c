"""The job queue in memory, with the same claims, fencing and leases as PostgreSQL.

Each method runs without awaiting in between, so on one event loop it is atomic,
like the single statement or short transaction of the real adapter.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import attrs

from adapters.memory.store import InMemoryStore
from adapters.vectors import check_vector
from domain.errors import Conflict, LeaseLost, NotFound
from domain.files import UploadedFile, read_all
from domain.model import Admission, Document, Job, JobEvent, Lease, Moved, StepOutput, Submission
from domain.ports import Clock, Jitter
from domain.retry import RetryPolicy
from domain.status import JobStatus


class InMemoryJobQueue:
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

    async def requeue(self, job_id: UUID, by: str, user_id: str | None = None) -> Job:
        job = self._save(self._get(job_id, user_id).requeue(self._clock.now(), by))
        self.notices.append(job.job_id)
        return job

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

    async def heartbeat(self, lease: Lease, lease_for: timedelta) -> Lease:
        job = self._save(self._held(lease).renew(lease, self._clock.now(), lease_for))
        return attrs.evolve(lease, job=job)

    async def finish_step(
        self, lease: Lease, output: StepOutput, lease_for: timedelta, *, continue_: bool = True
    ) -> Lease | None:
        held = self._held(lease)
        moved = held.finish_step(
            lease, self._clock.now(), lease_for, detail=output.detail, continue_=continue_,
            embedding_tokens=output.embedding_tokens,
        )
        self._write_artefacts(held, output)
        job = self._save(moved)
        return attrs.evolve(lease, job=job) if job.is_held else None

    async def record_parser_job(self, lease: Lease, parser_job_id: str) -> Lease:
        job = self._save(
            self._held(lease).record_parser_job(lease, self._clock.now(), parser_job_id))
        return attrs.evolve(lease, job=job)

    async def retry_later(self, lease: Lease, error: str, available_at: datetime) -> Job:
        return self._save(
            self._held(lease).retry_later(lease, self._clock.now(), error, available_at))

    async def fail(self, lease: Lease, error: str) -> Job:
        return self._save(self._held(lease).fail(lease, self._clock.now(), error))

    async def release(self, lease: Lease, reason: str = "released at shutdown") -> Job:
        return self._save(self._held(lease).release(lease, self._clock.now(), reason))

    async def rescue_expired(self, policy: RetryPolicy, jitter: Jitter) -> list[Job]:
        now = self._clock.now()
        expired = sorted(
            (j for j in self._store.jobs.values() if j.is_held and j.lease_expired(now)),
            key=lambda j: (j.lease_expires_at, str(j.job_id)),
        )
        return [self._save(job.rescue(now, policy, jitter())) for job in expired]

    # -- internals ----------------------------------------------------------------

    def _get(self, job_id: UUID, user_id: str | None) -> Job:
        job = self._store.jobs.get(job_id)
        if job is None or (user_id is not None and job.user_id != user_id):
            raise NotFound(f"no job {job_id}")
        return job

    def _held(self, lease: Lease) -> Job:
        job = self._store.jobs.get(lease.job_id)
        if job is None:
            raise LeaseLost(f"job {lease.job_id} no longer exists")
        return job

    def _save(self, moved: Moved) -> Job:
        self._store.jobs[moved.job.job_id] = moved.job
        self._store.events.extend(moved.events)
        return moved.job

    def _write_artefacts(self, job: Job, output: StepOutput) -> None:
        """Check everything first, then write: like the single statement of the real
        adapter, a step's artefacts are stored entirely or not at all."""
        store = self._store
        if output.chunks is not None:
            job.check_own_chunks(output.chunks)
        if output.vectors is not None:
            known = {c.chunk_id for k, c in store.chunks.items() if k[0] == job.document_id}
            for vector in output.vectors:
                if vector.chunk_id not in known:
                    raise ValueError(f"chunk {vector.chunk_id} is not a chunk of this document")
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
