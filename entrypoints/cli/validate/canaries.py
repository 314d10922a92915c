"""Canary documents of the validation member: uploaded, followed and deleted through
the API, counted (and, as a last resort, deleted) by SQL; the queue, error-handling
and load sections are judged from what they went through."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import statistics
import time
import uuid
from typing import Any

import asyncpg
import attrs
import httpx
import jwt

from entrypoints.cli.validate.results import (
    CANARY_PREFIX,
    DOCUMENTS,
    PIPELINE,
    POLL_SECONDS,
    TOKEN_TTL,
    Check,
    Options,
)
from entrypoints.container.database import DATABASE_TROUBLE, PostgresCanaryRows
from entrypoints.settings import Settings, SettingsError
from entrypoints.tokens import DEV_ISSUER, jwt_secret, mint_token, token_issuer

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
