"""``entrypoints/`` holds processes and wiring in small files, and only the container
reaches the PostgreSQL adapters: the import-linter contract that says so names every
other entrypoints module, so a new module must be added to it."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINTS = ROOT / "entrypoints"
MAX_LINES = 400


def too_long(folder: Path, limit: int) -> dict[str, int]:
    lengths = {str(path.relative_to(folder)): len(path.read_text().splitlines())
               for path in sorted(folder.rglob("*.py"))}
    return {name: lines for name, lines in lengths.items() if lines > limit}


def test_no_entrypoints_file_is_over_400_lines() -> None:
    assert list(ENTRYPOINTS.rglob("*.py")), "no entrypoints modules found"
    long = too_long(ENTRYPOINTS, MAX_LINES)
    assert long == {}


def test_the_length_check_catches_a_long_file(tmp_path: Path) -> None:
    (tmp_path / "short.py").write_text("x = 1\n" * 3)
    (tmp_path / "long.py").write_text("x = 1\n" * 5)
    assert too_long(tmp_path, 4) == {"long.py": 5}


def top_level_modules() -> set[str]:
    names = {path.stem for path in ENTRYPOINTS.glob("*.py") if path.stem != "__init__"}
    names |= {path.parent.name for path in ENTRYPOINTS.glob("*/__init__.py")}
    return {f"entrypoints.{name}" for name in names}


def test_every_entrypoints_module_but_the_container_is_kept_from_the_postgres_adapters(
) -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    (forbidden,) = [c for c in contracts if c["type"] == "forbidden"
                    and "adapters.postgres" in c["forbidden_modules"]]
    assert set(forbidden["source_modules"]) == top_level_modules() - {"entrypoints.container"}
