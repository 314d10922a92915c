"""Documents, chunks and search in memory, for tests and offline runs.

Search keeps to the rules both repositories share (the member's complete chunks of
the asked model; the threshold gating the vector list only; reciprocal rank fusion)
with the plainest ranking that meets them: cosine similarity, and the number of the
question's words a chunk holds. PostgreSQL's keyword ranking (BM25 and word pairs,
``adapters/postgres/search_sql.py``) is the one production runs, and the retrieval
quality test pins it."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from uuid import UUID

import attrs

from adapters import text_search
from adapters.memory.store import InMemoryStore
from adapters.vectors import check_vector, cosine
from domain.errors import NotFound
from domain.hybrid import SearchMode
from domain.model import Chunk, Document, Job, ParsedDocument, ScoredChunk, Usage
from domain.status import JobStatus

#: The constant of reciprocal rank fusion, as PostgreSQL's statement uses it.
RRF_K = 60


class InMemoryDocumentRepository:
    """``DocumentRepository`` and ``SearchIndex`` over the in-memory store."""

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
        limit: int, *, text: str = "", mode: SearchMode = SearchMode.VECTOR,
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
        searchable = []
        for (document_id, _), chunk in store.chunks.items():
            embedded = store.vectors.get(chunk.chunk_id)
            if document_id not in complete or embedded is None or embedded.model != model:
                continue
            filename = store.documents[document_id].filename
            searchable.append(ScoredChunk(chunk, cosine(vector, embedded.vector), filename))
        words = text_search.terms(text)
        if mode is SearchMode.VECTOR:
            found = _vector_candidates(searchable, min_similarity, limit)
        elif mode is SearchMode.KEYWORD:
            found = _keyword_candidates(searchable, words, limit)
        else:
            found = _fuse(_vector_candidates(searchable, min_similarity, limit),
                          _keyword_candidates(searchable, words, limit), limit)
        return [attrs.evolve(hit, highlight=text_search.headline(hit.chunk.text, words))
                for hit in found]


def _best_first(hit: ScoredChunk) -> tuple[float, str, int]:
    """Highest score first, then by document and position (as PostgreSQL orders ties)."""
    return (-hit.score, str(hit.chunk.document_id), hit.chunk.ordinal)


def _vector_candidates(searchable: list[ScoredChunk], min_similarity: float, limit: int
                       ) -> list[ScoredChunk]:
    """Chunks at least ``min_similarity`` similar to the question, most similar first."""
    close = sorted((h for h in searchable if h.similarity >= min_similarity), key=_best_first)
    return [attrs.evolve(h, vector_rank=rank) for rank, h in enumerate(close[:limit], 1)]


def _keyword_candidates(searchable: list[ScoredChunk], words: frozenset[str], limit: int
                        ) -> list[ScoredChunk]:
    """Chunks holding at least one of the question's words, scored by how many of them
    they hold: a chunk holding every word comes first."""
    scored = []
    for hit in searchable:
        held = len(words & text_search.terms(hit.chunk.text))
        if held:
            scored.append(attrs.evolve(hit, score=float(held)))
    scored.sort(key=_best_first)
    return [attrs.evolve(h, keyword_rank=rank) for rank, h in enumerate(scored[:limit], 1)]


def _fuse(vector: list[ScoredChunk], keyword: list[ScoredChunk], limit: int
          ) -> list[ScoredChunk]:
    """Reciprocal rank fusion: a chunk scores ``1 / (RRF_K + rank)`` for each list it is
    in; a chunk in both lists appears once, with both ranks."""
    fused: dict[UUID, ScoredChunk] = {}
    for hit in [*vector, *keyword]:
        seen = fused.get(hit.chunk.chunk_id)
        vector_rank = hit.vector_rank or (seen.vector_rank if seen else None)
        keyword_rank = hit.keyword_rank or (seen.keyword_rank if seen else None)
        score = sum(1 / (RRF_K + rank) for rank in (vector_rank, keyword_rank) if rank)
        fused[hit.chunk.chunk_id] = attrs.evolve(
            hit, score=score, vector_rank=vector_rank, keyword_rank=keyword_rank)
    return sorted(fused.values(), key=_best_first)[:limit]
