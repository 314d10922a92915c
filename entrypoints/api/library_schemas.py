"""Bodies of the routes a member's app builds on beyond upload and search: usage against
limits, and what a search could not look into (pydantic), with OpenAPI examples.

Kept apart from ``schemas.py`` (which imports :class:`NotSearchedOut` from here) so each
stays under the entrypoints' size limit.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.model import MemberUsage, NotSearched, NotSearchedReason
from domain.status import JobStatus

_DOC_ID = "0b6f1c52-8d4e-4d1b-9a55-2f0c3e7a9b10"

NOT_SEARCHED_EXAMPLE: dict[str, Any] = {
    "document_id": _DOC_ID, "filename": "2024-policy.pdf",
    "reason": "embedded_by_another_model", "status": "complete",
}

USAGE_EXAMPLE: dict[str, Any] = {
    "documents": {"used": 12, "limit": 1000},
    "bytes": {"used": 48_211_904, "limit": 2_147_483_648},
    "answers": {"used": 3, "limit": 30, "window_seconds": 600},
}


class NotSearchedOut(BaseModel):
    """One of the member's documents the search could not look into, and why:
    `processing` (uploaded or being processed again), `failed` (retry it), or
    `embedded_by_another_model` (waiting to be re-embedded with the model in use:
    `POST /api/v1/documents/{id}/reprocess`)."""

    model_config = ConfigDict(json_schema_extra={"examples": [NOT_SEARCHED_EXAMPLE]})

    document_id: UUID
    filename: str
    reason: NotSearchedReason
    status: JobStatus = Field(description="the status of the document's job")

    @classmethod
    def from_domain(cls, left_out: NotSearched) -> NotSearchedOut:
        return cls(document_id=left_out.document_id, filename=left_out.filename,
                   reason=left_out.reason, status=left_out.status)


class LimitUse(BaseModel):
    used: int = Field(ge=0)
    limit: int = Field(ge=1)


class AnswerUse(LimitUse):
    window_seconds: float = Field(gt=0, description="answers count within this sliding "
                                                    "window (`ANSWER_RATE_WINDOW_SECONDS`)")


class UsageOut(BaseModel):
    """What the member uses of each limit: documents and bytes stored (the upload quota:
    `UPLOAD_MAX_DOCUMENTS_PER_MEMBER`, `UPLOAD_MAX_BYTES_PER_MEMBER`), and answers asked in
    the current window (`ANSWER_RATE_LIMIT` per `ANSWER_RATE_WINDOW_SECONDS`, counted per
    API replica)."""

    model_config = ConfigDict(json_schema_extra={"examples": [USAGE_EXAMPLE]})

    documents: LimitUse
    bytes: LimitUse
    answers: AnswerUse

    @classmethod
    def from_domain(cls, usage: MemberUsage) -> UsageOut:
        return cls(
            documents=LimitUse(used=usage.documents, limit=usage.max_documents),
            bytes=LimitUse(used=usage.bytes, limit=usage.max_bytes),
            answers=AnswerUse(used=usage.answers, limit=usage.max_answers,
                              window_seconds=usage.answer_window.total_seconds()),
        )
