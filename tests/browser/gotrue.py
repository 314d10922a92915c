"""A fake Supabase Auth (GoTrue) for the page's sign-in, on 127.0.0.1.

It answers what the member's page calls, the way Supabase Auth answers it: password
sign-in and refresh (``POST /auth/v1/token?grant_type=password|refresh_token``, with
the project's ``apikey`` header), sign-out (``POST /auth/v1/logout``), and the project's
signing keys (``GET /auth/v1/.well-known/jwks.json``) with which the API checks the
ES256 access tokens it issues. CORS is open to the page's origin, as Supabase's is.
"""

from __future__ import annotations

import time
import uuid
from types import TracebackType
from typing import Any

import jwt
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.jwks_server import AUDIENCE, generate_key
from tests.fakes.serving import BackgroundServer

ANON_KEY = "sb_publishable_browser-test-anon-key"


class FakeGoTrue:
    def __init__(self, email: str, password: str, *, lifetime: int = 3600) -> None:
        self.email, self.password, self.lifetime = email, password, lifetime
        self.user_id = str(uuid.uuid4())
        self.key = generate_key("ES256")
        self.refresh_tokens: set[str] = set()
        self.calls: list[str] = []
        self.signed_out = 0
        self._server = BackgroundServer(Starlette(
            routes=[Route("/auth/v1/.well-known/jwks.json", self._jwks),
                    Route("/auth/v1/token", self._token, methods=["POST"]),
                    Route("/auth/v1/logout", self._logout, methods=["POST"])],
            middleware=[Middleware(CORSMiddleware, allow_origins=["*"],
                                   allow_methods=["POST", "GET"],
                                   allow_headers=["apikey", "authorization", "content-type",
                                                  "x-client-info"])],
        ))
        self.url = ""

    @property
    def issuer(self) -> str:
        return self.url + "/auth/v1"

    def _session(self) -> dict[str, Any]:
        now = int(time.time())
        claims = {"sub": self.user_id, "aud": AUDIENCE, "role": AUDIENCE, "iss": self.issuer,
                  "email": self.email, "iat": now, "exp": now + self.lifetime,
                  "session_id": str(uuid.uuid4())}
        refresh = uuid.uuid4().hex
        self.refresh_tokens.add(refresh)
        return {
            "access_token": jwt.encode(claims, self.key.private, algorithm="ES256",
                                       headers={"kid": self.key.kid}),
            "token_type": "bearer", "expires_in": self.lifetime,
            "expires_at": now + self.lifetime, "refresh_token": refresh,
            "user": {"id": self.user_id, "email": self.email, "aud": AUDIENCE},
        }

    async def _jwks(self, _request: Request) -> JSONResponse:
        return JSONResponse({"keys": [self.key.jwk()]})

    async def _token(self, request: Request) -> JSONResponse:
        grant = request.query_params.get("grant_type", "")
        self.calls.append(grant)
        if request.headers.get("apikey") != ANON_KEY:
            return JSONResponse({"message": "Invalid API key"}, status_code=401)
        body = await request.json()
        if grant == "password":
            if (body.get("email"), body.get("password")) != (self.email, self.password):
                return JSONResponse({"error": "invalid_grant",
                                     "error_description": "Invalid login credentials"},
                                    status_code=400)
            return JSONResponse(self._session())
        if grant == "refresh_token" and body.get("refresh_token") in self.refresh_tokens:
            self.refresh_tokens.discard(body["refresh_token"])
            return JSONResponse(self._session())
        return JSONResponse({"error": "invalid_grant",
                             "error_description": "Invalid Refresh Token"}, status_code=400)

    async def _logout(self, request: Request) -> Response:
        self.signed_out += 1
        return Response(status_code=204)

    def __enter__(self) -> FakeGoTrue:
        self.url = self._server.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.stop()
