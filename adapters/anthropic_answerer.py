"""The ``Answerer`` port on Anthropic's Messages API (the official ``anthropic`` SDK).

- One streamed request per answer (``AsyncAnthropic.messages.stream``): the grounded
  prompt's system text as ``system``, its passages and question as the one user
  turn, temperature 0. Text arrives piece by piece; the tokens billed (input and
  output, from the final message's ``usage``) come last.
- The SDK's own retries are off (``max_retries=0``): the retry policy lives in one
  place (the caller, who sees ``TransientError.retry_after``), never hidden here.
- Failures become the domain's errors: 429 (with Retry-After), 529 overloaded, 408,
  409, a 5xx, a lost connection, a timeout, an ``error`` event in the middle of the
  stream, or a response the SDK cannot read are ``TransientError``; 400, 401, 403
  and other 4xx are ``PermanentError`` with a message saying what to fix. The
  provider's own message is never passed along (a 401 may echo the key).
- Neither the key nor any document text is logged: log lines carry the status and
  the error type only, and the SDK's own loggers (which log whole requests at
  DEBUG) are held at WARNING.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import anthropic

from adapters.http_errors import retry_after_seconds
from adapters.provider_calls import NoProviderCalls, ProviderCalls, provider_call
from domain.errors import PermanentError, TransientError, is_transient_http_status
from domain.grounding import AnswerKind, GroundedPrompt, Usage

log = logging.getLogger(__name__)

DEFAULT_MODEL = "claude-sonnet-4-6"
DEFAULT_MAX_TOKENS = 1024

_TRANSIENT_TYPES = frozenset({"overloaded_error", "rate_limit_error", "api_error",
                              "timeout_error"})


class AnthropicAnswerer:
    """Generated answers from Claude, streamed, with the tokens billed."""

    kind = AnswerKind.GENERATED

    def __init__(
        self,
        api_key: str,
        *,
        model: str = DEFAULT_MODEL,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        base_url: str | None = None,
        timeout: float = 60.0,
        calls: ProviderCalls | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("an Anthropic API key is required (ANTHROPIC_API_KEY)")
        if max_tokens < 1:
            raise ValueError("max_tokens must be at least 1")
        self.model = model
        self.max_tokens = max_tokens
        self.base_url = base_url
        self.timeout = timeout
        self._api_key = api_key
        self._calls: ProviderCalls = calls or NoProviderCalls()
        quiet_sdk_logs()
        # Built on first use, per event loop: its connection pool belongs to that loop.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: anthropic.AsyncAnthropic | None = None

    def __repr__(self) -> str:
        return (f"AnthropicAnswerer(model={self.model!r}, max_tokens={self.max_tokens}, "
                f"base_url={self.base_url!r})")

    async def stream(self, prompt: GroundedPrompt) -> AsyncIterator[str | Usage]:
        client = self._resources()
        try:
            with provider_call(self._calls, "anthropic", "messages", model=self.model):
                async with client.messages.stream(
                    model=self.model,
                    max_tokens=self.max_tokens,
                    system=prompt.system,
                    messages=[{"role": "user", "content": prompt.user}],
                ) as stream:
                    async for text in stream.text_stream:
                        if text:
                            yield text
                    message = await stream.get_final_message()
            usage = getattr(message, "usage", None)
            if usage is None:
                raise TransientError("Anthropic sent a message without its token usage")
            self._calls.tokens("anthropic", "input", int(usage.input_tokens or 0))
            self._calls.tokens("anthropic", "output", int(usage.output_tokens or 0))
            yield Usage(input_tokens=int(usage.input_tokens or 0),
                        output_tokens=int(usage.output_tokens or 0))
        except anthropic.APIError as exc:
            raise self._domain_error(exc) from None
        except (ValueError, KeyError, TypeError, AttributeError, AssertionError) as exc:
            # A body that is not JSON, or JSON that is not a message (the SDK then trips
            # over it in one of these ways; mypy checks our own calls): the provider's fault.
            log.warning("Anthropic sent a response the SDK could not read: %s",
                        type(exc).__name__)
            raise TransientError("Anthropic sent a malformed response; try again") from exc

    async def aclose(self) -> None:
        """Close the HTTP connections (the container calls this at shutdown)."""
        if self._client is not None:
            await self._client.close()
        self._client = self._loop = None

    def _resources(self) -> anthropic.AsyncAnthropic:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._client is None:
            self._client = anthropic.AsyncAnthropic(
                api_key=self._api_key, base_url=self.base_url, timeout=self.timeout,
                max_retries=0,
            )
            self._loop = loop
        return self._client

    def _domain_error(self, exc: anthropic.APIError) -> TransientError | PermanentError:
        error = classify(exc)
        log.warning("Anthropic request failed: %s", str(error).replace(self._api_key,
                                                                          "[redacted]"))
        return error


#: The SDK logs each request's options, the prompt included, at DEBUG (and under
#: ANTHROPIC_LOG=debug): member documents would reach the logs. Its warnings stay.
SDK_LOGGERS = ("anthropic",)


def quiet_sdk_logs() -> None:
    """Keep the SDK's loggers at WARNING or above, whatever LOG_LEVEL says."""
    for name in SDK_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:  # NOTSET (0) would follow the root's level
            logger.setLevel(logging.WARNING)


def classify(exc: anthropic.APIError) -> TransientError | PermanentError:
    """The SDK's error as the domain's, in words safe to show a member or an operator."""
    if isinstance(exc, anthropic.APITimeoutError):
        return TransientError("Anthropic did not answer in time; try again")
    if isinstance(exc, anthropic.APIConnectionError):
        return TransientError("could not reach the Anthropic API (connection failed)")
    if isinstance(exc, anthropic.APIStatusError):
        status, kind = exc.status_code, _error_type(exc.body)
        if status == 200 or (status < 400 and kind):  # an error event mid-stream
            if kind in _TRANSIENT_TYPES:
                return TransientError(f"Anthropic stopped mid-answer ({kind}); try again")
            return PermanentError(f"Anthropic stopped mid-answer ({kind or 'error'})")
        if status == 429:
            retry_after = retry_after_seconds(_headers(exc))
            hint = f"; retry after {retry_after:g}s" if retry_after is not None else ""
            return TransientError(f"Anthropic rate limit reached (429){hint}",
                                  retry_after=retry_after)
        if status == 529:
            return TransientError("Anthropic is overloaded (529); try again shortly",
                                  retry_after=retry_after_seconds(_headers(exc)))
        if status == 401:
            return PermanentError("Anthropic refused the API key (401): check "
                                  "ANTHROPIC_API_KEY")
        if status == 403:
            return PermanentError("Anthropic refused access (403): the key of "
                                  "ANTHROPIC_API_KEY may not use this model (ANTHROPIC_MODEL)")
        if is_transient_http_status(status):
            return TransientError(f"Anthropic server error ({status})",
                                  retry_after=retry_after_seconds(_headers(exc)))
        detail = f" [{kind}]" if kind else ""
        if status == 400:
            return PermanentError(f"Anthropic rejected the request (400){detail}: check "
                                  "ANTHROPIC_MODEL and ANTHROPIC_MAX_OUTPUT_TOKENS")
        return PermanentError(f"Anthropic rejected the request ({status}){detail}")
    return TransientError("Anthropic sent a response the SDK could not read "
                          f"({type(exc).__name__})")


def _error_type(body: object) -> str:
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping) and isinstance(error.get("type"), str):
            return str(error["type"])
    return ""


def _headers(exc: anthropic.APIStatusError) -> Mapping[str, Any]:
    response = getattr(exc, "response", None)
    return response.headers if response is not None else {}
