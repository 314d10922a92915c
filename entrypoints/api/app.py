"""The API service: ``create_app(container)`` builds the FastAPI app around a container.

Every route is under ``/api/v1`` and needs a bearer token, except ``/health``,
``/metrics``, ``/docs``, ``/openapi.json`` and the member's page (``/`` and
``/static/``, see :mod:`entrypoints.api.page`). The container's resources (the
database pool) are opened when the app starts and closed when it stops.

Logging: uvicorn's access log shows the method, path and status, never headers,
so tokens stay out of the logs; settings are never logged (secrets hide in their
``repr`` anyway).
"""

from __future__ import annotations

import gc
import logging
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from importlib.metadata import PackageNotFoundError, version

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute

from entrypoints import tracing
from entrypoints.api import (
    answers,
    documents,
    events,
    files,
    health,
    jobs,
    metrics,
    page,
    problems,
    search,
    usage,
)
from entrypoints.api.request_ids import HEADER as REQUEST_ID_HEADER
from entrypoints.api.request_ids import RequestIds
from entrypoints.container import Container, running

DESCRIPTION = """\
Members upload their insurance documents (policies, summaries of benefits, EOBs);
each upload becomes a job that a worker moves through parse, validate, chunk and
embed. Follow a job with `GET /api/v1/jobs/{id}`, then search the member's own
documents with `POST /api/v1/search`.

**Authentication**: `Authorization: Bearer <token>`, a Supabase access token
(ES256/RS256 from the project's signing keys, or HS256 with the legacy JWT secret;
audience `authenticated`; the member is `sub`). Locally, `navigator token
<member-id>` prints one. A member only ever sees their own documents and jobs:
anyone else's are answered as not found.

**Errors** are `application/problem+json` (RFC 9457) whose `detail` says what to fix.

**Request ids**: every answer carries `X-Request-ID` (the one the client sent, if it
is 1 to 128 letters, digits and `-_.:`, else a new one); an error's body repeats it
as `request_id`. Quote it when asking about a request: every log line of it has it.
"""

TAGS = [
    {"name": "documents", "description": "Upload, list, show and delete documents."},
    {"name": "jobs", "description": "Follow a document's processing; retry a failed one."},
    {"name": "search", "description": "Find the passages of my documents that answer a "
                                      "question."},
    {"name": "answers", "description": "Ask a question; get an answer from my own documents, "
                                       "with citations."},
    {"name": "operations", "description": "Health (no token needed) and metrics "
                                          "(`METRICS_TOKEN`)."},
]

log = logging.getLogger(__name__)


def create_app(container: Container) -> FastAPI:
    """The API around ``container``; its resources open and close with the app."""
    settings = container.settings()
    container.token_verifier()  # no way to check tokens in production stops start-up here
    temporary_folder()  # found now, while there is room: a full disk later is a 503

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with running(container):
            with startup_objects_frozen():
                yield

    app = FastAPI(
        title="Insurance Navigator: document upload pipeline",
        version=_version(),
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        debug=settings.debug,
        generate_unique_id_function=operation_id,
    )
    app.state.container = container
    problems.install(app)
    for module in (documents, files, usage, jobs, events, search, answers, health, metrics):
        app.include_router(module.router)
    page.install(app, settings)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Range", "Last-Event-ID",
                           REQUEST_ID_HEADER],
            expose_headers=["Location", "Retry-After", "Content-Disposition", "Content-Range",
                            "Accept-Ranges", "ETag", REQUEST_ID_HEADER],
            max_age=600,
        )
    metrics.install(app, container.metrics())  # counts every request, under the request id
    app.add_middleware(RequestIds)  # the outermost of ours: every answer gets its id
    tracing.instrument_app(app)  # when this process traces: a span per request
    return app


def temporary_folder() -> str | None:
    """The folder uploads spool into (``TMPDIR``, else the platform's), found at start-up.

    Python finds it on first use by writing a probe file into each candidate and
    passes over one that refuses: found during an upload on a full disk, it would fall
    back to another folder for the rest of the process. Found here, while there is
    room, it stays the one. When there is none now (the disk is full as the API
    starts), the API starts anyway, says so, and answers uploads "no room" (503) until
    a folder has room again."""
    try:
        return tempfile.gettempdir()
    except FileNotFoundError as exc:
        log.error("no temporary folder to receive uploads in (TMPDIR): %s; uploads "
                  "answer 503 until one has room", exc.strerror)
        return None


@contextmanager
def startup_objects_frozen() -> Iterator[None]:
    """What start-up built (modules, the app with its routes and schemas, the container)
    lives as long as the process: once started, it is moved out of the garbage
    collector's sight, so a full collection walks only what requests made since. Before,
    each full collection walked all of it, holding every request in flight for ~200 ms
    under load (docs/BENCHMARKS.md, uploads). Given back to the collector on stopping."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def operation_id(route: APIRoute) -> str:
    """A route's ``operationId``: its function's name in camelCase (``upload_document``
    is ``uploadDocument``), the method name a generated client gives it."""
    first, *rest = route.name.split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


def _version() -> str:
    try:
        return version("insurance-navigator-upload-pipeline")
    except PackageNotFoundError:
        return "0.0.0"
