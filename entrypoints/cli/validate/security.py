"""The checklist's security section: tokens refused, CORS, this environment's own
schema, the token scheme, each hosted key, row-level security and API-role grants."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx

from adapters.hosted_key_checks import (
    KeyCheck,
    check_anthropic_key,
    check_llamaparse_key,
    check_openai_key,
)
from entrypoints.cli.validate.connectivity import Health
from entrypoints.cli.validate.results import (
    CHECK_TIMEOUT,
    DOCUMENTS,
    FOREIGN_ORIGIN,
    OTHER_ENVIRONMENT_SCHEMA,
    TOKEN_TTL,
    VALIDATION_MEMBER,
    Check,
)
from entrypoints.container.database import row_security
from entrypoints.settings import Settings
from entrypoints.tokens import mint_token

# -- security -----------------------------------------------------------------------------


async def security_checks(http: httpx.AsyncClient, settings: Settings, health: Health
                          ) -> list[Check]:
    checks = [await _refused(http, None), await _refused(http, _forged_token())]
    checks.extend(await _cors_checks(http, settings))
    checks.append(_schema_check(settings, health))
    checks.append(await _auth_scheme_check(settings))
    checks.extend(await _key_checks(settings))
    return checks


def _forged_token() -> str:
    return mint_token(secrets.token_hex(32), VALIDATION_MEMBER, ttl=TOKEN_TTL)


async def _refused(http: httpx.AsyncClient, token: str | None) -> Check:
    what = "a request with a forged token is refused" if token else \
        "a request without a token is refused"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = await http.get(DOCUMENTS, headers=headers)
    except httpx.HTTPError as exc:
        return Check("security", what, False, f"cannot reach the API: {type(exc).__name__}")
    if response.status_code == 401:
        return Check("security", what, True, "401")
    return Check("security", what, False, f"answered {response.status_code}, not 401")


async def _preflight(http: httpx.AsyncClient, origin: str) -> httpx.Response:
    return await http.options(DOCUMENTS, headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization"})


async def _cors_checks(http: httpx.AsyncClient, settings: Settings) -> list[Check]:
    origins = settings.cors_origins
    allowed_what = "CORS preflight from an allowed origin is accepted"
    other_what = "CORS preflight from another origin is refused"
    checks: list[Check] = []
    try:
        if "*" in origins:
            checks.append(Check("security", allowed_what, settings.environment != "production",
                                "CORS_ORIGINS is * (every origin)" + (
                                    ": list the app's origins in production"
                                    if settings.environment == "production" else "")))
        elif origins:
            response = await _preflight(http, origins[0])
            granted = response.headers.get("access-control-allow-origin")
            checks.append(Check(
                "security", allowed_what, response.status_code == 200 and granted == origins[0],
                f"{origins[0]}: {response.status_code}, allow-origin {granted}"))
        else:
            checks.append(Check("security", allowed_what, True,
                                "CORS_ORIGINS is empty: no browser origin may call the API"))
        response = await _preflight(http, FOREIGN_ORIGIN)
        granted = response.headers.get("access-control-allow-origin")
        accepted = granted in (FOREIGN_ORIGIN, "*")
        checks.append(Check("security", other_what,
                            not accepted or ("*" in origins
                                             and settings.environment != "production"),
                            f"{FOREIGN_ORIGIN}: {response.status_code}"
                            + (f", allow-origin {granted}" if granted else ", not allowed")))
    except httpx.HTTPError as exc:
        failure = f"cannot reach the API: {type(exc).__name__}"
        names = [allowed_what, other_what][len(checks):]
        checks.extend(Check("security", name, False, failure) for name in names)
    return checks


def _schema_check(settings: Settings, health: Health) -> Check:
    what = "schema is this environment's own"
    configured = settings.database_schema
    other = OTHER_ENVIRONMENT_SCHEMA.get(settings.environment)
    if other is not None and configured == other:
        return Check("security", what, False,
                     f"ENVIRONMENT is {settings.environment} but DATABASE_SCHEMA is {other}, "
                     "the other environment's")
    if health.schema is None:
        return Check("security", what, False, "the API did not say which schema it uses")
    if health.schema != configured:
        return Check("security", what, False,
                     f"the API uses {health.schema}, DATABASE_SCHEMA here is {configured}")
    tail = f", not {other} (the other environment's)" if other else ""
    return Check("security", what, True, f"API and workers use {configured}{tail}")


async def _auth_scheme_check(settings: Settings) -> Check:
    what = "token scheme in force"
    schemes = []
    if settings.supabase_jwt_secret is not None:
        schemes.append("HS256 with the legacy secret SUPABASE_JWT_SECRET")
    if settings.supabase_url:
        url = settings.supabase_url.rstrip("/") + "/auth/v1/.well-known/jwks.json"
        try:
            async with httpx.AsyncClient(timeout=CHECK_TIMEOUT) as client:
                response = await client.get(url)
            keys = response.json().get("keys", []) if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            return Check("security", what, False, f"Supabase JWKS at {url}: cannot read it "
                                                  f"({type(exc).__name__})")
        if not keys:
            return Check("security", what, False,
                         f"Supabase JWKS at {url} answered {response.status_code} with no keys")
        schemes.append(f"Supabase JWKS at {url} ({len(keys)} key(s))")
    if schemes:
        return Check("security", what, True, "; ".join(schemes))
    if settings.is_development:
        return Check("security", what, True,
                     f"HS256 with the development secret in NAVIGATOR_HOME "
                     f"({settings.environment} only)")
    return Check("security", what, False,
                 f"neither SUPABASE_JWT_SECRET nor SUPABASE_URL is set in "
                 f"{settings.environment}: the API cannot check tokens")


async def _key_checks(settings: Settings) -> list[Check]:
    async def one(what: str, key: Any, unset: str,
                  run: Callable[[str], Awaitable[KeyCheck]]) -> Check:
        if key is None:
            return Check("security", what, True, unset)
        result = await run(key.get_secret_value())
        return Check("security", what, result.accepted, result.detail)

    # ANTHROPIC_BASE_URL: the SDK reads it itself when the settings name none.
    anthropic_base = getattr(settings, "anthropic_base_url", None)
    return list(await asyncio.gather(
        one("OpenAI key", settings.openai_api_key,
            "OPENAI_API_KEY not set: the local embedder is used",
            lambda key: check_openai_key(key, base_url=settings.openai_base_url,
                                         model=settings.rag_embedding_model)),
        one("LlamaParse key", settings.llamaparse_api_key,
            "LLAMAPARSE_API_KEY not set: the local parsers are used",
            lambda key: check_llamaparse_key(key, base_url=settings.llamaparse_base_url)),
        one("Anthropic key", settings.anthropic_api_key,
            "ANTHROPIC_API_KEY not set: answers are extracted offline",
            lambda key: check_anthropic_key(key, base_url=anthropic_base)),
    ))


async def row_security_checks(conn: asyncpg.Connection | None, settings: Settings
                              ) -> list[Check]:
    """Row security on every table, and nothing granted to Supabase's API roles."""
    rls = "row-level security on every table"
    api = "nothing granted to Supabase's anon and authenticated roles"
    schema = settings.database_schema
    if conn is None:
        return [Check("security", what, False, "the database cannot be reached")
                for what in (rls, api)]
    security = await row_security(conn, schema)
    if not security.tables:
        checks = [Check("security", rls, False,
                        f"schema {schema} has no tables: run `navigator migrate`")]
    elif security.without:
        checks = [Check("security", rls, False,
                        "off on " + ", ".join(security.without)
                        + ": run `navigator migrate` (migration 0007 turns it on)")]
    else:
        checks = [Check("security", rls, True,
                        f"on for all {len(security.tables)} tables of {schema}")]
    granted = security.api_grants
    checks.append(Check(
        "security", api, not granted,
        "none" if not granted else
        "; ".join(granted[:5]) + (" …" if len(granted) > 5 else "")
        + f" (REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM anon, authenticated)"))
    return checks
