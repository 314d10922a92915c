"""Who is calling: ``Authorization: Bearer <JWT>``, a Supabase access token, checked
by the service's :class:`~entrypoints.access_tokens.TokenVerifier` (the rules are
there). Anything it refuses is a 401 with ``WWW-Authenticate: Bearer``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from entrypoints.access_tokens import Unauthorized
from entrypoints.api.deps import Verifier

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="SupabaseJWT",
    bearerFormat="JWT",
    description="A Supabase access token (ES256/RS256 from the project's signing keys, or "
    "HS256 with the legacy JWT secret; audience `authenticated`); the member is `sub`. "
    "Locally: `navigator token <member-id>`.",
)


async def current_member(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    verifier: Verifier,
) -> str:
    """The calling member's id, from a valid bearer token."""
    if credentials is None:
        header = request.headers.get("authorization")
        if header is None:
            raise Unauthorized("sign in: send 'Authorization: Bearer <access token>'",
                               error=None)
        raise Unauthorized("the Authorization header must be 'Bearer <access token>'",
                           error="invalid_request")
    return await verifier.member(credentials.credentials)


Member = Annotated[str, Depends(current_member)]
