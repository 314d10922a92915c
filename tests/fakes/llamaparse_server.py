"""A fake LlamaParse (parse API v2) on 127.0.0.1, for the real ``llama-cloud`` SDK.

It serves what ``AsyncLlamaCloud.parsing`` calls:

- ``POST /api/v2/parse/upload`` (multipart: ``configuration`` JSON + ``file``)
  starts a job and answers with it (``PENDING``);
- ``GET /api/v2/parse/{job_id}`` answers the job's status, and with
  ``expand=markdown`` its markdown page by page once it is ``COMPLETED``.

Jobs live in memory. A job stays ``PENDING``/``RUNNING`` for ``pending_polls``
status checks, then ends as scripted (``server.next_jobs(Fails("..."))``), by
default ``COMPLETED`` with the file's own text: the pages of a PDF (pypdf), the
paragraphs of a DOCX, or a text file split on form feeds. It counts uploads, so a
test can prove that a resumed parse never uploads twice.

Request-level failures are scripted per endpoint
(``server.script_uploads(RateLimited(3))``, ``server.script_status(ServerError())``).
"""

from __future__ import annotations

import asyncio
import io
import json
import threading
import uuid
from collections import deque
from datetime import UTC, datetime

import attrs
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.serving import BackgroundServer

# -- request-level behaviours ----------------------------------------------------


@attrs.frozen
class RateLimited:
    retry_after: float = 2.0


@attrs.frozen
class ServerError:
    status: int = 500


@attrs.frozen
class Slow:
    """Answer normally, but only after ``seconds``."""

    seconds: float


@attrs.frozen
class Rejected:
    """A 4xx with LlamaParse's ``detail`` message (e.g. an unsupported file)."""

    status: int = 400
    detail: str = "Unsupported file type"


Behaviour = RateLimited | ServerError | Slow | Rejected

# -- how the next uploaded jobs end --------------------------------------------------


@attrs.frozen
class Succeeds:
    """COMPLETED, with these pages of markdown (None: the file's own text)."""

    pages: tuple[str, ...] | None = None


@attrs.frozen
class Fails:
    """FAILED with this error message."""

    message: str = "The document could not be processed"


@attrs.frozen
class Cancelled:
    pass


@attrs.frozen
class FailedPages:
    """COMPLETED, but these page numbers are failed page entries."""

    pages: tuple[str, ...]
    failed: tuple[int, ...]


Outcome = Succeeds | Fails | Cancelled | FailedPages


@attrs.define
class FakeJob:
    id: str
    filename: str
    content_type: str
    configuration: dict[str, object]
    outcome: Outcome
    pages: tuple[str, ...]
    pending_polls: int
    polls: int = 0

    @property
    def status(self) -> str:
        if self.polls <= self.pending_polls:
            return "PENDING" if self.polls <= 1 else "RUNNING"
        if isinstance(self.outcome, Fails):
            return "FAILED"
        if isinstance(self.outcome, Cancelled):
            return "CANCELLED"
        return "COMPLETED"


class FakeLlamaParse:
    """The fake service. ``with FakeLlamaParse(api_key=...) as server:`` serves it;
    ``server.base_url`` is what ``AsyncLlamaCloud(base_url=...)`` takes."""

    def __init__(self, api_key: str = "llx-test-fake-llamaparse-key", *,
                 pending_polls: int = 2) -> None:
        self.api_key = api_key
        self.pending_polls = pending_polls
        self.jobs: dict[str, FakeJob] = {}
        self.uploads = 0
        self.status_checks = 0
        self.events: list[str] = []
        self._outcomes: deque[Outcome] = deque()
        self._upload_script: deque[Behaviour] = deque()
        self._status_script: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self._background = BackgroundServer(Starlette(routes=[
            Route("/api/v2/parse/upload", self._upload, methods=["POST"]),
            Route("/api/v2/parse/{job_id}", self._get, methods=["GET"]),
            Route("/api/v1/projects", self._projects, methods=["GET"]),
        ]))
        self.base_url = ""

    # scripting and observation

    def next_jobs(self, *outcomes: Outcome) -> None:
        """The next uploaded jobs end like this, in order; after them, they succeed."""
        self._outcomes.extend(outcomes)

    def script_uploads(self, *behaviours: Behaviour) -> None:
        self._upload_script.extend(behaviours)

    def script_status(self, *behaviours: Behaviour) -> None:
        self._status_script.extend(behaviours)

    def forget(self, job_id: str) -> None:
        """Lose a job, as LlamaParse does once results expire."""
        with self._lock:
            del self.jobs[job_id]

    def finish_at_next_check(self, job_id: str) -> None:
        """Let a job that has been pending end at its next status check."""
        with self._lock:
            job = self.jobs[job_id]
            job.pending_polls = job.polls

    def polls_of(self, job_id: str) -> int:
        with self._lock:
            return self.jobs[job_id].polls

    # lifecycle

    def start(self) -> FakeLlamaParse:
        self.base_url = self._background.start()
        return self

    def stop(self) -> None:
        self._background.stop()

    def __enter__(self) -> FakeLlamaParse:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # endpoints

    async def _upload(self, request: Request) -> Response:
        refused = self._refuse(request)
        if refused is not None:
            return refused
        failure = await self._scripted(self._upload_script)
        if failure is not None:
            return failure
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            return _detail(422, "file: field required")
        try:
            configuration = json.loads(str(form.get("configuration") or "{}"))
        except json.JSONDecodeError:
            return _detail(422, "configuration: invalid JSON")
        if not configuration.get("tier") or not configuration.get("version"):
            return _detail(422, "configuration: tier and version are required")
        data = await upload.read()
        with self._lock:
            outcome = self._outcomes.popleft() if self._outcomes else Succeeds()
            job = FakeJob(
                id=f"pjb-{uuid.uuid4().hex[:16]}", filename=upload.filename or "",
                content_type=upload.content_type or "", configuration=configuration,
                outcome=outcome, pages=_pages_of(outcome, data), pending_polls=self.pending_polls,
            )
            self.jobs[job.id] = job
            self.uploads += 1
            self.events.append(f"upload {job.id}")
            body = _job_json(job)
        return JSONResponse(body)

    async def _get(self, request: Request) -> Response:
        refused = self._refuse(request)
        if refused is not None:
            return refused
        failure = await self._scripted(self._status_script)
        if failure is not None:
            return failure
        job_id = request.path_params["job_id"]
        expand = {
            part for value in request.query_params.getlist("expand") for part in value.split(",")
        }
        with self._lock:
            job = self.jobs.get(job_id)
            if job is None:
                return _detail(404, f"Parse job {job_id} not found")
            if "markdown" not in expand:
                job.polls += 1
                self.status_checks += 1
            self.events.append(f"{'result' if 'markdown' in expand else 'status'} {job.id} "
                               f"{job.status}")
            body: dict[str, object] = {"job": _job_json(job)}
            if "markdown" in expand and job.status == "COMPLETED":
                body["markdown"] = {"pages": _markdown_pages(job)}
        return JSONResponse(body)

    async def _projects(self, request: Request) -> Response:
        """``GET /api/v1/projects``: the key's projects (``navigator validate`` checks keys
        so, since it costs no parsing credit)."""
        refused = self._refuse(request)
        if refused is not None:
            return refused
        return JSONResponse([{"id": "project-fake", "name": "Default",
                              "organization_id": "organization-fake", "is_default": True}])

    def _refuse(self, request: Request) -> Response | None:
        if request.headers.get("authorization") == f"Bearer {self.api_key}":
            return None
        given = request.headers.get("authorization", "").removeprefix("Bearer ")
        # Echoes the key it was given, so a test proves the adapter never repeats it.
        return _detail(401, f"Invalid API key: {given}")

    async def _scripted(self, script: deque[Behaviour]) -> Response | None:
        try:
            behaviour = script.popleft()
        except IndexError:
            return None
        if isinstance(behaviour, Slow):
            await asyncio.sleep(behaviour.seconds)
            return None
        if isinstance(behaviour, RateLimited):
            return JSONResponse({"detail": "Too many requests"}, status_code=429,
                                headers={"retry-after": f"{behaviour.retry_after:g}"})
        if isinstance(behaviour, ServerError):
            return _detail(behaviour.status, "Internal server error")
        return _detail(behaviour.status, behaviour.detail)


def _pages_of(outcome: Outcome, data: bytes) -> tuple[str, ...]:
    if isinstance(outcome, Succeeds | FailedPages) and outcome.pages is not None:
        return outcome.pages
    return _text_pages(data)


def _text_pages(data: bytes) -> tuple[str, ...]:
    """What a parser would find in the file: good enough to check page boundaries."""
    if data.startswith(b"%PDF"):
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data))
        return tuple(page.extract_text() or "" for page in reader.pages)
    if data.startswith(b"PK"):
        import docx

        paragraphs = docx.Document(io.BytesIO(data)).paragraphs
        lines = []
        for paragraph in paragraphs:
            style = paragraph.style.name if paragraph.style is not None else ""
            level = style.removeprefix("Heading ").strip()
            heading = style.startswith("Heading ") and level.isdigit()
            prefix = "#" * int(level) + " " if heading else ""
            lines.append(prefix + paragraph.text)
        return ("\n\n".join(lines),)
    return tuple(data.decode("utf-8", errors="replace").split("\f"))


def _markdown_pages(job: FakeJob) -> list[dict[str, object]]:
    failed = job.outcome.failed if isinstance(job.outcome, FailedPages) else ()
    pages: list[dict[str, object]] = []
    for number, markdown in enumerate(job.pages, start=1):
        if number in failed:
            pages.append({"page_number": number, "success": False,
                          "error": "Page timed out during processing"})
        else:
            pages.append({"page_number": number, "success": True, "markdown": markdown})
    return pages


def _job_json(job: FakeJob) -> dict[str, object]:
    now = datetime.now(UTC).isoformat()
    body: dict[str, object] = {
        "id": job.id, "project_id": "fake-project", "status": job.status,
        "created_at": now, "updated_at": now, "tier": job.configuration.get("tier"),
    }
    if job.status == "FAILED" and isinstance(job.outcome, Fails):
        body["error_message"] = job.outcome.message
    return body


def _detail(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)
