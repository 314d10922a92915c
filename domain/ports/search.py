"""Finding a member's passages by a question's words and meaning.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from domain.hybrid import SearchMode
from domain.model import ScoredChunk


class SearchIndex(Protocol):
    """The member's searchable chunks: those of their completed documents, embedded."""

    async def search(
        self, user_id: str, vector: Sequence[float], model: str, min_similarity: float,
        limit: int, *, text: str = "", mode: SearchMode = SearchMode.VECTOR,
    ) -> list[ScoredChunk]:
        """The member's best chunks of completed documents embedded by ``model``, best
        first, at most ``limit``. ``vector`` is the question's embedding, ``text`` its
        words. Mode ``vector``: chunks at least ``min_similarity`` (cosine) similar;
        ``keyword``: chunks holding the question's words, those holding every word
        first; ``hybrid``: both lists fused by reciprocal rank, the threshold gating
        only the vector list, so a chunk holding the question's words is kept however
        low its similarity. Every chunk carries its similarity and a highlight of the
        part that matched. A zero vector finds nothing; a vector of the wrong size is
        a ``ValueError``."""
        ...
