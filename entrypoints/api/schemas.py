"""The API's request and response bodies (pydantic), with examples for OpenAPI.

These are the HTTP shapes only; the domain's attrs values are turned into them
by the ``from_*`` constructors here, so the domain never sees pydantic.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict

from domain.hybrid import SearchMode
from domain.members import JobReport
from domain.model import Document, Job, JobEvent, ScoredChunk
from domain.search import SearchLimits
from domain.status import JobStatus, progress
from entrypoints.api.library_schemas import NOT_SEARCHED_EXAMPLE, NotSearchedOut

API = "/api/v1"
PROBLEM_TYPE_PREFIX = "urn:insurance-navigator:problem:"

_DOC_ID = "0b6f1c52-8d4e-4d1b-9a55-2f0c3e7a9b10"
_JOB_ID = "5c1e7d2a-3f4b-4c6d-8e9f-0a1b2c3d4e5f"
_CHUNK_ID = "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d"
WHEN = "2025-01-06T09:00:00Z"

#: The largest paging offset: PostgreSQL's ``integer``. Any larger offset could never land
#: on a document, and an offset past ``bigint`` could not even be sent to the database.
MAX_OFFSET = 2**31 - 1

# -- links ---------------------------------------------------------------------------


def document_url(document_id: UUID | str) -> str:
    return f"{API}/documents/{document_id}"


def job_url(job_id: UUID | str) -> str:
    return f"{API}/jobs/{job_id}"


# -- examples (shown in the OpenAPI document) ---------------------------------------------

DOCUMENT_EXAMPLE: dict[str, Any] = {
    "id": _DOC_ID, "filename": "2025-policy.pdf", "media_type": "application/pdf",
    "size_bytes": 482133,
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "created_at": WHEN,
    "links": {"self": document_url(_DOC_ID), "job": job_url(_JOB_ID)},
}
JOB_EXAMPLE: dict[str, Any] = {
    "id": _JOB_ID, "document_id": _DOC_ID, "status": "embedding_in_progress",
    "progress": 0.7, "attempts": 0, "last_error": None, "failed_stage": None,
    "next_attempt_at": None, "created_at": WHEN, "updated_at": "2025-01-06T09:00:04Z",
    "links": {"self": job_url(_JOB_ID), "document": document_url(_DOC_ID)},
}
DOCUMENT_WITH_JOB_EXAMPLE: dict[str, Any] = {"document": DOCUMENT_EXAMPLE, "job": JOB_EXAMPLE}
UPLOAD_EXAMPLE: dict[str, Any] = {
    "document": DOCUMENT_EXAMPLE,
    "job": {**JOB_EXAMPLE, "status": "uploaded", "progress": 0.0, "next_attempt_at": WHEN},
    "duplicate": False,
}


# -- documents and jobs ----------------------------------------------------------------


class DocumentOut(BaseModel):
    """A member's uploaded file."""

    model_config = ConfigDict(json_schema_extra={"examples": [DOCUMENT_EXAMPLE]})

    id: UUID
    filename: str
    media_type: str = Field(description="decided from the file's content, not its name")
    size_bytes: int
    sha256: str = Field(description="computed by the server")
    created_at: datetime
    links: dict[str, str]

    @classmethod
    def from_domain(cls, document: Document, job: Job | None = None) -> DocumentOut:
        links = {"self": document_url(document.document_id)}
        if job is not None:
            links["job"] = job_url(job.job_id)
        return cls(
            id=document.document_id, filename=document.filename,
            media_type=str(document.media_type), size_bytes=document.size_bytes,
            sha256=document.sha256, created_at=document.created_at, links=links,
        )


class JobOut(BaseModel):
    """Where a document's processing stands."""

    model_config = ConfigDict(json_schema_extra={"examples": [JOB_EXAMPLE]})

    id: UUID
    document_id: UUID
    status: JobStatus
    progress: float = Field(ge=0, le=1,
                            description="0 when uploaded, 1 when complete (0 if failed)")
    attempts: int = Field(description="failed tries so far (transient errors, lost workers)")
    last_error: str | None = Field(description="why the last try failed, in plain words")
    failed_stage: str | None = Field(description="the step that failed, when status is failed")
    next_attempt_at: datetime | None = Field(
        description="when a waiting job may next be picked up (after a retry delay)"
    )
    created_at: datetime
    updated_at: datetime
    links: dict[str, str] = Field(description="`retry` is present when the job can be retried")

    @classmethod
    def from_domain(cls, job: Job) -> JobOut:
        links = {"self": job_url(job.job_id), "document": document_url(job.document_id)}
        if job.status is JobStatus.FAILED:
            links["retry"] = job_url(job.job_id) + "/retry"
        waiting = job.is_waiting
        return cls(
            id=job.job_id, document_id=job.document_id, status=job.status,
            progress=round(progress(job.status), 4), attempts=job.attempts,
            last_error=job.last_error, failed_stage=job.failed_stage,
            next_attempt_at=job.available_at if waiting else None,
            created_at=job.created_at, updated_at=job.updated_at, links=links,
        )


class DocumentWithJob(BaseModel):
    """A document and the job that processes it."""

    model_config = ConfigDict(json_schema_extra={"examples": [DOCUMENT_WITH_JOB_EXAMPLE]})

    document: DocumentOut
    job: JobOut

    @classmethod
    def from_domain(cls, document: Document, job: Job) -> DocumentWithJob:
        return cls(document=DocumentOut.from_domain(document, job), job=JobOut.from_domain(job))


class UploadResult(DocumentWithJob):
    """The upload's document and job; ``duplicate`` when these bytes were uploaded before."""

    model_config = ConfigDict(json_schema_extra={"examples": [UPLOAD_EXAMPLE]})

    duplicate: bool = Field(description="true when the same bytes were uploaded before: the "
                                        "existing document is returned and nothing is redone")


class DocumentPage(BaseModel):
    """One page of a member's documents, newest first."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": [DOCUMENT_WITH_JOB_EXAMPLE], "limit": 20,
        "next_cursor": "MjAyNS0wMS0wNlQwOTowMDowMCswMDowMHwwYjZmMWM1Mg",
        "offset": 0, "next_offset": 20,
    }]})

    items: list[DocumentWithJob]
    limit: int
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next page; null at the end")
    offset: int = Field(deprecated=True, description="deprecated: page with `cursor`")
    next_offset: int | None = Field(
        deprecated=True, description="deprecated (uploads made meanwhile shift offset "
        "pages): pass `next_cursor` as `cursor` instead")


class JobEventOut(BaseModel):
    from_status: JobStatus | None
    to_status: JobStatus
    at: datetime
    attempt: int
    worker: str | None
    detail: str

    @classmethod
    def from_domain(cls, event: JobEvent) -> JobEventOut:
        return cls(from_status=event.from_status, to_status=event.to_status, at=event.at,
                   attempt=event.attempt, worker=event.worker, detail=event.detail)


class JobDetail(JobOut):
    """A job with its document's name, token use and whole history, oldest event first."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": _JOB_ID, "document_id": _DOC_ID, "filename": "2025-policy.pdf",
        "status": "complete", "progress": 1.0, "attempts": 1, "last_error": None,
        "failed_stage": None, "next_attempt_at": None, "embedding_tokens": 18231,
        "created_at": WHEN, "updated_at": "2025-01-06T09:00:09Z",
        "links": {"self": job_url(_JOB_ID), "document": document_url(_DOC_ID)},
        "history": [
            {"from_status": None, "to_status": "uploaded", "at": WHEN, "attempt": 1,
             "worker": None, "detail": ""},
            {"from_status": "uploaded", "to_status": "parsing", "at": "2025-01-06T09:00:01Z",
             "attempt": 1, "worker": "worker-a", "detail": "parse started"},
            {"from_status": "parsing", "to_status": "uploaded", "at": "2025-01-06T09:00:02Z",
             "attempt": 1, "worker": "worker-a", "detail": "will retry: the parser timed out"},
        ],
    }]})

    filename: str
    embedding_tokens: int = Field(description="tokens the embedding model was billed for")
    history: list[JobEventOut]

    @classmethod
    def from_report(cls, report: JobReport) -> JobDetail:
        summary = JobOut.from_domain(report.job).model_dump()
        return cls(
            **summary, filename=report.document.filename,
            embedding_tokens=report.job.embedding_tokens,
            history=[JobEventOut.from_domain(event) for event in report.history],
        )


# -- search ------------------------------------------------------------------------------


def _integral_float_as_int(value: object) -> object:
    # JSON has one number type: 5.0 is the integer 5 (as JSON Schema says), 5.5 is not.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: A JSON number: an integer or a decimal, never ``true``/``false`` nor a string of digits.
_JsonNumber = Annotated[float, Strict()]
_LIMITS = SearchLimits()
#: The longest search question, in characters. A character is at most four UTF-8 bytes and
#: a cl100k token at least one byte, so a question this long is always within the search's
#: token limit: what the schema calls valid, the search accepts.
MAX_QUERY_CHARS = _LIMITS.max_query_tokens // 4
Similarity = Annotated[_JsonNumber, Field(ge=0, le=1)]
# JSON integers (``5`` or ``5.0``), never ``true``/``false`` nor a string of digits. The
# decimal is made whole before the bounds are checked, so the bounds stay declared.
MaxChunks = Annotated[int, Strict(), Field(ge=1, le=_LIMITS.max_chunks),
                      BeforeValidator(_integral_float_as_int)]
TokenBudget = Annotated[int, Strict(), Field(ge=1, le=_LIMITS.max_token_budget),
                        BeforeValidator(_integral_float_as_int)]
#: A question: at least one character that is not blank (Python's ``str.strip``, which
#: the use cases apply, also strips the separators \x1c-\x1f and \x85, which other
#: regex engines' ``\s`` may not), and no NUL.
NOT_BLANK = r"^[^\x00]*[^\x00\s\x1c-\x1f\x85][^\x00]*$"
Question = Annotated[str, Strict(), Field(min_length=1, max_length=MAX_QUERY_CHARS,
                                          pattern=NOT_BLANK)]


#: Some of the member's documents to limit a search or a question to (ids as JSON
#: strings, also in the strict answer body).
DocumentIds = Annotated[list[Annotated[UUID, Strict(False)]], Field(
    min_length=1, max_length=_LIMITS.max_documents,
    description=f"only these documents (1 to {_LIMITS.max_documents} of the member's own "
                "document ids); an id that is not one of them is answered 404, naming it")]


class SearchRequest(BaseModel):
    """A question; the optional limits default to the service's RAG_* settings."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"query": "What is the maximum out-of-pocket amount?"},
        {"query": "Is physical therapy covered?", "similarity_threshold": 0.4,
         "max_chunks": 5, "token_budget": 2000},
        {"query": "What is the deductible?", "document_ids": [_DOC_ID]},
    ]})

    query: Question = Field(description="the question, in words (no NUL characters)")
    similarity_threshold: Similarity | None = Field(
        default=None,
        description="the least cosine similarity a passage needs (default "
                    "`RAG_SIMILARITY_THRESHOLD`)",
    )
    max_chunks: MaxChunks | None = Field(
        default=None, description="the most passages to return (default `RAG_MAX_CHUNKS`)",
    )
    token_budget: TokenBudget | None = Field(
        default=None,
        description="the most tokens of all passages together (default `RAG_TOKEN_BUDGET`)",
    )
    mode: SearchMode | None = Field(
        default=None, description="`hybrid` (words and meaning), `vector` (meaning only) or "
        "`keyword` (words only); default RAG_SEARCH_MODE")
    document_ids: DocumentIds | None = None


class ChunkOut(BaseModel):
    chunk_id: UUID
    document_id: UUID
    filename: str
    page: int | None
    heading_path: list[str]
    text: str
    similarity: float
    token_count: int
    highlight: str = Field(
        default="", description="the part of the passage that matched, the question's "
        "words marked **like this**")
    score: float = Field(
        default=0.0, description="what the passages are ordered by: the similarity "
        "(vector), the fused reciprocal-rank score (hybrid) or the keyword score (keyword)")
    matched_by: list[Literal["keyword", "vector"]] = Field(
        default_factory=list, description="which searches found the passage")

    @classmethod
    def from_domain(cls, scored: ScoredChunk) -> ChunkOut:
        chunk = scored.chunk
        matched_by: list[Literal["keyword", "vector"]] = []
        if scored.keyword_rank is not None:
            matched_by.append("keyword")
        if scored.vector_rank is not None:
            matched_by.append("vector")
        return cls(
            chunk_id=chunk.chunk_id, document_id=chunk.document_id, filename=scored.filename,
            page=chunk.page, heading_path=list(chunk.heading_path), text=chunk.text,
            similarity=round(scored.similarity, 6), token_count=chunk.token_count,
            highlight=scored.highlight, score=round(scored.score, 6), matched_by=matched_by,
        )


class SearchResponse(BaseModel):
    """The member's best chunks, best first, within the threshold and the token budget."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "query": "What is the maximum out-of-pocket amount?",
        "chunks": [{
            "chunk_id": _CHUNK_ID, "document_id": _DOC_ID, "filename": "2025-policy.pdf",
            "page": 12, "heading_path": ["Medical Benefits Chart", "Maximum out-of-pocket"],
            "text": "Your yearly limit on out-of-pocket costs is $4,900 ...",
            "similarity": 0.8123, "token_count": 412,
            "highlight": "Your yearly limit on **out-of-pocket** costs is $4,900 ...",
            "score": 0.032787, "matched_by": ["keyword", "vector"],
        }],
        "tokens_used": 412, "token_budget": 4000, "similarity_threshold": 0.3,
        "mode": "hybrid", "not_searched": [NOT_SEARCHED_EXAMPLE],
    }]})

    query: str
    chunks: list[ChunkOut]
    tokens_used: int = Field(description="sum of the returned chunks' token counts")
    token_budget: int
    similarity_threshold: float
    mode: SearchMode = Field(default=SearchMode.HYBRID, description="how the passages were found")
    not_searched: list[NotSearchedOut] = Field(
        default_factory=list, description="the member's documents (of `document_ids`, when "
        "given) this search could not look into, and why: never left out silently")


# -- problems ----------------------------------------------------------------------------


class Problem(BaseModel):
    """An error, as ``application/problem+json`` (RFC 9457); ``detail`` says what to fix."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[str] | None = Field(default=None, description="one line per invalid field")
    request_id: str | None = Field(
        default=None, description="the answer's X-Request-ID: quote it when asking about "
                                  "this error")


def _problem(status: int, slug: str, title: str, detail: str, path: str) -> dict[str, object]:
    return {"type": f"{PROBLEM_TYPE_PREFIX}{slug}", "title": title, "status": status,
            "detail": detail, "instance": path, "request_id": "4bf92f3577b34da6a3ce929d0e0e4736"}


PROBLEM_EXAMPLES: dict[int, dict[str, object]] = {
    400: _problem(400, "bad-request", "Bad request",
                  "the multipart body is malformed; send it as multipart/form-data",
                  f"{API}/documents"),
    401: _problem(401, "unauthorized", "Unauthorized",
                  "the access token has expired; sign in again to get a new one",
                  f"{API}/documents"),
    404: _problem(404, "not-found", "Not found", f"no document {_DOC_ID}",
                  document_url(_DOC_ID)),
    409: _problem(409, "conflict", "Conflict",
                  "only a failed job can be retried; this one is embedding_in_progress",
                  job_url(_JOB_ID) + "/retry"),
    413: _problem(413, "file-too-large", "File too large",
                  "the file is larger than the 50 MiB limit; upload a smaller file or split it",
                  f"{API}/documents"),
    415: _problem(415, "unsupported-file-type", "Unsupported file type",
                  "this file is a PNG image; upload a PDF, DOCX, HTML, Markdown or text file",
                  f"{API}/documents"),
    422: _problem(422, "invalid-request", "Invalid request",
                  "limit: Input should be less than or equal to 100", f"{API}/documents"),
    429: _problem(429, "quota-exceeded", "Upload quota exceeded",
                  "you already store 100 documents, the most allowed; delete some first",
                  f"{API}/documents"),
    503: _problem(503, "database-unavailable", "Database unavailable",
                  "the database is unreachable right now; nothing was lost, try again in a "
                  "few seconds", f"{API}/documents"),
}
