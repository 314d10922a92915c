"""The domain stays pure: it imports the standard library, attrs and itself, nothing else."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "domain"
ALLOWED_THIRD_PARTY = {"attrs", "attr"}


def imported_top_level_modules(source: str) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    return modules


def forbidden_imports(source: str) -> set[str]:
    allowed = set(sys.stdlib_module_names) | ALLOWED_THIRD_PARTY | {"domain"}
    return imported_top_level_modules(source) - allowed


def test_the_domain_imports_only_the_standard_library_and_attrs() -> None:
    files = sorted(DOMAIN.rglob("*.py"))
    assert files, "no domain modules found"
    offenders = {
        str(path.relative_to(DOMAIN)): sorted(bad)
        for path in files
        if (bad := forbidden_imports(path.read_text()))
    }
    assert offenders == {}


def test_the_purity_check_catches_a_database_import() -> None:
    assert forbidden_imports("import asyncpg\nfrom fastapi import FastAPI\nimport json") == {
        "asyncpg",
        "fastapi",
    }


def test_the_purity_check_catches_an_import_of_an_outer_layer() -> None:
    assert forbidden_imports("from adapters.memory import store") == {"adapters"}
