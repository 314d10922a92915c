"""A fake of Anthropic's ``GET /v1/models`` on 127.0.0.1, for the real ``anthropic`` SDK.

Only what ``navigator validate`` needs to check a key: the key (``x-api-key``, or
``Authorization: Bearer`` as newer SDKs send it) is compared with the fake's own; a
wrong one gets Anthropic's 401 error body (which, unlike the real service, echoes
the whole key given, so a test proves the checker never passes the provider's text
along).
``with FakeAnthropicModels() as server:`` serves it at ``server.base_url``.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.serving import BackgroundServer

MODELS = ("claude-sonnet-4-5", "claude-haiku-4-5")


class FakeAnthropicModels:
    def __init__(self, api_key: str = "sk-ant-test-fake-anthropic-key") -> None:
        self.api_key = api_key
        self.requests = 0
        self._background = BackgroundServer(
            Starlette(routes=[Route("/v1/models", self._models, methods=["GET"])])
        )
        self.base_url = ""

    async def _models(self, request: Request) -> Response:
        self.requests += 1
        # Older SDKs send ``x-api-key``; newer ones ``Authorization: Bearer``.
        given = request.headers.get("x-api-key") or request.headers.get(
            "authorization", "").removeprefix("Bearer ")
        if given != self.api_key:
            return JSONResponse(
                {"type": "error", "error": {"type": "authentication_error",
                                            "message": f"invalid x-api-key: {given}"}},
                status_code=401,
            )
        data = [{"type": "model", "id": name, "display_name": name,
                 "created_at": "2025-09-29T00:00:00Z"} for name in MODELS]
        return JSONResponse({"data": data, "has_more": False, "first_id": MODELS[0],
                             "last_id": MODELS[-1]})

    def __enter__(self) -> FakeAnthropicModels:
        self.base_url = self._background.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._background.stop()
