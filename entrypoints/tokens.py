"""Access tokens as Supabase issues them: HS256 JWTs, audience ``authenticated``,
the member's id in ``sub``, signed with ``SUPABASE_JWT_SECRET``.

:func:`mint_token` makes one for local use (``navigator token``, tests).

**The development secret.** With ``SUPABASE_JWT_SECRET`` unset and ``ENVIRONMENT``
a development one (development, dev, local, test), :func:`jwt_secret` creates a
random secret once, in ``NAVIGATOR_HOME/dev-jwt-secret`` (readable by its owner
only), and uses it from then on. The API and ``navigator token`` pointed at the
same home therefore agree, and no secret ships with the code. Deleting the file
invalidates every dev token. In any other environment the variable is required.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
import uuid
from datetime import timedelta
from pathlib import Path

import jwt
from pydantic import SecretStr

from entrypoints.settings import Settings, SettingsError

AUDIENCE = "authenticated"
ALGORITHM = "HS256"
DEV_SECRET_FILE = "dev-jwt-secret"
DEFAULT_TTL = timedelta(hours=12)


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


def dev_secret(path: Path) -> str:
    """Read the dev secret at ``path``, creating it (owner-only, atomically) if missing.

    Two processes starting at once both end up with the one that was written first.
    """
    with contextlib.suppress(FileNotFoundError):
        existing = path.read_text(encoding="ascii").strip()
        if existing:
            return existing
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = secrets.token_hex(32)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(candidate + "\n")
    try:
        os.link(tmp, path)  # fails if another process got there first
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text(encoding="ascii").strip()


def mint_token(
    secret: SecretStr | str,
    member_id: str,
    *,
    ttl: timedelta = DEFAULT_TTL,
    now: float | None = None,
    email: str | None = None,
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
        "iss": "navigator-dev",
    }
    if email:
        claims["email"] = email
    key = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    return jwt.encode(claims, key, algorithm=ALGORITHM)
