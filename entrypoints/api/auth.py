"""Who is calling: ``Authorization: Bearer <JWT>``, HS256 as Supabase issues them.

The token must be signed with ``SUPABASE_JWT_SECRET`` using HS256 (and only
HS256: ``alg: none`` or an asymmetric algorithm is refused), be meant for the
audience ``authenticated``, be unexpired, and name the member in ``sub``.
Anything else is a 401 with ``WWW-Authenticate: Bearer``. The token itself is
never logged.
"""

from __future__ import annotations

from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from entrypoints.api.problems import Unauthorized
from entrypoints.tokens import ALGORITHM, AUDIENCE

LEEWAY_SECONDS = 30  # clock skew allowed between the issuer and this service

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="SupabaseJWT",
    bearerFormat="JWT",
    description="A Supabase access token (HS256, audience `authenticated`); the member is "
    "`sub`. Locally: `navigator token <member-id>`.",
)


def verify_token(token: str, secret: SecretStr) -> str:
    """The member id (``sub``) of a valid token; :class:`Unauthorized` says why not."""
    try:
        claims = jwt.decode(
            token,
            secret.get_secret_value(),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "sub", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the access token has expired; sign in again to get a new one") \
            from None
    except jwt.InvalidAudienceError:
        raise Unauthorized(f"the access token is not meant for this service (audience must be "
                           f"{AUDIENCE!r})") from None
    except jwt.InvalidAlgorithmError:
        raise Unauthorized(f"the access token must be signed with {ALGORITHM}") from None
    except jwt.InvalidSignatureError:
        raise Unauthorized("the access token's signature is not valid") from None
    except jwt.MissingRequiredClaimError as exc:
        raise Unauthorized(f"the access token has no {exc.claim!r} claim") from None
    except jwt.ImmatureSignatureError:
        raise Unauthorized("the access token is not valid yet") from None
    except jwt.InvalidTokenError:
        raise Unauthorized("the access token is malformed; send a JWT as "
                           "'Authorization: Bearer <token>'") from None
    member = claims.get("sub")
    if not isinstance(member, str) or not member.strip():
        raise Unauthorized("the access token does not name a member ('sub' is empty)")
    return member


async def current_member(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str:
    """The calling member's id, from a valid bearer token."""
    if credentials is None:
        header = request.headers.get("authorization")
        if header is None:
            raise Unauthorized("sign in: send 'Authorization: Bearer <access token>'",
                               error=None)
        raise Unauthorized("the Authorization header must be 'Bearer <access token>'",
                           error="invalid_request")
    secret: SecretStr = request.app.state.container.jwt_secret()
    return verify_token(credentials.credentials, secret)


Member = Annotated[str, Depends(current_member)]
