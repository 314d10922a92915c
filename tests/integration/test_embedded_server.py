"""The embedded server: data survives restarts, processes share one server, and the
server stops with the last process that uses it (even if another was killed)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from adapters.postgres.embedded import EmbeddedPostgres

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Not under pytest's tmp_path: see tests/conftest.py (the server's own user must
    # reach it).
    base = Path(tempfile.mkdtemp(prefix="navigator-embedded-"))
    yield base / "pgdata"
    shutil.rmtree(base, ignore_errors=True)


def _other_process(data_dir: Path, then: str) -> subprocess.Popen[str]:
    code = textwrap.dedent(f"""
        import sys, time
        from adapters.postgres.embedded import EmbeddedPostgres
        server = EmbeddedPostgres({str(data_dir)!r})
        server.start()
        print(server.server_pid, flush=True)
        {then}
    """)
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE)


def test_data_survives_a_restart(data_dir: Path) -> None:
    server = EmbeddedPostgres(data_dir)
    dsn = server.start()
    assert dsn.startswith("postgresql://postgres") and "host=" in dsn
    server.psql("CREATE TABLE kept (note text); INSERT INTO kept VALUES ('still here');")
    first_pid = server.server_pid
    server.stop()
    assert first_pid is not None and _stopped(first_pid)

    again = EmbeddedPostgres(data_dir)
    again.start()
    try:
        assert "still here" in again.psql("SELECT note FROM kept;")
        assert "vector" in again.psql("SELECT extname FROM pg_extension;")
    finally:
        again.stop()


def test_processes_share_one_server_that_stops_with_the_last_of_them(data_dir: Path) -> None:
    server = EmbeddedPostgres(data_dir)
    server.start()
    try:
        polite = _other_process(data_dir, "server.stop()")
        out, _ = polite.communicate(timeout=60)
        assert int(out.split()[0]) == server.server_pid
        assert polite.returncode == 0

        killed = _other_process(data_dir, "time.sleep(60)")
        assert killed.stdout is not None
        assert int(killed.stdout.readline()) == server.server_pid
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=10)
        killed.stdout.close()

        assert "1" in server.psql("SELECT 1;")  # still serving after both left
    finally:
        pid = server.server_pid
        server.stop()
    assert pid is not None and _stopped(pid)


def _stopped(pid: int, timeout: float = 10.0) -> bool:
    """The process has exited (a zombie waiting for its parent to reap it counts)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False
