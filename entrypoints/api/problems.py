"""Every error the API answers, as ``application/problem+json`` (RFC 9457), mapped here only.

The body is ``{type, title, status, detail, instance, request_id}``: ``detail``
says what to fix; ``request_id`` is the answer's ``X-Request-ID``, the id to quote
when asking about it (every log line of the request carries it). Domain errors are
mapped by class; errors that belong inside the worker
(lost leases, illegal transitions, step errors) never reach a member: if one
does, it is a bug, logged and answered with a plain 500. A database that cannot
be reached, or goes away under a request, is a 503 with ``Retry-After``, never a
500: the adapters translate it into the domain's ``StoreUnavailable``, so only domain
errors are mapped here; a driver's error that reaches the API is a bug (500).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.errors import (
    Conflict,
    EmptyFile,
    FileTooLarge,
    InvalidQuery,
    InvalidRequest,
    NotFound,
    PermanentError,
    PipelineError,
    QuotaExceeded,
    StoreUnavailable,
    TooManyRequests,
    TransientError,
    UnsupportedFileType,
    UploadRejected,
)
from entrypoints.access_tokens import Unauthorized
from entrypoints.api.schemas import NOT_BLANK, PROBLEM_EXAMPLES, PROBLEM_TYPE_PREFIX, Problem
from entrypoints.logs import REQUEST_ID

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = 5


class BadUpload(Exception):
    """The request itself is not a usable upload (not multipart, no ``file`` field)."""

    def __init__(self, status: int, detail: str, *, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.retry_after = retry_after


# (error class, status, slug, title), most specific first: the one place domain
# errors become HTTP statuses.
DOMAIN_PROBLEMS: tuple[tuple[type[PipelineError], int, str, str], ...] = (
    (FileTooLarge, 413, "file-too-large", "File too large"),
    (UnsupportedFileType, 415, "unsupported-file-type", "Unsupported file type"),
    (EmptyFile, 422, "empty-file", "Empty file"),
    (QuotaExceeded, 429, "quota-exceeded", "Upload quota exceeded"),
    (UploadRejected, 422, "upload-rejected", "Upload rejected"),
    (NotFound, 404, "not-found", "Not found"),
    (Conflict, 409, "conflict", "Conflict"),
    (InvalidQuery, 422, "invalid-query", "Invalid search"),
    (InvalidRequest, 422, "invalid-request", "Invalid request"),
    (TooManyRequests, 429, "too-many-requests", "Too many questions"),
    (StoreUnavailable, 503, "database-unavailable", "Database unavailable"),
    (TransientError, 503, "temporarily-unavailable", "Temporarily unavailable"),
    # A provider refused us for good (revoked key, exhausted quota): the adapters'
    # messages are written to be shown and never carry the key.
    (PermanentError, 502, "provider-refused", "A service we rely on refused the request"),
)

_STATUS_TITLES = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Unauthorized"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("file-too-large", "File too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("invalid-request", "Invalid request"),
    500: ("internal-error", "Internal error"),
    503: ("service-unavailable", "Service unavailable"),
}


def problem(
    status: int,
    detail: str,
    *,
    instance: str,
    slug: str | None = None,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, object] | None = None,
) -> JSONResponse:
    default_slug, default_title = _STATUS_TITLES.get(status, ("error", "Error"))
    body: dict[str, object] = {
        "type": PROBLEM_TYPE_PREFIX + (slug or default_slug),
        "title": title or default_title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    if extra:
        body.update(extra)
    request_id = REQUEST_ID.get()
    if request_id is not None:
        body["request_id"] = request_id
    return JSONResponse(body, status_code=status, headers=dict(headers or {}),
                        media_type=PROBLEM_JSON)


def domain_problem(exc: PipelineError) -> tuple[int, str, str] | None:
    """(status, slug, title) of a domain error a member may see, or None (a bug)."""
    for error_class, status, slug, title in DOMAIN_PROBLEMS:
        if isinstance(exc, error_class):
            return status, slug, title
    return None


#: What a member is told when the database is away; says nothing of where it lives.
DATABASE_AWAY = ("the service cannot reach its database right now; nothing was lost, try "
                 "again in a few seconds")


#: What a member is told when something broke on our side (the cause is only logged).
INTERNAL_ERROR = "something went wrong on our side; try again later"


def database_unavailable(request: Request, detail: str = DATABASE_AWAY,
                         extra: Mapping[str, object] | None = None) -> JSONResponse:
    return _database_unavailable(request.url.path, detail, extra)


def _database_unavailable(instance: str, detail: str = DATABASE_AWAY,
                          extra: Mapping[str, object] | None = None) -> JSONResponse:
    return problem(
        503,
        detail,
        instance=instance,
        slug="database-unavailable",
        title="Database unavailable",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        extra=extra,
    )


class CrashesAnswered:
    """ASGI middleware: an error no handler took is answered here (problem+json 500, or
    503 for a database that went away) and goes no further.

    Starlette answers such an error with a 500 and then raises it again to the server,
    and uvicorn closes the connection of any request whose application raised, even
    though its answer was complete: the next request the client had already sent on
    that keep-alive connection was lost without an answer (a "dropped connection"
    during a database outage, next to the 500 that caused it). Only an answer cut off
    halfway is still raised, since closing the connection is then the one way to tell
    the client.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = complete = False

        async def sending(message: Message) -> None:
            nonlocal started, complete
            if message["type"] == "http.response.start":
                started = True
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                complete = True
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            if started and not complete:
                raise
            path = str(scope.get("path", ""))
            unavailable = isinstance(exc, StoreUnavailable)
            if unavailable:
                log.warning("database unavailable: %s", exc)
            else:
                log.error("internal error reached the API: %s", type(exc).__name__,
                          exc_info=exc)
            if complete:
                return
            response = (_database_unavailable(path) if unavailable
                        else problem(500, INTERNAL_ERROR, instance=path))
            await response(scope, receive, send)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""

    async def on_domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PipelineError)
        if isinstance(exc, StoreUnavailable):  # its message names driver classes: not shown
            log.warning("database unavailable: %s", exc)
            return database_unavailable(request)
        mapped = domain_problem(exc)
        if mapped is None:
            log.error("internal error reached the API: %s", type(exc).__name__, exc_info=exc)
            return problem(500, INTERNAL_ERROR, instance=request.url.path)
        status, slug, title = mapped
        headers = {}
        if isinstance(exc, TransientError):
            headers["Retry-After"] = str(max(RETRY_AFTER_SECONDS, int(exc.retry_after or 0)))
        if isinstance(exc, TooManyRequests):
            headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        return problem(status, str(exc), instance=request.url.path, slug=slug, title=title,
                       headers=headers)

    async def on_unauthorized(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Unauthorized)
        challenge = 'Bearer realm="insurance-navigator"'
        if exc.error:
            challenge += f', error="{exc.error}"'
        return problem(401, exc.detail, instance=request.url.path,
                       headers={"WWW-Authenticate": challenge})

    async def on_bad_upload(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BadUpload)
        headers = {} if exc.retry_after is None else {"Retry-After": str(exc.retry_after)}
        return problem(exc.status, exc.detail, instance=request.url.path, headers=headers)

    async def on_invalid_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [_field_error(error) for error in exc.errors()]
        return problem(422, "; ".join(errors) or "the request is not valid",
                       instance=request.url.path, extra={"errors": errors})

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"there is no {request.url.path}; see /docs for the routes"
        headers = dict(exc.headers or {})
        if exc.status_code == 400:
            # FastAPI's only 400: a JSON body it could not even decode (not UTF-8). Every
            # route with a body declares 422 for a body that is not the JSON it wants.
            return problem(422, "body: is not valid JSON; send UTF-8 JSON text "
                                "(Content-Type: application/json)", instance=request.url.path)
        if exc.status_code == 405:
            allowed = allowed_methods(request)
            headers["Allow"] = ", ".join(allowed)
            if request.method == "OPTIONS":
                return Response(status_code=204, headers=headers)
            detail = (f"{request.method} is not allowed on {request.url.path}; use "
                      f"{', '.join(allowed)} (see /docs)")
        return problem(exc.status_code, detail, instance=request.url.path, headers=headers)

    async def on_crash(request: Request, exc: Exception) -> Response:
        # Starlette logs the exception itself; the member sees no internals.
        return problem(500, INTERNAL_ERROR, instance=request.url.path)

    document_problems(app)
    app.add_middleware(CrashesAnswered)
    app.add_exception_handler(Exception, on_crash)
    app.add_exception_handler(PipelineError, on_domain_error)
    app.add_exception_handler(Unauthorized, on_unauthorized)
    app.add_exception_handler(BadUpload, on_bad_upload)
    app.add_exception_handler(RequestValidationError, on_invalid_request)
    app.add_exception_handler(StarletteHTTPException, on_http_error)


#: Where FastAPI says an invalid value came from: the first item of an error's ``loc``.
_LOCATIONS = ("body", "query", "path", "header", "cookie")


def _field_error(error: Mapping[str, object]) -> str:
    """``field: message``, the field named as the client sent it (``body`` for the body as
    a whole; a body field called ``query`` is ``query``, not a location)."""
    loc = [str(part) for part in error.get("loc", ())]  # type: ignore[attr-defined]
    location = loc.pop(0) if loc and loc[0] in _LOCATIONS else None
    where = ".".join(loc) or location or "request"
    if error.get("type") == "json_invalid":
        return "body: is not valid JSON; send a JSON object (Content-Type: application/json)"
    context = error.get("ctx") or {}
    if error.get("type") == "string_pattern_mismatch" and \
            context.get("pattern") == NOT_BLANK:  # type: ignore[attr-defined]
        return f"{where}: is empty or blank, or holds a NUL character; ask a question in words"
    message = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
    return f"{where}: {message}"


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at this request's path, plus OPTIONS.

    Starlette's own 405 names only the first route that matched the path, so a path
    served by two routes (``GET`` and ``POST /api/v1/documents``) would advertise one.
    Each method is tried against the app's routes as they match requests.
    """
    routes = request.app.router.routes
    allowed = {
        method for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL
               for route in routes)
    }
    return sorted(allowed | {"OPTIONS"})


PROBLEM_REF = "#/components/schemas/Problem"


def document_problems(app: FastAPI) -> None:
    """Add the ``Problem`` schema the error responses refer to to the OpenAPI document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["Problem"] = Problem.model_json_schema()
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def problem_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI ``responses`` for the given error statuses, each a problem+json body."""
    documented: dict[int | str, dict[str, object]] = {}
    for status in statuses:
        example = PROBLEM_EXAMPLES[status]
        documented[status] = {
            "description": str(example["title"]),
            "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}, "example": example}},
        }
    return documented
