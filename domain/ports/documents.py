"""A member's documents: what they hold and their chunks.
"""

from __future__ import annotations

import builtins
from typing import Protocol
from uuid import UUID

from domain.model import Chunk, Document, Job, ParsedDocument, Usage


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
