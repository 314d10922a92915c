"""The ``Embedder`` port on OpenAI's embeddings API (the ``openai`` SDK, ``AsyncOpenAI``).

- Requests are planned by the domain batcher (``domain.batching``) from exact
  cl100k token counts, so none exceeds the limits (2,048 inputs, 300,000 tokens,
  8,191 tokens per input) and no more requests are made than the limits require.
- Requests run concurrently, at most ``max_concurrency`` at a time (shared by
  every ``embed`` call on this embedder), and the vectors come back in input order.
- The SDK's own retries are off (``max_retries=0``): the job queue retries with
  backoff and records each attempt, so a retry is never hidden.
- Failures become the domain's errors: a rate limit (429), a 5xx, 408 or a lost
  connection or timeout is a ``TransientError`` (with the provider's Retry-After);
  exhausted quota (429 ``insufficient_quota``), a rejected key (401/403) or a
  rejected request (other 4xx) is a ``PermanentError`` with a clear message.
- Every response is checked: one vector per input, the right length, finite, not
  zero. A broken response is the provider's fault and is retried
  (``TransientError``); such a vector is never returned, so it is never stored.
- The API key never appears in a repr, a log line or an error message.

Vectors travel base64-encoded (the SDK's default; the SDK decodes them): a
quarter of the bytes of decimal JSON for the same float32 values.
"""

from __future__ import annotations

import asyncio
import logging
import math
import operator
from collections.abc import Sequence
from typing import Protocol

import openai

from adapters.http_errors import retry_after_seconds
from adapters.provider_calls import NoProviderCalls, ProviderCalls, provider_call
from domain.batching import plan_batches
from domain.errors import PermanentError, TransientError, is_transient_http_status
from domain.model import EmbeddingLimits, Embeddings

log = logging.getLogger(__name__)

_UNIT_TOLERANCE = 1e-3


class TokenCounter(Protocol):
    def count(self, text: str) -> int:
        ...


class OpenAIEmbedder:
    """Texts in, one unit-length vector per text out, in order, from OpenAI."""

    def __init__(
        self,
        api_key: str,
        *,
        tokenizer: TokenCounter,
        model: str = "text-embedding-3-small",
        dimensions: int = 1536,
        base_url: str | None = None,
        timeout: float = 30.0,
        max_concurrency: int = 4,
        limits: EmbeddingLimits | None = None,
        calls: ProviderCalls | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("an OpenAI API key is required (OPENAI_API_KEY)")
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.model = model
        self.dimensions = dimensions
        self.limits = limits or EmbeddingLimits()
        self.base_url = base_url
        self.timeout = timeout
        self.max_concurrency = max_concurrency
        self._api_key = api_key
        self._tokenizer = tokenizer
        self._calls: ProviderCalls = calls or NoProviderCalls()
        # Only text-embedding-3 and later accept a chosen size; ada-002 is fixed.
        self._sends_dimensions = not model.startswith("text-embedding-ada")
        # Built on first use, per event loop: an HTTP connection pool or a
        # semaphore belongs to the loop that first used it.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: openai.AsyncOpenAI | None = None
        self._semaphore: asyncio.Semaphore | None = None

    def __repr__(self) -> str:
        return (
            f"OpenAIEmbedder(model={self.model!r}, dimensions={self.dimensions}, "
            f"base_url={self.base_url!r}, max_concurrency={self.max_concurrency})"
        )

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        """Embed every text, in as few requests as the limits allow.

        All or nothing: if any request fails, the error propagates and no vector
        is returned (the step is retried as a whole; the queue decides when).
        """
        if not texts:
            return Embeddings(vectors=(), tokens_used=0)
        counts = [self._count(position, text) for position, text in enumerate(texts)]
        batches = plan_batches(counts, self.limits)
        client, semaphore = self._resources()

        failed = asyncio.Event()

        async def send(batch: list[int]) -> tuple[list[int], list[tuple[float, ...]], int]:
            async with semaphore:
                if failed.is_set():  # the call has already failed: spend nothing more
                    return batch, [], 0
                try:
                    vectors, used = await self._request(
                        client, [texts[i] for i in batch], sum(counts[i] for i in batch)
                    )
                except BaseException:
                    failed.set()
                    raise
            return batch, vectors, used

        tasks = [asyncio.ensure_future(send(batch)) for batch in batches]
        try:
            results = await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:  # one failed: the others' work is wasted, stop them
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        ordered: list[tuple[float, ...] | None] = [None] * len(texts)
        tokens_used = 0
        for batch, vectors, used in results:
            tokens_used += used
            for index, vector in zip(batch, vectors, strict=True):
                ordered[index] = vector
        if any(vector is None for vector in ordered):
            raise AssertionError("the batch plan left a text out")  # a batcher bug
        return Embeddings(vectors=tuple(v for v in ordered if v is not None),
                          tokens_used=tokens_used)

    async def aclose(self) -> None:
        """Close the HTTP connections (the container calls this at shutdown)."""
        if self._client is not None:
            await self._client.close()
        self._client = self._semaphore = self._loop = None

    # -- internals --------------------------------------------------------------

    def _count(self, position: int, text: str) -> int:
        if not text.strip():
            raise ValueError(f"text {position} is empty: there is nothing to embed")
        return self.limits.check_input(position, self._tokenizer.count(text))

    def _resources(self) -> tuple[openai.AsyncOpenAI, asyncio.Semaphore]:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._client is None or self._semaphore is None:
            self._client = openai.AsyncOpenAI(
                api_key=self._api_key, base_url=self.base_url, timeout=self.timeout,
                max_retries=0,
            )
            self._semaphore = asyncio.Semaphore(self.max_concurrency)
            self._loop = loop
        return self._client, self._semaphore

    async def _request(
        self, client: openai.AsyncOpenAI, inputs: list[str], counted: int
    ) -> tuple[list[tuple[float, ...]], int]:
        """One request; the tokens OpenAI billed (our own count if it does not say)."""
        try:
            with provider_call(self._calls, "openai", "embeddings", model=self.model) as span:
                span.set_attribute("navigator.provider.inputs", len(inputs))
                if self._sends_dimensions:
                    response = await client.embeddings.create(
                        model=self.model, input=inputs, dimensions=self.dimensions,
                    )
                else:
                    response = await client.embeddings.create(model=self.model, input=inputs)
        except openai.APIError as exc:
            raise self._domain_error(exc) from None
        except ValueError as exc:  # the SDK found no vectors to decode
            raise TransientError(f"OpenAI sent a malformed embeddings response: {exc}") from None
        try:
            vectors = _checked_vectors(response.data, len(inputs), self.dimensions)
        except TransientError as exc:
            log.warning("%s", exc)
            raise
        usage = response.usage
        billed = (usage.total_tokens or usage.prompt_tokens) if usage is not None else 0
        self._calls.tokens("openai", "input", billed or counted)
        return vectors, billed or counted

    def _domain_error(self, exc: openai.APIError) -> TransientError | PermanentError:
        """The SDK's error as the domain's, in words safe to store on a job."""
        error = _classify(exc)
        log.warning("OpenAI embeddings request failed: %s", self._redact(str(error)))
        return error

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "[redacted]")


def _classify(exc: openai.APIError) -> TransientError | PermanentError:
    # The provider's own message text is never passed along: on a 401 it echoes
    # (part of) the key. Status, type and code are enough to act on.
    if isinstance(exc, openai.APITimeoutError):
        return TransientError("OpenAI embeddings request timed out")
    if isinstance(exc, openai.APIConnectionError):
        return TransientError("could not reach the OpenAI API (connection failed)")
    if isinstance(exc, openai.APIStatusError):
        status, code = exc.status_code, exc.code or exc.type or ""
        if status == 429 and code == "insufficient_quota":
            return PermanentError(
                "OpenAI quota exhausted: add credit to the account of OPENAI_API_KEY, "
                "then retry the job"
            )
        if status == 429:
            retry_after = retry_after_seconds(exc.response.headers)
            hint = f"; retry after {retry_after:g}s" if retry_after is not None else ""
            return TransientError(f"OpenAI rate limit reached (429){hint}",
                                  retry_after=retry_after)
        if status in (401, 403):
            return PermanentError(
                f"OpenAI refused the API key ({status}): check OPENAI_API_KEY and its "
                "access to the embedding model"
            )
        if is_transient_http_status(status):
            return TransientError(f"OpenAI server error ({status})")
        detail = f" [{code}]" if code else ""
        return PermanentError(f"OpenAI rejected the embeddings request ({status}){detail}")
    return TransientError(f"OpenAI sent a response the SDK could not read ({type(exc).__name__})")


def _checked_vectors(
    data: Sequence[object], expected: int, dimensions: int
) -> list[tuple[float, ...]]:
    """One finite, non-zero vector of ``dimensions`` per input, by index; else transient."""
    by_index: dict[int, list[float]] = {}
    for item in data:
        index = getattr(item, "index", None)
        embedding = getattr(item, "embedding", None)
        if not isinstance(index, int) or index in by_index or not isinstance(embedding, list):
            raise _malformed("an embedding with a missing or repeated index")
        by_index[index] = embedding
    if sorted(by_index) != list(range(expected)):
        raise _malformed(f"{len(by_index)} embeddings for {expected} inputs")
    vectors = []
    for index in range(expected):
        vector = by_index[index]
        if len(vector) != dimensions:
            raise _malformed(f"a vector of {len(vector)} dimensions, not {dimensions}")
        squares = sum(map(operator.mul, vector, vector))  # NaN or inf poisons the sum
        if not math.isfinite(squares):
            raise _malformed("a vector with a NaN or infinite value")
        if squares == 0.0:
            raise _malformed("a zero vector")
        norm = math.sqrt(squares)
        if abs(norm - 1.0) > _UNIT_TOLERANCE:
            vectors.append(tuple(x / norm for x in vector))
        else:
            vectors.append(tuple(vector))
    return vectors


def _malformed(what: str) -> TransientError:
    return TransientError(f"OpenAI sent a malformed embeddings response: {what}")
