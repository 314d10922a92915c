"""Hybrid retrieval: the question's words and its meaning, fused by rank.

The business rules (the PostgreSQL repository does this in one SQL statement,
the in-memory one in Python; the contract suite holds both to them):

- **Vector candidates**: the member's searchable chunks whose cosine similarity
  to the question is at least the similarity threshold, most similar first.
- **Keyword candidates**: the member's searchable chunks holding at least one of
  the question's words (stemmed, common words such as "the" or "what" left out),
  ranked by BM25 (:func:`bm25`): each word counts by how rare it is among the
  member's chunks and, with diminishing returns, how often the chunk says it,
  for a chunk of average length (in tokens). Word order counts too: each two
  words next to each other in the question (stop words skipped) that the chunk
  also says close together, the second within :data:`PAIR_REACH` words after the
  first, add :data:`PAIR_WEIGHT` times the pair's own rarity (:func:`pair_score`),
  so "primary care visit" outranks a chunk that says "visit", "primary" and
  "care" in three different sentences. A chunk that also matches the whole
  question as a web-search query (every word, quoted phrases in order, no
  ``-excluded`` word: PostgreSQL's ``websearch_to_tsquery``; in memory: every
  word) comes first. Ties: PostgreSQL's ``ts_rank_cd`` (in memory: none), then
  document and position. The two repositories stem words differently (Snowball
  in PostgreSQL, a light suffix stripper in memory), so they can rank a real
  document differently; the contract suite pins what both agree on.
- **Fusion** (mode ``hybrid``): each list is cut to ``limit`` candidates; a chunk
  scores ``1 / (RRF_K + rank)`` for each list it is in (reciprocal rank fusion,
  ranks from 1), the sum is its score, best first.
- What the ``RAG_*`` settings mean for a fused list: ``RAG_SIMILARITY_THRESHOLD``
  only gates the *vector* candidates, so a chunk holding the question's words is
  kept however low its vector similarity (a strong keyword match is never lost
  to a weak embedding); ``RAG_MAX_CHUNKS`` and ``RAG_TOKEN_BUDGET`` apply to the
  fused list, in fused order (``domain.retrieval.pack``).
- Mode ``vector`` is the vector candidates alone (score = similarity); mode
  ``keyword`` the keyword candidates alone (score = keyword score), which ignores
  the similarity threshold. Every mode reports each chunk's cosine similarity.
- Only the member's own chunks, of complete documents, embedded by the current
  model, are ever searched, in every mode.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import Sequence
from uuid import UUID

from domain.model import ScoredChunk

#: The constant of reciprocal rank fusion: 60 is the value of the original paper
#: (Cormack et al., 2009); larger flattens the difference between ranks.
RRF_K = 60


class SearchMode(enum.StrEnum):
    """How a search finds chunks (``RAG_SEARCH_MODE``)."""

    HYBRID = "hybrid"
    VECTOR = "vector"
    KEYWORD = "keyword"


#: BM25's usual constants: term-frequency saturation and length normalisation.
BM25_K1 = 1.2
BM25_B = 0.75


def inverse_document_frequency(chunks: int, holding: int) -> float:
    """BM25's idf of a word held by ``holding`` of ``chunks`` chunks: always positive,
    larger for rarer words."""
    return math.log(1.0 + (chunks - holding + 0.5) / (holding + 0.5))


def bm25(occurrences: dict[str, int], holding: dict[str, int], chunks: int, length: int,
         average_length: float) -> float:
    """The keyword relevance of a chunk of ``length`` tokens that says each question
    word ``occurrences[word]`` times, given how many of the member's ``chunks`` hold
    each word (``holding``) and their average length."""
    norm = BM25_K1 * (1 - BM25_B + BM25_B * length / max(average_length, 1.0))
    return sum(
        inverse_document_frequency(chunks, holding[word]) * often * (BM25_K1 + 1)
        / (often + norm)
        for word, often in occurrences.items() if often > 0
    )


#: Two of the question's words are a pair in a chunk when the second comes within
#: this many word positions after the first (stop words count as positions, as they
#: do in PostgreSQL's ``tsvector``): 1 is next to each other, 3 lets two words
#: ("copayment for each visit") stand between.
PAIR_REACH = 3
#: What a pair held by a chunk adds to its BM25 score, times the pair's idf. Chosen
#: on bench/retrieval.py's questions (0.5, 1 and 2 measured; docs/BENCHMARKS.md).
PAIR_WEIGHT = 0.5


def question_pairs(words: Sequence[str]) -> list[tuple[str, str]]:
    """Each two different words next to each other in the question's (stemmed, stop
    words left out) ``words``, in order, once each."""
    pairs: list[tuple[str, str]] = []
    for first, second in itertools.pairwise(words):
        if first != second and (first, second) not in pairs:
            pairs.append((first, second))
    return pairs


def pair_score(held: Sequence[tuple[str, str]], holding: dict[tuple[str, str], int],
               chunks: int) -> float:
    """What the question's word pairs a chunk ``held`` add to its keyword score, given
    how many of the member's ``chunks`` hold each pair (``holding``)."""
    return PAIR_WEIGHT * sum(inverse_document_frequency(chunks, holding[pair])
                             for pair in held)


def best_first(hit: ScoredChunk) -> tuple[float, str, int]:
    """The order of every ranked list: highest score first, then by document and
    position (as PostgreSQL orders equal scores)."""
    return (-hit.score, str(hit.chunk.document_id), hit.chunk.ordinal)


def reciprocal_rank(rank: int | None) -> float:
    """A list's contribution to the fused score of a chunk at ``rank`` (None: absent)."""
    return 0.0 if rank is None else 1.0 / (RRF_K + rank)


def fuse(vector: Sequence[ScoredChunk], keyword: Sequence[ScoredChunk], limit: int
         ) -> list[ScoredChunk]:
    """Reciprocal rank fusion of two ranked candidate lists (each best first) into at
    most ``limit`` chunks, best first; a chunk in both lists appears once."""
    found: dict[UUID, ScoredChunk] = {}
    ranks: dict[UUID, tuple[int | None, int | None]] = {}
    for rank, hit in enumerate(vector[:limit], start=1):
        found[hit.chunk.chunk_id] = hit
        ranks[hit.chunk.chunk_id] = (rank, None)
    for rank, hit in enumerate(keyword[:limit], start=1):
        found.setdefault(hit.chunk.chunk_id, hit)
        vector_rank = ranks.get(hit.chunk.chunk_id, (None, None))[0]
        ranks[hit.chunk.chunk_id] = (vector_rank, rank)
    fused = []
    for chunk_id, hit in found.items():
        vector_rank, keyword_rank = ranks[chunk_id]
        fused.append(ScoredChunk(
            hit.chunk, hit.similarity, hit.filename,
            score=reciprocal_rank(vector_rank) + reciprocal_rank(keyword_rank),
            keyword_rank=keyword_rank, vector_rank=vector_rank, highlight=hit.highlight,
        ))
    fused.sort(key=best_first)
    return fused[:limit]
