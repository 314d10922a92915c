"""The search statements, one per search mode, each a single SQL statement.

This is the ranking production runs (the in-memory repository ranks plainly; the
retrieval quality test pins this one):

- **Vector candidates**: the member's chunks at least the similarity threshold
  (cosine) similar to the question, most similar first.
- **Keyword candidates**: the member's chunks holding any of the question's words
  (``english`` configuration: stemmed, stop words left out), scored by BM25 over the
  member's chunks (k1 1.2, b 0.75, length in tokens), plus, for each two neighbouring
  words of the question that the chunk says close together (the second within
  :data:`PAIR_REACH` words after the first), :data:`PAIR_WEIGHT` times the pair's
  idf. Chunks matching the whole question as ``websearch_to_tsquery`` reads it come
  first; ``ts_rank_cd``, then document and position, break ties. The statistics (the
  member's chunk count and average length, each word's document frequency) cover every
  chunk of the member's complete documents searched; only the :data:`KEYWORD_SHORTLIST` matches
  holding the most of the question's words are scored exactly (all of them, for a
  member with fewer matches).
- **Fusion** (``hybrid``): each list cut to ``limit``; a chunk scores
  ``1 / (RRF_K + rank)`` for each list it is in, best sum first.

Each mode's statement holds only the lists it uses, so a vector search neither plans
nor runs the keyword list and a keyword search never touches a vector but the ten it
returns. Every list applies the same filters: the member's own chunks, of complete
documents, with a vector of the asked model (migration 0006: ``chunk_embeddings``), and,
when the search is limited to some documents (``{documents}``, NULL: all), of those.

Placeholders are named (``{member}``, ``{vector}``...); :func:`search_statement`
numbers the ones a mode's statement uses and says in which order to pass them, so no
statement carries a parameter it does not reference (PostgreSQL could not type it).
"""

from __future__ import annotations

import string

from domain.hybrid import SearchMode

#: The constant of reciprocal rank fusion: 60 is the value of the original paper
#: (Cormack et al., 2009); larger flattens the difference between ranks.
RRF_K = 60
#: Two of the question's words are a pair in a chunk when the second comes within
#: this many word positions after the first (stop words count as positions, as they
#: do in a ``tsvector``): 1 is next to each other, 3 lets two words ("copayment for
#: each visit") stand between.
PAIR_REACH = 3
#: What a pair held by a chunk adds to its BM25 score, times the pair's idf (chosen
#: on bench/retrieval.py's questions; docs/BENCHMARKS.md).
PAIR_WEIGHT = 0.5
#: How many of the chunks holding the question's words are scored exactly (the rest
#: hold fewer of its words, or the same ones in longer chunks): ten times the ten
#: passages a search returns (docs/BENCHMARKS.md, "Hybrid search and ingestion at 100k
#: and 300k chunks").
KEYWORD_SHORTLIST = 100

#: Every parameter a search statement may use, in the order they are numbered.
PARAMETERS = ("member", "vector", "model", "threshold", "limit", "text", "rrf_k",
              "pair_weight", "documents", "expansion", "booklet_weight")

# The vector list. The shortlist size is a literal (so the estimate is right in the
# generic plan), the query's bits are computed once (an InitPlan), each shortlisted
# vector is fetched by primary key and its distance computed once (OFFSET 0), and the
# threshold applies to the exact ranking.
_VECTOR_LIST = """
vector_shortlist AS MATERIALIZED (
    SELECT e.chunk_id
    FROM {s}.chunk_embeddings e
    JOIN {s}.upload_jobs j ON j.document_id = e.document_id AND j.user_id = {member}
    WHERE e.user_id = {member} AND e.model = {model} AND j.status = 'complete'
      AND ({documents}::uuid[] IS NULL OR e.document_id = ANY({documents}::uuid[]))
    ORDER BY e.bits <~> (SELECT binary_quantize({vector}::vector))
    LIMIT {shortlist}
),
vector_candidates AS (
    SELECT chunk_id, row_number() OVER (ORDER BY distance, chunk_id) AS rank
    FROM (
        SELECT e.chunk_id, e.distance
        FROM vector_shortlist k
        CROSS JOIN LATERAL (
            SELECT e.chunk_id, e.embedding <=> {vector} AS distance
            FROM {s}.chunk_embeddings e WHERE e.chunk_id = k.chunk_id OFFSET 0
        ) e
        WHERE 1 - e.distance >= {threshold}
        ORDER BY e.distance, e.chunk_id
        LIMIT {limit}
    ) nearest
)"""

# The question's words, for the keyword list.
_QUESTION = """
terms AS (
    -- the question's words as the index holds them (stemmed, stop words left out),
    -- weight 1, and the booklet's words the lay-terms glossary found for its phrases
    -- that it does not hold itself, weight {booklet_weight}
    SELECT lexeme, quote_literal(lexeme)::tsquery AS query, max(weight) AS weight
    FROM (SELECT lexeme, 1.0::float8 AS weight
          FROM unnest(to_tsvector('english'::regconfig, {text}))
          UNION ALL
          SELECT lexeme, {booklet_weight}::float8
          FROM unnest(to_tsvector('english'::regconfig, {expansion}))) w
    WHERE strpos(lexeme, chr(92)) = 0  -- a backslash would not survive quote_literal
    GROUP BY lexeme
),
question AS (
    SELECT (SELECT string_agg(quote_literal(lexeme), ' | ') FROM terms)::tsquery AS any_word,
           websearch_to_tsquery('english'::regconfig, {text}) AS whole
)"""

# The phrase query of one of the question's word pairs (lexeme, next): the second
# word 1, 2, ... PAIR_REACH positions after the first.
_PAIR_QUERY = " || ' | ' || ".join(
    f"quote_literal(lexeme) || ' <{gap}> ' || quote_literal(next)"
    for gap in range(1, PAIR_REACH + 1)
)

# The keyword list, in two stages, so that its cost follows what the question matches in
# the member's chunks, not what the member owns nor what everybody's chunks match:
#
# 1. **Hits**, from the index alone: for each of the question's words, the member's chunks
#    holding it, found in the member's entries of the GIN index (migration 0008: member
#    first, then the tsvector). A single word needs no recheck, so only each chunk's row
#    is read, never its tsvector. The collection's statistics come from the member's
#    complete documents' totals (``document_chunk_totals``, kept by triggers), the words'
#    document frequencies from the hits: both exact, and neither reads a tsvector.
# 2. **Shortlist**: the :data:`KEYWORD_SHORTLIST` chunks holding the most of the
#    question's words, by their BM25 score as if each word occurred once (exact when it
#    does; the floor of the real score). Only they are scored exactly: their tsvectors
#    read once each, the words counted, the pairs found, the whole question matched.
#    A member with fewer matches than that is ranked exactly as before.
#
# The CTEs are MATERIALIZED: computed once, in this order (inlined, the planner unnested
# every chunk's tsvector first and computed the statistics again for every match).
_KEYWORD_LIST = """
complete_documents AS MATERIALIZED (
    SELECT t.document_id, t.chunks, t.tokens
    FROM {s}.upload_jobs j
    JOIN {s}.document_chunk_totals t ON t.document_id = j.document_id
    WHERE j.user_id = {member} AND j.status = 'complete'
      AND ({documents}::uuid[] IS NULL OR j.document_id = ANY({documents}::uuid[]))
),
collection AS MATERIALIZED (
    SELECT coalesce(sum(chunks), 0) AS chunks,
           greatest(sum(tokens)::float8 / nullif(sum(chunks), 0), 1) AS average_tokens
    FROM complete_documents
),
index_hits AS MATERIALIZED (
    -- on its own, so that no plan can start from the complete documents instead and
    -- match every chunk they hold (a generic plan, estimating two documents, did)
    SELECT t.lexeme, t.weight, c.chunk_id, c.document_id, c.token_count
    FROM terms t
    JOIN {s}.document_chunks c ON c.user_id = {member} AND c.text_search @@ t.query
),
hits AS MATERIALIZED (
    SELECT h.lexeme, h.weight, h.chunk_id, h.token_count
    FROM index_hits h
    WHERE h.document_id IN (SELECT document_id FROM complete_documents)
),
frequency AS MATERIALIZED (
    -- a word's idf, times its weight (a booklet word the glossary found weighs less)
    SELECT h.lexeme, h.weight * ln(1 + (c.chunks - count(*) + 0.5) / (count(*) + 0.5)) AS idf
    FROM hits h CROSS JOIN collection c
    GROUP BY h.lexeme, h.weight, c.chunks
),
shortlist AS MATERIALIZED (
    SELECT h.chunk_id
    FROM hits h JOIN frequency f ON f.lexeme = h.lexeme CROSS JOIN collection c
    GROUP BY h.chunk_id
    ORDER BY sum(h.weight) DESC,
             sum(f.idf * 2.2 / (1 + 1.2 * (0.25 + 0.75 * h.token_count / c.average_tokens)))
             DESC, h.chunk_id
    LIMIT {keyword_shortlist}
),
keyword_matches AS MATERIALIZED (
    SELECT c.chunk_id, c.document_id, c.ordinal, c.token_count, v.text_search,
           ts_rank_cd(v.text_search, q.any_word) AS density,
           v.text_search @@ q.whole AS whole
    FROM shortlist k
    JOIN {s}.document_chunks c ON c.chunk_id = k.chunk_id
    -- the tsvector read once (a copy, not a pointer to its TOASTed value)
    CROSS JOIN LATERAL (SELECT c.text_search || ''::tsvector AS text_search OFFSET 0) v
    CROSS JOIN question q
    WHERE EXISTS (SELECT 1 FROM {s}.chunk_embeddings e
                  WHERE e.chunk_id = c.chunk_id AND e.model = {model})
),
occurrences AS (
    -- how often each of the question's words occurs in each matching chunk: the
    -- question's lexemes are marked (weight A; to_tsvector leaves every lexeme at D)
    -- and only they are kept, so a chunk's few hundred other lexemes are never
    -- unnested
    SELECT m.chunk_id, m.document_id, m.ordinal, m.token_count, m.density, m.whole,
           u.lexeme, cardinality(u.positions) AS often
    FROM keyword_matches m
    CROSS JOIN LATERAL unnest(ts_filter(
        setweight(m.text_search, 'A', (SELECT array_agg(lexeme) FROM terms)), '{{a}}')) AS u
),
question_positions AS (
    SELECT u.lexeme, p.position
    FROM unnest(to_tsvector('english'::regconfig, {text})) AS u,
         unnest(u.positions) AS p(position)
    WHERE strpos(u.lexeme, chr(92)) = 0
),
pairs AS (
    -- each two different words next to each other in the question, once each, as a
    -- query for the second within PAIR_REACH words of the first
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
    -- PAIR_WEIGHT times each held pair's idf
    SELECT h.chunk_id,
           {pair_weight} * sum(ln(1 + (c.chunks - f.holding + 0.5) / (f.holding + 0.5)))
           AS score
    FROM pair_hits h
    JOIN (SELECT pair, count(*) AS holding FROM pair_hits GROUP BY pair) f ON f.pair = h.pair
    CROSS JOIN collection c
    GROUP BY h.chunk_id
),
words_scored AS (
    -- BM25 (k1 = 1.2, b = 0.75), length in tokens
    SELECT o.chunk_id, o.document_id, o.ordinal, o.density, o.whole,
           sum(f.idf * o.often * 2.2
               / (o.often + 1.2 * (0.25 + 0.75 * o.token_count / c.average_tokens))) AS score
    FROM occurrences o
    JOIN frequency f ON f.lexeme = o.lexeme
    CROSS JOIN collection c
    GROUP BY o.chunk_id, o.document_id, o.ordinal, o.density, o.whole
),
keyword_scored AS (
    -- the words' BM25 plus the pairs'
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
    LIMIT {limit}
)"""

# How each mode makes the one list the result is read from: (chunk_id, vector_rank,
# keyword_rank, score).
_FUSED = {
    SearchMode.VECTOR: """
fused AS (
    SELECT chunk_id, rank AS vector_rank, NULL::bigint AS keyword_rank,
           NULL::float8 AS score
    FROM vector_candidates
)""",
    SearchMode.KEYWORD: """
fused AS (
    SELECT chunk_id, NULL::bigint AS vector_rank, rank AS keyword_rank,
           score::float8 AS score
    FROM keyword_candidates
)""",
    SearchMode.HYBRID: """
fused AS (
    SELECT coalesce(v.chunk_id, k.chunk_id) AS chunk_id, v.rank AS vector_rank,
           k.rank AS keyword_rank,
           (coalesce(1.0 / ({rrf_k} + v.rank), 0.0)
            + coalesce(1.0 / ({rrf_k} + k.rank), 0.0))::float8 AS score
    FROM vector_candidates v FULL OUTER JOIN keyword_candidates k ON k.chunk_id = v.chunk_id
)""",
}

_LISTS = {
    SearchMode.VECTOR: (_VECTOR_LIST,),
    SearchMode.KEYWORD: (_QUESTION, _KEYWORD_LIST),
    SearchMode.HYBRID: (_VECTOR_LIST, _QUESTION, _KEYWORD_LIST),
}

_CHUNK_COLUMNS = (
    "c.chunk_id, c.document_id, c.user_id, c.ordinal, c.text, c.token_count, c.heading_path, "
    "c.page, c.char_start, c.char_end, c.chunker"
)

# The result: the fused list's chunks, their similarity to the question (exact, from
# their vector) and their document's name. The question's words are marked in each
# chunk by the repository, in Python (adapters/text_search.py: ts_headline re-parsed
# every returned chunk, most of a typical member's search time on the server).
_RESULT = """
SELECT """ + _CHUNK_COLUMNS + """, d.filename, 1 - (e.embedding <=> {vector}) AS similarity,
       f.vector_rank, f.keyword_rank, {score} AS score
FROM fused f
JOIN {s}.document_chunks c ON c.chunk_id = f.chunk_id
JOIN {s}.chunk_embeddings e ON e.chunk_id = f.chunk_id
JOIN {s}.documents d ON d.document_id = c.document_id
ORDER BY score DESC, c.document_id, c.ordinal
LIMIT {limit}
"""

_SCORE = {
    SearchMode.VECTOR: "1 - (e.embedding <=> {vector})",
    SearchMode.KEYWORD: "f.score",
    SearchMode.HYBRID: "f.score",
}


def search_statement(schema: str, mode: SearchMode, shortlist: int,
                     keyword_shortlist: int = KEYWORD_SHORTLIST) -> tuple[str, list[str]]:
    """The statement of one search mode in a (quoted) schema, and the names of its
    parameters in the order they are numbered (``$1``, ``$2``...): a subset of
    :data:`PARAMETERS`. ``shortlist``: how many vectors the Hamming pass keeps;
    ``keyword_shortlist``: how many keyword matches are scored exactly."""
    template = (
        "WITH " + ",".join([*_LISTS[mode], _FUSED[mode]])
        + _RESULT.replace("{score}", _SCORE[mode])
    )
    used = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    names = [p for p in PARAMETERS if p in used]
    numbered = {name: f"${n}" for n, name in enumerate(names, start=1)}
    return template.format(s=schema, shortlist=shortlist,
                           keyword_shortlist=keyword_shortlist, **numbered), names
