"""Use case: a member searches their own documents."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import attrs

from domain.errors import InvalidQuery, NotFound
from domain.hybrid import SearchMode
from domain.lay_terms import LayTerms
from domain.ports import Embedder, SearchIndex, Tokenizer
from domain.retrieval import RetrievalOptions, RetrievalResult, pack


@attrs.frozen
class SearchLimits:
    """What a caller may ask for; defaults come from RAG_* settings."""

    max_query_tokens: int = 2000
    max_chunks: int = 50
    max_token_budget: int = 32_000
    candidates_per_chunk: int = 4
    #: The most documents a search may be limited to (``document_ids``).
    max_documents: int = 20


@attrs.frozen
class SearchDocuments:
    """Find the member's chunks that best answer a question, within the similarity
    threshold, the maximum number of chunks and the token budget.

    By default (`hybrid`) a chunk is found by the question's words (full-text
    search) or by its meaning (vector similarity), the two rankings fused by
    reciprocal rank; `vector` and `keyword` use one of them alone. The similarity
    threshold only gates what meaning alone finds: a passage holding the
    question's words is never dropped for a low similarity. Only the member's own
    completed documents, embedded by the current model, are searched; packing is
    greedy in the fused order and never exceeds the budget. Each passage shows its
    page, its heading path and the part of it that matched.

    A question in the member's own words ("a cap on what I spend") also finds the
    passages in the documents' words ("maximum out-of-pocket amount") through the
    lay-terms glossary (``domain/lay_terms.py``): those words find passages by
    keyword, each worth less than one of the member's own words.

    Limited to some of the member's documents when asked (`document_ids`, at most 20;
    an id that is not one of the member's documents is refused, naming it). Documents
    the search could not look into are listed with the reason: still being processed,
    failed, or embedded by another model and waiting to be re-embedded, so a document
    is never left out silently.
    """

    index: SearchIndex
    embedder: Embedder
    tokenizer: Tokenizer
    defaults: RetrievalOptions = RetrievalOptions()
    limits: SearchLimits = SearchLimits()
    mode: SearchMode = SearchMode.HYBRID
    #: The glossary of how members say things; None: the member's words alone.
    lay_terms: LayTerms | None = None

    def checked(self, query: str, field: str = "query") -> str:
        """``query`` without its surrounding spaces, or ``InvalidQuery`` saying what to fix
        (``field``: what the request calls it)."""
        query = query.strip()
        if not query:
            raise InvalidQuery(f"the {field} is empty; ask a question in words")
        if "\x00" in query:
            raise InvalidQuery(f"the {field} holds a NUL character; ask a question in words")
        tokens = self.tokenizer.count(query)
        if tokens > self.limits.max_query_tokens:
            raise InvalidQuery(
                f"the {field} is too long for the search: {tokens} tokens as it counts them "
                f"(an emoji or a symbol is often several), the most is "
                f"{self.limits.max_query_tokens}; ask in fewer words")
        return query

    async def __call__(
        self, user_id: str, query: str, *, similarity_threshold: float | None = None,
        max_chunks: int | None = None, token_budget: int | None = None,
        mode: SearchMode | None = None, document_ids: Sequence[UUID] | None = None,
    ) -> RetrievalResult:
        options = self._options(similarity_threshold, max_chunks, token_budget)
        documents = await self._documents(user_id, document_ids)
        query = self.checked(query)
        mode = self.mode if mode is None else mode
        expansion = "" if self.lay_terms is None else self.lay_terms.expansion(query)
        embedded = await self.embedder.embed([query])
        candidates = await self.index.search(
            user_id, embedded.vectors[0], self.embedder.model, options.similarity_threshold,
            limit=options.max_chunks * self.limits.candidates_per_chunk,
            text=query, mode=mode, documents=documents, expansion=expansion,
        )
        left_out = await self.index.not_searched(user_id, self.embedder.model, documents)
        return attrs.evolve(pack(candidates, options), mode=mode, not_searched=tuple(left_out))

    async def _documents(self, user_id: str, document_ids: Sequence[UUID] | None
                         ) -> list[UUID] | None:
        """The documents asked for, each once, all the member's; None: every document."""
        if document_ids is None:
            return None
        wanted = list(dict.fromkeys(document_ids))
        if not 1 <= len(wanted) <= self.limits.max_documents:
            raise InvalidQuery(f"document_ids must name between 1 and "
                               f"{self.limits.max_documents} documents (got {len(wanted)})")
        unknown = await self.index.unknown(user_id, wanted)
        if unknown:
            raise NotFound("you have no document " + ", ".join(map(str, unknown))
                           + "; list your documents to find their ids")
        return wanted

    def _options(
        self, threshold: float | None, max_chunks: int | None, budget: int | None
    ) -> RetrievalOptions:
        if max_chunks is not None and not 1 <= max_chunks <= self.limits.max_chunks:
            raise InvalidQuery(f"max_chunks must be between 1 and {self.limits.max_chunks}")
        if budget is not None and not 1 <= budget <= self.limits.max_token_budget:
            raise InvalidQuery(
                f"token_budget must be between 1 and {self.limits.max_token_budget}"
            )
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise InvalidQuery("similarity_threshold must be between 0 and 1")
        return RetrievalOptions(
            similarity_threshold=(
                self.defaults.similarity_threshold if threshold is None else threshold
            ),
            max_chunks=self.defaults.max_chunks if max_chunks is None else max_chunks,
            token_budget=self.defaults.token_budget if budget is None else budget,
        )
