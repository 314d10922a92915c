"""PostgreSQL stops while members' uploads stream in from many clients at once.

What must hold, whatever the timing: every request gets a complete HTTP answer (no
connection dropped or cut short), no answer is a 5xx other than 503 (which comes
with ``Retry-After`` and, for an upload, says whether it was stored), every upload
that was accepted is processed to the end once the database is back, and no member
has the same bytes stored twice, although clients send an upload again after a 503
the way a careful app would (after ``Retry-After``, on the same keep-alive
connection).

The test runs once per way of reaching the database (:data:`DATABASE_PATHS`): the
services connect directly, or through a pooler in front of the same server. Each
path is a context manager that takes the server's DSN and yields the DSN the
services use.

The figures of a run (uploads, answers by status, dropped connections) are printed
on one line starting with ``outage figures:`` (``pytest -s`` shows it).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager as ContextManager
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from tests.e2e.conftest import Deployment, drop_schema, make_deployment, wait_for
from tests.e2e.test_database_restart import RestartablePostgres, restartable_postgres
from tests.pooler import running_pgbouncer

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

CLIENTS = 24  # concurrent clients, one member each; the odd ones are impatient
UPLOADS_PER_CLIENT = 14  # 336 uploads in all
IMPATIENT_RETRY_SECONDS = 0.2  # an app that does not wait for Retry-After
DOWN_AFTER = 120  # answers received before the database is stopped
# Each client holds its second half of uploads until the database is down, so the
# outage meets uploads however fast the first ones went (DOWN_AFTER is below the
# 168 uploads of the first halves, so those answers always come).
HELD_FROM = UPLOADS_PER_CLIENT // 2
OUTAGE_SECONDS = 3.0
GIVE_UP_SECONDS = 120.0  # a client stops resending an upload after this long


@contextlib.contextmanager
def direct(dsn: str) -> Iterator[str]:
    """The services connect to the server itself."""
    yield dsn


#: Ways of reaching the database: name -> (server DSN -> context yielding the DSN the
#: services use): directly, or through PgBouncer in transaction and in session mode, as
#: through Supavisor's ports 6543 and 5432.
DATABASE_PATHS: dict[str, Callable[[str], ContextManager[str]]] = {
    "direct": direct,
    "pgbouncer-transaction": lambda dsn: running_pgbouncer(dsn, "transaction"),
    "pgbouncer-session": lambda dsn: running_pgbouncer(dsn, "session"),
}


@attrs.define
class Tally:
    """Every request's outcome, from all clients (thread-safe)."""

    lock: threading.Lock = attrs.Factory(threading.Lock)
    statuses: Counter[int] = attrs.Factory(Counter)
    dropped: list[str] = attrs.Factory(list)
    bad_503s: list[str] = attrs.Factory(list)
    stored: Counter[str] = attrs.Factory(Counter)  # what each upload's 503 said of it
    accepted: dict[tuple[str, str], str] = attrs.Factory(dict)  # (member, name) -> job id
    unanswered: list[str] = attrs.Factory(list)  # uploads still refused when giving up
    answered: int = 0

    def record(self, response: httpx.Response) -> None:
        with self.lock:
            self.statuses[response.status_code] += 1
            self.answered += 1
            if response.status_code == 503:
                if _a_good_503(response):
                    self.stored[json.dumps(response.json()["stored"])] += 1
                else:
                    self.bad_503s.append(response.text[:300])

    def record_dropped(self, error: Exception) -> None:
        with self.lock:
            self.dropped.append(f"{type(error).__name__}: {error}")

    def figures(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": sum(self.statuses.values()) + len(self.dropped),
                "uploads": CLIENTS * UPLOADS_PER_CLIENT,
                "accepted": len(self.accepted),
                "202": self.statuses[202], "200": self.statuses[200],
                "503": self.statuses[503],
                "503_stored": dict(self.stored),  # "false": not stored, "null": unknown
                "other_5xx": sum(n for s, n in self.statuses.items() if s >= 500 and s != 503),
                "other": {s: n for s, n in self.statuses.items()
                          if s not in (200, 202) and s < 500},
                "dropped": len(self.dropped),
            }


def _a_good_503(response: httpx.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return (response.headers.get("content-type", "").startswith("application/problem+json")
            and response.headers.get("retry-after", "").isdigit()
            and "stored" in body)


def document(member: str, number: int) -> tuple[str, bytes]:
    """A small document of its own: no two are the same bytes."""
    text = (f"Summary of benefits for {member}, plan year 2026, document {number}.\n"
            f"Deductible: ${250 + number} per year. Out-of-pocket maximum: "
            f"${1500 + 10 * number}.\n") * 40
    return f"benefits-{number}.txt", text.encode()


def client_run(deployment: Deployment, member: str, tally: Tally, patient: bool,
               down: threading.Event) -> None:
    """Upload this member's documents one after another, the second half once the
    database is ``down``; after a 503 wait (for Retry-After if ``patient``) and send the
    same bytes again, on the same connection pool."""
    with deployment.client(member) as client:
        for number in range(UPLOADS_PER_CLIENT):
            if number == HELD_FROM and not down.wait(timeout=GIVE_UP_SECONDS):
                with tally.lock:
                    tally.unanswered.append(f"{member}: the database never went down")
                return
            name, data = document(member, number)
            started = time.monotonic()
            while True:
                try:
                    response = client.post("/api/v1/documents",
                                           files={"file": (name, data, "text/plain")})
                except httpx.TransportError as error:  # no complete answer: dropped
                    tally.record_dropped(error)
                    time.sleep(1.0)
                    continue
                tally.record(response)
                if response.status_code in (200, 202):
                    with tally.lock:
                        tally.accepted[(member, name)] = response.json()["job"]["id"]
                    break
                if time.monotonic() - started > GIVE_UP_SECONDS:
                    with tally.lock:
                        tally.unanswered.append(f"{member}/{name}: {response.status_code}")
                    break
                time.sleep(float(response.headers.get("retry-after", "1")) if patient
                           else IMPATIENT_RETRY_SECONDS)


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[RestartablePostgres]:
    with restartable_postgres("navigator-e2e-outage-") as server:
        yield server


@pytest.fixture(params=sorted(DATABASE_PATHS))
def deployment(request: pytest.FixtureRequest, own_postgres: RestartablePostgres,
               tmp_path: Path) -> Iterator[Deployment]:
    with DATABASE_PATHS[request.param](own_postgres.dsn) as dsn:
        deployment = make_deployment(own_postgres.dsn, tmp_path,
                                     WORKER_CONCURRENCY="4")
        deployment.env["DATABASE_URL"] = dsn  # the services' way in; migrations ran direct
        try:
            yield deployment
        finally:
            deployment.stop_all()
            drop_schema(own_postgres.dsn, deployment.schema)


def test_uploads_ride_out_a_database_outage_with_no_500_and_no_dropped_connection(
    own_postgres: RestartablePostgres, deployment: Deployment,
) -> None:
    api = deployment.start_api()
    worker = deployment.start_worker()
    tally = Tally()
    down = threading.Event()
    members = [f"member-outage-{n:02d}" for n in range(CLIENTS)]
    clients = [threading.Thread(target=client_run,
                                args=(deployment, m, tally, n % 2 == 0, down), daemon=True)
               for n, m in enumerate(members)]
    for client in clients:
        client.start()

    wait_for(lambda: tally.answered >= DOWN_AFTER, f"{DOWN_AFTER} answers", 120,
             interval=0.01, logs=deployment.logs)
    assert httpx.get(deployment.url + "/health/started", timeout=10).status_code == 200
    own_postgres.stop_server()
    went_down = time.monotonic()
    down.set()
    # Meanwhile the platform's check still passes (no restart of a healthy process),
    # while readiness says the truth.
    wait_for(lambda: httpx.get(deployment.url + "/health/ready", timeout=10).status_code
             == 503, "/health/ready to answer 503", 15, logs=deployment.logs)
    assert httpx.get(deployment.url + "/health/live", timeout=10).status_code == 200
    assert httpx.get(deployment.url + "/health/started", timeout=10).status_code == 200
    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - went_down)))
    own_postgres.start_server()

    for client in clients:
        client.join(timeout=GIVE_UP_SECONDS + 60)
    figures = tally.figures()

    print("outage figures (before completion):", json.dumps(figures))
    assert not any(client.is_alive() for client in clients)
    assert tally.dropped == [], tally.dropped[:5]
    assert figures["other_5xx"] == 0, (figures, deployment.logs())
    assert figures["503"] > 0, figures  # the outage was met
    assert tally.bad_503s == [], tally.bad_503s[:3]
    assert tally.unanswered == [], tally.unanswered[:5]
    assert figures["other"] == {}, figures

    # every upload that was accepted is processed to the end, each stored once
    expected = len(tally.accepted)
    assert expected == CLIENTS * UPLOADS_PER_CLIENT

    def all_complete() -> bool:
        rows = deployment.sql("SELECT status, count(*) AS n FROM {s}.upload_jobs "
                              "GROUP BY status")
        return {r["status"]: r["n"] for r in rows} == {"complete": expected}

    wait_for(all_complete, "every accepted upload to complete", 300, interval=0.5,
             logs=deployment.logs)
    print("outage figures:", json.dumps(figures))
    twice = deployment.sql("SELECT user_id, sha256, count(*) AS n FROM {s}.documents "
                           "GROUP BY user_id, sha256 HAVING count(*) > 1")
    assert twice == []
    stored = deployment.sql("SELECT count(*) AS n FROM {s}.documents")[0]["n"]
    assert stored == expected
    jobs = {str(r["job_id"]) for r in deployment.sql("SELECT job_id FROM {s}.upload_jobs")}
    assert set(tally.accepted.values()) <= jobs  # every 202/200 names a stored job
    assert api.alive() and worker.alive()
    assert worker.stop() == 0, worker.tail()
    assert api.stop() == 0, api.tail()
