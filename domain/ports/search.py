"""Finding a member's passages by a question's words and meaning.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

from domain.hybrid import SearchMode
from domain.model import NotSearched, ScoredChunk


class Words(Protocol):
    """A text's words as the search index reads them."""

    def stems(self, text: str) -> list[str]:
        """Each word of ``text``, in order, lowercased and stemmed as the index stems
        it; stop words are kept (as words), punctuation is not."""
        ...


class SearchIndex(Protocol):
    """The member's searchable chunks: those of their completed documents, embedded."""

    async def search(
        self, user_id: str, vector: Sequence[float], model: str, min_similarity: float,
        limit: int, *, text: str = "", mode: SearchMode = SearchMode.VECTOR,
        documents: Sequence[UUID] | None = None, expansion: str = "",
    ) -> list[ScoredChunk]:
        """The member's best chunks of completed documents embedded by ``model``, best
        first, at most ``limit``. ``vector`` is the question's embedding, ``text`` its
        words. Mode ``vector``: chunks at least ``min_similarity`` (cosine) similar;
        ``keyword``: chunks holding the question's words, those holding every word
        first; ``hybrid``: both lists fused by reciprocal rank, the threshold gating
        only the vector list, so a chunk holding the question's words is kept however
        low its similarity. Every chunk carries its similarity and a highlight of the
        part that matched. A zero vector finds nothing; a vector of the wrong size is
        a ``ValueError``. ``documents`` (when given) keeps only chunks of those documents.
        ``expansion``: the documents' words for the question's phrases (the lay-terms
        glossary); in the keyword list each weighs ``BOOKLET_WEIGHT`` of one of the
        question's own words, and only ``text`` can match the whole question."""
        ...

    async def not_searched(self, user_id: str, model: str,
                           documents: Sequence[UUID] | None = None) -> list[NotSearched]:
        """The member's documents (of ``documents``, when given) a search by ``model``
        cannot see, oldest first: not complete (processing or failed), or complete with
        a passage whose vector is of another model (waiting to be re-embedded)."""
        ...

    async def unknown(self, user_id: str, document_ids: Sequence[UUID]) -> list[UUID]:
        """Those of ``document_ids`` that are not the member's documents, in the order
        given (another member's are as unknown as ids that never existed)."""
        ...
