"""``/api/v1/answers``: an answer to a member's question, from their own documents.

JSON by default. With ``Accept: text/event-stream`` the answer streams as
server-sent events::

    event: delta       data: {"text": "Emergency room care costs "}   (repeated)
    event: citations   data: {"citations": [...]}                    (once)
    event: done        data: {the whole answer, as the JSON response}  (once, last)

A problem that happens before the first event (bad question, rate limit, search
or the language model refusing at once) is an ordinary problem+json response; one
that happens after the stream began ends it with ``event: error`` whose data is
the problem+json body. Text shown through ``delta`` events never carries an
invented citation; ``done`` holds the checked, final text, which a client should
show in place of the streamed one.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from domain.answering import AnswerEvent, AnswerQuestion, Finished, PreparedQuestion, TextPiece
from domain.errors import PipelineError, StoreUnavailable
from entrypoints.api.answer_schemas import (
    ANSWER_EXAMPLE,
    ANSWERS_PATH,
    AnswerRequest,
    AnswerResponse,
    CitationOut,
)
from entrypoints.api.auth import Member
from entrypoints.api.deps import AnswerQuestionCase
from entrypoints.api.problems import (
    DATABASE_AWAY,
    INTERNAL_ERROR,
    PROBLEM_JSON,
    PROBLEM_REF,
    domain_problem,
    problem_responses,
)
from entrypoints.api.schemas import API, PROBLEM_TYPE_PREFIX
from entrypoints.logs import REQUEST_ID

log = logging.getLogger(__name__)

router = APIRouter(prefix=API, tags=["answers"])

EVENT_STREAM = "text/event-stream"

_SSE_EXAMPLE = (
    'event: delta\ndata: {"text": "Emergency room care costs a $250 copay "}\n\n'
    'event: delta\ndata: {"text": "per visit [1]."}\n\n'
    'event: citations\ndata: {"citations": [...]}\n\n'
    'event: done\ndata: {"answer": "...", "citations": [...], "kind": "generated", ...}\n\n'
)


def _problem_example(status: int, slug: str, title: str, detail: str) -> dict[str, object]:
    example = {"type": PROBLEM_TYPE_PREFIX + slug, "title": title, "status": status,
               "detail": detail, "instance": ANSWERS_PATH}
    return {"description": title, "content": {PROBLEM_JSON: {
        "schema": {"$ref": PROBLEM_REF}, "example": example}}}


RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The answer (JSON), or the answer streamed as server-sent events",
        "content": {
            "application/json": {"example": ANSWER_EXAMPLE},
            EVENT_STREAM: {"schema": {"type": "string"}, "example": _SSE_EXAMPLE},
        },
    },
    **problem_responses(401, 404, 422),
    429: _problem_example(429, "too-many-requests", "Too many questions",
                          "you asked 30 questions in the last 10 minutes, the most allowed; "
                          "try again in 42 s"),
    502: _problem_example(502, "provider-refused", "A service we rely on refused the request",
                          "Anthropic refused the API key (401): check ANTHROPIC_API_KEY"),
    **problem_responses(503),
}


@router.post(
    "/answers",
    response_model=AnswerResponse,
    summary="Ask a question about my documents",
    description=inspect.cleandoc(AnswerQuestion.__doc__ or "") + "\n\n"
    "The answer cites the passages it used as [1], [2], ...; each citation resolves to one "
    "of the member's own chunks (document, file, page, quoted text). `kind` says whether a "
    "language model generated it or (with no `ANTHROPIC_API_KEY`) it was extracted verbatim. "
    "When no passage clears `RAG_SIMILARITY_THRESHOLD`, `covered` is false and the answer "
    "says the documents do not cover the question. Each member may ask "
    "`ANSWER_RATE_LIMIT` questions per `ANSWER_RATE_WINDOW_SECONDS` (429 with Retry-After "
    "beyond that). `document_ids` limits the question to some of the member's documents "
    "(404 naming any id that is not theirs). Send `Accept: text/event-stream` to receive the "
    "answer as it is written. The stream answers a POST, which a browser's `EventSource` "
    "cannot send: read it with `fetch` and a stream reader "
    "(`response.body.getReader()`), parsing the `event:`/`data:` lines.",
    responses=RESPONSES,
)
async def answer_question(body: AnswerRequest, member: Member,
                          use_case: AnswerQuestionCase, request: Request) -> Response:
    prepared = await use_case.prepare(member, body.question, body.document_ids)
    events = aiter(use_case.stream(prepared))
    first = await anext(events)  # a refusal before any text is still a plain problem
    if EVENT_STREAM in request.headers.get("accept", ""):
        return StreamingResponse(
            _sse(first, events, prepared, request.url.path), media_type=EVENT_STREAM,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    event: AnswerEvent = first
    while not isinstance(event, Finished):
        event = await anext(events)
    return JSONResponse(_finished(event, prepared).model_dump(mode="json"))


def _finished(event: Finished, prepared: PreparedQuestion) -> AnswerResponse:
    answer = event.answer
    log.info(
        "answered: kind=%s model=%s passages=%d cited=%d covered=%s flagged=%s "
        "input_tokens=%d output_tokens=%d", answer.kind, answer.model,
        len(prepared.prompt.passages), len(answer.citations), answer.covered, answer.flagged,
        answer.usage.input_tokens, answer.usage.output_tokens,
    )
    return AnswerResponse.from_domain(answer, passages=len(prepared.prompt.passages),
                                      not_searched=prepared.not_searched)


async def _sse(first: AnswerEvent, rest: AsyncIterator[AnswerEvent],
               prepared: PreparedQuestion, path: str) -> AsyncIterator[bytes]:
    event: AnswerEvent | None = first
    try:
        while event is not None:
            if isinstance(event, TextPiece):
                yield _event("delta", {"text": event.text})
            else:
                done = _finished(event, prepared)
                citations = [c.model_dump(mode="json") for c in done.citations]
                yield _event("citations", {"citations": citations})
                yield _event("done", done.model_dump(mode="json"))
                return
            event = await anext(rest, None)
    except Exception as exc:  # the stream has begun: end it with an event, never cut it
        mapped = domain_problem(exc) if isinstance(exc, PipelineError) else None
        status, slug, title = mapped if mapped else (500, "internal-error", "Internal error")
        detail = str(exc) if mapped else INTERNAL_ERROR
        if isinstance(exc, StoreUnavailable):  # its message names driver classes: not shown
            detail = DATABASE_AWAY
        if mapped:
            log.warning("answer stream stopped: %s", type(exc).__name__)
        else:
            log.error("answer stream crashed: %s", type(exc).__name__, exc_info=exc)
        yield _event("error", {"type": PROBLEM_TYPE_PREFIX + slug, "title": title,
                               "status": status, "detail": detail, "instance": path,
                               "request_id": REQUEST_ID.get()})


def _event(name: str, data: object) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


__all__ = ["CitationOut", "router"]
