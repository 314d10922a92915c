"""``navigator validate``: the deployment checklist, run for real against a deployment.

Run it where the services' settings are (the same environment variables: a Render
shell of the API service, or a terminal with them exported) and point ``--api`` at
the API. One ✓/✗ line per item; ``--json`` for machines; exit code 1 if any item
failed. The items, in order:

connectivity
    this check reaches the database (pgvector, the schema, migrations applied and
    unchanged, the vector size); a worker has reported in to the schema recently
    (the worker reaches the database and the schema); the API's ``/health`` says it
    reaches the database and the *same* schema; the database role in use (owner,
    service role, BYPASSRLS or superuser) and the pooler mode configured
    (``DATABASE_POOLER_MODE``).
queue
    a canary document (a small markdown file, unique to the run) is uploaded through
    the API as a dedicated validation member, followed to ``complete``, and its
    history must hold all ten statuses in pipeline order; then it is deleted
    through the API and no row of it may remain.
error handling
    a damaged PDF canary must end ``failed``, at parse, with its reason.
retry logic
    the configured policy (``WORKER_MAX_RETRIES``, ``WORKER_RETRY_BASE_DELAY``,
    ``WORKER_RETRY_MAX_DELAY``) and the delays it will use (``domain/retry.py``).
transaction consistency
    SQL invariants over the whole schema (``adapters/postgres/invariants.py``).
performance under load
    ``--load N`` canaries uploaded at once; the median and worst time from upload
    to ``complete``, as seen by polling every 0.2 s.
security
    no token and a forged token are refused with 401; a CORS preflight from an
    allowed origin is accepted and one from another origin refused; the schema is
    the configured one and not the other environment's; which token scheme is in
    force; each configured hosted key (OpenAI, LlamaParse, Anthropic) accepted by
    one call that costs no tokens; row-level security on every table of the schema,
    and nothing granted on them to Supabase's ``anon`` and ``authenticated`` roles.
cleanup
    nothing of the validation member is left in the schema.

**The canaries' member.** Tokens are minted for ``--member`` (default
``navigator-validation``) with ``SUPABASE_JWT_SECRET`` (or, in development, the dev
secret in ``NAVIGATOR_HOME``). A project that signs tokens only with asymmetric
keys (JWKS) has no secret to mint with: pass ``--token`` with a token of a
dedicated validation user. Every canary's file name starts with
``navigator-validate-``; cleanup touches nothing else of the member.

**Cleanup.** Everything the canaries create is deleted through the API when the
run ends, whether checks passed or not (also on Ctrl-C). Canaries left by an
interrupted earlier run are deleted first. If the API cannot delete them, they
are deleted by SQL (their jobs, history, chunks and stored bytes cascade with
them).
"""

from __future__ import annotations

from collections.abc import Awaitable

import httpx

from entrypoints.cli.validate.canaries import Canaries
from entrypoints.cli.validate.connectivity import api_health, api_health_check, database_checks
from entrypoints.cli.validate.consistency import consistency_checks, retry_check
from entrypoints.cli.validate.results import (
    HTTP_TIMEOUT,
    VALIDATION_MEMBER,
    Check,
    Options,
    render_json,
    render_text,
)
from entrypoints.cli.validate.security import row_security_checks, security_checks
from entrypoints.settings import Settings, SettingsError, load_settings

__all__ = ["VALIDATION_MEMBER", "Check", "Options", "render_json", "render_text", "validate"]


# -- the checklist ----------------------------------------------------------------------


async def validate(environ: dict[str, str] | None = None, options: Options | None = None,
                   ) -> tuple[list[Check], Settings | None, str | None]:
    """Run the checklist; never raises for what it finds. Returns the checks, the
    settings (None if they did not load) and the API's URL."""
    options = options or Options()
    try:
        settings = load_settings(environ)
    except SettingsError as exc:
        return [Check("connectivity", "settings load", False, "; ".join(exc.problems))], \
            None, options.api
    api = (options.api or f"http://127.0.0.1:{settings.service_port}").rstrip("/")
    checks = [Check("connectivity", "settings load",
                    True, f"environment {settings.environment}, schema "
                          f"{settings.database_schema}")]
    async with database_checks(settings) as (conn, db_checks), \
            httpx.AsyncClient(base_url=api, timeout=HTTP_TIMEOUT) as http:
        checks.extend(db_checks)
        health = await api_health(http)
        checks.append(api_health_check(health, settings, api))
        canaries = Canaries(http, conn, settings, options)
        leftovers = 0
        try:
            leftovers = await canaries.sweep()
            checks.extend(await _guarded("queue", canaries.queue_and_errors()))
            checks.append(retry_check(settings))
            checks.extend(await _guarded("transaction consistency",
                                         consistency_checks(conn, settings)))
            checks.extend(await _guarded("performance under load", _one(canaries.under_load())))
            checks.extend(await _guarded("security", security_checks(http, settings, health)))
            checks.extend(await _guarded("security", row_security_checks(conn, settings)))
        finally:
            checks.append(await canaries.clean_up(leftovers))
    return checks, settings, api


async def _guarded(section: str, run: Awaitable[list[Check]]) -> list[Check]:
    """The section's checks; a check that breaks becomes a ✗ line instead of ending the
    run (the cleanup must still happen, and the other sections still be shown)."""
    try:
        return await run
    except Exception as exc:  # a bug or an unforeseen answer: report it, go on
        return [Check(section, f"{section} checks ran", False,
                      f"the check itself failed: {type(exc).__name__}: {str(exc)[:200]}")]


async def _one(check: Awaitable[Check]) -> list[Check]:
    return [await check]
