"""Documents, parsed pages, chunks and search on PostgreSQL + pgvector.

Search is one SQL statement (:meth:`PostgresDocumentRepository.search_sql`) in the
shape Supabase documents for hybrid search with pgvector: two candidate lists, fused
by reciprocal rank (rules in ``domain.hybrid``). Search is always scoped to one
member, so it is served by the member index (``document_chunks_member_search``,
migration 0005), not by a global ANN index that every write would pay for.

- The **vector candidates**: the member's chunks of the asked model, in completed
  documents, are ranked by the Hamming distance between their stored binary
  quantization (one bit per dimension, read from the index) and the query's; the
  best :data:`EXACT_RERANK_CANDIDATES` of them are ranked again by exact cosine
  distance on the full vectors, and the similarity threshold applies to that exact
  ranking. A member with at most :data:`EXACT_RERANK_CANDIDATES` chunks therefore
  gets an exact answer; a heavier member's answer is exact whenever its true best
  chunks are among the candidates, which bench/search.py measures (recall@10).
- The **keyword candidates** are the same member's chunks whose ``text_search``
  (migration 0004, GIN index) holds any of the question's words, scored by BM25
  over the member's chunks plus the question's word pairs each chunk says close
  together (a ``<1>``…``<PAIR_REACH>`` phrase query per pair, weighted by the
  pair's rarity);
  chunks matching ``websearch_to_tsquery`` of the whole question (all words,
  quoted phrases in order, no ``-excluded`` word) come first, then
  ``ts_rank_cd`` breaks ties.
- ``ts_headline`` marks the question's words in each returned chunk.
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
from domain.hybrid import PAIR_REACH, PAIR_WEIGHT, RRF_K, SearchMode
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
        limit: int, *, text: str = "", mode: SearchMode = SearchMode.VECTOR,
    ) -> _Scored:
        values = [float(x) for x in vector]
        if limit < 1 or not any(values):  # a zero vector has no direction: nothing is near it
            return []
        query = Vector(check_vector(values, None))
        try:
            rows = await self._pool.fetch(
                self.search_sql(limit), user_id, query, model, min_similarity, limit,
                text, str(mode), RRF_K, PAIR_WEIGHT,
            )
        except asyncpg.DataError as exc:  # pgvector: "different vector dimensions"
            raise ValueError(f"query vector does not fit the stored vectors: {exc}") from exc
        return [_scored_from_row(r) for r in rows]

    def search_sql(self, limit: int) -> str:
        """The search statement: $1 member, $2 query vector, $3 model, $4 minimum
        similarity, $5 limit, $6 question text, $7 mode, $8 RRF's k, $9 the weight of
        the question's word pairs (public so bench/search.py can show its plan).

        The vector list is written so that the plan stays right when PostgreSQL
        switches a prepared statement to its generic plan: the shortlist size is a
        literal (so the estimate is right), the query's bits are computed once (an
        InitPlan), each shortlisted chunk is fetched by primary key, and documents
        are joined only to the chunks that are returned.
        """
        return _SEARCH.format(s=self._s, shortlist=max(limit, self._rerank_candidates))

    async def delete(self, document_id: UUID, user_id: str) -> Document:
        row = await self._pool.fetchrow(
            f"DELETE FROM {self._s}.documents WHERE document_id = $1 AND user_id = $2 "
            "RETURNING *",
            document_id, user_id,
        )
        if row is None:
            raise NotFound(f"no document {document_id}")
        return document_from_row(row)


def _scored_from_row(row: asyncpg.Record) -> ScoredChunk:
    return ScoredChunk(
        chunk_from_row(row), float(row["similarity"]), row["filename"],
        score=float(row["score"]), keyword_rank=row["keyword_rank"],
        vector_rank=row["vector_rank"], highlight=row["highlight"] or "",
    )


# The phrase query of one of the question's word pairs (lexeme, next): the second
# word 1, 2, ... PAIR_REACH positions after the first.
_PAIR_QUERY = " || ' | ' || ".join(
    f"quote_literal(lexeme) || ' <{gap}> ' || quote_literal(next)"
    for gap in range(1, PAIR_REACH + 1)
)

_CHUNK_COLUMNS = (
    "c.chunk_id, c.document_id, c.user_id, c.ordinal, c.text, c.token_count, c.heading_path, "
    "c.page, c.char_start, c.char_end, c.chunker"
)

# $1 member, $2 question's vector, $3 embedding model, $4 similarity threshold,
# $5 limit (of each candidate list and of the result), $6 question's text,
# $7 mode ('hybrid', 'vector' or 'keyword'), $8 the fusion constant RRF_K, $9 the
# weight of the question's word pairs PAIR_WEIGHT.
# Every candidate list applies the same filters: the member's own chunks, of
# complete documents, embedded by the current model.
_SEARCH = """
WITH vector_shortlist AS MATERIALIZED (
    SELECT c.chunk_id
    FROM {s}.document_chunks c
    JOIN {s}.upload_jobs j ON j.document_id = c.document_id AND j.user_id = $1
    WHERE $7 <> 'keyword'
      AND c.user_id = $1 AND c.embedding_model = $3 AND c.embedding_bits IS NOT NULL
      AND j.status = 'complete'
    ORDER BY c.embedding_bits <~> (SELECT binary_quantize($2::vector))
    LIMIT {shortlist}
),
vector_candidates AS (
    SELECT chunk_id, row_number() OVER (ORDER BY distance, chunk_id) AS rank
    FROM (
        SELECT c.chunk_id, c.distance
        FROM vector_shortlist k
        CROSS JOIN LATERAL (  -- by primary key; OFFSET 0: the distance is computed once
            SELECT c.chunk_id, c.embedding <=> $2 AS distance
            FROM {s}.document_chunks c WHERE c.chunk_id = k.chunk_id OFFSET 0
        ) c
        WHERE 1 - c.distance >= $4
        ORDER BY c.distance, c.chunk_id
        LIMIT $5
    ) nearest
),
terms AS (
    -- the question's words as the index holds them: stemmed, stop words left out
    SELECT DISTINCT lexeme, quote_literal(lexeme)::tsquery AS query
    FROM unnest(to_tsvector('english'::regconfig, $6))
    WHERE strpos(lexeme, chr(92)) = 0  -- a backslash would not survive quote_literal
),
question AS (
    SELECT (SELECT string_agg(quote_literal(lexeme), ' | ') FROM terms)::tsquery AS any_word,
           websearch_to_tsquery('english'::regconfig, $6) AS whole
),
searchable AS (
    SELECT c.chunk_id, c.document_id, c.ordinal, c.token_count, c.text_search
    FROM {s}.document_chunks c
    JOIN {s}.upload_jobs j ON j.document_id = c.document_id AND j.user_id = $1
    WHERE $7 <> 'vector'
      AND c.user_id = $1 AND c.embedding_model = $3 AND c.embedding IS NOT NULL
      AND j.status = 'complete'
),
collection AS (
    SELECT count(*) AS chunks, greatest(avg(token_count), 1) AS average_tokens
    FROM searchable
),
keyword_matches AS (
    SELECT m.*, ts_rank_cd(m.text_search, q.any_word) AS density,
           m.text_search @@ q.whole AS whole
    FROM searchable m, question q
    WHERE m.text_search @@ q.any_word
),
occurrences AS (
    -- how often each of the question's words occurs in each matching chunk
    SELECT m.chunk_id, m.document_id, m.ordinal, m.token_count, m.density, m.whole,
           u.lexeme, cardinality(u.positions) AS often
    FROM keyword_matches m
    CROSS JOIN LATERAL unnest(m.text_search) AS u
    WHERE u.lexeme IN (SELECT lexeme FROM terms)
),
frequency AS (
    SELECT lexeme, count(*) AS holding FROM occurrences GROUP BY lexeme
),
question_positions AS (
    SELECT u.lexeme, p.position
    FROM unnest(to_tsvector('english'::regconfig, $6)) AS u, unnest(u.positions) AS p(position)
    WHERE strpos(u.lexeme, chr(92)) = 0
),
pairs AS (
    -- each two different words next to each other in the question (domain.hybrid:
    -- question_pairs), as a query for the second within PAIR_REACH words of the first
    SELECT row_number() OVER () AS pair, query
    FROM (
        SELECT DISTINCT (""" + _PAIR_QUERY + """)::tsquery AS query
        FROM (SELECT lexeme, lead(lexeme) OVER (ORDER BY position) AS next
              FROM question_positions) w
        WHERE next IS NOT NULL AND next <> lexeme
    ) q
),
pair_hits AS (
    SELECT m.chunk_id, p.pair FROM keyword_matches m JOIN pairs p ON m.text_search @@ p.query
),
pair_scores AS (
    -- PAIR_WEIGHT times each held pair's idf (domain.hybrid.pair_score)
    SELECT h.chunk_id, $9 * sum(ln(1 + (c.chunks - f.holding + 0.5) / (f.holding + 0.5)))
                       AS score
    FROM pair_hits h
    JOIN (SELECT pair, count(*) AS holding FROM pair_hits GROUP BY pair) f ON f.pair = h.pair
    CROSS JOIN collection c
    GROUP BY h.chunk_id
),
words_scored AS (
    -- BM25 (k1 = 1.2, b = 0.75: domain.hybrid.BM25_K1, BM25_B), length in tokens
    SELECT o.chunk_id, o.document_id, o.ordinal, o.density, o.whole,
           sum(ln(1 + (c.chunks - f.holding + 0.5) / (f.holding + 0.5))
               * o.often * 2.2
               / (o.often + 1.2 * (0.25 + 0.75 * o.token_count / c.average_tokens))) AS score
    FROM occurrences o
    JOIN frequency f ON f.lexeme = o.lexeme
    CROSS JOIN collection c
    GROUP BY o.chunk_id, o.document_id, o.ordinal, o.density, o.whole
),
keyword_scored AS (
    SELECT w.chunk_id, w.document_id, w.ordinal, w.density, w.whole,
           w.score + coalesce(p.score, 0) AS score
    FROM words_scored w LEFT JOIN pair_scores p ON p.chunk_id = w.chunk_id
),
keyword_candidates AS (
    SELECT chunk_id, score,
           row_number() OVER (ORDER BY whole DESC, score DESC, density DESC, document_id,
                              ordinal) AS rank
    FROM keyword_scored
    ORDER BY rank
    LIMIT $5
),
fused AS (
    SELECT coalesce(v.chunk_id, k.chunk_id) AS chunk_id, v.rank AS vector_rank,
           k.rank AS keyword_rank, k.score AS keyword_score,
           coalesce(1.0 / ($8 + v.rank), 0.0) + coalesce(1.0 / ($8 + k.rank), 0.0) AS rrf
    FROM vector_candidates v FULL OUTER JOIN keyword_candidates k ON k.chunk_id = v.chunk_id
)
SELECT """ + _CHUNK_COLUMNS + """, d.filename,
       1 - (c.embedding <=> $2) AS similarity, f.vector_rank, f.keyword_rank,
       CASE $7 WHEN 'vector' THEN 1 - (c.embedding <=> $2)
               WHEN 'keyword' THEN f.keyword_score
               ELSE f.rrf END AS score,
       ts_headline('english'::regconfig, c.text,
                   coalesce((SELECT any_word FROM question), to_tsquery('simple', 'the')),
                   'StartSel=**, StopSel=**, MaxWords=50, MinWords=30') AS highlight
FROM fused f
JOIN {s}.document_chunks c ON c.chunk_id = f.chunk_id
JOIN {s}.documents d ON d.document_id = c.document_id
ORDER BY score DESC, c.document_id, c.ordinal
LIMIT $5
"""
