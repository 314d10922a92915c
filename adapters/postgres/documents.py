"""Documents, parsed pages, chunks and vector search on PostgreSQL + pgvector.

Search is always scoped to one member, so it is served by the member index
(``document_chunks_member_search``, migration 0005), not by a global ANN index:

1. the member's chunks of the asked model, in completed documents, are ranked by
   the Hamming distance between their stored binary quantization (one bit per
   dimension, read from the index) and the query's;
2. the best :data:`EXACT_RERANK_CANDIDATES` of them are ranked again by exact cosine
   distance on the full vectors, and the similarity threshold and the limit apply
   to that exact ranking.

A member with at most :data:`EXACT_RERANK_CANDIDATES` chunks therefore gets an exact
answer (every chunk is a candidate); a heavier member's answer is exact whenever its
true best chunks are among the candidates, which bench/search.py measures (recall@10).
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg
from pgvector import Vector

from adapters.postgres._rows import (
    chunk_from_row,
    document_from_row,
    job_from_row,
    parsed_from_json,
)
from adapters.postgres.connection import DEFAULT_SCHEMA, quote_schema
from adapters.vectors import check_vector
from domain.errors import NotFound
from domain.model import Chunk, Document, Job, ParsedDocument, ScoredChunk
from domain.ports import Usage

_Chunks = list[Chunk]
_Scored = list[ScoredChunk]

#: How many of a member's chunks, ranked by Hamming distance, are re-ranked exactly.
#: Members with at most this many chunks are ranked exactly; see docs/BENCHMARKS.md.
EXACT_RERANK_CANDIDATES = 2000

_DOCUMENT_COLUMNS = (
    "document_id", "user_id", "filename", "media_type", "size_bytes", "sha256", "blob_key",
    "created_at",
)


class PostgresDocumentRepository:
    """``DocumentRepository`` on PostgreSQL. ``pool`` comes from :func:`create_pool`."""

    def __init__(self, pool: asyncpg.Pool, schema: str = DEFAULT_SCHEMA,
                 rerank_candidates: int = EXACT_RERANK_CANDIDATES) -> None:
        self._pool = pool
        self._s = quote_schema(schema)
        self._rerank_candidates = rerank_candidates

    async def get(self, document_id: UUID, user_id: str | None = None) -> Document:
        row = await self._pool.fetchrow(
            f"SELECT * FROM {self._s}.documents WHERE document_id = $1", document_id
        )
        if row is None or (user_id is not None and row["user_id"] != user_id):
            raise NotFound(f"no document {document_id}")
        return document_from_row(row)

    async def list(self, user_id: str, limit: int, offset: int) -> list[tuple[Document, Job]]:
        documents = ", ".join(f"d.{c} AS d_{c}" for c in _DOCUMENT_COLUMNS)
        rows = await self._pool.fetch(
            f"SELECT {documents}, j.* FROM {self._s}.documents d "
            f"JOIN {self._s}.upload_jobs j ON j.document_id = d.document_id "
            "WHERE d.user_id = $1 ORDER BY d.created_at DESC, d.document_id DESC "
            "LIMIT $2 OFFSET $3",
            user_id, limit, offset,
        )
        return [
            (document_from_row({c: r[f"d_{c}"] for c in _DOCUMENT_COLUMNS}), job_from_row(r))
            for r in rows
        ]

    async def usage(self, user_id: str) -> Usage:
        row = await self._pool.fetchrow(
            f"SELECT count(*) AS n, coalesce(sum(size_bytes), 0) AS bytes "
            f"FROM {self._s}.documents WHERE user_id = $1",
            user_id,
        )
        assert row is not None
        return Usage(documents=row["n"], bytes=int(row["bytes"]))

    async def find_by_sha256(self, user_id: str, sha256: str) -> Document | None:
        row = await self._pool.fetchrow(
            f"SELECT * FROM {self._s}.documents WHERE user_id = $1 AND sha256 = $2",
            user_id, sha256,
        )
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
        limit: int,
    ) -> _Scored:
        values = [float(x) for x in vector]
        if limit < 1 or not any(values):  # a zero vector has no direction: nothing is near it
            return []
        query = Vector(check_vector(values, None))
        try:
            rows = await self._pool.fetch(
                self.search_sql(limit), user_id, query, model, min_similarity, limit
            )
        except asyncpg.DataError as exc:  # pgvector: "different vector dimensions"
            raise ValueError(f"query vector does not fit the stored vectors: {exc}") from exc
        return [ScoredChunk(chunk_from_row(r), float(r["similarity"]), r["filename"]) for r in rows]

    def search_sql(self, limit: int) -> str:
        """The search statement: $1 member, $2 query vector, $3 model, $4 minimum
        similarity, $5 limit (public so bench/search.py can show its plan).

        Written so that the plan stays right when PostgreSQL switches a prepared
        statement to its generic plan: the candidate count is a literal (so the
        estimate is right), the query's bits are computed once (an InitPlan), each
        candidate is fetched by primary key, and documents are joined only to the
        chunks that are returned.
        """
        candidates = max(limit, self._rerank_candidates)
        return f"""
WITH candidates AS MATERIALIZED (
    SELECT c.chunk_id
    FROM {self._s}.document_chunks c
    JOIN {self._s}.upload_jobs j ON j.document_id = c.document_id AND j.user_id = $1
    WHERE c.user_id = $1 AND c.embedding_model = $3 AND c.embedding_bits IS NOT NULL
      AND j.status = 'complete'
    ORDER BY c.embedding_bits <~> (SELECT binary_quantize($2::vector))
    LIMIT {candidates}
), ranked AS (
    SELECT c.*
    FROM candidates k
    CROSS JOIN LATERAL (  -- by primary key; OFFSET 0: the distance is computed once
        SELECT c.*, c.embedding <=> $2 AS distance
        FROM {self._s}.document_chunks c WHERE c.chunk_id = k.chunk_id OFFSET 0
    ) c
    WHERE 1 - c.distance >= $4
    ORDER BY c.distance
    LIMIT $5
)
SELECT r.*, d.filename, 1 - r.distance AS similarity
FROM ranked r
JOIN {self._s}.documents d ON d.document_id = r.document_id
ORDER BY r.distance
"""

    async def delete(self, document_id: UUID, user_id: str) -> Document:
        row = await self._pool.fetchrow(
            f"DELETE FROM {self._s}.documents WHERE document_id = $1 AND user_id = $2 "
            "RETURNING *",
            document_id, user_id,
        )
        if row is None:
            raise NotFound(f"no document {document_id}")
        return document_from_row(row)
