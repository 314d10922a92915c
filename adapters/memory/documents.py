"""Documents, chunks and vector search in memory (brute-force cosine)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from uuid import UUID

from adapters.memory.store import InMemoryStore
from adapters.vectors import check_vector, cosine
from domain.errors import NotFound
from domain.model import Chunk, Document, Job, ParsedDocument, ScoredChunk
from domain.ports import Usage
from domain.status import JobStatus


class InMemoryDocumentRepository:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def get(self, document_id: UUID, user_id: str | None = None) -> Document:
        document = self._store.documents.get(document_id)
        if document is None or (user_id is not None and document.user_id != user_id):
            raise NotFound(f"no document {document_id}")
        return document

    async def list(self, user_id: str, limit: int, offset: int) -> list[tuple[Document, Job]]:
        mine = sorted(
            (d for d in self._store.documents.values() if d.user_id == user_id),
            key=lambda d: (d.created_at, str(d.document_id)),
            reverse=True,
        )
        return [(d, self._store.job_of(d.document_id)) for d in mine[offset : offset + limit]]

    async def usage(self, user_id: str) -> Usage:
        return self._store.usage(user_id)

    async def find_by_sha256(self, user_id: str, sha256: str) -> Document | None:
        return self._store.find_by_sha256(user_id, sha256)

    async def parsed(self, document_id: UUID) -> ParsedDocument:
        try:
            return self._store.parsed[document_id]
        except KeyError:
            raise NotFound(f"document {document_id} has not been parsed") from None

    async def chunks(self, document_id: UUID) -> builtins.list[Chunk]:
        mine = [c for (doc, _), c in self._store.chunks.items() if doc == document_id]
        return sorted(mine, key=lambda c: c.ordinal)

    async def search(
        self, user_id: str, vector: Sequence[float], model: str, min_similarity: float,
        limit: int,
    ) -> builtins.list[ScoredChunk]:
        if limit < 1 or not any(vector):  # a zero vector has no direction: nothing is near it
            return []
        check_vector(vector, None)
        store = self._store
        complete = {
            j.document_id
            for j in store.jobs.values()
            if j.user_id == user_id and j.status is JobStatus.COMPLETE
        }
        scored = []
        for (document_id, _), chunk in store.chunks.items():
            embedded = store.vectors.get(chunk.chunk_id)
            if document_id not in complete or embedded is None or embedded.model != model:
                continue
            similarity = cosine(vector, embedded.vector)
            if similarity >= min_similarity:
                filename = store.documents[document_id].filename
                scored.append(ScoredChunk(chunk, similarity, filename))
        scored.sort(key=lambda s: (-s.similarity, str(s.chunk.document_id), s.chunk.ordinal))
        return scored[:limit]

    async def delete(self, document_id: UUID, user_id: str) -> Document:
        document = await self.get(document_id, user_id)
        self._store.delete_document(document_id)
        return document
