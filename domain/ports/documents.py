"""A member's documents: what they hold and their chunks.
"""

from __future__ import annotations

import builtins
from collections.abc import Collection
from typing import Protocol
from uuid import UUID

from domain.model import Chunk, Document, DocumentCursor, Job, ParsedDocument, Usage
from domain.status import JobStatus


class DocumentRepository(Protocol):
    """Documents, their parsed pages, chunks and vectors. Reads are scoped by member."""

    async def get(self, document_id: UUID, user_id: str | None = None) -> Document:
        ...

    async def list(
        self, user_id: str, limit: int, offset: int = 0, *, after: DocumentCursor | None = None,
        statuses: Collection[JobStatus] = (),
    ) -> list[tuple[Document, Job]]:
        """A member's documents, newest first (creation time, then id), each with its job:
        only those older than ``after`` when given, only those whose job is in one of
        ``statuses`` when given, ``offset`` of them skipped."""
        ...

    async def embedded_by_other_models(self, model: str) -> builtins.list[Document]:
        """Every member's complete documents with a passage whose vector is of another
        model than ``model``, oldest first: what re-embedding after a change of model
        must process again."""
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
