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

import asyncio
import contextlib
import json
import secrets
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import asyncpg
import attrs
import httpx
import jwt

from adapters.clock import SystemClock
from adapters.hosted_key_checks import (
    KeyCheck,
    check_anthropic_key,
    check_llamaparse_key,
    check_openai_key,
)
from adapters.postgres.connection import (
    connect,
    describe_dsn,
    jobs_channel,
    resolve_pooler_mode,
    vector_schema,
)
from adapters.postgres.errors import DATABASE_TROUBLE, PoolerMismatch
from adapters.postgres.invariants import PostgresCanaryRows, PostgresInvariants
from adapters.postgres.migrations import schema_status
from adapters.postgres.roles import role_in_use, row_security
from adapters.postgres.workers import PostgresWorkerRegistry
from domain.retry import RetryPolicy
from domain.status import PIPELINE_ORDER, JobStatus
from entrypoints.cli_database import database, reason
from entrypoints.cli_outcomes import CommandFailed
from entrypoints.settings import Settings, SettingsError, load_settings
from entrypoints.tokens import DEV_ISSUER, jwt_secret, mint_token, token_issuer

VALIDATION_MEMBER = "navigator-validation"
#: The statuses a document passes through on its way to complete, in order.
PIPELINE: tuple[JobStatus, ...] = tuple(s for s in PIPELINE_ORDER if s is not JobStatus.FAILED)
#: The schema the *other* environment lives in: never to be this one's.
OTHER_ENVIRONMENT_SCHEMA = {"staging": "upload_pipeline", "production": "upload_pipeline_staging"}
FOREIGN_ORIGIN = "https://validation-probe.invalid"
DOCUMENTS = "/api/v1/documents"
#: Every canary's file name starts so; cleanup deletes nothing else.
CANARY_PREFIX = "navigator-validate-"
POLL_SECONDS = 0.2
HTTP_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
CHECK_TIMEOUT = 5.0
TOKEN_TTL = timedelta(hours=1)
_DATABASE_FAILED: tuple[type[Exception], ...] = (CommandFailed, *DATABASE_TROUBLE)


# -- results --------------------------------------------------------------------------------


@attrs.frozen
class Check:
    """One item of the checklist: its section, what was checked, and what was found."""

    section: str
    what: str
    passed: bool
    detail: str = ""
    data: dict[str, Any] = attrs.field(factory=dict, eq=False)

    def line(self) -> str:
        mark = "✓" if self.passed else "✗"
        return f"{mark} {self.what}" + (f": {self.detail}" if self.detail else "")

    def as_json(self) -> dict[str, Any]:
        return {"section": self.section, "item": self.what, "passed": self.passed,
                "detail": self.detail, **({"data": self.data} if self.data else {})}


@attrs.frozen
class Options:
    api: str | None = None
    member: str = VALIDATION_MEMBER
    token: str | None = None
    load: int = 5
    timeout: float = 120.0


def render_text(checks: list[Check]) -> str:
    lines: list[str] = []
    section = None
    for check in checks:
        if check.section != section:
            section = check.section
            lines.append(("\n" if lines else "") + section)
        lines.append(check.line())
    failed = sum(not c.passed for c in checks)
    lines.append("")
    lines.append(f"{len(checks) - failed} of {len(checks)} checks passed" if failed
                 else f"all {len(checks)} checks passed")
    return "\n".join(lines)


def render_json(checks: list[Check], settings: Settings | None, api: str | None) -> str:
    return json.dumps({
        "passed": all(c.passed for c in checks),
        "environment": settings.environment if settings else None,
        "schema": settings.database_schema if settings else None,
        "api": api,
        "checks": [c.as_json() for c in checks],
    }, indent=2)


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
    async with _database(settings) as (conn, db_checks), \
            httpx.AsyncClient(base_url=api, timeout=HTTP_TIMEOUT) as http:
        checks.extend(db_checks)
        health = await _health(http)
        checks.append(_api_health_check(health, settings, api))
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


# -- connectivity -----------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _database(settings: Settings
                    ) -> AsyncIterator[tuple[asyncpg.Connection | None, list[Check]]]:
    """A connection to the configured database (None if unreachable) and the checks
    of what it holds."""

    checks: list[Check] = []
    conn: asyncpg.Connection | None = None
    async with contextlib.AsyncExitStack() as stack:
        try:
            dsn = await stack.enter_async_context(database(settings))
            conn = await connect(dsn, connect_timeout=CHECK_TIMEOUT)
            stack.push_async_callback(conn.close)
            checks.append(Check("connectivity", "database reachable", True,
                                describe_dsn(dsn)))
            checks.extend(await _schema_checks(conn, settings, dsn))
        except _DATABASE_FAILED as exc:
            what = "database answers" if conn is not None else "database reachable"
            checks.append(Check("connectivity", what, False, reason(exc)))
        yield conn, checks


async def _schema_checks(conn: asyncpg.Connection, settings: Settings, dsn: str
                         ) -> list[Check]:
    schema = settings.database_schema
    extension = await vector_schema(conn)
    checks = [Check("connectivity", "pgvector present", extension is not None,
                    f"extension vector in schema {extension}" if extension
                    else "run `navigator migrate` or CREATE EXTENSION vector")]
    status = await schema_status(conn, schema)
    checks.append(Check("connectivity", "schema present", status.exists,
                        schema if status.exists else f"{schema} is missing: run "
                                                     "`navigator migrate`"))
    if status.changed:
        checks.append(Check("connectivity", "migrations unchanged", False,
                            "changed after being applied: " + ", ".join(status.changed)))
    else:
        checks.append(Check("connectivity", "migrations unchanged", True))
    latest = max((m.version for m in status.applied), default=None)
    checks.append(Check(
        "connectivity", "migrations applied", not status.pending and status.exists,
        f"version {latest}" if not status.pending
        else "pending: " + ", ".join(status.pending) + " (run `navigator migrate`)",
    ))
    stored = status.vector_dimension
    checks.append(Check(
        "connectivity", "vector dimension", stored == settings.rag_vector_dimension,
        f"{stored} = RAG_VECTOR_DIMENSION" if stored == settings.rag_vector_dimension
        else f"the schema stores {stored} dimensions, RAG_VECTOR_DIMENSION is "
             f"{settings.rag_vector_dimension}",
    ))
    checks.append(await _worker_check(conn, settings, status.exists))
    checks.extend(await role_checks(conn, settings, dsn))
    return checks


async def role_checks(conn: asyncpg.Connection, settings: Settings, dsn: str
                      ) -> list[Check]:
    """The role in use and the pooler mode the services will use, as they detect it
    at start-up (docs/OPERATIONS.md, "Roles and row-level security" and "Poolers")."""
    role = await role_in_use(conn, settings.database_schema)
    setting = settings.database_pooler_mode
    try:
        mode = await resolve_pooler_mode(conn, dsn, setting, CHECK_TIMEOUT)
    except PoolerMismatch as exc:
        pooler = Check("connectivity", "pooler mode", False, str(exc),
                       {"pooler_setting": setting})
    else:
        what = ("transaction pooler: no prepared statements or session settings kept; "
                "workers poll" if mode == "transaction"
                else "direct connection or session pooler")
        pooler = Check("connectivity", "pooler mode", True,
                       f"{what} (DATABASE_POOLER_MODE={setting})",
                       {"pooler_setting": setting, "pooler_mode": mode})
    return [
        Check("connectivity", "database role", True, role.describe(),
              {"role": role.name, "superuser": role.superuser, "bypassrls": role.bypassrls,
               "owner": role.owns_tables, "service_policy": role.service_policy}),
        pooler,
    ]


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


async def _worker_check(conn: asyncpg.Connection, settings: Settings, exists: bool) -> Check:
    what = "live worker"
    if not exists:
        return Check("connectivity", what, False,
                     "no schema, so no worker can have registered in it")
    window = settings.live_worker_window
    registry = PostgresWorkerRegistry(conn, SystemClock(), settings.database_schema)
    rows = await registry.live(window)
    if not rows:
        return Check("connectivity", what, False,
                     f"no worker reported in to schema {settings.database_schema} in the last "
                     f"{window.total_seconds():g}s; start `navigator worker` with this "
                     f"DATABASE_URL and DATABASE_SCHEMA (notices on channel "
                     f"{jobs_channel(settings.database_schema)})")
    ids = [w.worker_id for w in rows]
    return Check("connectivity", what, True, f"{len(ids)}: {', '.join(ids[:5])}")


@attrs.frozen
class Health:
    """What the API's ``/health`` answered (``body`` empty when it did not answer)."""

    status_code: int | None
    body: dict[str, Any]
    error: str = ""

    @property
    def schema(self) -> str | None:
        database = self.body.get("database")
        return database.get("schema") if isinstance(database, dict) else None


async def _health(http: httpx.AsyncClient) -> Health:
    try:
        response = await http.get("/health", timeout=CHECK_TIMEOUT * 2)
    except httpx.HTTPError as exc:
        return Health(None, {}, f"cannot reach {http.base_url}/health: "
                                f"{type(exc).__name__}")
    try:
        body = response.json()
    except ValueError:
        body = {}
    return Health(response.status_code, body if isinstance(body, dict) else {})


def _api_health_check(health: Health, settings: Settings, api: str) -> Check:
    what = "API reaches the database"
    if health.status_code is None:
        return Check("connectivity", what, False, health.error)
    database = health.body.get("database") or {}
    if health.status_code != 200 or not database.get("reachable"):
        return Check("connectivity", what, False,
                     f"{api}/health answered {health.status_code} "
                     f"({health.body.get('status', '?')}): the API cannot reach its database")
    if health.schema != settings.database_schema:
        return Check("connectivity", what, False,
                     f"the API uses schema {health.schema}, this check "
                     f"{settings.database_schema}: give both the same DATABASE_SCHEMA")
    if not database.get("schema_present") or database.get("pending_migrations"):
        return Check("connectivity", what, False,
                     f"the API's schema {health.schema} is missing or not migrated: run "
                     "`navigator migrate`")
    live = (health.body.get("workers") or {}).get("live", 0)
    return Check("connectivity", what, True,
                 f"{api}/health: {health.body.get('status')}, schema {health.schema}, "
                 f"{live} live worker(s) seen by the API")


# -- the canaries -----------------------------------------------------------------------


class CanaryError(Exception):
    """A canary could not be uploaded or followed; the message says why."""


@attrs.define
class Canary:
    name: str
    document_id: str
    job_id: str
    sent_at: float
    job: dict[str, Any] = attrs.Factory(dict)
    finished_at: float | None = None
    deleted: bool = False

    @property
    def status(self) -> str:
        return str(self.job.get("status", "uploaded"))

    @property
    def seconds(self) -> float | None:
        return None if self.finished_at is None else self.finished_at - self.sent_at


class Canaries:
    """Canary documents of the validation member: uploaded, followed and deleted
    through the API; counted (and, as a last resort, deleted) by SQL."""

    def __init__(self, http: httpx.AsyncClient, conn: asyncpg.Connection | None,
                 settings: Settings, options: Options) -> None:
        self._http = http
        self._rows = PostgresCanaryRows(conn, settings.database_schema) if conn else None
        self._options = options
        self._run = uuid.uuid4().hex[:12]
        self._created: list[Canary] = []
        self._first_completed = False
        self.token, self.member, self.token_problem = _canary_token(settings, options)

    @property
    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    # -- the checks ---------------------------------------------------------------

    async def queue_and_errors(self) -> list[Check]:
        if self.token is None:
            reason = f"no token for the canaries: {self.token_problem}"
            return [Check("queue", "canary document processed", False, reason),
                    Check("queue", "canary history holds all ten statuses", False, reason),
                    Check("queue", "canary deleted", False, reason),
                    Check("error handling", "damaged canary fails with its reason", False,
                          reason)]
        try:
            good, damaged = await asyncio.gather(
                self._upload("canary.md", _canary_text(self._run, 0)),
                self._upload("damaged-canary.pdf", _damaged_pdf(self._run)),
            )
        except CanaryError as exc:
            failure = f"upload refused: {exc}"
            return [Check("queue", "canary document processed", False, failure),
                    Check("queue", "canary history holds all ten statuses", False, failure),
                    Check("queue", "canary deleted", False, failure),
                    Check("error handling", "damaged canary fails with its reason", False,
                          failure)]
        await asyncio.gather(self._follow(good), self._follow(damaged))
        checks = [self._processed_check(good), _history_check(good),
                  await self._delete_check(good), _damaged_check(damaged)]
        self._first_completed = good.status == "complete"
        return checks

    async def under_load(self) -> Check:
        n = self._options.load
        what = f"{n} canaries at once"
        if self.token is None:
            return Check("performance under load", what, False,
                         f"no token for the canaries: {self.token_problem}")
        if not self._first_completed:
            return Check("performance under load", what, False,
                         "not run: the single canary did not complete")
        try:
            batch = await asyncio.gather(*(
                self._upload(f"load-canary-{i}.md", _canary_text(self._run, i + 1))
                for i in range(n)))
        except CanaryError as exc:
            return Check("performance under load", what, False, f"upload refused: {exc}")
        await asyncio.gather(*(self._follow(c) for c in batch))
        times = sorted(c.seconds for c in batch
                       if c.status == "complete" and c.seconds is not None)
        done = len(times)
        data: dict[str, Any] = {"canaries": n, "complete": done}
        if times:
            data.update(median_seconds=round(statistics.median(times), 3),
                        worst_seconds=round(times[-1], 3))
        figures = (f"median {data['median_seconds']:.2f}s, worst {data['worst_seconds']:.2f}s "
                   f"from upload to complete (polled every {POLL_SECONDS:g}s)") if times else ""
        if done < n:
            others = ", ".join(sorted({c.status for c in batch if c.status != "complete"}))
            return Check("performance under load", what, False,
                         f"{done} of {n} complete within {self._options.timeout:g}s "
                         f"(others: {others})" + (f"; {figures}" if figures else ""), data)
        return Check("performance under load", what, True, f"{n} of {n} complete; {figures}",
                     data)

    # -- cleanup --------------------------------------------------------------------

    async def sweep(self) -> int:
        """Delete, through the API, documents the validation member kept from an
        interrupted earlier run. Returns how many."""
        if self.token is None:
            return 0
        removed = 0
        with contextlib.suppress(httpx.HTTPError):
            response = await self._http.get(DOCUMENTS, params={"limit": 100},
                                            headers=self._auth)
            if response.status_code == 200:
                for item in response.json().get("items", []):
                    if not str(item["document"]["filename"]).startswith(CANARY_PREFIX):
                        continue  # not a canary: never touched
                    gone = await self._http.delete(f"{DOCUMENTS}/{item['document']['id']}",
                                                   headers=self._auth)
                    removed += gone.status_code == 204
        return removed

    async def clean_up(self, leftovers: int = 0) -> Check:
        """Delete every canary of this run through the API; whatever of this run is
        still there goes by SQL. Passes when nothing of this run's canaries is left."""
        if not self._created and self.token is None:
            return Check("cleanup", "nothing of the canaries left", True,
                         "no canary was created")
        failed_api = 0
        for canary in self._created:
            if canary.deleted:
                continue
            try:
                response = await self._http.delete(f"{DOCUMENTS}/{canary.document_id}",
                                                   headers=self._auth)
                canary.deleted = response.status_code in (204, 404)
            except httpx.HTTPError:
                pass
            failed_api += not canary.deleted
        earlier = f"; {leftovers} left by an earlier run removed" if leftovers else ""
        made = f"{len(self._created)} canaries of this run deleted through the API{earlier}"
        what = "nothing of the canaries left"
        if failed_api:
            removed = await self._delete_by_sql()
            return Check("cleanup", what, False,
                         f"{failed_api} canaries could not be deleted through the API; "
                         + (f"{removed} canary document(s) of {self.member} deleted by SQL"
                            if removed is not None else
                            f"delete member {self.member}'s documents named "
                            f"{self._run_prefix}* by hand"))
        if self._rows is not None:
            try:
                remaining = await self._rows.canaries_of_member(self.member,
                                                                self._run_prefix)
            except DATABASE_TROUBLE:
                pass  # e.g. a schema without tables: ask the API instead
            else:
                if remaining:
                    await self._delete_by_sql()
                    return Check("cleanup", what, False,
                                 f"{remaining} canary document(s) of {self.member} were still "
                                 "there "
                                 "after the API deleted them; deleted by SQL")
                return Check("cleanup", what, True,
                             f"{made}; no canary of member {self.member} remains")
        listed = await self._listed()
        if listed is None:
            return Check("cleanup", what, False,
                         f"{made}, but neither the database nor the API could confirm it")
        return Check("cleanup", what, listed == 0,
                     f"{made}; the API lists {listed} canary document(s) of {self.member} "
                     "(the database could not be checked from here)")

    @property
    def _run_prefix(self) -> str:
        """The file names of this run's canaries. SQL only ever deletes these: a name
        holding this run's random id exists only if this run uploaded it through the
        API, so neither another run's canaries nor the documents of a member named by a
        token the API refused can be touched."""
        return f"{CANARY_PREFIX}{self._run}-"

    async def _delete_by_sql(self) -> int | None:
        if self._rows is None:
            return None
        try:
            return await self._rows.delete_canaries(self.member, self._run_prefix)
        except DATABASE_TROUBLE:
            return None

    async def _listed(self) -> int | None:
        """How many canaries the API still lists (None if it cannot say)."""
        try:
            response = await self._http.get(DOCUMENTS, params={"limit": 100},
                                            headers=self._auth)
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        return sum(str(item["document"]["filename"]).startswith(CANARY_PREFIX)
                   for item in response.json().get("items", []))

    # -- one canary -------------------------------------------------------------------

    async def _upload(self, name: str, data: bytes) -> Canary:
        filename = f"{self._run_prefix}{name}"
        sent = time.monotonic()
        try:
            response = await self._http.post(DOCUMENTS, files={"file": (filename, data)},
                                             headers=self._auth)
        except httpx.HTTPError as exc:
            raise CanaryError(f"cannot reach the API: {type(exc).__name__}") from None
        if response.status_code not in (200, 202):
            raise CanaryError(f"{filename}: {response.status_code} {_problem(response)}")
        body = response.json()
        canary = Canary(filename, str(body["document"]["id"]), str(body["job"]["id"]), sent,
                        job=body["job"])
        self._created.append(canary)
        return canary

    async def _follow(self, canary: Canary) -> None:
        deadline = canary.sent_at + self._options.timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                response = await self._http.get(f"/api/v1/jobs/{canary.job_id}",
                                                headers=self._auth)
                if response.status_code == 200:
                    canary.job = response.json()
                    if canary.status in ("complete", "failed"):
                        canary.finished_at = time.monotonic()
                        return
            await asyncio.sleep(POLL_SECONDS)

    def _processed_check(self, canary: Canary) -> Check:
        what = "canary document processed"
        if canary.status == "complete" and canary.seconds is not None:
            return Check("queue", what, True,
                         f"uploaded as member {self.member}, complete in "
                         f"{canary.seconds:.2f}s", {"seconds": round(canary.seconds, 3)})
        if canary.status == "failed":
            return Check("queue", what, False,
                         f"failed at {canary.job.get('failed_stage')}: "
                         f"{canary.job.get('last_error')}")
        return Check("queue", what, False,
                     f"still {canary.status} after {self._options.timeout:g}s: is a worker "
                     "running on this database and schema?")

    async def _delete_check(self, canary: Canary) -> Check:
        what = "canary deleted"
        try:
            response = await self._http.delete(f"{DOCUMENTS}/{canary.document_id}",
                                               headers=self._auth)
            after = await self._http.get(f"{DOCUMENTS}/{canary.document_id}",
                                         headers=self._auth)
        except httpx.HTTPError as exc:
            return Check("queue", what, False, f"cannot reach the API: {type(exc).__name__}")
        if response.status_code != 204:
            return Check("queue", what, False,
                         f"DELETE answered {response.status_code} {_problem(response)}")
        canary.deleted = True
        if after.status_code != 404:
            return Check("queue", what, False,
                         f"the API still shows it after deleting it ({after.status_code})")
        if self._rows is None:
            return Check("queue", what, True, "the API no longer shows it (database not "
                                              "reachable from here to check its rows)")
        try:
            left = await self._rows.rows_of_document(canary.document_id, canary.job_id)
        except DATABASE_TROUBLE as exc:
            return Check("queue", what, False,
                         f"the API no longer shows it, but its rows cannot be checked in "
                         f"this schema: {type(exc).__name__}")
        if left:
            shown = ", ".join(f"{n} in {table}" for table, n in left.items())
            return Check("queue", what, False, f"rows left behind: {shown}")
        return Check("queue", what, True,
                     "no document, job, history, chunk or stored file of it remains")


def _history_check(canary: Canary) -> Check:
    what = "canary history holds all ten statuses"
    seen = [str(event.get("to_status")) for event in canary.job.get("history", [])]
    position = 0
    for status in seen:
        if position < len(PIPELINE) and status == PIPELINE[position]:
            position += 1
    if position == len(PIPELINE):
        retries = len(seen) - len(PIPELINE)
        extra = f" (and {retries} more from retries)" if retries else ""
        return Check("queue", what, True, " → ".join(PIPELINE) + extra)
    missing = PIPELINE[position]
    return Check("queue", what, False,
                 f"history {' → '.join(seen) or '(empty)'} lacks {missing} in its place")


def _damaged_check(canary: Canary) -> Check:
    what = "damaged canary fails with its reason"
    if canary.status == "failed" and canary.job.get("last_error"):
        return Check("error handling", what, True,
                     f"failed at {canary.job.get('failed_stage')} after "
                     f"{canary.job.get('attempts')} attempt(s): {canary.job['last_error']}")
    if canary.status == "failed":
        return Check("error handling", what, False, "failed, but no reason was recorded")
    return Check("error handling", what, False, f"ended {canary.status}, not failed")


def _canary_text(run: str, number: int) -> bytes:
    return (
        f"# Validation canary {number}\n\n"
        f"Run {run}, canary {number}, uploaded by `navigator validate` to check that a "
        "deployment takes a document from upload to search. It holds no member data "
        "and is deleted when the check ends.\n\n"
        "## Coverage summary\n\n"
        "The plan pays for covered services after the deductible. The out-of-pocket "
        "maximum limits what a member pays in a plan year.\n"
    ).encode()


def _damaged_pdf(run: str) -> bytes:
    # A PDF header and a start of an object, then garbage and no cross-reference
    # table: every reader refuses it as damaged.
    return (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R\n"
            + f"% validation canary {run}\n".encode() + secrets.token_bytes(256)
            + b"\nstartxref\n999999\n%%EOF\n")


def _canary_token(settings: Settings, options: Options) -> tuple[str | None, str, str]:
    """The canaries' token, their member, and why there is no token (if none)."""
    if options.token:
        try:
            claims = jwt.decode(options.token, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            return None, options.member, "--token is not a JWT"
        return options.token, str(claims.get("sub") or options.member), ""
    try:
        secret = jwt_secret(settings)
    except SettingsError as exc:
        return None, options.member, (
            "; ".join(exc.problems) + ", or pass --token with a token of a dedicated "
            "validation user")
    token = mint_token(secret, options.member, ttl=TOKEN_TTL,
                       issuer=token_issuer(settings) or DEV_ISSUER)
    return token, options.member, ""


def _problem(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase
    return str(body.get("detail", "")) if isinstance(body, dict) else response.reason_phrase


# -- retry logic and consistency ---------------------------------------------------------


def retry_check(settings: Settings) -> Check:
    policy = RetryPolicy(max_retries=settings.worker_max_retries,
                         base_delay=settings.worker_retry_base_delay,
                         max_delay=settings.worker_retry_max_delay)
    delays = policy.schedule()
    if not delays:
        detail = "WORKER_MAX_RETRIES is 0: a passing error fails a job at once"
    else:
        shown = ", ".join(f"{d:g}s" for d in delays)
        detail = (f"a passing error is retried {len(delays)} time(s), after {shown} "
                  f"(each up to {policy.jitter:.0%} shorter by jitter, never over "
                  f"{policy.max_delay:g}s; longer if the provider asks); then the job "
                  "fails. Permanent errors fail at once")
    return Check("retry logic", "retry policy", True, detail,
                 {"max_retries": policy.max_retries, "delays_seconds": list(delays),
                  "jitter": policy.jitter})


async def consistency_checks(conn: asyncpg.Connection | None, settings: Settings
                             ) -> list[Check]:
    if conn is None:
        return [Check("transaction consistency", "SQL invariants", False,
                      "the database cannot be reached")]
    try:
        results = await PostgresInvariants(conn, settings.database_schema).check()
    except (*DATABASE_TROUBLE, asyncpg.UndefinedTableError) as exc:
        return [Check("transaction consistency", "SQL invariants", False,
                      f"cannot run them on schema {settings.database_schema}: "
                      f"{type(exc).__name__}")]
    checks = []
    for result in results:
        if not result.applicable:
            detail = "no document_files table in this schema (bytes are not kept in it)"
        elif result.holds:
            detail = "holds"
        else:
            detail = (f"{result.violations} row(s) break it, e.g. "
                      + ", ".join(result.examples))
        checks.append(Check("transaction consistency", result.rule, result.holds, detail,
                            {"violations": result.violations}))
    return checks


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
