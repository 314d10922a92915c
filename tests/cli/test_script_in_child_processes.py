"""The ``navigator`` script is not run again in every child process: the isolated
parser starts one per document, and each used to import the whole command line."""

from __future__ import annotations

import sys
import types

import pytest

from entrypoints.cli import main as cli


def script_module(main: object) -> types.ModuleType:
    """A ``__main__`` like the one the console script installs: no module name."""
    script = types.ModuleType("__main__")
    script.__file__ = "/opt/venv/bin/navigator"
    script.__spec__ = None
    script.main = main  # type: ignore[attr-defined]
    return script


def test_the_navigator_script_is_named_as_the_packages_main_module(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    script = script_module(cli.main)
    monkeypatch.setitem(sys.modules, "__main__", script)

    cli._name_the_script_for_child_processes()

    assert script.__spec__ is not None
    assert script.__spec__.name == "entrypoints.cli.__main__"


def test_another_programs_main_module_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    script = script_module(print)
    monkeypatch.setitem(sys.modules, "__main__", script)

    cli._name_the_script_for_child_processes()

    assert script.__spec__ is None
