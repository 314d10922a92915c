"""Access tokens as Supabase issues them: JWTs with audience ``authenticated``, the
member's id in ``sub``, issued by ``SUPABASE_URL/auth/v1``. Current projects sign
them with asymmetric signing keys (checked in :mod:`entrypoints.access_tokens` against
the project's JWKS); legacy projects with the HS256 ``SUPABASE_JWT_SECRET``.

:func:`mint_token` makes an HS256 one for local use (``navigator token``, tests):
only the secret can be used for that, as a project's private signing keys never
leave Supabase. With ``SUPABASE_URL`` set, minted tokens carry its issuer.

**The development secret.** With ``SUPABASE_JWT_SECRET`` unset and ``ENVIRONMENT``
a development one (development, dev, local, test), :func:`jwt_secret` creates a
random secret once, in ``NAVIGATOR_HOME/dev-jwt-secret`` (readable by its owner
only), and uses it from then on. The API and ``navigator token`` pointed at the
same home therefore agree, and no secret ships with the code. Deleting the file
invalidates every dev token. In any other environment the variable is required.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import jwt
from pydantic import SecretStr

from adapters.auth.dev_secret import dev_secret
from entrypoints.settings import Settings, SettingsError

AUDIENCE = "authenticated"
ALGORITHM = "HS256"
DEV_SECRET_FILE = "dev-jwt-secret"
DEFAULT_TTL = timedelta(hours=12)
#: The issuer of minted tokens when no ``SUPABASE_URL`` is set (then no issuer is checked).
DEV_ISSUER = "navigator-dev"


def token_issuer(settings: Settings) -> str | None:
    """``SUPABASE_URL/auth/v1``, the ``iss`` of the project's tokens; None without a URL."""
    if not settings.supabase_url:
        return None
    return settings.supabase_url.rstrip("/") + "/auth/v1"


def token_schemes(settings: Settings) -> list[str]:
    """In words, the signing schemes the API accepts with these settings (for operators)."""
    schemes = []
    if settings.supabase_url:
        schemes.append(f"signing keys (ES256/RS256) from {settings.supabase_url.rstrip('/')}"
                       "/auth/v1/.well-known/jwks.json")
    if settings.supabase_jwt_secret is not None:
        schemes.append("legacy HS256 secret (SUPABASE_JWT_SECRET)")
    elif settings.is_development:
        schemes.append("HS256 with the local development secret in NAVIGATOR_HOME")
    return schemes


def mint_dev_token(settings: Settings, member_id: str, *, ttl: timedelta = DEFAULT_TTL) -> str:
    """A token for ``member_id`` signed with the HS256 secret these settings use (the dev
    secret in development), with the project's issuer when ``SUPABASE_URL`` is set."""
    return mint_token(jwt_secret(settings), member_id, ttl=ttl,
                      issuer=token_issuer(settings) or DEV_ISSUER)


def jwt_secret(settings: Settings) -> SecretStr:
    """``SUPABASE_JWT_SECRET``, or in development the per-home dev secret (created once)."""
    if settings.supabase_jwt_secret is not None:
        return settings.supabase_jwt_secret
    if not settings.is_development:
        raise SettingsError([
            f"SUPABASE_JWT_SECRET must be set when ENVIRONMENT is {settings.environment} "
            "(copy the JWT secret from the Supabase project's API settings)"
        ])
    return SecretStr(dev_secret(settings.navigator_home / DEV_SECRET_FILE))


def mint_token(
    secret: SecretStr | str,
    member_id: str,
    *,
    ttl: timedelta = DEFAULT_TTL,
    now: float | None = None,
    email: str | None = None,
    issuer: str = DEV_ISSUER,
) -> str:
    """A token for ``member_id`` shaped like Supabase's (``role`` and ``aud`` are
    ``authenticated``), valid for ``ttl``."""
    if not member_id.strip():
        raise ValueError("a member id is required")
    issued = int(time.time() if now is None else now)
    claims: dict[str, object] = {
        "sub": member_id,
        "aud": AUDIENCE,
        "role": AUDIENCE,
        "iat": issued,
        "exp": issued + int(ttl.total_seconds()),
        "jti": str(uuid.uuid4()),
        "iss": issuer,
    }
    if email:
        claims["email"] = email
    key = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    return jwt.encode(claims, key, algorithm=ALGORITHM)
