"""Documents, parsed pages, chunks and search on PostgreSQL + pgvector.

A search is one SQL statement, one per mode (``search_sql.py``), always scoped to one
member, so it is served by the member index on the vectors (migration 0006) rather
than a global ANN index every write would pay for. The member's vectors are ranked by
the Hamming distance of their binary quantization, and the best
:data:`EXACT_RERANK_CANDIDATES` again by exact cosine distance, where the threshold
applies: exact for a member with up to that many chunks. The question's words are
marked in the returned chunks in Python (``adapters.text_search.headline``), so the
database does not parse them again.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from uuid import UUID

import asyncpg
from pgvector import Vector

from adapters import text_search
from adapters.postgres._rows import (
    chunk_from_row,
    document_from_row,
    job_from_row,
    parsed_from_json,
)
from adapters.postgres.connection import DEFAULT_SCHEMA, quote_schema
from adapters.postgres.errors import translates_outages
from adapters.postgres.named_sql import queue_statements
from adapters.postgres.search_sql import (
    KEYWORD_SHORTLIST,
    PAIR_WEIGHT,
    RRF_K,
    search_statement,
)
from adapters.vectors import check_vector
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

_Chunks = list[Chunk]
_Scored = list[ScoredChunk]
_Arguments = list[object]
_Ids = list[UUID]
_Documents = list[Document]
_NotSearched = list[NotSearched]

#: How many of a member's chunks, ranked by Hamming distance, are re-ranked exactly.
#: Members with at most this many chunks are ranked exactly; see docs/BENCHMARKS.md.
EXACT_RERANK_CANDIDATES = 2000

_DOCUMENT_COLUMNS = (
    "document_id", "user_id", "filename", "media_type", "size_bytes", "sha256", "blob_key",
    "created_at",
)


@translates_outages
class PostgresDocumentRepository:
    """``DocumentRepository`` and ``SearchIndex`` on PostgreSQL. ``pool`` comes from
    :func:`create_pool`."""

    def __init__(self, pool: asyncpg.Pool, schema: str = DEFAULT_SCHEMA,
                 rerank_candidates: int = EXACT_RERANK_CANDIDATES) -> None:
        self._pool = pool
        self._s = quote_schema(schema)
        self._queue_sql = queue_statements(schema)  # the dedupe lookup and usage, shared
        self._rerank_candidates = rerank_candidates

    async def get(self, document_id: UUID, user_id: str | None = None) -> Document:
        row = await self._pool.fetchrow(
            f"SELECT * FROM {self._s}.documents WHERE document_id = $1", document_id
        )
        if row is None or (user_id is not None and row["user_id"] != user_id):
            raise NotFound(f"no document {document_id}")
        return document_from_row(row)

    async def list(
        self, user_id: str, limit: int, offset: int = 0, *, after: DocumentCursor | None = None,
        statuses: Collection[JobStatus] = (),
    ) -> list[tuple[Document, Job]]:
        wanted = sorted(str(status) for status in statuses) or None
        if after is None:
            rows = await self._pool.fetch(self._queue_sql["list_documents"], user_id, limit,
                                          offset, wanted)
        else:
            rows = await self._pool.fetch(self._queue_sql["list_documents_after"], user_id,
                                          limit, offset, wanted, after.created_at,
                                          after.document_id)
        return [
            (document_from_row({c: r[f"d_{c}"] for c in _DOCUMENT_COLUMNS}), job_from_row(r))
            for r in rows
        ]

    async def unknown(self, user_id: str, document_ids: Sequence[UUID]) -> _Ids:
        rows = await self._pool.fetch(self._queue_sql["unknown_documents"], user_id,
                                      list(document_ids))
        return [row["id"] for row in rows]

    async def embedded_by_other_models(self, model: str) -> _Documents:
        rows = await self._pool.fetch(self._queue_sql["embedded_by_other_models"], model)
        return [document_from_row(row) for row in rows]

    async def not_searched(self, user_id: str, model: str,
                           documents: Sequence[UUID] | None = None) -> _NotSearched:
        rows = await self._pool.fetch(
            self._queue_sql["not_searched"], user_id, model,
            None if documents is None else list(documents))
        left_out = []
        for row in rows:
            status = JobStatus(row["status"])
            reason = not_searched_reason(status, row["other_model"])
            if reason is not None:
                left_out.append(NotSearched(row["document_id"], row["filename"], reason, status))
        return left_out

    async def usage(self, user_id: str) -> Usage:
        row = await self._pool.fetchrow(self._queue_sql["usage"], user_id)
        assert row is not None
        return Usage(documents=row["n"], bytes=int(row["bytes"]))

    async def find_by_sha256(self, user_id: str, sha256: str) -> Document | None:
        row = await self._pool.fetchrow(self._queue_sql["document_by_sha256"], user_id, sha256)
        return document_from_row(row) if row is not None else None

    async def parsed(self, document_id: UUID) -> ParsedDocument:
        text = await self._pool.fetchval(
            f"SELECT parsed::text FROM {self._s}.documents WHERE document_id = $1", document_id
        )
        if text is None:
            raise NotFound(f"document {document_id} has not been parsed")
        return parsed_from_json(text)

    async def chunks(self, document_id: UUID) -> _Chunks:
        rows = await self._pool.fetch(
            f"SELECT * FROM {self._s}.document_chunks WHERE document_id = $1 ORDER BY ordinal",
            document_id,
        )
        return [chunk_from_row(r) for r in rows]

    async def search(
        self, user_id: str, vector: Sequence[float], model: str, min_similarity: float,
        limit: int, *, text: str = "", mode: SearchMode = SearchMode.VECTOR,
        documents: Sequence[UUID] | None = None, expansion: str = "",
    ) -> _Scored:
        values = [float(x) for x in vector]
        if limit < 1 or not any(values):  # a zero vector has no direction: nothing is near it
            return []
        query = Vector(check_vector(values, None))
        sql, arguments = self.search_statement(user_id, query, model, min_similarity, limit,
                                               text=text, mode=mode, documents=documents,
                                               expansion=expansion)
        try:
            rows = await self._pool.fetch(sql, *arguments)
        except asyncpg.DataError as exc:  # pgvector: "different vector dimensions"
            raise ValueError(f"query vector does not fit the stored vectors: {exc}") from exc
        words = text_search.terms(text) | text_search.terms(expansion)
        return [_scored_from_row(r, words) for r in rows]

    def search_statement(
        self, user_id: str, vector: Vector, model: str, min_similarity: float, limit: int,
        *, text: str = "", mode: SearchMode = SearchMode.VECTOR,
        documents: Sequence[UUID] | None = None, expansion: str = "",
    ) -> tuple[str, _Arguments]:
        """The one statement a search runs and its arguments (public so bench/search.py
        can show its plan); adapters/postgres/search_sql.py holds the statements."""
        sql, names = search_statement(self._s, mode, max(limit, self._rerank_candidates),
                                      max(limit, KEYWORD_SHORTLIST))
        given: dict[str, object] = {
            "member": user_id, "vector": vector, "model": model,
            "threshold": min_similarity, "limit": limit, "text": text, "rrf_k": RRF_K,
            "pair_weight": PAIR_WEIGHT,
            "documents": None if documents is None else list(documents),
            "expansion": expansion, "booklet_weight": BOOKLET_WEIGHT,
        }
        return sql, [given[name] for name in names]


def _scored_from_row(row: asyncpg.Record, words: frozenset[str]) -> ScoredChunk:
    chunk = chunk_from_row(row)
    return ScoredChunk(
        chunk, float(row["similarity"]), row["filename"],
        score=float(row["score"]), keyword_rank=row["keyword_rank"],
        vector_rank=row["vector_rank"], highlight=text_search.headline(chunk.text, words),
    )
