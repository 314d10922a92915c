"""DATABASE_POOLER_MODE: mode names, the old true/false spellings, and a URL that
contradicts the setting refused before anything connects."""

from __future__ import annotations

import pytest

from entrypoints.settings import SettingsError, load_settings

SUPAVISOR = "aws-0-eu-central-1.pooler.supabase.com"


@pytest.mark.parametrize(("given", "mode"), [
    ("auto", "auto"), ("Transaction", "transaction"), ("session", "session"),
    ("true", "transaction"), ("1", "transaction"), ("on", "transaction"),
    ("false", "session"), ("0", "session"), ("off", "session"), ("direct", "session"),
])
def test_the_pooler_mode_takes_mode_names_and_the_old_true_false(given: str, mode: str) -> None:
    assert load_settings({"DATABASE_POOLER_MODE": given}).database_pooler_mode == mode


def test_an_unknown_pooler_mode_is_refused_with_the_allowed_values() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings({"DATABASE_POOLER_MODE": "statement"})

    assert "DATABASE_POOLER_MODE must be one of 'auto', 'transaction' or 'session'" in str(
        refused.value)


@pytest.mark.parametrize("environ", [
    {"DATABASE_URL": f"postgresql://postgres.abc:s3cret@{SUPAVISOR}:6543/postgres"},
    {"SUPABASE_DB_HOST": SUPAVISOR, "SUPABASE_DB_PORT": "6543",
     "SUPABASE_DB_PASSWORD": "s3cret"},
])
def test_session_mode_on_the_transaction_port_is_refused_naming_the_setting(
    environ: dict[str, str],
) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings({**environ, "DATABASE_POOLER_MODE": "false"})

    message = str(refused.value)
    assert "DATABASE_POOLER_MODE=transaction" in message and "6543" in message
    assert "s3cret" not in message


@pytest.mark.parametrize("mode", ["auto", "transaction"])
def test_the_transaction_port_is_accepted_when_the_setting_allows_it(mode: str) -> None:
    settings = load_settings({
        "DATABASE_URL": f"postgresql://postgres.abc:pw@{SUPAVISOR}:6543/postgres",
        "DATABASE_POOLER_MODE": mode,
    })

    assert settings.database_pooler_mode == mode
