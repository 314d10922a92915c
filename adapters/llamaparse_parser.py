"""The ``Parser`` port on LlamaParse (the ``llama-cloud`` SDK, parse API v2).

LlamaParse works asynchronously: we upload the file, get a job id, and poll
until the job is done. Uploading costs money, so the job id is saved on our job
(``checkpoint.save``) *before* any waiting: a worker that crashes, or a step that
times out, is resumed by polling the same LlamaParse job, never by a second upload.

- Polling backs off from ``poll_interval`` to ``max_poll_interval``; a status
  check that fails for a passing reason (429, 5xx, connection) is tried again
  within the overall ``timeout``, up to ``max_poll_failures`` times in a row.
- Past ``timeout`` the step fails with a ``TransientError``; the job id stays saved
  and the retry resumes polling.
- A job that ends FAILED or CANCELLED, or a result with no text, is a
  ``PermanentError`` carrying LlamaParse's reason.
- Upload errors: 429 (with Retry-After), 5xx, 408 and lost connections are
  transient; a refused key (401/403) or a refused file (other 4xx) is permanent.
- The SDK's own retries are off (``max_retries=0``): the job queue retries, with
  backoff, and records every attempt.
- The API key never appears in a repr, a log line or an error message.

The result is LlamaParse's markdown page by page (``expand=markdown``), so page
boundaries survive into chunks.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

import llama_cloud

from adapters.http_errors import retry_after_seconds
from adapters.provider_calls import NoProviderCalls, ProviderCalls, provider_call
from domain.errors import PermanentError, TransientError, is_transient_http_status
from domain.model import MediaType, ParsedDocument, ParsedPage, ParseRequest
from domain.ports import ParseCheckpoint

log = logging.getLogger(__name__)

_DONE = "COMPLETED"
_ENDED_BADLY = ("FAILED", "CANCELLED")
_PROVIDER_TEXT_LIMIT = 300


class LlamaParseParser:
    """Bytes of a PDF, DOCX, HTML, Markdown or text file in, markdown pages out."""

    name = "llamaparse"

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = None,
        tier: str = "cost_effective",
        version: str = "latest",
        timeout: float = 600.0,
        poll_interval: float = 1.0,
        max_poll_interval: float = 10.0,
        max_poll_failures: int = 3,
        http_timeout: float = 60.0,
        project_id: str | None = None,
        organization_id: str | None = None,
        calls: ProviderCalls | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("a LlamaParse API key is required (LLAMAPARSE_API_KEY)")
        if poll_interval <= 0 or max_poll_interval < poll_interval:
            raise ValueError("0 < poll_interval <= max_poll_interval")
        self.base_url = base_url
        self.tier = tier
        self.version = version
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.max_poll_failures = max_poll_failures
        self.http_timeout = http_timeout
        self._api_key = api_key
        self._calls: ProviderCalls = calls or NoProviderCalls()
        self._scope = {
            key: value
            for key, value in (("project_id", project_id), ("organization_id", organization_id))
            if value
        }
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: llama_cloud.AsyncLlamaCloud | None = None

    def __repr__(self) -> str:
        return (
            f"LlamaParseParser(base_url={self.base_url!r}, tier={self.tier!r}, "
            f"timeout={self.timeout})"
        )

    def supports(self, media_type: MediaType) -> bool:
        return media_type in MediaType

    async def parse(self, request: ParseRequest, checkpoint: ParseCheckpoint) -> ParsedDocument:
        """Parse ``request``'s file, resuming the LlamaParse job saved on our job if any."""
        client = self._resources()
        job_id = checkpoint.external_id
        if job_id is not None:
            log.info("resuming LlamaParse job %s for document %s", job_id, request.document_id)
            if await self._wait(client, job_id, resumed=True):
                return await self._result(client, job_id)
            log.warning("LlamaParse no longer knows job %s; uploading document %s again",
                        job_id, request.document_id)
        job_id = await self._upload(client, request, checkpoint)
        await self._wait(client, job_id)
        return await self._result(client, job_id)

    async def aclose(self) -> None:
        """Close the HTTP connections (the container calls this at shutdown)."""
        if self._client is not None:
            await self._client.close()
        self._client = self._loop = None

    # -- the three phases --------------------------------------------------------

    async def _upload(
        self, client: llama_cloud.AsyncLlamaCloud, request: ParseRequest,
        checkpoint: ParseCheckpoint,
    ) -> str:
        try:
            with provider_call(self._calls, "llamaparse", "upload"):
                job = await client.parsing.create(
                    tier=self.tier,
                    version=self.version,
                    upload_file=(request.filename, request.data, str(request.media_type)),
                    **self._scope,  # type: ignore[arg-type]
                )
        except llama_cloud.APIError as exc:
            raise self._domain_error(exc, "upload") from None
        # Saved before any waiting: from here on, a retry resumes this job.
        await checkpoint.save(job.id)
        log.info("LlamaParse job %s started for document %s", job.id, request.document_id)
        return job.id

    async def _wait(
        self, client: llama_cloud.AsyncLlamaCloud, job_id: str, *, resumed: bool = False,
    ) -> bool:
        """Poll until the job is done. False only if a resumed job is unknown."""
        deadline = time.monotonic() + self.timeout
        interval = self.poll_interval
        failures = 0
        status = "PENDING"
        while True:
            wait = interval
            try:
                with provider_call(self._calls, "llamaparse", "status"):
                    response = await client.parsing.get(
                        job_id, **self._scope  # type: ignore[arg-type]
                    )
            except llama_cloud.NotFoundError:
                if resumed:
                    return False
                raise PermanentError(f"LlamaParse lost job {job_id} for this file") from None
            except llama_cloud.APIError as exc:
                error = self._domain_error(exc, "status check")
                failures += 1
                if isinstance(error, PermanentError) or failures >= self.max_poll_failures:
                    raise error from None
                wait = max(interval, error.retry_after or 0.0)
            else:
                failures = 0
                resumed = False
                status = response.job.status
                if status == _DONE:
                    return True
                if status in _ENDED_BADLY:
                    reason = response.job.error_message or "no reason given"
                    raise PermanentError(
                        f"LlamaParse could not parse this file (job {job_id} "
                        f"{status.lower()}): {self._provider_text(reason)}"
                    )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TransientError(
                    f"LlamaParse job {job_id} for this file was still {status.lower()} "
                    f"after {self.timeout:g}s; the retry resumes waiting for it"
                )
            await asyncio.sleep(min(wait, remaining))
            interval = min(interval * 2, self.max_poll_interval)

    async def _result(
        self, client: llama_cloud.AsyncLlamaCloud, job_id: str
    ) -> ParsedDocument:
        try:
            with provider_call(self._calls, "llamaparse", "result"):
                response = await client.parsing.get(
                    job_id, expand=["markdown"], **self._scope  # type: ignore[arg-type]
                )
        except llama_cloud.APIError as exc:
            raise self._domain_error(exc, "result download") from None
        pages = _pages(response, job_id)
        if not any(page.markdown.strip() for page in pages):
            raise PermanentError(
                f"LlamaParse found no text in this file (job {job_id}): it may be "
                "scanned images without text, blank or protected"
            )
        return ParsedDocument(pages=pages, parser=self.name)

    # -- helpers -------------------------------------------------------------------

    def _resources(self) -> llama_cloud.AsyncLlamaCloud:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._client is None:
            self._client = llama_cloud.AsyncLlamaCloud(
                api_key=self._api_key, base_url=self.base_url, timeout=self.http_timeout,
                max_retries=0,
            )
            self._loop = loop
        return self._client

    def _domain_error(
        self, exc: llama_cloud.APIError, during: str
    ) -> TransientError | PermanentError:
        error = _classify(exc, during, self._provider_text)
        log.warning("LlamaParse %s failed: %s", during, error)
        return error

    def _provider_text(self, text: str) -> str:
        """LlamaParse's own words, safe to store: key removed, length bounded."""
        text = " ".join(text.replace(self._api_key, "[redacted]").split())
        if len(text) > _PROVIDER_TEXT_LIMIT:
            text = text[: _PROVIDER_TEXT_LIMIT - 1] + "…"
        return text


def _pages(response: Any, job_id: str) -> list[ParsedPage]:
    markdown = response.markdown
    if markdown is None or not markdown.pages:
        full = response.markdown_full or ""
        return [ParsedPage(1, full)] if full.strip() else []
    pages = []
    for page in markdown.pages:
        if getattr(page, "success", True) is False:
            # One failed page should not sink a 200-page policy; say so and go on.
            log.warning("LlamaParse job %s: page %s failed: %s", job_id, page.page_number,
                        getattr(page, "error", ""))
            pages.append(ParsedPage(page.page_number, ""))
        else:
            pages.append(ParsedPage(page.page_number, page.markdown))
    return sorted(pages, key=lambda page: page.number)


def _classify(
    exc: llama_cloud.APIError, during: str, provider_text: Any
) -> TransientError | PermanentError:
    if isinstance(exc, llama_cloud.APITimeoutError):
        return TransientError(f"LlamaParse {during} timed out")
    if isinstance(exc, llama_cloud.APIConnectionError):
        return TransientError(f"could not reach LlamaParse during {during} (connection failed)")
    if isinstance(exc, llama_cloud.APIStatusError):
        status = exc.status_code
        if status == 429:
            retry_after = retry_after_seconds(exc.response.headers)
            hint = f"; retry after {retry_after:g}s" if retry_after is not None else ""
            return TransientError(f"LlamaParse rate limit reached during {during} (429){hint}",
                                  retry_after=retry_after)
        if status in (401, 403):
            return PermanentError(
                f"LlamaParse refused the API key during {during} ({status}): check "
                "LLAMAPARSE_API_KEY"
            )
        if is_transient_http_status(status):
            return TransientError(f"LlamaParse server error during {during} ({status})")
        detail = _detail(exc.body)
        reason = f": {provider_text(detail)}" if detail else ""
        return PermanentError(f"LlamaParse rejected the {during} ({status}){reason}")
    return TransientError(f"LlamaParse sent a response the SDK could not read during {during}")


def _detail(body: object) -> str:
    if isinstance(body, Mapping):
        detail = body.get("detail") or body.get("message") or body.get("error")
        if isinstance(detail, str):
            return detail
        if detail:
            return str(detail)
    return ""
