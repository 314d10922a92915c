"""The answer settings: defaults, and bad values named at start-up."""

from __future__ import annotations

import pytest

from entrypoints.settings import SettingsError, load_settings


def test_answers_default_to_a_current_claude_model_and_a_modest_rate_limit() -> None:
    settings = load_settings({})

    assert settings.anthropic_model == "claude-sonnet-4-6"
    assert settings.anthropic_max_output_tokens == 1024
    assert (settings.answer_rate_limit, settings.answer_rate_window_seconds) == (30, 600)


@pytest.mark.parametrize(("name", "value", "message"), [
    ("ANSWER_RATE_LIMIT", "0", "ANSWER_RATE_LIMIT must be between 1 and 100000"),
    ("ANSWER_RATE_WINDOW_SECONDS", "-5", "ANSWER_RATE_WINDOW_SECONDS must be greater than 0"),
    ("ANTHROPIC_MAX_OUTPUT_TOKENS", "lots", "ANTHROPIC_MAX_OUTPUT_TOKENS must be a whole number"),
])
def test_a_bad_answer_setting_stops_start_up_naming_it(name: str, value: str,
                                                       message: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings({name: value})

    assert message in str(refused.value)


def test_the_anthropic_key_is_never_echoed() -> None:
    settings = load_settings({"ANTHROPIC_API_KEY": "sk-ant-secret-value-42"})

    assert "sk-ant-secret-value-42" not in repr(settings)
