"""``/api/v1/documents/{id}/file``: the bytes a member uploaded, whole or a range.

Citations name a document and a page; this route lets a member's app open that
document (a PDF viewer opened at ``#page=N``). Only single ranges are served: a
``Range`` with several is answered with the whole file, as HTTP allows. HTML files
are sent with ``Content-Security-Policy: sandbox``, so a document can never run
script in the app's origin; every file with ``X-Content-Type-Options: nosniff``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from typing import Annotated
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response, StreamingResponse

from domain.errors import NotFound
from domain.library import DocumentFile, RangeNotSatisfiable
from domain.model import MediaType
from entrypoints.api.auth import Member
from entrypoints.api.deps import ReadDocumentFileCase
from entrypoints.api.problems import problem, problem_responses
from entrypoints.api.schemas import API, document_url

log = logging.getLogger(__name__)

router = APIRouter(prefix=f"{API}/documents", tags=["documents"])

_SINGLE_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)
_DIGITS = 18  # more digits than any file's size: not a range of it

_FILE_EXAMPLE = "%PDF-1.7 ... (the document's bytes)"


def wanted_range(header: str | None) -> tuple[int | None, int | None] | None:
    """The single byte range a ``Range`` header asks for (``bytes=0-499``, ``bytes=500-``,
    ``bytes=-500``), or None: no header, several ranges, another unit or nonsense, all
    answered with the whole file (RFC 9110 lets a server ignore a Range). A range that
    ends before it starts (``bytes=5-3``) is not one (RFC 9110 §14.1.1: ignored)."""
    if header is None:
        return None
    found = _SINGLE_RANGE.match(header)
    if found is None or not any(found.groups()) or any(len(g) > _DIGITS for g in found.groups()):
        return None
    first, last = (int(g) if g else None for g in found.groups())
    if first is not None and last is not None and last < first:
        return None
    return first, last


def content_disposition(filename: str) -> str:
    """``inline`` with the file's name: plain ASCII for every client, and the exact
    name (RFC 5987 ``filename*``) for those that read it."""
    plain = re.sub(r'[^\x20-\x7e]|["\\]', "_", filename) or "document"
    return f"inline; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


@router.get(
    "/{document_id}/file",
    response_class=StreamingResponse,
    summary="Download a document's file",
    description="The bytes the member uploaded, exactly as stored, with the document's type "
    "(decided from the content at upload), `Content-Disposition: inline` with its file "
    "name, and `ETag` (its SHA-256). `Accept-Ranges: bytes`: send `Range: bytes=0-1023` "
    "(or `bytes=1024-`, or `bytes=-1024` for the last KiB) to get part of it (206 with "
    "`Content-Range`); a range wholly past the end is 416. The file is streamed from the "
    "file store (PostgreSQL or object storage), never loaded whole. A citation's page "
    "opens in a PDF viewer at `#page=N`. Another member's document is answered as not "
    "found.",
    responses={
        200: {"description": "The whole file",
              "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"},
                                              "example": _FILE_EXAMPLE}}},
        206: {"description": "The asked range of the file (`Content-Range` says which)",
              "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"},
                                              "example": _FILE_EXAMPLE}}},
        **problem_responses(401, 404),
        416: {"description": "The range lies wholly past the end of the file",
              "content": {"application/problem+json": {"example": {
                  "type": "urn:insurance-navigator:problem:range-not-satisfiable",
                  "title": "Range not satisfiable", "status": 416,
                  "detail": "the file has 482133 bytes; ask for a range that starts before "
                            "byte 482133, or for the whole file",
                  "instance": document_url("0b6f1c52-8d4e-4d1b-9a55-2f0c3e7a9b10") + "/file",
              }}}},
        **problem_responses(422, 503),
    },
)
async def download_document_file(
    document_id: UUID, member: Member, read: ReadDocumentFileCase, request: Request,
    range_: Annotated[str | None, Header(alias="Range", description="one byte range, e.g. "
                                         "`bytes=0-1023`")] = None,
) -> Response:
    try:
        found = await read(document_id, member, wanted_range(range_))
    except RangeNotSatisfiable as exc:
        return problem(416, str(exc), instance=request.url.path, slug="range-not-satisfiable",
                       title="Range not satisfiable",
                       headers={"Content-Range": f"bytes */{exc.size}"})
    try:  # a missing file is a 404 before any byte is sent
        first = await anext(found.parts, b"")
    except NotFound:
        log.error("document %s has no stored file", document_id)
        raise NotFound(f"the file of document {document_id} is missing from the file store; "
                       "upload it again") from None
    return StreamingResponse(_parts(first, found.parts),
                             status_code=206 if found.partial else 200,
                             media_type=found.document.media_type.value,
                             headers=_headers(found))


async def _parts(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if first:
        yield first
    async for part in rest:
        yield part


def _headers(found: DocumentFile) -> dict[str, str]:
    document, span = found.document, found.range
    headers = {
        "Content-Length": str(span.length),
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition(document.filename),
        "ETag": f'"{document.sha256}"',
        "Cache-Control": "private, no-cache",
        "X-Content-Type-Options": "nosniff",
    }
    if found.partial:
        headers["Content-Range"] = f"bytes {span.start}-{span.end - 1}/{document.size_bytes}"
    if document.media_type is MediaType.HTML:
        headers["Content-Security-Policy"] = "sandbox"
    return headers
