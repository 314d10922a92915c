"""``render.yaml`` describes a deployment that can actually start.

Read as Render reads it, then checked against the code: the commands against
``navigator``'s real argument parser, the variables against the settings the
services read, and the two services of each environment against each other.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from entrypoints.cli import _handlers, build_parser
from entrypoints.settings import Settings, SettingsError, load_settings

REPO = Path(__file__).resolve().parents[2]
BLUEPRINT = REPO / "render.yaml"

#: Variables Render's own runtime reads rather than our code.
PLATFORM_VARIABLES = {"PYTHON_VERSION"}
#: What both services of an environment must be given, with the same value.
SHARED = {"ENVIRONMENT", "DATABASE_URL", "DATABASE_SCHEMA", "DATABASE_POOLER_MODE",
          "RAG_EMBEDDING_MODEL", "RAG_VECTOR_DIMENSION", "OPENAI_API_KEY"}
ENVIRONMENTS = {
    "staging": ("api-service-staging", "upload-worker-staging", "upload_pipeline_staging"),
    "production": ("api-service-production", "upload-worker-production", "upload_pipeline"),
}
COMMANDS = ("buildCommand", "preDeployCommand", "startCommand")


# -- reading the blueprint ------------------------------------------------------------------


def services() -> dict[str, dict[str, Any]]:
    blueprint = yaml.safe_load(BLUEPRINT.read_text(encoding="utf-8"))
    return {service["name"]: service for service in blueprint["services"]}


def variables(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each variable's definition by name (``{"value": ...}`` or ``{"sync": False}``)."""
    found: dict[str, dict[str, Any]] = {}
    for entry in service.get("envVars", []):
        assert "key" in entry, f"{service['name']}: every variable is named, not grouped"
        assert entry["key"] not in found, f"{service['name']}: {entry['key']} set twice"
        found[entry["key"]] = {k: v for k, v in entry.items() if k != "key"}
    return found


def plain_values(service: dict[str, Any]) -> dict[str, str]:
    return {key: str(spec["value"]) for key, spec in variables(service).items()
            if "value" in spec and key not in PLATFORM_VARIABLES}


def is_secret_setting(name: str) -> bool:
    annotation = Settings.model_fields[name.lower()].annotation
    return annotation is SecretStr or SecretStr in getattr(annotation, "__args__", ())


# -- checking a command line ---------------------------------------------------------------


def command_problems(line: str) -> Iterator[str]:
    """Why ``line`` would not run on Render: each ``&&`` part must be ``pip install`` of
    this repository (or of pip itself) or a ``navigator`` command the CLI accepts."""
    for part in line.split("&&"):
        words = shlex.split(part)
        if not words:
            yield f"empty command in {line!r}"
        elif words[0] == "navigator":
            yield from _navigator_problems(words[1:])
        elif words[:2] == ["pip", "install"]:
            targets = [w for w in words[2:] if not w.startswith("-")]
            if targets not in (["."], ["pip"]):
                yield f"{part.strip()!r} installs something other than this project"
            elif targets == ["."] and not (REPO / "pyproject.toml").is_file():
                yield "pip install . needs pyproject.toml at the repository root"
        else:
            yield f"{part.strip()!r} is neither navigator nor pip install"


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


def test_the_api_listens_on_port_10000_and_render_checks_its_health_endpoint() -> None:
    for api, _worker, _schema in ENVIRONMENTS.values():
        service = services()[api]
        assert service["healthCheckPath"] == "/health"
        assert plain_values(service)["SERVICE_PORT"] == "10000"
        assert plain_values(service)["SERVICE_HOST"] == "0.0.0.0"


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
