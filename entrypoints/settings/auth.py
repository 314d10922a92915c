"""Settings of members' access tokens (the Supabase project that issues them and how
its signing keys are cached), of the member's page's sign-in (the project's public
anon key) and of the operator's bearer secret."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Annotated, Self

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator


class AuthSettings(BaseModel):
    supabase_url: str | None = None
    supabase_jwt_secret: SecretStr | None = None
    #: The project's public anon (or publishable) key. The member's page at ``/`` signs
    #: members in with Supabase Auth using it, so it is shown to every browser: it must
    #: never be a secret key, which start-up refuses.
    supabase_anon_key: str | None = None
    #: How long the project's signing keys (JWKS) are cached, and the least time between
    #: two fetches of them (an unknown ``kid`` refetches at most this often).
    auth_jwks_cache_seconds: Annotated[float, Field(gt=0, le=86_400)] = 600.0
    auth_jwks_refetch_seconds: Annotated[float, Field(ge=1, le=3600)] = 30.0
    #: How long an accepted access token is remembered (never past its own expiry), so a
    #: member's next requests skip the signature check; 0 checks every request's token.
    #: At most ``auth_token_cache_size`` tokens are remembered, the least recent dropped.
    auth_token_cache_seconds: Annotated[float, Field(ge=0, le=3600)] = 60.0
    auth_token_cache_size: Annotated[int, Field(ge=1, le=1_000_000)] = 10_000
    #: A bearer secret that shows operators the details ``/health`` hides from anyone
    #: else (worker hosts and process ids, where the database lives); unset, nobody sees
    #: them over HTTP. At least 32 characters (``openssl rand -hex 32``).
    operator_token: SecretStr | None = None

    @field_validator("supabase_url")
    @classmethod
    def _check_supabase_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        if not re.match(r"^https?://[^/\s?#]+$", value):
            raise ValueError("must be the project's URL such as https://abcd.supabase.co "
                             "(scheme and host, no path)")
        return value

    @field_validator("supabase_anon_key")
    @classmethod
    def _strip_anon_key(cls, value: str | None) -> str | None:
        return (value.strip() or None) if value is not None else None

    @model_validator(mode="after")
    def _check_anon_key(self) -> Self:
        # Checked here, not as a field, so that the value is never echoed: a key given
        # here by mistake may be a secret one.
        key = self.supabase_anon_key
        if key is None:
            return self
        if not re.fullmatch(r"[A-Za-z0-9_.\-]+", key):
            raise ValueError("SUPABASE_ANON_KEY must be the project's anon or publishable key "
                             "as Supabase shows it (letters, digits, '.', '_' and '-' only)")
        if key.startswith("sb_secret_") or _jwt_role(key) == "service_role":
            raise ValueError("SUPABASE_ANON_KEY holds a secret key (the service role's), which "
                             "the member's page would show to every visitor: use the "
                             "project's anon or publishable key")
        if self.supabase_url is None:
            raise ValueError("SUPABASE_ANON_KEY needs SUPABASE_URL: the member's page signs "
                             "in with the project that URL names")
        return self

    @field_validator("operator_token")
    @classmethod
    def _check_operator_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters (e.g. `openssl rand -hex 32`)")
        return value


def _jwt_role(key: str) -> str | None:
    """The ``role`` claim of a legacy Supabase API key (a JWT), unverified; None when the
    key is not a JWT (a publishable key ``sb_publishable_...``)."""
    parts = key.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return None
    role = payload.get("role") if isinstance(payload, dict) else None
    return role if isinstance(role, str) else None
