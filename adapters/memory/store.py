"""The shared state behind the in-memory queue and repository: one "database".

The queue and the repository are two views of it, as the PostgreSQL adapters are
two views of one schema. Values are immutable attrs objects, so storing them
never shares mutable state with a caller.
"""

from __future__ import annotations

from uuid import UUID

import attrs

from domain.model import (
    Chunk,
    ChunkVector,
    Document,
    Job,
    JobEvent,
    ParsedDocument,
    Usage,
    WorkerInfo,
)


@attrs.define
class InMemoryStore:
    vector_dimension: int = 1536
    documents: dict[UUID, Document] = attrs.Factory(dict)
    jobs: dict[UUID, Job] = attrs.Factory(dict)
    events: list[JobEvent] = attrs.Factory(list)
    parsed: dict[UUID, ParsedDocument] = attrs.Factory(dict)
    chunks: dict[tuple[UUID, int], Chunk] = attrs.Factory(dict)
    vectors: dict[UUID, ChunkVector] = attrs.Factory(dict)
    workers: dict[str, WorkerInfo] = attrs.Factory(dict)
    #: The files kept with the documents (as the PostgreSQL file store keeps them).
    files: dict[UUID, bytes] = attrs.Factory(dict)

    def find_by_sha256(self, user_id: str, sha256: str) -> Document | None:
        for document in self.documents.values():
            if document.user_id == user_id and document.sha256 == sha256:
                return document
        return None

    def usage(self, user_id: str) -> Usage:
        mine = [d for d in self.documents.values() if d.user_id == user_id]
        return Usage(documents=len(mine), bytes=sum(d.size_bytes for d in mine))

    def document_with_key(self, blob_key: str) -> Document | None:
        for document in self.documents.values():
            if document.blob_key == blob_key:
                return document
        return None

    @property
    def chunk_documents(self) -> dict[UUID, UUID]:
        """The document of each chunk, by chunk id."""
        return {chunk.chunk_id: document_id for (document_id, _), chunk in self.chunks.items()}

    def job_of(self, document_id: UUID) -> Job:
        for job in self.jobs.values():
            if job.document_id == document_id:
                return job
        raise KeyError(document_id)

    def delete_document(self, document_id: UUID) -> None:
        """Cascade as the foreign keys do in PostgreSQL."""
        self.documents.pop(document_id, None)
        self.parsed.pop(document_id, None)
        self.files.pop(document_id, None)
        for job in [j for j in self.jobs.values() if j.document_id == document_id]:
            del self.jobs[job.job_id]
            self.events[:] = [e for e in self.events if e.job_id != job.job_id]
        for key in [k for k in self.chunks if k[0] == document_id]:
            chunk = self.chunks.pop(key)
            self.vectors.pop(chunk.chunk_id, None)
