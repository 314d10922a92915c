"""What ships is what is tested: the package as ``render.yaml`` builds and runs it.

Every other test imports the code from the checkout (an editable install). This one
does what a Render deploy does, reading the commands from the blueprint itself:

1. the repository's tracked files are copied to a "clean clone" (``git ls-files``:
   nothing untracked, no build output) and a wheel is built from it, which must hold
   every migration;
2. a fresh virtualenv outside the repository runs the staging web service's
   ``buildCommand`` in the clean clone (the worker must have the same build);
3. from a working folder that is neither the source tree nor the clean clone, with
   only that virtualenv's ``bin`` on the front of PATH and the environment the
   blueprint gives the staging services, it runs ``preDeployCommand``, then the web
   service's and the worker's ``startCommand``;
4. a real PDF uploaded over HTTP reaches ``complete`` and search finds it.

The secrets the blueprint leaves to the operator (``sync: false``) get test values:
the test run's embedded PostgreSQL, a JWT secret, and keys of the fake Supabase
Auth, OpenAI, LlamaParse and Anthropic servers on 127.0.0.1 (so the hosted SDKs the
wheel installs are the ones exercised). What the test sets beyond the blueprint,
and why, is in :func:`overrides`.

The build installs from the package index (pip's configuration of the machine,
cache included): cold, it downloads every dependency.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
import yaml

from tests.corpus import REPO_DIR, corpus_bytes
from tests.e2e.conftest import drop_schema, wait_for
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.jwks_server import FakeSupabaseAuth, generate_key
from tests.fakes.llamaparse_server import FakeLlamaParse
from tests.fakes.openai_server import FakeOpenAI
from tests.ports import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

BUILD_TIMEOUT = 1200.0  # a cold pip cache downloads every dependency
START_TIMEOUT = 60.0
MEMBER = "member-artifact"
JWT_SECRET = "artifact-test-secret-" + "5eed" * 12
METRICS_TOKEN = "artifact-test-metrics-" + "3e71" * 12
OPERATOR_TOKEN = "artifact-test-operator-" + "70ce" * 12
ANON_KEY = "sb_publishable_artifact-test-anon-key"
DOCUMENT = "simulated_insurance_document.pdf"
#: What the build may take from the machine: how to reach the package index.
BUILD_PASSTHROUGH = ("HOME", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE", "HTTP_PROXY",
                     "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")


# -- the blueprint ---------------------------------------------------------------------------


@attrs.frozen
class BlueprintService:
    """One service of ``render.yaml`` with its environment resolved."""

    name: str
    type: str
    build: str
    pre_deploy: str | None
    start: str
    health_check: str | None
    env: Mapping[str, str]
    secrets: frozenset[str]


def read_blueprint(path: Path) -> list[BlueprintService]:
    blueprint = yaml.safe_load(path.read_text(encoding="utf-8"))
    groups = {group["name"]: group.get("envVars", [])
              for group in blueprint.get("envVarGroups", [])}
    return [_service(entry, groups) for entry in blueprint["services"]]


def _service(entry: dict[str, Any], groups: dict[str, list[dict[str, Any]]]
             ) -> BlueprintService:
    env: dict[str, str] = {}
    asked: set[str] = set()
    # Render applies a service's own variables over its groups'.
    entries = entry.get("envVars", [])
    for item in [e for e in entries if "fromGroup" in e] + [e for e in entries
                                                            if "fromGroup" not in e]:
        for var in groups[item["fromGroup"]] if "fromGroup" in item else [item]:
            if "value" in var:
                env[var["key"]] = str(var["value"])
                asked.discard(var["key"])
            elif var.get("sync") is False or var.get("generateValue"):
                asked.add(var["key"])
                env.pop(var["key"], None)
            else:
                raise AssertionError(
                    f"{entry['name']}: the artifact test cannot stand in for {var} yet")
    return BlueprintService(
        name=entry["name"], type=entry["type"], build=entry["buildCommand"],
        pre_deploy=entry.get("preDeployCommand"), start=entry["startCommand"],
        health_check=entry.get("healthCheckPath"), env=env, secrets=frozenset(asked),
    )


def staging_services(services: list[BlueprintService]
                     ) -> tuple[BlueprintService, BlueprintService]:
    """The staging web service and worker (ENVIRONMENT=staging)."""
    staging = [s for s in services if s.env.get("ENVIRONMENT") == "staging"]
    [web] = [s for s in staging if s.type == "web"]
    [worker] = [s for s in staging if s.type == "worker"]
    return web, worker


# -- the clean clone and its wheel -------------------------------------------------------------


def clean_clone(source: Path, target: Path) -> Path:
    """The tracked files of ``source`` as they are in its working tree."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=source, capture_output=True,
                            check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        origin = source / name
        if origin.is_file():  # a tracked file deleted in the working tree is not shipped
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target / name)
    return target


def build_environment(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k in BUILD_PASSTHROUGH or k.startswith(("PIP_", "UV_"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    return env


def run_shell(command: str, *, cwd: Path, env: Mapping[str, str], timeout: float
              ) -> subprocess.CompletedProcess[str]:
    """``command`` as Render runs it: one shell line."""
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=dict(env), text=True,
                          capture_output=True, timeout=timeout, check=False)


# -- the services ------------------------------------------------------------------------------


@attrs.define
class Fakes:
    auth: FakeSupabaseAuth
    openai: FakeOpenAI
    llamaparse: FakeLlamaParse
    anthropic: FakeAnthropic


def secret_values(fakes: Fakes, dsn: str) -> dict[str, str]:
    """Test values for what the blueprint leaves to the operator (``sync: false``)."""
    return {
        "DATABASE_URL": dsn,
        "SUPABASE_URL": fakes.auth.url,
        "SUPABASE_ANON_KEY": ANON_KEY,
        "SUPABASE_JWT_SECRET": JWT_SECRET,
        "CORS_ORIGINS": "https://members.example.org",
        "OPENAI_API_KEY": fakes.openai.api_key,
        "LLAMAPARSE_API_KEY": fakes.llamaparse.api_key,
        "ANTHROPIC_API_KEY": fakes.anthropic.api_key,
        "OPERATOR_TOKEN": OPERATOR_TOKEN,
        "METRICS_TOKEN": METRICS_TOKEN,
    }


def overrides(fakes: Fakes, schema: str, port: int, home: Path) -> dict[str, str]:
    """What the test sets beyond the blueprint, each for a reason of the test machine."""
    return {
        # a schema of this test's own: the blueprint's name may exist on a shared server
        "DATABASE_SCHEMA": schema,
        # Render sets PORT; SERVICE_PORT is the project's own name. Both, on a free port.
        "PORT": str(port),
        "SERVICE_PORT": str(port),
        # never listen on every interface of a test machine
        "SERVICE_HOST": "127.0.0.1",
        # the hosted services' SDKs talk to the fakes on 127.0.0.1
        "OPENAI_BASE_URL": fakes.openai.base_url,
        "LLAMAPARSE_BASE_URL": fakes.llamaparse.base_url,
        "ANTHROPIC_BASE_URL": fakes.anthropic.base_url,
        # nothing lands in the home folder of whoever runs the tests
        "NAVIGATOR_HOME": str(home),
        # the worker's metrics port, if it opens one, must not clash with other tests'
        "WORKER_METRICS_PORT": str(free_port()),
        "PYTHONUNBUFFERED": "1",
    }


def service_environment(service: BlueprintService, venv: Path, fakes: Fakes, dsn: str,
                        extra: Mapping[str, str]) -> dict[str, str]:
    given = secret_values(fakes, dsn)
    missing = sorted(service.secrets - given.keys())
    assert not missing, (
        f"render.yaml asks the operator for {missing} ({service.name}): give the artifact "
        "test a test value for each in secret_values()"
    )
    env = {k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "LC_ALL", "TMPDIR")}
    env.update(service.env)
    env.update({key: given[key] for key in service.secrets})
    env.update(extra)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    return env


@attrs.define
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"[{self.name}]\n" + "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM to the start command's whole process group, as Render stops it."""
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)


def start(name: str, command: str, *, cwd: Path, env: Mapping[str, str]) -> Process:
    log = cwd / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(["bash", "-c", command], cwd=cwd, env=dict(env),
                                 stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return Process(name, popen, log)


# -- the test --------------------------------------------------------------------------------


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    with FakeSupabaseAuth() as auth, FakeOpenAI() as openai, \
            FakeLlamaParse() as llamaparse, FakeAnthropic() as anthropic:
        yield Fakes(auth, openai, llamaparse, anthropic)


@pytest.fixture
def schema(postgres_dsn: str) -> Iterator[str]:
    name = f"artifact_{uuid.uuid4().hex[:10]}"
    yield name
    drop_schema(postgres_dsn, name)


def test_the_package_render_builds_migrates_and_runs_from_outside_the_source_tree(
    tmp_path_factory: pytest.TempPathFactory, postgres_dsn: str, schema: str, fakes: Fakes,
) -> None:
    document = corpus_bytes(DOCUMENT)  # before the slow part: a missing corpus fails now
    clone = clean_clone(REPO_DIR, tmp_path_factory.mktemp("clean-clone"))
    web, worker = staging_services(read_blueprint(clone / "render.yaml"))
    assert worker.build == web.build, "both services of an environment deploy one build"
    assert web.pre_deploy is not None

    # 1. the wheel built from the clean clone holds every migration
    venv = tmp_path_factory.mktemp("venv") / "navigator"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    build_env = build_environment(venv)
    dist = tmp_path_factory.mktemp("dist")
    built = run_shell(f"pip wheel --no-deps --wheel-dir {dist} {clone}", cwd=clone,
                      env=build_env, timeout=BUILD_TIMEOUT)
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = dist.glob("*.whl")
    listed = set(zipfile.ZipFile(wheel).namelist())
    shipped = sorted(p.name for p in (clone / "migrations").glob("*.sql"))
    assert shipped, "the clean clone has migrations/*.sql"
    assert [n for n in shipped if f"migrations/{n}" not in listed] == [], (
        f"the wheel {wheel.name} lacks these migrations")
    page = sorted(p.name for p in (clone / "entrypoints" / "api" / "static").iterdir())
    assert "index.html" in page and "app.js" in page
    assert [n for n in page if f"entrypoints/api/static/{n}" not in listed] == [], (
        f"the wheel {wheel.name} lacks these files of the member's page")

    # 2. the blueprint's build, in the clean clone, into the fresh virtualenv
    build = run_shell(web.build, cwd=clone, env=build_env, timeout=BUILD_TIMEOUT)
    assert build.returncode == 0, f"$ {web.build}\n{build.stdout}\n{build.stderr}"
    navigator = venv / "bin" / "navigator"
    assert navigator.is_file(), f"the build installed no navigator script:\n{build.stdout}"
    assert not list(venv.glob("lib/python*/site-packages/__editable__*")), "not editable"

    # 3. pre-deploy and start, from a folder that is neither the source nor the clone
    work = tmp_path_factory.mktemp("render-service")
    port = free_port()
    extra = overrides(fakes, schema, port, work / "home")
    web_env = service_environment(web, venv, fakes, postgres_dsn, extra)
    worker_env = service_environment(worker, venv, fakes, postgres_dsn, extra)

    where = run_shell("python -c 'import migrations; print(migrations.__file__)'", cwd=work,
                      env=web_env, timeout=60)
    assert where.stdout.startswith(str(venv)), f"runs the installed code: {where}"

    migrated = run_shell(web.pre_deploy, cwd=work, env=web_env, timeout=300)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    assert f"applied {len(shipped)} migration(s)" in migrated.stdout, migrated.stdout
    status = run_shell("navigator migrate --status", cwd=work, env=web_env, timeout=120)
    assert status.returncode == 0, status.stdout + status.stderr

    key = generate_key("ES256")
    fakes.auth.publish(key)
    api = start("api", web.start, cwd=work, env=web_env)
    processes = [api]
    try:
        processes.append(start("worker", worker.start, cwd=work, env=worker_env))

        def logs() -> str:
            return "\n".join(p.tail() for p in processes)

        base = f"http://127.0.0.1:{port}"
        health = wait_for(lambda: _healthy(base) or not all(p.alive() for p in processes),
                          "the API to report a live worker", START_TIMEOUT, interval=0.5,
                          logs=logs)
        assert all(p.alive() for p in processes), logs()
        assert health["database"]["schema"] == schema
        assert health["database"]["pending_migrations"] == []
        assert health["environment"] == "staging"
        assert web.health_check, "the web service has a health check path"
        checked = httpx.get(base + web.health_check, timeout=5)
        assert checked.status_code == 200, (web.health_check, checked.text)

        # the member's page, from the installed package, signing in with the project's key
        page = httpx.get(base + "/", timeout=5)
        assert page.status_code == 200, page.text
        assert f'content="{ANON_KEY}"' in page.text
        assert f"connect-src 'self' {fakes.auth.url}" in page.headers["content-security-policy"]
        for name in sorted(p.name for p in (clone / "entrypoints/api/static").iterdir()
                           if p.name != "index.html"):
            served = httpx.get(f"{base}/static/{name}", timeout=5)
            assert served.status_code == 200, (name, served.text)

        # 4. a member's PDF, over HTTP, to complete; then search finds it
        token = fakes.auth.sign(key, sub=MEMBER)
        with httpx.Client(base_url=base, timeout=30,
                          headers={"Authorization": f"Bearer {token}"}) as member:
            uploaded = member.post("/api/v1/documents", files={
                "file": ("my-policy.pdf", document, "application/pdf")})
            assert uploaded.status_code == 202, uploaded.text
            job_id = uploaded.json()["job"]["id"]

            def finished() -> dict[str, Any] | None:
                job: dict[str, Any] = member.get(f"/api/v1/jobs/{job_id}").json()
                return job if job["status"] in ("complete", "failed") else None

            job = wait_for(finished, f"job {job_id} to finish", 120, interval=0.5, logs=logs)
            assert job["status"] == "complete", (job, logs())
            assert any("llamaparse" in event["detail"] for event in job["history"])
            assert fakes.openai.requests, "the worker embedded through the OpenAI SDK"

            found = member.post("/api/v1/search",
                                json={"query": "prescription drugs tiered co-payment"})
            assert found.status_code == 200, found.text
            chunks = found.json()["chunks"]
            assert chunks and chunks[0]["filename"] == "my-policy.pdf"
            assert "Prescription" in chunks[0]["text"]

        # 5. Prometheus, with the blueprint's METRICS_TOKEN, sees the whole queue
        assert httpx.get(base + "/metrics", timeout=5).status_code == 401
        scraped = httpx.get(base + "/metrics", timeout=10,
                            headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert scraped.status_code == 200, scraped.text
        assert 'navigator_jobs{status="complete"} 1.0' in scraped.text
        assert "navigator_queue_live_workers 1.0" in scraped.text
    finally:
        for process in processes:
            process.stop()


def _healthy(base: str) -> dict[str, Any] | None:
    try:
        response = httpx.get(base + "/health", timeout=5)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    body: dict[str, Any] = response.json()
    return body if body["workers"]["live"] >= 1 else None


def test_the_blueprint_reader_resolves_groups_secrets_and_service_values(
    tmp_path: Path,
) -> None:
    """The reader the artifact test relies on, on a blueprint written as Render users
    write them (shared variables in a group, a service's own value over the group's)."""
    path = tmp_path / "render.yaml"
    path.write_text(yaml.safe_dump({
        "envVarGroups": [{"name": "navigator-staging", "envVars": [
            {"key": "ENVIRONMENT", "value": "staging"},
            {"key": "LOG_LEVEL", "value": "INFO"},
            {"key": "DATABASE_URL", "sync": False},
        ]}],
        "services": [
            {"type": "web", "name": "api", "buildCommand": "pip install .",
             "preDeployCommand": "navigator migrate", "startCommand": "navigator api",
             "envVars": [{"key": "LOG_LEVEL", "value": "DEBUG"},
                         {"fromGroup": "navigator-staging"},
                         {"key": "ANTHROPIC_API_KEY", "sync": False},
                         {"key": "RAG_MAX_CHUNKS", "value": 10}]},
            {"type": "worker", "name": "worker", "buildCommand": "pip install .",
             "startCommand": "navigator worker",
             "envVars": [{"fromGroup": "navigator-staging"}]},
        ],
    }))

    web, worker = staging_services(read_blueprint(path))

    assert web.env == {"ENVIRONMENT": "staging", "LOG_LEVEL": "DEBUG", "RAG_MAX_CHUNKS": "10"}
    assert web.secrets == {"DATABASE_URL", "ANTHROPIC_API_KEY"}
    assert worker.env == {"ENVIRONMENT": "staging", "LOG_LEVEL": "INFO"}
    assert worker.pre_deploy is None
    assert worker.start == "navigator worker"
