"""The checklist's connectivity section: this check reaches the database and the
schema (pgvector, migrations, vector size), a worker reported in, the API's
``/health`` sees the same schema, the role in use and the pooler mode."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import attrs
import httpx

from entrypoints.cli.database import database, reason
from entrypoints.cli.validate.results import CHECK_TIMEOUT, DATABASE_FAILED, Check
from entrypoints.container.database import (
    PoolerMismatch,
    connect,
    describe_dsn,
    jobs_channel,
    resolve_pooler_mode,
    role_in_use,
    schema_status,
    vector_schema,
    worker_registry_over,
)
from entrypoints.settings import Settings

# -- connectivity -----------------------------------------------------------------------


@contextlib.asynccontextmanager
async def database_checks(settings: Settings
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
        except DATABASE_FAILED as exc:
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


async def _worker_check(conn: asyncpg.Connection, settings: Settings, exists: bool) -> Check:
    what = "live worker"
    if not exists:
        return Check("connectivity", what, False,
                     "no schema, so no worker can have registered in it")
    window = settings.live_worker_window
    registry = worker_registry_over(conn, settings.database_schema)
    rows = await registry.live(window)
    if not rows:
        return Check("connectivity", what, False,
                     f"no worker reported in to schema {settings.database_schema} within three "
                     f"of its heartbeats ({window.total_seconds():g}s for one on these "
                     f"settings); start `navigator worker` with this "
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


async def api_health(http: httpx.AsyncClient) -> Health:
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


def api_health_check(health: Health, settings: Settings, api: str) -> Check:
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
    if database.get("refused_migrations"):
        return Check("connectivity", what, False,
                     f"the API's schema {health.schema} holds migrations this code cannot "
                     f"run with ({', '.join(database['refused_migrations'])}): "
                     "`navigator migrate --status` says why")
    if not database.get("schema_present") or database.get("pending_migrations"):
        return Check("connectivity", what, False,
                     f"the API's schema {health.schema} is missing or not migrated: run "
                     "`navigator migrate`")
    live = (health.body.get("workers") or {}).get("live", 0)
    return Check("connectivity", what, True,
                 f"{api}/health: {health.body.get('status')}, schema {health.schema}, "
                 f"{live} live worker(s) seen by the API")
