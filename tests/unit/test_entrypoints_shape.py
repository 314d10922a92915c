"""``entrypoints/`` holds processes and wiring in small files, and only the container
reaches the PostgreSQL adapters: the import-linter contract that says so names every
other entrypoints module, so a new module must be added to it."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINTS = ROOT / "entrypoints"


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
