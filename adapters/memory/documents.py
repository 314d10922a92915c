"""Documents, chunks and search in memory, for tests and offline runs.

Search keeps to the rules both repositories share (the member's complete chunks of
the asked model; the threshold gating the vector list only; reciprocal rank fusion)
with the plainest ranking that meets them: cosine similarity, and the number of the
question's words a chunk holds. PostgreSQL's keyword ranking (BM25 and word pairs,
``adapters/postgres/search_sql.py``) is the one production runs, and the retrieval
quality test pins it."""

from __future__ import annotations

import builtins
from collections.abc import Collection, Sequence
from datetime import datetime
from uuid import UUID

import attrs

from adapters import text_search
from adapters.memory.store import InMemoryStore
from adapters.vectors import check_vector, cosine
from domain.errors import NotFound
from domain.hybrid import SearchMode
from domain.lay_terms import BOOKLET_WEIGHT
from domain.model import (
    Chunk,
    Document,
    DocumentCursor,
    Job,
    NotSearched,
    ParsedDocument,
    ScoredChunk,
    Usage,
    not_searched_reason,
)
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

    async def list(
        self, user_id: str, limit: int, offset: int = 0, *, after: DocumentCursor | None = None,
        statuses: Collection[JobStatus] = (),
    ) -> list[tuple[Document, Job]]:
        # Newest first as PostgreSQL orders them: by time, then by the id's 16 bytes
        # (a UUID's ``int`` orders as PostgreSQL's uuid type does).
        mine = sorted(
            (d for d in self._store.documents.values() if d.user_id == user_id
             and (after is None or _order(d) < (after.created_at, after.document_id.int))),
            key=_order, reverse=True,
        )
        rows = [(d, self._store.job_of(d.document_id)) for d in mine]
        if statuses:
            rows = [(d, j) for d, j in rows if j.status in statuses]
        return rows[offset : offset + limit]

    async def unknown(self, user_id: str, document_ids: Sequence[UUID]) -> builtins.list[UUID]:
        documents = self._store.documents
        return [i for i in document_ids
                if i not in documents or documents[i].user_id != user_id]

    async def embedded_by_other_models(self, model: str) -> builtins.list[Document]:
        store = self._store
        stale = {
            vector_document for vector_document, vector in (
                (store.chunk_documents.get(c), v) for c, v in store.vectors.items())
            if vector_document is not None and vector.model != model
            and store.job_of(vector_document).status is JobStatus.COMPLETE
        }
        return sorted((store.documents[i] for i in stale),
                      key=lambda d: (d.created_at, d.document_id.int))

    async def not_searched(self, user_id: str, model: str,
                           documents: Sequence[UUID] | None = None) -> builtins.list[NotSearched]:
        store = self._store
        stale = {d.document_id for d in await self.embedded_by_other_models(model)}
        mine = sorted((d for d in store.documents.values() if d.user_id == user_id
                       and (documents is None or d.document_id in documents)),
                      key=lambda d: (d.created_at, d.document_id.int))
        left_out = []
        for document in mine:
            status = store.job_of(document.document_id).status
            reason = not_searched_reason(status, document.document_id in stale)
            if reason is not None:
                left_out.append(NotSearched(document.document_id, document.filename, reason,
                                            status))
        return left_out

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
        documents: Sequence[UUID] | None = None, expansion: str = "",
    ) -> builtins.list[ScoredChunk]:
        if limit < 1 or not any(vector):  # a zero vector has no direction: nothing is near it
            return []
        check_vector(vector, None)
        store = self._store
        complete = {
            j.document_id
            for j in store.jobs.values()
            if j.user_id == user_id and j.status is JobStatus.COMPLETE
            and (documents is None or j.document_id in documents)
        }
        searchable = []
        for (document_id, _), chunk in store.chunks.items():
            embedded = store.vectors.get(chunk.chunk_id)
            if document_id not in complete or embedded is None or embedded.model != model:
                continue
            filename = store.documents[document_id].filename
            searchable.append(ScoredChunk(chunk, cosine(vector, embedded.vector), filename))
        words = text_search.terms(text)
        booklet = text_search.terms(expansion) - words
        if mode is SearchMode.VECTOR:
            found = _vector_candidates(searchable, min_similarity, limit)
        elif mode is SearchMode.KEYWORD:
            found = _keyword_candidates(searchable, words, booklet, limit)
        else:
            found = _fuse(_vector_candidates(searchable, min_similarity, limit),
                          _keyword_candidates(searchable, words, booklet, limit), limit)
        marked = words | booklet
        return [attrs.evolve(hit, highlight=text_search.headline(hit.chunk.text, marked))
                for hit in found]


def _order(document: Document) -> tuple[datetime, int]:
    return (document.created_at, document.document_id.int)


def _best_first(hit: ScoredChunk) -> tuple[float, str, int]:
    """Highest score first, then by document and position (as PostgreSQL orders ties)."""
    return (-hit.score, str(hit.chunk.document_id), hit.chunk.ordinal)


def _vector_candidates(searchable: list[ScoredChunk], min_similarity: float, limit: int
                       ) -> list[ScoredChunk]:
    """Chunks at least ``min_similarity`` similar to the question, most similar first."""
    close = sorted((h for h in searchable if h.similarity >= min_similarity), key=_best_first)
    return [attrs.evolve(h, vector_rank=rank) for rank, h in enumerate(close[:limit], 1)]


def _keyword_candidates(searchable: list[ScoredChunk], words: frozenset[str],
                        booklet: frozenset[str], limit: int) -> list[ScoredChunk]:
    """Chunks holding at least one of the question's words (or of the booklet's words
    the glossary found for it), scored by how many of them they hold, a booklet word
    worth ``BOOKLET_WEIGHT`` of one of the question's: a chunk holding every word of
    the question comes first."""
    scored = []
    for hit in searchable:
        terms = text_search.terms(hit.chunk.text)
        held = len(words & terms) + BOOKLET_WEIGHT * len(booklet & terms)
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
