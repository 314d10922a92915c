"""Settings of members' access tokens (the Supabase project that issues them and how
its signing keys are cached) and of the operator's bearer secret."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, Field, SecretStr, field_validator


class AuthSettings(BaseModel):
    supabase_url: str | None = None
    supabase_jwt_secret: SecretStr | None = None
    #: How long the project's signing keys (JWKS) are cached, and the least time between
    #: two fetches of them (an unknown ``kid`` refetches at most this often).
    auth_jwks_cache_seconds: Annotated[float, Field(gt=0, le=86_400)] = 600.0
    auth_jwks_refetch_seconds: Annotated[float, Field(ge=1, le=3600)] = 30.0
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

    @field_validator("operator_token")
    @classmethod
    def _check_operator_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters (e.g. `openssl rand -hex 32`)")
        return value
