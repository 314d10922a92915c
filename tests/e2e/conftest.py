"""End to end: ``navigator api`` and ``navigator worker`` as real processes, over HTTP.

Each test module gets its own deployment (:class:`Deployment`): a schema of its
own on the test run's embedded server (``DATABASE_SCHEMA``), migrated with
``navigator migrate``, a free port, a temporary ``NAVIGATOR_HOME`` (blobs), a
fixed ``SUPABASE_JWT_SECRET``, and short worker timings (4 s leases, 1 s
heartbeats, 0.5 s rescue and poll) so crashes are recovered from in seconds.
Processes write their logs to files in the home; a failing wait shows their tail.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import attrs
import httpx
import pytest

from adapters.postgres.connection import connect
from entrypoints.tokens import mint_token
from tests.corpus import CORPUS_DIR, REPO_DIR
from tests.pooler import Poolers
from tests.ports import free_port

T = TypeVar("T")

SECRET = "e2e-test-secret-" + "9f3a" * 12
MEMBER = "member-e2e"
#: A bound on a service's start (it takes 2-4 s on a loaded 2-core machine). The waits
#: give it three times this, as tests/e2e/test_poolers.py does: they sit in
#: module-scoped fixtures, where one miss errors every test of the module, and a bound
#: costs nothing when the service is up sooner.
START_TIMEOUT = 30.0
FAST_WORKER = {
    "WORKER_CONCURRENCY": "2",
    "WORKER_POLL_INTERVAL": "0.5",
    "WORKER_LEASE_SECONDS": "4",
    "WORKER_HEARTBEAT_SECONDS": "1",
    "WORKER_RESCUE_INTERVAL": "0.5",
    "WORKER_RETRY_BASE_DELAY": "0.2",
    "WORKER_SHUTDOWN_GRACE": "5",
}


def navigator_command() -> list[str]:
    """The installed ``navigator`` script beside this interpreter, else the module."""
    script = Path(sys.executable).with_name("navigator")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "entrypoints.cli"]


def wait_for(check: Callable[[], T | None], what: str, timeout: float = 30.0,
             interval: float = 0.1, logs: Callable[[], str] | None = None) -> T:
    """Call ``check`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            tail = f"\n--- logs ---\n{logs()}" if logs else ""
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}{tail}")
        time.sleep(interval)


def member_client(url: str, member: str) -> httpx.Client:
    """An HTTP client of the API at ``url`` signed in as ``member``."""
    return httpx.Client(base_url=url, timeout=60,
                        headers={"Authorization": f"Bearer {mint_token(SECRET, member)}"})


def upload_and_follow(member: httpx.Client, names: tuple[str, ...], logs: Callable[[], str],
                      timeout: float = 120.0) -> dict[str, dict[str, Any]]:
    """Each corpus file of ``names`` uploaded over HTTP and followed to its end (its
    job, with history, by name)."""
    jobs = {}
    for name in names:
        response = member.post("/api/v1/documents",
                               files={"file": (name, (CORPUS_DIR / name).read_bytes())})
        assert response.status_code == 202, response.text
        jobs[name] = response.json()["job"]["id"]

    def done(job_id: str) -> dict[str, Any] | None:
        job: dict[str, Any] = member.get(f"/api/v1/jobs/{job_id}").json()
        return job if job["status"] in ("complete", "failed") else None

    return {name: wait_for(lambda j=job_id: done(j), f"{name} to finish", timeout,
                           interval=0.3, logs=logs)
            for name, job_id in jobs.items()}


@attrs.define
class Service:
    """One ``navigator`` process with its log file."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"[{self.name}]\n" + "\n".join(text.splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL: no shutdown, no lease given back (a crash)."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM and wait: the graceful way out."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return int(self.process.returncode)


@attrs.define
class Deployment:
    """An API and workers on one schema, the way an operator would run them."""

    dsn: str
    schema: str
    home: Path
    port: int
    env: dict[str, str]
    services: list[Service] = attrs.Factory(list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def run(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """Run a navigator command to its end (stdout and stderr captured)."""
        return subprocess.run([*navigator_command(), *args], env=self.env, cwd=REPO_DIR,
                              capture_output=True, text=True, timeout=timeout, check=False)

    def start(self, name: str, *args: str) -> Service:
        log = self.home / f"{name}-{len(self.services)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen([*navigator_command(), *args], env=self.env,
                                       cwd=REPO_DIR, stdout=out, stderr=subprocess.STDOUT)
        service = Service(name, process, log)
        self.services.append(service)
        return service

    def start_api(self) -> Service:
        api = self.start("api", "api")
        wait_for(lambda: self._answers() or not api.alive(), "the API to answer",
                 3 * START_TIMEOUT, logs=api.tail)
        assert api.alive(), api.tail()
        return api

    def start_worker(self) -> Service:
        worker = self.start("worker", "worker")
        wait_for(lambda: self._worker_registered(worker) or not worker.alive(),
                 "the worker to register", 3 * START_TIMEOUT, logs=worker.tail)
        assert worker.alive(), worker.tail()
        return worker

    def _answers(self) -> bool:
        try:
            return httpx.get(self.url + "/health", timeout=2).status_code in (200, 503)
        except httpx.HTTPError:
            return False

    def _worker_registered(self, worker: Service) -> bool:
        rows = self.sql("SELECT pid FROM {s}.workers")
        return any(r["pid"] == worker.pid for r in rows)

    def live_workers(self) -> int:
        try:
            body = httpx.get(self.url + "/health", timeout=5).json()
        except httpx.HTTPError:
            return 0
        return int(body["workers"]["live"])

    def logs(self) -> str:
        return "\n".join(service.tail() for service in self.services)

    def stop_all(self) -> None:
        for service in self.services:
            service.stop()

    # -- HTTP, as a member ---------------------------------------------------------------

    def client(self, member: str = MEMBER) -> httpx.Client:
        token = mint_token(SECRET, member)
        return httpx.Client(base_url=self.url, timeout=30,
                            headers={"Authorization": f"Bearer {token}"})

    def upload(self, client: httpx.Client, name: str, data: bytes | None = None
               ) -> httpx.Response:
        content = data if data is not None else (CORPUS_DIR / name).read_bytes()
        return client.post("/api/v1/documents", files={"file": (name, content)})

    def wait_until_done(self, client: httpx.Client, job_id: str, timeout: float = 60.0
                        ) -> dict[str, Any]:
        def finished() -> dict[str, Any] | None:
            response = client.get(f"/api/v1/jobs/{job_id}")
            if response.status_code != 200:
                return None
            job: dict[str, Any] = response.json()
            return job if job["status"] in ("complete", "failed") else None

        return wait_for(finished, f"job {job_id} to finish", timeout, interval=0.2,
                        logs=self.logs)

    # -- the database, as an operator ---------------------------------------------------------

    def sql(self, query: str, *args: object) -> list[asyncpg.Record]:
        """Run one query; ``{s}`` stands for the quoted schema."""

        async def fetch() -> list[asyncpg.Record]:
            conn = await connect(self.dsn)
            try:
                return list(await conn.fetch(query.replace("{s}", f'"{self.schema}"'), *args))
            finally:
                await conn.close()

        return asyncio.run(fetch())


def make_deployment(dsn: str, home: Path, service_dsn: str | None = None, **env: str
                    ) -> Deployment:
    """A migrated schema of its own (migrated over ``dsn``); the services reach the
    database over ``service_dsn`` (e.g. through a pooler), else ``dsn`` too."""
    schema = f"e2e_{uuid.uuid4().hex[:10]}"
    port = free_port()
    environment = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("OPENAI_", "LLAMAPARSE_", "DATABASE_", "SUPABASE_", "WORKER_",
                               "RAG_", "SERVICE_", "NAVIGATOR_"))
    }
    environment.update({
        "DATABASE_URL": dsn, "DATABASE_SCHEMA": schema, "NAVIGATOR_HOME": str(home),
        "SUPABASE_JWT_SECRET": SECRET, "SERVICE_HOST": "127.0.0.1", "SERVICE_PORT": str(port),
        "ENVIRONMENT": "test", "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1",
        "WORKER_METRICS_PORT": str(free_port()),
        **FAST_WORKER, **env,
    })
    deployment = Deployment(dsn, schema, home, port, environment)
    migrated = deployment.run("migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "0001_initial.sql" in migrated.stdout
    if service_dsn is not None:
        deployment.env["DATABASE_URL"] = service_dsn
    return deployment


def drop_schema(dsn: str, schema: str) -> None:
    async def drop() -> None:
        conn = await connect(dsn)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()

    asyncio.run(drop())


#: How a module's services may reach the database: directly, or through PgBouncer in
#: either mode. A module parametrizes its ``deployment`` with ``ROUTES`` to run its
#: tests every way (migrations and the tests' own queries always go direct).
ROUTES = ("direct", "transaction pooler", "session pooler")


@pytest.fixture(scope="module")
def route(request: pytest.FixtureRequest) -> str:
    """``direct`` unless the module parametrizes it (``indirect`` with ``ROUTES``)."""
    return str(getattr(request, "param", "direct"))


@pytest.fixture(scope="module")
def deployment(postgres_dsn: str, route: str, request: pytest.FixtureRequest,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """A migrated schema of this module's own, with nothing running yet; its services
    go through the pooler ``route`` names, if any."""
    service_dsn = None
    if route != "direct":
        poolers: Poolers = request.getfixturevalue("poolers")
        service_dsn = poolers.dsn(route.split()[0])  # type: ignore[arg-type]
    home = tmp_path_factory.mktemp("e2e-home")
    deployment = make_deployment(postgres_dsn, home, service_dsn)
    try:
        yield deployment
    finally:
        deployment.stop_all()
        drop_schema(postgres_dsn, deployment.schema)
        shutil.rmtree(home, ignore_errors=True)
