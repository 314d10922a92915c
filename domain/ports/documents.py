"""A member's documents: what they hold, their chunks, and search over them.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

from domain.hybrid import SearchMode
from domain.model import Chunk, Document, Job, ParsedDocument, ScoredChunk, Usage


class DocumentRepository(Protocol):
    """Documents, their parsed pages, chunks and vectors. Reads are scoped by member."""

    async def get(self, document_id: UUID, user_id: str | None = None) -> Document:
        ...

    async def list(self, user_id: str, limit: int, offset: int) -> list[tuple[Document, Job]]:
        """A member's documents, newest first, each with its job."""
        ...

    async def usage(self, user_id: str) -> Usage:
        """How many documents and bytes a member has stored (for the quota)."""
        ...

    async def find_by_sha256(self, user_id: str, sha256: str) -> Document | None:
        """The member's document with exactly these bytes, if any."""
        ...

    async def parsed(self, document_id: UUID) -> ParsedDocument:
        ...

    async def chunks(self, document_id: UUID) -> builtins.list[Chunk]:
        """A document's chunks in order."""
        ...

    async def search(
        self, user_id: str, vector: Sequence[float], model: str, min_similarity: float,
        limit: int, *, text: str = "", mode: SearchMode = SearchMode.VECTOR,
    ) -> builtins.list[ScoredChunk]:
        """The member's best chunks of completed documents embedded by ``model``, best
        first, at most ``limit``. ``vector`` is the question's embedding, ``text`` its
        words. Mode ``vector``: chunks at least ``min_similarity`` (cosine) similar;
        ``keyword``: chunks holding the question's words; ``hybrid``: both lists
        fused by reciprocal rank, the threshold gating only the vector list (rules in
        ``domain.hybrid``). Every chunk carries its similarity and a highlight of the
        part that matched."""
        ...
