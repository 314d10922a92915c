"""Choosing which retrieved chunks go into the answer's context.

The business rules:

- A chunk less similar to the question than ``similarity_threshold`` is not used,
  unless the question's words found it (``ScoredChunk.keyword_match``): a strong
  keyword match is kept however low its vector similarity (``SearchIndex``).
- The best-scored chunks come first (``ScoredChunk.score``: the similarity in a
  vector search, the fused rank score in a hybrid one); ties are broken by
  document and position, so the same search always gives the same context.
- A chunk found twice (e.g. by two searches) is used once, at its best score.
- At most ``max_chunks`` chunks, and their tokens together never exceed
  ``token_budget``: a chunk that would overflow the budget is skipped, and a
  smaller, less similar one may still fit.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import attrs

from domain.hybrid import SearchMode
from domain.model import NotSearched, ScoredChunk


@attrs.frozen
class RetrievalOptions:
    """How much context a search may return (``RAG_*`` settings)."""

    similarity_threshold: float = attrs.field(
        default=0.3, validator=[attrs.validators.ge(0.0), attrs.validators.le(1.0)]
    )
    max_chunks: int = attrs.field(default=10, validator=attrs.validators.ge(1))
    token_budget: int = attrs.field(default=4000, validator=attrs.validators.ge(1))


@attrs.frozen
class RetrievalResult:
    """The chosen chunks, best first; ``considered`` counts every candidate offered;
    ``options`` are the limits the chunks were chosen under (defaults filled in);
    ``mode`` how the candidates were found."""

    chunks: tuple[ScoredChunk, ...]
    tokens_used: int
    considered: int
    options: RetrievalOptions = RetrievalOptions()
    mode: SearchMode = SearchMode.HYBRID
    #: The member's documents the search could not look into, and why.
    not_searched: tuple[NotSearched, ...] = ()


def pack(candidates: Iterable[ScoredChunk], options: RetrievalOptions) -> RetrievalResult:
    """Pick the context for an answer from search candidates (rules above)."""
    offered = list(candidates)
    best: dict[UUID, ScoredChunk] = {}
    for candidate in offered:
        similar = candidate.similarity >= options.similarity_threshold  # NaN is never similar
        if not (similar or candidate.keyword_match):
            continue
        kept = best.get(candidate.chunk.chunk_id)
        if kept is None or candidate.score > kept.score:
            best[candidate.chunk.chunk_id] = candidate
    ranked = sorted(best.values(), key=_rank)
    chosen: list[ScoredChunk] = []
    used = 0
    for candidate in ranked:
        if len(chosen) == options.max_chunks or used == options.token_budget:
            break
        if used + candidate.chunk.token_count <= options.token_budget:
            chosen.append(candidate)
            used += candidate.chunk.token_count
    return RetrievalResult(chunks=tuple(chosen), tokens_used=used, considered=len(offered),
                           options=options)


def _rank(candidate: ScoredChunk) -> tuple[float, UUID, int]:
    return (-candidate.score, candidate.chunk.document_id, candidate.chunk.ordinal)
