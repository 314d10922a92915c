"""The retry policy in force and its delays, and the SQL invariants over the schema."""

from __future__ import annotations

import asyncpg

from entrypoints.cli.validate.results import Check
from entrypoints.container import build_container
from entrypoints.container.database import DATABASE_TROUBLE, PostgresInvariants
from entrypoints.settings import Settings

# -- retry logic and consistency ---------------------------------------------------------


def retry_check(settings: Settings) -> Check:
    # the policy these settings give: the workers' own, when their WORKER_MAX_RETRIES and
    # WORKER_RETRY_* are the ones this shell has (the blueprint sets them on the worker)
    policy = build_container(settings).retry_policy()
    delays = policy.schedule()
    if not delays:
        detail = "WORKER_MAX_RETRIES is 0: a passing error fails a job at once"
    else:
        shown = ", ".join(f"{d:g}s" for d in delays)
        detail = (f"a passing error is retried {len(delays)} time(s), after {shown} "
                  f"(each up to {policy.jitter:.0%} shorter by jitter, never over "
                  f"{policy.max_delay:g}s; longer if the provider asks); then the job "
                  "fails. Permanent errors fail at once")
    detail += ("; as WORKER_MAX_RETRIES and WORKER_RETRY_* are set where this runs (a "
               "worker with other values retries by its own)")
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
