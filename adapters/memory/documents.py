"""Documents, chunks and search in memory: brute-force cosine, full-text matching in
Python (``text_search``), fused as ``domain.hybrid`` says."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from uuid import UUID

import attrs

from adapters import text_search
from adapters.memory.store import InMemoryStore
from adapters.vectors import check_vector, cosine
from domain.errors import NotFound
from domain.hybrid import (
    PAIR_REACH,
    SearchMode,
    best_first,
    bm25,
    fuse,
    pair_score,
    question_pairs,
)
from domain.model import Chunk, Document, Job, ParsedDocument, ScoredChunk, Usage
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
        query_terms = text_search.terms(text)
        vector_hits = [] if mode is SearchMode.KEYWORD else _vector_candidates(
            searchable, min_similarity, limit)
        keyword_hits = [] if mode is SearchMode.VECTOR else _keyword_candidates(
            searchable, query_terms, question_pairs(text_search.ordered_terms(text)), limit)
        if mode is SearchMode.VECTOR:
            found = vector_hits
        elif mode is SearchMode.KEYWORD:
            found = keyword_hits
        else:
            found = fuse(vector_hits, keyword_hits, limit)
        return [attrs.evolve(hit, highlight=text_search.headline(hit.chunk.text, query_terms))
                for hit in found]


def _vector_candidates(searchable: list[ScoredChunk], min_similarity: float, limit: int
                       ) -> list[ScoredChunk]:
    close = sorted((h for h in searchable if h.similarity >= min_similarity), key=best_first)
    return [attrs.evolve(h, vector_rank=rank) for rank, h in enumerate(close[:limit], 1)]


def _keyword_candidates(searchable: list[ScoredChunk], query_terms: frozenset[str],
                        pairs: list[tuple[str, str]], limit: int) -> list[ScoredChunk]:
    """Chunks holding at least one of the question's words, by BM25 over the member's
    chunks (``domain.hybrid.bm25``) plus the question's word pairs they hold
    (``domain.hybrid.pair_score``); those holding every word come first."""
    if not query_terms or not searchable:
        return []
    said = {h.chunk.chunk_id: text_search.occurrences(h.chunk.text, query_terms)
            for h in searchable}
    holding = {t: sum(t in found for found in said.values()) for t in query_terms}
    average = sum(h.chunk.token_count for h in searchable) / len(searchable)
    held = {h.chunk.chunk_id: [p for p in pairs if text_search.holds_pair(h.chunk.text, p,
                                                                          PAIR_REACH)]
            for h in searchable if said[h.chunk.chunk_id]}
    pairs_holding = {p: sum(p in found for found in held.values()) for p in pairs}
    scored = []
    for hit in searchable:
        found = said[hit.chunk.chunk_id]
        if found:
            score = bm25(found, holding, len(searchable), hit.chunk.token_count, average)
            score += pair_score(held[hit.chunk.chunk_id], pairs_holding, len(searchable))
            scored.append((len(found) == len(query_terms), attrs.evolve(hit, score=score)))
    scored.sort(key=lambda pair: (not pair[0], *best_first(pair[1])))
    return [attrs.evolve(h, keyword_rank=rank)
            for rank, (_, h) in enumerate(scored[:limit], 1)]
