"""The offline parser: every supported type, parsed on this machine.

Chosen when no hosted parser is configured. The media type was decided from
the file's bytes at upload; each parser still checks the bytes really are that
type and fails permanently, with a reason a member can act on, when they are
not (a text file named ``.docx``), or when the file is locked, damaged or has no
text.

Parsing is CPU-bound, so it never runs on the event loop: by default it runs
in a thread (``asyncio.to_thread``; pdfium, which does the heavy PDF work,
releases the GIL), or in the executor given (a ``ProcessPoolExecutor`` to use
more cores). A worker's heartbeats keep beating while a 232-page PDF parses.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from functools import partial

from adapters.parsers.docx import parse_docx
from adapters.parsers.html import parse_html
from adapters.parsers.pdf import PdfEngine, parse_pdf
from adapters.parsers.text import parse_markdown, parse_text
from domain.errors import PermanentError
from domain.model import MediaType, ParsedDocument, ParsedPage, ParseRequest
from domain.ports import ParseCheckpoint

NO_TEXT = "we could not find any text in this document"
SUPPORTED = frozenset(
    {MediaType.PDF, MediaType.DOCX, MediaType.HTML, MediaType.MARKDOWN, MediaType.TEXT}
)

log = logging.getLogger(__name__)


def parse_bytes(
    media_type: MediaType, data: bytes, pdf_engine: PdfEngine = PdfEngine.PDFIUM
) -> tuple[ParsedPage, ...]:
    """Parse bytes of a known type into numbered pages of markdown (blocking).

    A plain function of picklable arguments, so it can run in another process.
    """
    readers: dict[MediaType, Callable[[bytes], list[ParsedPage]]] = {
        MediaType.PDF: partial(parse_pdf, engine=pdf_engine),
        MediaType.DOCX: parse_docx,
        MediaType.HTML: parse_html,
        MediaType.MARKDOWN: parse_markdown,
        MediaType.TEXT: parse_text,
    }
    reader = readers.get(media_type)
    if reader is None:
        raise PermanentError(f"we cannot read files of type {media_type} yet")
    pages = reader(data)
    if not any(page.markdown.strip() for page in pages):
        raise PermanentError(NO_TEXT)
    return tuple(pages)


class LocalParser:
    """Parses PDF, Word, HTML, markdown and plain text files locally (no network)."""

    name = "local"

    def __init__(
        self, *, pdf_engine: PdfEngine = PdfEngine.PDFIUM, executor: Executor | None = None
    ) -> None:
        self._pdf_engine = pdf_engine
        self._executor = executor

    def supports(self, media_type: MediaType) -> bool:
        return media_type in SUPPORTED

    async def parse(self, request: ParseRequest, checkpoint: ParseCheckpoint) -> ParsedDocument:
        """``checkpoint`` is unused: a local parse has no external job to resume."""
        started = time.perf_counter()
        work = partial(parse_bytes, request.media_type, request.data, self._pdf_engine)
        if self._executor is None:
            pages = await asyncio.to_thread(work)
        else:
            pages = await asyncio.get_running_loop().run_in_executor(self._executor, work)
        log.info(
            "parsed document %s (%s, %d bytes): %d pages with text in %.2f s",
            request.document_id, request.media_type, len(request.data), len(pages),
            time.perf_counter() - started,
        )
        return ParsedDocument(pages=pages, parser=self.name)
