"""The README's first command on a fresh machine: ``navigator up`` with no database
configured starts the embedded server in an empty ``NAVIGATOR_HOME``, migrates it,
serves the API with a worker, and a newcomer following the printed instructions
uploads the checkout's sample summary of benefits and finds its out-of-pocket maximum,
with no file from outside the repository."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from adapters.postgres.embedded import EmbeddedPostgres
from tests.corpus import REPO_DIR
from tests.e2e.conftest import navigator_command, wait_for
from tests.ports import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture
def fresh_home() -> Iterator[Path]:
    """An empty home, outside pytest's temporary tree (see tests/conftest.py: the
    server's own system user must reach it when tests run as root)."""
    base = Path(tempfile.mkdtemp(prefix="navigator-e2e-up-"))
    try:
        yield base / "home"
    finally:
        data = base / "home" / "pgdata"
        if (data / "postmaster.pid").exists():  # the test failed before `up` stopped it
            leftover = EmbeddedPostgres(data)
            leftover.start()
            leftover.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_navigator_up_brings_everything_up_and_a_newcomer_finds_the_out_of_pocket_limit(
    fresh_home: Path,
) -> None:
    port = free_port()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DATABASE_", "SUPABASE_", "OPENAI_", "LLAMAPARSE_", "SERVICE_",
                                  "NAVIGATOR_", "ENVIRONMENT", "RAG_", "WORKER_"))}
    env.update(NAVIGATOR_HOME=str(fresh_home), SERVICE_PORT=str(port), PYTHONUNBUFFERED="1")
    fresh_home.mkdir(parents=True)
    output = fresh_home / "up.log"
    with output.open("wb") as out:
        up = subprocess.Popen([*navigator_command(), "up"], env=env, cwd=REPO_DIR, stdout=out,
                              stderr=subprocess.STDOUT)
    try:
        def banner() -> str | None:
            text = output.read_text()
            return text if "Press Ctrl-C" in text else None

        printed = wait_for(banner, "navigator up to print its banner", 60, logs=output.read_text)
        url = f"http://127.0.0.1:{port}"
        assert f"API        {url}" in printed and f"{url}/docs" in printed
        assert f"metrics    {url}/metrics" in printed
        assert "applied migrations: 0001_initial.sql" in printed
        assert "navigator upload" in printed and 'navigator search' in printed
        token = printed.split("export NAVIGATOR_TOKEN=")[1].split()[0]
        listed = httpx.get(f"{url}/api/v1/documents",
                           headers={"Authorization": f"Bearer {token}"})
        assert listed.status_code == 200
        assert httpx.get(f"{url}/docs").status_code == 200

        def navigator(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([*navigator_command(), *args], env=env, cwd=REPO_DIR,
                                  capture_output=True, text=True, timeout=120, check=False)

        # the commands the banner tells a newcomer to try, on the checkout's sample document
        suggested = [shlex.split(line) for line in printed.splitlines()
                     if " upload " in line or " search " in line]
        sample = suggested[0][-1]
        assert sample == "examples/sample_summary_of_benefits.pdf"
        uploaded = navigator("upload", "--api", url, sample)
        assert uploaded.returncode == 0, uploaded.stdout + uploaded.stderr
        found = navigator("search", "--api", url, suggested[1][-1])
        assert found.returncode == 0, found.stderr
        assert "sample_summary_of_benefits.pdf, page 1" in found.stdout
        assert "$7,000" in found.stdout

        status = navigator("status")  # a second process on the same embedded server
        assert status.returncode == 0, status.stderr
        assert any(line.split() == ["complete", "1"] for line in status.stdout.splitlines())
        assert "live workers (1)" in status.stdout
        scraped = httpx.get(f"{url}/metrics")  # open in development, as the banner says
        assert scraped.status_code == 200
        assert 'navigator_jobs{status="complete"} 1.0' in scraped.text
        assert up.poll() is None, "up stopped when the status command let go of the server"

        up.send_signal(signal.SIGINT)
        assert up.wait(timeout=30) == 0, output.read_text()
        assert "stopped (the embedded database too" in output.read_text()
        assert not (fresh_home / "pgdata" / "postmaster.pid").exists()
    finally:
        if up.poll() is None:
            up.kill()
            up.wait(timeout=10)
