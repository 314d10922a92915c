"""The API's port: Render tells a web service which port to listen on in ``PORT``; the
project's own ``SERVICE_PORT``, when set, wins; neither set means 10000."""

from __future__ import annotations

import pytest

from entrypoints.settings import SettingsError, load_settings


def test_with_neither_variable_the_api_listens_on_10000() -> None:
    assert load_settings({}).service_port == 10000


def test_the_platforms_port_is_used_when_service_port_is_not_set() -> None:
    assert load_settings({"PORT": "8123"}).service_port == 8123


def test_service_port_set_on_purpose_wins_over_the_platforms_port() -> None:
    assert load_settings({"PORT": "8123", "SERVICE_PORT": "9000"}).service_port == 9000


def test_an_empty_service_port_counts_as_unset_so_port_applies() -> None:
    assert load_settings({"PORT": "8123", "SERVICE_PORT": ""}).service_port == 8123


@pytest.mark.parametrize(("port", "problem"), [
    ("http", "PORT must be a whole number (got http)"),
    ("70000", "PORT must be between 1 and 65535 (got 70000)"),
    ("0", "PORT must be between 1 and 65535 (got 0)"),
])
def test_a_bad_platform_port_is_refused_under_its_own_name(port: str, problem: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings({"PORT": port})
    assert refused.value.problems == [problem]
