"""The operator's commands, straight against the database: ``migrate``, ``retry``,
``token``, ``validate``, ``grant-service-role`` and the worker's health check
(``status`` is in ``status``, ``move-files`` in ``files``).

Each opens what it needs (the configured database, or the embedded server in
``NAVIGATOR_HOME/pgdata``), does its one thing and closes it again. Database
trouble becomes :class:`CommandFailed` with a message naming the database but
never its password.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from datetime import timedelta

import asyncpg

from entrypoints.cli.database import (
    database,
    database_errors,
    operator_errors,
    reason,
    running_container,
)
from entrypoints.cli.outcomes import FAILED, OK, CommandFailed, UsageError
from entrypoints.container.database import (
    DATABASE_TROUBLE,
    SERVICE_POLICY,
    PostgresOperatorQueries,
    RoleError,
    SchemaStatus,
    connect,
    describe_dsn,
    grant_service_role,
    run_migrations,
    schema_status,
)
from entrypoints.settings import Settings
from entrypoints.tokens import DEV_ISSUER, jwt_secret, mint_token, token_issuer

CHECK_TIMEOUT = 5.0


# -- migrate -------------------------------------------------------------------------------


def command_migrate(args: argparse.Namespace, settings: Settings) -> int:
    settings = settings.for_migrations()
    if args.status:
        status = asyncio.run(_migration_status(settings))
        print(render_migrations(status))
        return OK if status.up_to_date else FAILED
    return asyncio.run(_migrate(settings))


async def _migration_status(settings: Settings) -> SchemaStatus:
    async with database(settings) as dsn:
        with database_errors():
            conn = await connect(dsn)
            try:
                return await schema_status(conn, settings.database_schema)
            finally:
                await conn.close()


def render_migrations(status: SchemaStatus) -> str:
    """One line per migration: state, file, checksum, when it was applied."""
    lines = [f"migrations of schema {status.schema}"
             + ("" if status.exists else " (the schema does not exist yet)")]
    width = max(len(m.filename) for m in status.migrations)
    for m in status.migrations:
        checksum = m.file_checksum or m.recorded_checksum or ""
        line = f"  {m.state:<10}  {m.filename:<{width}}  {checksum}"
        if m.applied_at is not None:
            line += f"  {m.applied_at:%Y-%m-%d %H:%M:%S %Z}".rstrip()
        lines.append(line)
        if m.state in ("changed", "superseded") and m.recorded_checksum:
            lines.append(f"  {'':<10}  {'recorded as':>{width}}  {m.recorded_checksum}")
    counts = {state: sum(m.state == state for m in status.migrations)
              for state in ("applied", "superseded", "newer", "pending", "changed", "missing")}
    lines.append(", ".join(f"{n} {state}" for state, n in counts.items() if n or
                           state in ("applied", "pending")))
    if status.pending:
        lines.append("pending migrations: run `navigator migrate` to apply them")
    if counts["changed"]:
        lines.append("changed migrations: `navigator migrate` refuses to run; restore the "
                     "files as this schema recorded them and put changes in new migrations "
                     "(docs/OPERATIONS.md)")
    if counts["newer"]:
        lines.append("newer migrations: expand steps of a later release; this code runs on "
                     "them (as after a rollback) and `navigator migrate` leaves them be")
    if counts["missing"]:
        lines.append("missing migrations: this code is older than the database and one of "
                     "them is a gap, a contract step or of unknown step; deploy the release "
                     "that added them")
    return "\n".join(lines)


async def _migrate(settings: Settings) -> int:
    async with database(settings) as dsn:
        with database_errors():
            applied = await run_migrations(dsn, settings.database_schema,
                                           settings.rag_vector_dimension)
        where = f"schema {settings.database_schema} at {describe_dsn(dsn)}"
        if applied:
            print(f"applied {len(applied)} migration(s) to {where}:")
            for name in applied:
                print(f"  {name}")
        else:
            print(f"{where} is up to date; nothing to apply")
    return OK


# -- grant-service-role ----------------------------------------------------------------------


def command_grant_service_role(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_grant_service_role(settings, args.role))


async def _grant_service_role(settings: Settings, role: str) -> int:
    schema = settings.database_schema
    async with database(settings) as dsn:
        with database_errors():
            conn = await connect(dsn)
            try:
                grant = await grant_service_role(conn, schema, role)
            except RoleError as exc:
                raise CommandFailed(str(exc)) from None
            finally:
                await conn.close()
    done = "granted" if grant.statements else "already had"
    print(f"{role} {done} read and write rights on the {len(grant.tables)} tables of schema "
          f"{schema}, through row-level security policy {SERVICE_POLICY}, and no right to "
          "change them; `navigator migrate` extends this to tables later migrations add")
    return OK


# -- what the commands that read the queue check first ------------------------------


async def require_migrated(dsn: str, settings: Settings) -> SchemaStatus:
    conn = await connect(dsn)
    try:
        status = await schema_status(conn, settings.database_schema)
    finally:
        await conn.close()
    if not status.exists or not status.applied:
        raise CommandFailed(
            f"schema {settings.database_schema} has no tables yet at {describe_dsn(dsn)}: "
            "run `navigator migrate` first"
        )
    return status


# -- retry ---------------------------------------------------------------------------------


def command_retry(args: argparse.Namespace, settings: Settings) -> int:
    try:
        job_id = uuid.UUID(args.job_id)
    except ValueError:
        raise UsageError(f"JOB_ID must be a job's UUID (got {args.job_id!r})") from None
    return asyncio.run(_retry(settings, job_id))


async def _retry(settings: Settings, job_id: uuid.UUID) -> int:
    async with running_container(settings) as container:
        with operator_errors(f"job {job_id} in schema {settings.database_schema}"):
            job = await container.retry_failed_job()(job_id, by="operator")
    print(f"job {job_id} will run again from {job.status} (attempts reset; history kept)")
    return OK


# -- token ---------------------------------------------------------------------------------


def command_token(args: argparse.Namespace, settings: Settings) -> int:
    if not 0 < args.hours <= 24 * 365:
        raise UsageError(f"--hours must be between 0 and 8760 (got {args.hours:g})")
    if not args.member.strip():
        raise UsageError("--member must not be empty")
    secret = jwt_secret(settings)
    if not settings.is_development:
        print(f"warning: minting a token with the {settings.environment} secret; anyone "
              "holding it acts as that member", file=sys.stderr)
    print(mint_token(secret, args.member, ttl=timedelta(hours=args.hours),
                     issuer=token_issuer(settings) or DEV_ISSUER))
    return OK


# -- worker --check --------------------------------------------------------------------------


def check_worker(settings: Settings) -> int:
    """One line and an exit code: can a worker reach its database and poll the queue?"""
    ok, message = asyncio.run(_check_worker(settings))
    print(message)
    return OK if ok else 1


async def _check_worker(settings: Settings) -> tuple[bool, str]:
    try:
        async with database(settings) as dsn, asyncio.timeout(CHECK_TIMEOUT):
            conn = await connect(dsn, connect_timeout=CHECK_TIMEOUT)
            try:
                queries = PostgresOperatorQueries(conn, settings.database_schema)
                ready = await queries.ready_to_claim()
            finally:
                await conn.close()
    except CommandFailed as exc:
        return False, f"unhealthy: {exc}"
    except asyncpg.UndefinedTableError:
        return False, (f"unhealthy: schema {settings.database_schema} has no job table; "
                       "run `navigator migrate`")
    except DATABASE_TROUBLE as exc:
        return False, f"unhealthy: {reason(exc)}"
    return True, (f"healthy: database reachable, {ready} job(s) ready to claim in schema "
                  f"{settings.database_schema}")


# -- validate --------------------------------------------------------------------------------


def command_validate(args: argparse.Namespace, _settings: object = None) -> int:
    """The deployment checklist (``entrypoints/cli/validate``); loads the settings itself,
    so that settings which do not load are one ✗ line like any other problem."""
    from entrypoints.cli import validate

    if args.load < 1 or args.timeout <= 0:
        raise UsageError("--load must be at least 1 and --timeout positive")
    if args.api and not args.api.startswith(("http://", "https://")):
        raise UsageError(f"--api must be an http(s) URL such as "
                         f"https://api-service-staging.onrender.com (got {args.api!r})")
    options = validate.Options(api=args.api, member=args.member, token=args.token,
                               load=args.load, timeout=args.timeout)
    checks, settings, api = asyncio.run(validate.validate(options=options))
    if args.json:
        print(validate.render_json(checks, settings, api))
    else:
        print(validate.render_text(checks))
    return 1 if any(not c.passed for c in checks) else OK
