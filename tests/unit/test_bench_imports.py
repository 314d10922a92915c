"""Every name one benchmark imports from another exists there.

The benchmarks need numpy (the ``bench`` extra), which the test environment does not
install, so they cannot simply be imported here; a benchmark that imports a helper
another one renamed fails only when someone runs it, long after. This reads the
modules instead and resolves each ``from bench.X import name``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.corpus import REPO_DIR

BENCH = REPO_DIR / "bench"


def _defined(path: Path) -> set[str]:
    """The names a module binds at its top level (definitions, assignments, imports)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _bench_imports(path: Path) -> list[tuple[str, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [(node.module, alias.name) for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
            and node.module.startswith("bench.") for alias in node.names]


@pytest.mark.parametrize("path", sorted(BENCH.glob("*.py")), ids=lambda p: p.name)
def test_every_name_a_benchmark_imports_from_another_exists(path: Path) -> None:
    missing = [f"{module}.{name}" for module, name in _bench_imports(path)
               if name not in _defined(BENCH / f"{module.removeprefix('bench.')}.py")]
    assert not missing, f"{path.name} imports names that do not exist: {missing}"
