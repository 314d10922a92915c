"""A fake Anthropic Messages API on 127.0.0.1, for the real ``anthropic`` SDK.

It serves ``POST /v1/messages`` as Anthropic does: the key check (``x-api-key``, or
the ``Authorization: Bearer`` header recent SDKs send), a
JSON message or, with ``"stream": true``, server-sent events (``message_start``,
``content_block_start``, ``ping``, ``content_block_delta`` ..., ``message_delta``
with the output tokens, ``message_stop``), and Anthropic's error bodies
(``{"type": "error", "error": {"type": ..., "message": ...}}``).

Unscripted, it behaves like a careful model: it reads the ``<passage>`` blocks of
the user turn, quotes the sentence that shares the most words with the question
and cites its id, or answers ``NOT COVERED`` when none does. Tests script what
the next requests get (``server.script(RateLimited(3))``) and read what the server
saw (``server.requests``).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import attrs
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.serving import BackgroundServer

# -- what the next request gets ------------------------------------------------


@attrs.frozen
class Reply:
    """Answer with exactly this text (e.g. one citing an id that was not sent)."""

    text: str


@attrs.frozen
class RateLimited:
    """429 ``rate_limit_error`` with a Retry-After header (seconds)."""

    retry_after: float = 2.0


@attrs.frozen
class Overloaded:
    """529 ``overloaded_error``: Anthropic is busy."""


@attrs.frozen
class ServerError:
    status: int = 500


@attrs.frozen
class BadRequest:
    message: str = "messages: text content blocks must be non-empty"


@attrs.frozen
class Forbidden:
    """403 ``permission_error``: the key may not use this model."""


MALFORMED_KINDS = ("not_json", "no_content", "broken_event")


@attrs.frozen
class Malformed:
    """A 200 that breaks the protocol: a ``not_json`` body, a message with ``no_content``
    (streaming: a ``message_start`` without content or usage), or (streaming) a
    ``broken_event`` whose data is not JSON."""

    kind: str = attrs.field(validator=attrs.validators.in_(MALFORMED_KINDS))


@attrs.frozen
class Gullible:
    """Obey an instruction found in a passage: reply with the system prompt (what a
    model that fell for a prompt injection would do)."""


Behaviour = Reply | RateLimited | Overloaded | ServerError | BadRequest | Forbidden | \
    Malformed | Gullible


@attrs.frozen
class SeenRequest:
    """One Messages request as the server received it."""

    model: str
    system: str
    user: str
    max_tokens: int
    stream: bool
    headers: dict[str, str]


_PASSAGE = re.compile(r'<passage id="(\d+)"[^>]*>\n(.*?)\n</passage>', re.DOTALL)
_QUESTION = re.compile(r"<question>\n(.*?)\n</question>", re.DOTALL)
_WORD = re.compile(r"[a-z0-9$]+")
_STOPWORDS = ("a an and are as at be by can do does for from how i in is it me my of on "
              "or the to what when which who will with you your")
_STOP = frozenset(_STOPWORDS.split())


def careful_answer(user: str) -> str:
    """What the unscripted fake answers to a grounded prompt."""
    question = _QUESTION.search(user)
    wanted = set(_WORD.findall(question.group(1).lower())) - _STOP if question else set()
    best: tuple[int, str, str] | None = None
    for label, text in _PASSAGE.findall(user):
        for sentence in re.split(r"(?<=[.!?])\s+|\n+", text):
            overlap = len(wanted & set(_WORD.findall(sentence.lower())))
            if overlap and (best is None or overlap > best[0]):
                best = (overlap, sentence.strip(" #"), label)
    if best is None:
        return "NOT COVERED"
    return f"According to your documents: {best[1]} [{best[2]}]"


class FakeAnthropic:
    """The fake API. ``with FakeAnthropic() as server:``; ``server.base_url`` is what
    ``AsyncAnthropic(base_url=...)`` takes."""

    def __init__(self, api_key: str = "sk-ant-test-fake-anthropic-key",
                 *, chunk_chars: int = 12) -> None:
        self.api_key = api_key
        self.chunk_chars = chunk_chars
        self.requests: list[SeenRequest] = []
        self.hits = 0
        self._script: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self._background = BackgroundServer(
            Starlette(routes=[Route("/v1/messages", self._messages, methods=["POST"])])
        )
        self.base_url = ""

    def script(self, *behaviours: Behaviour) -> None:
        """The next requests get these, in order; after them, careful answers."""
        self._script.extend(behaviours)

    def start(self) -> FakeAnthropic:
        self.base_url = self._background.start()
        return self

    def stop(self) -> None:
        self._background.stop()

    def __enter__(self) -> FakeAnthropic:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # the endpoint

    async def _messages(self, request: Request) -> Response:
        with self._lock:
            self.hits += 1
            behaviour = self._script.popleft() if self._script else None
        given = request.headers.get("x-api-key") or \
            request.headers.get("authorization", "").removeprefix("Bearer ")
        if given != self.api_key:
            # Echoes the key given, so a test proves the adapter never passes it along.
            return _error(401, "authentication_error", f"invalid x-api-key {given}")
        body = json.loads(await request.body())
        seen = _seen(body, request)
        with self._lock:
            self.requests.append(seen)
        if isinstance(behaviour, RateLimited):
            return _error(429, "rate_limit_error", "Number of request tokens has exceeded "
                          "your per-minute rate limit",
                          headers={"retry-after": f"{behaviour.retry_after:g}"})
        if isinstance(behaviour, Overloaded):
            return _error(529, "overloaded_error", "Overloaded")
        if isinstance(behaviour, ServerError):
            return _error(behaviour.status, "api_error", "Internal server error")
        if isinstance(behaviour, BadRequest):
            return _error(400, "invalid_request_error", behaviour.message)
        if isinstance(behaviour, Forbidden):
            return _error(403, "permission_error",
                          "Your API key does not have permission to use the specified resource.")
        if isinstance(behaviour, Malformed) and behaviour.kind == "not_json":
            return Response("<html>bad gateway</html>", status_code=200,
                            media_type="application/json")
        if isinstance(behaviour, Reply):
            text = behaviour.text
        elif isinstance(behaviour, Gullible):
            text = seen.system
        else:
            text = careful_answer(seen.user)
        input_tokens = len((seen.system + seen.user).split())
        output_tokens = max(1, len(text.split()))
        if seen.stream:
            kind = behaviour.kind if isinstance(behaviour, Malformed) else ""
            return StreamingResponse(
                self._events(seen.model, text, input_tokens, output_tokens,
                             kind == "broken_event", kind == "no_content"),
                media_type="text/event-stream",
            )
        message = _message(seen.model, text, input_tokens, output_tokens)
        if isinstance(behaviour, Malformed) and behaviour.kind == "no_content":
            del message["content"]
        return JSONResponse(message)

    async def _events(self, model: str, text: str, input_tokens: int, output_tokens: int,
                      broken: bool, no_content: bool) -> AsyncIterator[bytes]:
        start = _message(model, "", input_tokens, 1)
        start["content"], start["stop_reason"] = [], None
        if no_content:
            start = {"id": start["id"], "type": "message"}
        yield _event("message_start", {"type": "message_start", "message": start})
        yield _event("content_block_start", {"type": "content_block_start", "index": 0,
                                             "content_block": {"type": "text", "text": ""}})
        yield _event("ping", {"type": "ping"})
        for index in range(0, len(text), self.chunk_chars):
            if broken and index > 0:
                yield b"event: content_block_delta\ndata: {not json\n\n"
                return
            yield _event("content_block_delta", {
                "type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": text[index:index + self.chunk_chars]},
            })
            await asyncio.sleep(0)
        yield _event("content_block_stop", {"type": "content_block_stop", "index": 0})
        yield _event("message_delta", {
            "type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": output_tokens},
        })
        yield _event("message_stop", {"type": "message_stop"})


def _seen(body: dict[str, Any], request: Request) -> SeenRequest:
    system = body.get("system", "")
    if isinstance(system, list):
        system = "".join(block.get("text", "") for block in system)
    user = ""
    for message in body.get("messages", []):
        content = message.get("content", "")
        if isinstance(content, list):
            content = "".join(block.get("text", "") for block in content)
        if message.get("role") == "user":
            user += content
    headers = {k: v for k, v in request.headers.items()
               if k not in ("x-api-key", "authorization")}
    return SeenRequest(model=body.get("model", ""), system=system, user=user,
                       max_tokens=int(body.get("max_tokens", 0)),
                       stream=bool(body.get("stream")), headers=headers)


def _message(model: str, text: str, input_tokens: int, output_tokens: int) -> dict[str, Any]:
    return {
        "id": "msg_fake0123456789", "type": "message", "role": "assistant", "model": model,
        "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def _error(status: int, kind: str, message: str,
           headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"type": "error", "error": {"type": kind, "message": message}},
                        status_code=status, headers=headers)
