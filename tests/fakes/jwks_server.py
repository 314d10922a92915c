"""A fake Supabase Auth that publishes a project's signing keys, on 127.0.0.1.

``with FakeSupabaseAuth() as auth:`` serves ``GET /auth/v1/.well-known/jwks.json``
at ``auth.url`` (use it as ``SUPABASE_URL``). Keys are generated at test time with
``cryptography``: ``auth.new_key("ES256")`` makes one, ``auth.publish(*keys)`` sets
the published set (a rotation is a new ``publish``), and ``auth.sign(key, claims)``
signs a token with it as Supabase would. ``auth.requests`` counts JWKS fetches;
``auth.failing = True`` answers 503.
"""

from __future__ import annotations

import threading
import time
import uuid
from types import TracebackType
from typing import Any

import attrs
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.serving import BackgroundServer

AUDIENCE = "authenticated"


@attrs.frozen
class SigningKey:
    kid: str
    algorithm: str
    private: Any

    def jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        codec = ECAlgorithm if self.algorithm == "ES256" else RSAAlgorithm
        jwk: dict[str, Any] = codec.to_jwk(public, as_dict=True)  # type: ignore[attr-defined]
        return {**jwk, "kid": self.kid, "alg": self.algorithm, "use": "sig", "key_ops": ["verify"]}


def generate_key(algorithm: str) -> SigningKey:
    private: Any
    if algorithm == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    elif algorithm == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        raise ValueError(algorithm)
    return SigningKey(kid=str(uuid.uuid4()), algorithm=algorithm, private=private)


class FakeSupabaseAuth:
    def __init__(self) -> None:
        self._keys: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.requests = 0
        self.failing = False
        self._server = BackgroundServer(Starlette(routes=[
            Route("/auth/v1/.well-known/jwks.json", self._jwks),
        ]))
        self.url = ""

    @property
    def issuer(self) -> str:
        return self.url + "/auth/v1"

    def publish(self, *keys: SigningKey, extra: list[dict[str, Any]] | None = None) -> None:
        with self._lock:
            self._keys = [key.jwk() for key in keys] + list(extra or [])

    def claims(self, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        return {"sub": "member-1", "aud": AUDIENCE, "role": AUDIENCE, "iss": self.issuer,
                "iat": now, "exp": now + 3600, "session_id": str(uuid.uuid4()), **changes}

    def sign(self, key: SigningKey, *, algorithm: str | None = None,
             headers: dict[str, Any] | None = None, **changes: Any) -> str:
        """A token signed with ``key``; ``algorithm`` and ``headers`` forge the header."""
        return jwt.encode(self.claims(**changes), key.private,
                          algorithm=algorithm or key.algorithm,
                          headers={"kid": key.kid, **(headers or {})})

    async def _jwks(self, _request: Request) -> JSONResponse:
        with self._lock:
            self.requests += 1
            if self.failing:
                return JSONResponse({"error": "unavailable"}, status_code=503)
            return JSONResponse({"keys": list(self._keys)},
                                headers={"Cache-Control": "public, max-age=600"})

    def __enter__(self) -> FakeSupabaseAuth:
        self.url = self._server.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.stop()
