"""Running ``navigator`` in-process: ``main(argv)`` with an environment of the test's
own, its exit code and what it printed.

``navigator`` runs ``asyncio.run`` itself, so from an async test it runs in a
thread (:meth:`Cli.run_async`). The database commands point at a fresh, migrated
schema on the test run's embedded server (``pg_schema``).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import attrs
import pytest

from entrypoints.cli.main import main
from entrypoints.container import Container, build_container, running
from entrypoints.settings import load_settings
from tests.conftest import TEST_VECTOR_DIMENSION, logging_put_back

SECRET = "cli-test-secret-" + "ab12" * 12
ISOLATED = (
    "DATABASE_URL", "DATABASE_SCHEMA", "SUPABASE_DB_HOST", "SUPABASE_JWT_SECRET", "ENVIRONMENT",
    "CORS_ORIGINS", "OPENAI_API_KEY", "OPENAI_BASE_URL", "LLAMAPARSE_API_KEY",
    "LLAMAPARSE_BASE_URL", "NAVIGATOR_HOME", "NAVIGATOR_TOKEN", "SERVICE_PORT", "SERVICE_HOST",
    "RAG_VECTOR_DIMENSION", "WORKER_CONCURRENCY", "BLOB_DIR",
)


@attrs.frozen
class Result:
    code: int
    out: str
    err: str


@attrs.define
class Cli:
    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]
    env: dict[str, str]

    def set(self, **env: str) -> None:
        for name, value in env.items():
            self.monkeypatch.setenv(name, value)
            self.env[name] = value

    def unset(self, *names: str) -> None:
        for name in names:
            self.monkeypatch.delenv(name, raising=False)
            self.env.pop(name, None)

    def run(self, *argv: str) -> Result:
        self.capsys.readouterr()
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse's own usage errors
            code = int(exc.code or 0)
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    async def run_async(self, *argv: str) -> Result:
        return await asyncio.to_thread(self.run, *argv)

    def container(self) -> Container:
        settings = load_settings(self.env)
        return build_container(settings, self.env["DATABASE_URL"])


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
        ) -> Iterator[Cli]:
    """``navigator`` with no database configured (commands that need none).

    A service command run here configures logging onto the stream ``capsys`` holds:
    put back before that stream closes (this fixture ends before ``capsys`` does).
    """
    # OTEL_*: a service command run here with an endpoint in the environment would set
    # the process's one global tracer provider for every test after it.
    for name in (*ISOLATED, *(n for n in os.environ if n.startswith("OTEL_"))):
        monkeypatch.delenv(name, raising=False)
    tool = Cli(monkeypatch, capsys, {})
    tool.set(NAVIGATOR_HOME=str(tmp_path / "home"), SUPABASE_JWT_SECRET=SECRET)
    with logging_put_back():
        yield tool


@pytest.fixture
async def db_cli(cli: Cli, postgres_dsn: str, pg_schema: str) -> Cli:
    """``navigator`` pointed at a migrated schema of this test's own."""
    cli.set(DATABASE_URL=postgres_dsn, DATABASE_SCHEMA=pg_schema,
            RAG_VECTOR_DIMENSION=str(TEST_VECTOR_DIMENSION))
    return cli


@pytest.fixture
async def container(db_cli: Cli) -> AsyncIterator[Container]:
    """The same deployment's container, to put jobs in the states a test needs."""
    built = db_cli.container()
    async with running(built):
        yield built
