"""``render.yaml`` describes a deployment that can actually start.

Read as Render reads it (a service's variables are its environment group's plus its
own), then checked against the code: the commands against ``navigator``'s real
argument parser and the lock file, the variables against the settings the services
read, and the two services of each environment against each other.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from entrypoints.cli.main import _handlers, build_parser
from entrypoints.settings import Settings, SettingsError, load_settings

REPO = Path(__file__).resolve().parents[2]
BLUEPRINT = REPO / "render.yaml"
LOCK = REPO / "requirements.lock"
BUILD = "pip install --require-hashes -r requirements.lock && pip install --no-deps ."

#: Variables Render's own runtime reads rather than our code.
PLATFORM_VARIABLES = {"PYTHON_VERSION"}
#: What both services of an environment must be given, with the same value.
SHARED = {"ENVIRONMENT", "DATABASE_URL", "DATABASE_SCHEMA", "DATABASE_POOLER_MODE",
          "RAG_EMBEDDING_MODEL", "RAG_VECTOR_DIMENSION", "OPENAI_API_KEY"}
ENVIRONMENTS = {
    "staging": ("api-service-staging", "upload-worker-staging", "upload_pipeline_staging"),
    "production": ("api-service-production", "upload-worker-production", "upload_pipeline"),
}
#: Each environment's group of shared variables.
GROUPS = {"staging": "upload-pipeline-staging", "production": "upload-pipeline-production"}
#: Render's regions (https://render.com/docs/regions) and the instance types a service may use.
REGIONS = {"oregon", "ohio", "virginia", "frankfurt", "singapore"}
PLANS = {"starter", "standard", "pro", "pro plus", "pro max", "pro ultra"}
COMMANDS = ("buildCommand", "preDeployCommand", "startCommand")


# -- reading the blueprint ------------------------------------------------------------------


def blueprint() -> dict[str, Any]:
    return yaml.safe_load(BLUEPRINT.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def services() -> dict[str, dict[str, Any]]:
    return {service["name"]: service for service in blueprint()["services"]}


def groups() -> dict[str, dict[str, dict[str, Any]]]:
    """Each environment group's variables by name."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for group in blueprint().get("envVarGroups", []):
        assert group["name"] not in found, f"group {group['name']} defined twice"
        found[group["name"]] = _named(group["envVars"], f"group {group['name']}")
    return found


def _named(entries: list[dict[str, Any]], where: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for entry in entries:
        assert "key" in entry, f"{where}: every variable is named"
        assert entry["key"] not in found, f"{where}: {entry['key']} set twice"
        found[entry["key"]] = {k: v for k, v in entry.items() if k != "key"}
    return found


def groups_of(service: dict[str, Any]) -> list[str]:
    return [entry["fromGroup"] for entry in service.get("envVars", []) if "fromGroup" in entry]


def own_variables(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return _named([entry for entry in service.get("envVars", []) if "fromGroup" not in entry],
                  service["name"])


def variables(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What the service runs with: each variable's definition by name (``{"value": ...}``
    or ``{"sync": False}``), from its groups and its own list; none defined twice."""
    known = groups()
    found: dict[str, dict[str, Any]] = {}
    for name in groups_of(service):
        assert name in known, f"{service['name']}: no environment group {name}"
        twice = sorted(set(found) & set(known[name]))
        assert twice == [], f"{service['name']}: {twice} come from two groups"
        found.update(known[name])
    own = own_variables(service)
    twice = sorted(set(found) & set(own))
    assert twice == [], f"{service['name']}: {twice} set both in its group and its own list"
    return found | own


def plain_values(service: dict[str, Any]) -> dict[str, str]:
    return {key: str(spec["value"]) for key, spec in variables(service).items()
            if "value" in spec and key not in PLATFORM_VARIABLES}


def is_secret_setting(name: str) -> bool:
    annotation = Settings.model_fields[name.lower()].annotation
    return annotation is SecretStr or SecretStr in getattr(annotation, "__args__", ())


# -- checking a command line ---------------------------------------------------------------


def command_problems(line: str) -> Iterator[str]:
    """Why ``line`` would not run on Render: each ``&&`` part must be a ``pip install`` of
    the lock file (hashes required) or of this project (its dependencies come from the
    lock, so none are resolved again), or a ``navigator`` command the CLI accepts."""
    for part in line.split("&&"):
        words = shlex.split(part)
        if not words:
            yield f"empty command in {line!r}"
        elif words[0] == "navigator":
            yield from _navigator_problems(words[1:])
        elif words[:2] == ["pip", "install"]:
            yield from _pip_problems(part.strip(), words[2:])
        else:
            yield f"{part.strip()!r} is neither navigator nor pip install"


def _pip_problems(part: str, args: list[str]) -> Iterator[str]:
    flag = ("-r", "--requirement")
    requirements = [args[i + 1] for i, word in enumerate(args[:-1]) if word in flag]
    targets = [word for i, word in enumerate(args)
               if not word.startswith("-") and (i == 0 or args[i - 1] not in flag)]
    if requirements:
        if requirements != [LOCK.name] or targets:
            yield f"{part!r} installs something other than {LOCK.name}"
        elif "--require-hashes" not in args:
            yield f"{part!r} must check every file against its hash (--require-hashes)"
        elif not LOCK.is_file():
            yield f"{LOCK.name} is missing from the repository"
    elif targets == ["."]:
        if "--no-deps" not in args:
            yield f"{part!r} would resolve dependencies again instead of taking the lock's"
        elif not (REPO / "pyproject.toml").is_file():
            yield "pip install . needs pyproject.toml at the repository root"
    else:
        yield f"{part!r} installs something other than this project and its lock"


def _navigator_problems(argv: list[str]) -> Iterator[str]:
    parser = build_parser()
    parser.exit = _refuse  # type: ignore[method-assign]  # argparse would exit the test run
    try:
        args = parser.parse_args(argv)
    except _Refused:
        yield f"navigator {' '.join(argv)} is not a command the CLI accepts"
        return
    if args.command not in _handlers():
        yield f"navigator {args.command} has no handler"


class _Refused(Exception):
    pass


def _refuse(status: int = 0, message: str | None = None) -> None:
    raise _Refused(message)


# -- the tests ------------------------------------------------------------------------------


def test_each_environment_has_an_api_web_service_and_an_upload_background_worker() -> None:
    found = services()
    assert set(found) == {name for pair in ENVIRONMENTS.values() for name in pair[:2]}
    for api, worker, _schema in ENVIRONMENTS.values():
        assert found[api]["type"] == "web"
        assert found[worker]["type"] == "worker"
        assert found[api]["startCommand"] == "navigator api"
        assert found[worker]["startCommand"] == "navigator worker"


def test_the_api_listens_on_the_port_render_gives_it_and_render_checks_its_health() -> None:
    for api, _worker, _schema in ENVIRONMENTS.values():
        service = services()[api]
        # ready once, then alive: a deploy that cannot reach its database is not
        # admitted, and a database outage does not restart healthy instances
        assert service["healthCheckPath"] == "/health/started"
        values = plain_values(service)
        assert "SERVICE_PORT" not in values, "SERVICE_PORT would override Render's PORT"
        assert values["SERVICE_HOST"] == "0.0.0.0"
        assert load_settings({**values, "PORT": "10000"}).service_port == 10000
        assert load_settings({**values, "PORT": "10123"}).service_port == 10123


def test_every_service_states_its_region_and_plan_and_an_environment_keeps_to_one_region(
) -> None:
    found = services()
    for api, worker, _schema in ENVIRONMENTS.values():
        for name in (api, worker):
            assert found[name].get("region") in REGIONS, f"{name}: state a Render region"
            assert found[name].get("plan") in PLANS, f"{name}: state a plan"
        assert found[api]["region"] == found[worker]["region"], (
            f"{api} and {worker} must run in the same region, their database's")
    assert "Supabase project's region" in BLUEPRINT.read_text(encoding="utf-8")


def test_the_shared_variables_live_once_in_a_group_per_environment() -> None:
    found, known = services(), groups()
    assert set(known) == set(GROUPS.values())
    for environment, (api, worker, _schema) in ENVIRONMENTS.items():
        group = GROUPS[environment]
        for name in (api, worker):
            assert groups_of(found[name]) == [group], f"{name} must use group {group}"
            copied = sorted(SHARED & set(own_variables(found[name])))
            assert copied == [], f"{name}: {copied} belong in {group}, not in the service"
        missing = sorted(SHARED - set(known[group]))
        assert missing == [], f"{group} lacks {missing}"


def test_the_build_installs_the_lock_with_hashes_then_the_project_alone() -> None:
    for name, service in services().items():
        assert service["buildCommand"] == BUILD, name
    pinned = [line for line in LOCK.read_text(encoding="utf-8").splitlines()
              if line and not line[0].isspace() and not line.startswith("#")]
    assert pinned, "requirements.lock pins nothing"
    unpinned = [line for line in pinned if "==" not in line]
    assert unpinned == [], f"not pinned to one version: {unpinned}"


def test_staging_deploys_itself_from_the_staging_branch_and_production_does_not() -> None:
    found = services()
    for name in ENVIRONMENTS["staging"][:2]:
        assert found[name]["branch"] == "staging"
        assert found[name]["autoDeployTrigger"] == "commit"
    for name in ENVIRONMENTS["production"][:2]:
        assert found[name]["branch"] != "staging"


def test_every_service_applies_the_migrations_before_it_deploys() -> None:
    for service in services().values():
        assert service["preDeployCommand"] == "navigator migrate"


def test_every_build_pre_deploy_and_start_command_is_one_the_cli_accepts() -> None:
    problems = [f"{name}.{field}: {problem}"
                for name, service in services().items()
                for field in COMMANDS
                for problem in command_problems(service[field])]
    assert problems == []


@pytest.mark.parametrize("line", [
    "navigator serve", "navigator worker --fast", "navigator", "pip install requests",
    "python -m entrypoints.cli api", "pip install . && navigator migrate --all",
    "pip install .", "pip install -r requirements.lock",
    "pip install --require-hashes -r other.txt",
    "pip install --require-hashes -r requirements.lock requests",
])
def test_the_command_check_refuses_commands_the_cli_does_not_have(line: str) -> None:
    assert list(command_problems(line))


def test_every_variable_is_a_setting_the_services_read() -> None:
    unknown = [f"{name}: {key}" for name, service in services().items()
               for key in variables(service)
               if key not in PLATFORM_VARIABLES and key.lower() not in Settings.model_fields]
    assert unknown == []


def test_secrets_are_asked_for_when_the_blueprint_is_applied_never_written_in_it() -> None:
    for name, service in services().items():
        for key, spec in variables(service).items():
            if key in PLATFORM_VARIABLES or not is_secret_setting(key):
                continue
            assert spec == {"sync": False}, f"{name}: {key} must be `sync: false`"


def test_the_written_values_are_settings_the_services_start_with() -> None:
    for name, service in services().items():
        try:
            settings = load_settings(plain_values(service))
        except SettingsError as exc:
            pytest.fail(f"{name}: {exc}")
        assert not settings.is_development, f"{name} would run with development defaults"


def test_the_two_services_of_an_environment_agree_on_what_they_share() -> None:
    found = services()
    for api, worker, _schema in ENVIRONMENTS.values():
        api_vars, worker_vars = variables(found[api]), variables(found[worker])
        missing = sorted((SHARED - set(api_vars)) | (SHARED - set(worker_vars)))
        assert missing == [], f"{api} and {worker} must both set {missing}"
        disagree = sorted(key for key in set(api_vars) & set(worker_vars)
                          if api_vars[key] != worker_vars[key])
        assert disagree == [], f"{api} and {worker} disagree on {disagree}"


def test_staging_and_production_never_share_a_schema() -> None:
    found = services()
    schema_of = {}
    for environment, (api, worker, schema) in ENVIRONMENTS.items():
        for name in (api, worker):
            values = plain_values(found[name])
            assert values["DATABASE_SCHEMA"] == schema
            assert values["ENVIRONMENT"] == environment
        schema_of[environment] = schema
    assert schema_of["staging"] != schema_of["production"]
