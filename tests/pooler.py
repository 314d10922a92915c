"""A real PgBouncer in front of a test PostgreSQL, as Supabase's pooler sits in front
of its database.

``running_pgbouncer(upstream_dsn, "transaction")`` starts PgBouncer (Debian's
package, 1.18 or later) on a free port of 127.0.0.1 in the given pool mode and
yields a DSN that goes through it; the block's end stops it. Like Supavisor, it
refuses startup parameters it does not know (``search_path``), and in
``transaction`` mode it hands each transaction to whichever server connection is
free, so session state (prepared statements, ``SET``, LISTEN) does not survive.

PgBouncer refuses to run as root: as root it is started as the user that owns the
upstream's socket folder, else ``nobody`` (it drops privileges itself with ``-u``),
so its files live in a folder anyone can read.

Without ``pgbouncer`` on the machine the tests that need it skip, naming the
package to install; with ``CI=true`` they fail instead, so CI cannot pass without
having run them.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from tests.ports import free_port

PoolMode = Literal["transaction", "session"]
POOL_MODES: tuple[PoolMode, ...] = ("transaction", "session")
INSTALL_HINT = "pgbouncer is not installed: apt-get install pgbouncer (Debian/Ubuntu)"
START_TIMEOUT = 20.0
_SEARCH = (os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/sbin")


def pgbouncer_binary() -> str | None:
    """The ``pgbouncer`` program (Debian puts it in /usr/sbin, often not on PATH)."""
    return shutil.which("pgbouncer", path=os.pathsep.join(_SEARCH))


def require_pgbouncer() -> str:
    """The program, or skip the test (fail it under ``CI=true``) with the install hint."""
    binary = pgbouncer_binary()
    if binary is not None:
        return binary
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{INSTALL_HINT}; CI=true, so the pooler tests must run", pytrace=False)
    pytest.skip(INSTALL_HINT)


def _upstream(dsn: str) -> tuple[str, int, str, str]:
    """Host (or socket folder), port, user and database of a PostgreSQL URL."""
    parts = urlsplit(dsn)
    query = parse_qs(parts.query)
    host = query.get("host", [parts.hostname or "127.0.0.1"])[0]
    port = int(query.get("port", [str(parts.port or 5432)])[0])
    user = parts.username or "postgres"
    database = parts.path.lstrip("/") or user
    return host, port, user, database


def _config(mode: PoolMode, port: int, host: str, upstream_port: int, auth_file: Path) -> str:
    return "\n".join([
        "[databases]",
        # Every database name the client asks for, on the upstream server.
        f"* = host={host} port={upstream_port}",
        "[pgbouncer]",
        "listen_addr = 127.0.0.1",
        f"listen_port = {port}",
        "unix_socket_dir =",
        "auth_type = trust",
        f"auth_file = {auth_file}",
        f"pool_mode = {mode}",
        "max_client_conn = 500",
        "default_pool_size = 20",
        "server_login_retry = 1",
        # Supavisor's manners: unknown startup parameters are refused, not ignored.
        "ignore_startup_parameters =",
        "log_connections = 0",
        "log_disconnections = 0",
        "",
    ])


def _unprivileged_user(host: str) -> str:
    """Who PgBouncer runs as when started by root: the owner of the upstream's socket
    folder (the only user sure to reach the socket; the embedded server's folder is
    private to its own system user), else ``nobody``."""
    if host.startswith("/"):
        owner = pwd.getpwuid(os.stat(host).st_uid).pw_name
        if owner != "root":
            return owner
    return "nobody"


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def running_pgbouncer(upstream_dsn: str, mode: PoolMode,
                      users: tuple[str, ...] = ("postgres",)) -> Iterator[str]:
    """PgBouncer in ``mode`` in front of ``upstream_dsn``; yields the DSN through it
    (same user and database). ``users`` may log in (trust: the server checks them)."""
    if mode not in POOL_MODES:
        raise ValueError(f"pool mode must be one of {POOL_MODES}, got {mode!r}")
    binary = require_pgbouncer()
    host, upstream_port, user, database = _upstream(upstream_dsn)
    folder = Path(tempfile.mkdtemp(prefix="navigator-pgbouncer-"))
    folder.chmod(0o755)
    auth_file = folder / "users.txt"
    auth_file.write_text("".join(f'"{name}" ""\n' for name in {user, *users}))
    port = free_port()
    config = folder / "pgbouncer.ini"
    config.write_text(_config(mode, port, host, upstream_port, auth_file))
    for path in (auth_file, config):
        path.chmod(0o644)
    command = [binary, str(config)]
    if os.geteuid() == 0:
        command[1:1] = ["-u", _unprivileged_user(host)]
    log = folder / "pgbouncer.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"pgbouncer did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.05)
        yield f"postgresql://{quote(user, safe='')}@127.0.0.1:{port}/{quote(database, safe='')}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


class Poolers:
    """One PgBouncer per pool mode in front of one server, each started on first use
    and stopped by ``close()`` (a session fixture holds one for the test run)."""

    def __init__(self, upstream_dsn: str) -> None:
        self.upstream_dsn = upstream_dsn
        self._stack = contextlib.ExitStack()
        self._dsns: dict[PoolMode, str] = {}

    def dsn(self, mode: PoolMode) -> str:
        if mode not in self._dsns:
            self._dsns[mode] = self._stack.enter_context(
                running_pgbouncer(self.upstream_dsn, mode)
            )
        return self._dsns[mode]

    def close(self) -> None:
        self._stack.close()
        self._dsns.clear()
