"""Is a hosted provider's API key accepted? One cheap authenticated call each.

Each check lists something (models, projects) with the provider's own SDK: the
call is authenticated like real work but costs no tokens and no parsing credit.

- OpenAI: ``GET /v1/models``; also says whether the embedding model is offered.
- Anthropic: ``GET /v1/models``.
- LlamaParse (``llama-cloud``): ``GET /api/v1/projects``.

SDK retries are off and the timeout short: an operator wants an answer now. The
key never appears in a result, and neither does the provider's error body (which
can echo part of it): only the HTTP status and what it means.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anthropic
import attrs
import llama_cloud
import openai

TIMEOUT = 10.0


@attrs.frozen
class KeyCheck:
    """Whether ``provider`` accepted the key, in one sentence."""

    provider: str
    accepted: bool
    detail: str


async def check_openai_key(api_key: str, *, base_url: str | None = None,
                           model: str | None = None,
                           http_timeout: float = TIMEOUT) -> KeyCheck:
    """List OpenAI's models; with ``model``, also check the key may use it."""

    async def call() -> str:
        async with openai.AsyncOpenAI(api_key=api_key, base_url=base_url, max_retries=0,
                                      timeout=http_timeout) as client:
            page = await client.models.list()
        ids = {m.id for m in page.data}
        if model is not None and model not in ids:
            raise _Unfit(f"the key works, but model {model} (RAG_EMBEDDING_MODEL) is not "
                         f"among the {len(ids)} it may use")
        shown = f"; {model} available" if model else ""
        return f"key accepted ({len(ids)} models listed{shown})"

    return await _check("OpenAI", call, _openai_status)


async def check_anthropic_key(api_key: str, *, base_url: str | None = None,
                              http_timeout: float = TIMEOUT) -> KeyCheck:
    """List Anthropic's models."""

    async def call() -> str:
        async with anthropic.AsyncAnthropic(api_key=api_key, base_url=base_url,
                                            max_retries=0, timeout=http_timeout) as client:
            page = await client.models.list()
        return f"key accepted ({len(page.data)} models listed)"

    return await _check("Anthropic", call, _anthropic_status)


async def check_llamaparse_key(api_key: str, *, base_url: str | None = None,
                               http_timeout: float = TIMEOUT) -> KeyCheck:
    """List the LlamaCloud projects the key belongs to."""

    async def call() -> str:
        client = llama_cloud.AsyncLlamaCloud(api_key=api_key, base_url=base_url,
                                             max_retries=0, timeout=http_timeout)
        try:
            projects = await client.projects.list()
        finally:
            await client.close()
        return f"key accepted ({len(projects)} project(s))"

    return await _check("LlamaParse", call, _llamaparse_status)


# -- what went wrong, without the provider's words ------------------------------------------


class _Unfit(Exception):
    """The key works but cannot do what the pipeline needs."""


async def _check(provider: str, call: Callable[[], Awaitable[str]],
                 status_of: Callable[[Exception], str | None]) -> KeyCheck:
    try:
        return KeyCheck(provider, True, await call())
    except _Unfit as exc:
        return KeyCheck(provider, False, str(exc))
    except Exception as exc:
        reason = status_of(exc)
        if reason is None:
            raise
        return KeyCheck(provider, False, reason)


def _meaning(status: int) -> str:
    if status == 401:
        return "the provider refused the key (401): it is wrong, revoked or expired"
    if status == 403:
        return "the key is not allowed to do this (403): check its permissions or project"
    if status == 429:
        return "rate limited or out of credit (429): the key is valid but cannot be used now"
    if status >= 500:
        return f"the provider is failing ({status}); try again later"
    return f"the provider answered {status}"


def _status(exc: Exception, status_error: type[Any], connection_error: type[Any],
            timeout_error: type[Any]) -> str | None:
    if isinstance(exc, timeout_error):
        return "the provider did not answer in time"
    if isinstance(exc, connection_error):
        return "cannot reach the provider (connection failed)"
    if isinstance(exc, status_error):
        return _meaning(int(exc.status_code))
    return None


def _openai_status(exc: Exception) -> str | None:
    return _status(exc, openai.APIStatusError, openai.APIConnectionError,
                   openai.APITimeoutError)


def _anthropic_status(exc: Exception) -> str | None:
    return _status(exc, anthropic.APIStatusError, anthropic.APIConnectionError,
                   anthropic.APITimeoutError)


def _llamaparse_status(exc: Exception) -> str | None:
    return _status(exc, llama_cloud.APIStatusError, llama_cloud.APIConnectionError,
                   llama_cloud.APITimeoutError)
