"""``/api/v1/documents``: upload, list, show and delete a member's documents."""

from __future__ import annotations

import inspect
import logging
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from domain.errors import StoreOutcomeUnknown, StoreUnavailable, UploadRejected
from domain.library import ListDocuments
from domain.members import DeleteDocument
from domain.model import DocumentCursor
from domain.reprocessing import ReprocessDocument
from domain.status import JobStatus
from domain.uploads import SubmitUpload
from entrypoints.api.auth import Member
from entrypoints.api.deps import (
    DeleteDocumentCase,
    ListDocumentsCase,
    Policy,
    ProcessMetrics,
    ReprocessDocumentCase,
    ShowDocumentCase,
    ShowJobCase,
    SubmitUploadCase,
)
from entrypoints.api.multipart import FIELD, read_file_field
from entrypoints.api.problems import database_unavailable, problem_responses
from entrypoints.api.schemas import (
    API,
    MAX_OFFSET,
    UPLOAD_EXAMPLE,
    DocumentPage,
    DocumentWithJob,
    JobDetail,
    UploadResult,
    job_url,
)

log = logging.getLogger(__name__)

router = APIRouter(prefix=f"{API}/documents", tags=["documents"])

#: The two answers to an upload that met a database outage (503, ``stored`` says which).
UPLOAD_NOT_STORED = ("the service cannot reach its database right now, so your upload was "
                     "not stored; send it again in a few seconds")
UPLOAD_OUTCOME_UNKNOWN = (
    "the database went away while your upload was being saved, so whether it was stored "
    "is not known yet; send the same file again in a few seconds: if it was stored you get "
    "that document back (200, duplicate), never a second copy"
)

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FIELD],
                    "properties": {
                        FIELD: {
                            "type": "string",
                            "format": "binary",
                            "description": "the document: PDF, DOCX, HTML, Markdown or text",
                        }
                    },
                },
                "encoding": {FIELD: {"contentType": "application/octet-stream"}},
            }
        },
    }
}


@router.post(
    "",
    status_code=202,
    response_model=UploadResult,
    summary="Upload a document",
    description=inspect.cleandoc(SubmitUpload.__doc__ or "") + "\n\n"
    f"Send the file as `multipart/form-data` in the field `{FIELD}`. The body is read as it "
    "arrives and refused with 413 as soon as it passes `UPLOAD_MAX_BYTES`. The type is "
    "decided from the content (a PNG renamed `.pdf` is refused with 415). Answers 202 with "
    "the new document and its job (follow `links.job` or the `Location` header), or 200 "
    "with `duplicate: true` when the same bytes were uploaded before. The upload is stored "
    "whole or not at all: a 503 (database unavailable, `Retry-After`) says in `stored` "
    "whether it was (`false`: not stored; `null`: the database went away while saving it, "
    "so it is not known; sending the same file again is safe either way).",
    response_description="The new document and its job (202)",
    responses={
        200: {"model": UploadResult,
              "description": "The same bytes were uploaded before: the existing document",
              "content": {"application/json": {"example": {**UPLOAD_EXAMPLE,
                                                            "duplicate": True}}}},
        **problem_responses(400, 401, 413, 415, 422, 429, 503),
    },
    openapi_extra=_UPLOAD_BODY,
)
async def upload_document(
    request: Request, response: Response, member: Member, submit: SubmitUploadCase,
    policy: Policy, metrics: ProcessMetrics,
) -> UploadResult | JSONResponse:
    try:
        received = await read_file_field(
            request.headers, request.stream(), max_bytes=policy.max_bytes,
            too_large=policy.check_size,
        )
        with received:
            submission = await submit(
                member, received.filename, received.file, received.declared_type
            )
    except UploadRejected:
        metrics.record_upload("rejected")
        raise
    except StoreOutcomeUnknown:
        metrics.record_upload("unknown")
        log.warning("upload commit interrupted: outcome unknown")
        return database_unavailable(request, UPLOAD_OUTCOME_UNKNOWN, {"stored": None})
    except StoreUnavailable:
        metrics.record_upload("unavailable")
        log.warning("upload not stored: the database is unavailable")
        return database_unavailable(request, UPLOAD_NOT_STORED, {"stored": False})
    metrics.record_upload("created" if submission.created else "duplicate")
    if submission.created:
        response.headers["Location"] = job_url(submission.job.job_id)
    else:
        response.status_code = 200
    envelope = DocumentWithJob.from_domain(submission.document, submission.job)
    return UploadResult(**envelope.model_dump(), duplicate=not submission.created)


@router.get(
    "",
    response_model=DocumentPage,
    summary="List my documents",
    description=inspect.cleandoc(ListDocuments.__doc__ or "") + "\n\n"
    "Pass a page's `next_cursor` as `cursor` to get the next page (null on the last). "
    "`status` (repeatable) keeps only documents whose job is in one of those statuses, "
    "e.g. `?status=failed`. `offset` still works but is deprecated: uploads made meanwhile "
    "shift offset pages.",
    responses=problem_responses(401, 422, 503),
)
async def list_documents(
    member: Member,
    list_page: ListDocumentsCase,
    limit: Annotated[int, Query(ge=1, le=100, description="documents per page")] = 20,
    cursor: Annotated[str | None, Query(
        max_length=200, pattern=r"^[A-Za-z0-9_-]+$",
        description="the `next_cursor` of the previous page, as it was")] = None,
    status: Annotated[list[JobStatus] | None, Query(
        description="only documents whose job is in one of these statuses")] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, deprecated=True,
                                 description="documents to skip (deprecated: use `cursor`)")
                      ] = 0,
) -> DocumentPage:
    after = None if cursor is None else DocumentCursor.decode(cursor)
    page = await list_page(member, limit, cursor=after, statuses=frozenset(status or ()),
                           offset=offset)
    return DocumentPage(
        items=[DocumentWithJob.from_domain(document, job) for document, job in page.items],
        limit=limit,
        next_cursor=None if page.next_cursor is None else page.next_cursor.encode(),
        offset=offset,
        next_offset=offset + limit if page.next_cursor is not None else None,
    )


@router.get(
    "/{document_id}",
    response_model=DocumentWithJob,
    summary="Show a document",
    description="One of the calling member's documents with its job's status. Another "
    "member's document is answered as not found.",
    responses=problem_responses(401, 404, 422, 503),
)
async def get_document(document_id: UUID, member: Member, show: ShowDocumentCase
                       ) -> DocumentWithJob:
    document, job = await show(document_id, member)
    return DocumentWithJob.from_domain(document, job)


@router.delete(
    "/{document_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a document",
    description=inspect.cleandoc(DeleteDocument.__doc__ or ""),
    responses=problem_responses(401, 404, 422, 503),
)
async def delete_document(document_id: UUID, member: Member, delete: DeleteDocumentCase
                          ) -> Response:
    await delete(document_id, member)
    return Response(status_code=204)


@router.post(
    "/{document_id}/reprocess",
    status_code=202,
    response_model=JobDetail,
    summary="Process a document again",
    description=inspect.cleandoc(ReprocessDocument.__doc__ or "") + "\n\n"
    "For example after the service changed its embedding model (`RAG_EMBEDDING_MODEL`): "
    "searches list such documents under `not_searched` until they are processed again. "
    "Answers 202 with the job, waiting for a worker (follow `Location` or "
    "`GET /api/v1/jobs/{id}/events`); 409 unless the document is complete.",
    responses=problem_responses(401, 404, 409, 422, 503),
)
async def reprocess_document(
    document_id: UUID, member: Member, reprocess: ReprocessDocumentCase, show: ShowJobCase,
    response: Response,
) -> JobDetail:
    job = await reprocess(document_id, by="member", user_id=member)
    response.headers["Location"] = job_url(job.job_id)
    return JobDetail.from_report(await show(job.job_id, member))
