"""A request id on every answer (``X-Request-ID``), in every log line of the request,
in its problem+json errors (``request_id``) and on its trace span.

The id a client sends in ``X-Request-ID`` is kept when it is well formed (1 to 128
letters, digits and ``-_.:``: a UUID, a ULID, a proxy's id), so a member's app, a
proxy and this service speak of one request by one id; anything else is replaced by
a new id (32 hex digits). It is never an error: a bad id costs the client
nothing but the correlation.
"""

from __future__ import annotations

import re
import uuid

from opentelemetry import trace
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from entrypoints.logs import REQUEST_ID

HEADER = "X-Request-ID"
#: The span attribute that carries it.
SPAN_ATTRIBUTE = "navigator.request_id"
_WELL_FORMED = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def request_id_from(given: str | None) -> str:
    """The client's id if it is well formed, else a new one."""
    if given is not None and _WELL_FORMED.fullmatch(given):
        return given
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    """The id of the request being answered (None outside a request)."""
    return REQUEST_ID.get()


class RequestIds:
    """ASGI middleware: chooses the request's id, holds it for the request's logs and
    errors (:data:`entrypoints.logs.REQUEST_ID`), puts it on the request's span and
    on the answer's headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((value.decode("latin-1") for name, value in scope.get("headers", ())
                      if name.lower() == b"x-request-id"), None)
        request_id = request_id_from(given)
        scope.setdefault("state", {})["request_id"] = request_id
        trace.get_current_span().set_attribute(SPAN_ATTRIBUTE, request_id)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, sending)
        finally:
            REQUEST_ID.reset(token)
