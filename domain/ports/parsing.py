"""Turning a file into pages of markdown.
"""

from __future__ import annotations

from typing import Protocol

from domain.model import MediaType, ParsedDocument, ParseRequest


class ParseCheckpoint(Protocol):
    """Lets a hosted parser remember its external job id on our job, so a crashed
    worker's successor resumes waiting instead of submitting the file again."""

    @property
    def external_id(self) -> str | None:
        ...

    async def save(self, external_id: str) -> None:
        ...


class Parser(Protocol):
    """Bytes of a known type in, markdown page by page out.

    Raises ``PermanentError`` for a corrupt, encrypted or text-less file and
    ``TransientError`` for anything worth retrying (timeouts, 429, 5xx).
    """

    name: str

    def supports(self, media_type: MediaType) -> bool:
        ...

    async def parse(self, request: ParseRequest, checkpoint: ParseCheckpoint) -> ParsedDocument:
        ...
