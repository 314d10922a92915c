"""Settings come from the environment; a bad value stops start-up, naming the variable."""

from __future__ import annotations

import os
import traceback
from pathlib import Path

import pytest

from domain.hybrid import SearchMode
from entrypoints.container import build_container
from entrypoints.settings import Settings, SettingsError, load_settings
from entrypoints.tokens import DEV_SECRET_FILE, jwt_secret
from tests.memory_container import use_memory_adapters

PASSWORD = "hunter2-never-shown"
SECRETS = {
    "DATABASE_URL": f"postgresql://app:{PASSWORD}@db.example.org:5432/app",
    "SUPABASE_DB_PASSWORD": PASSWORD + "-db",
    "SUPABASE_JWT_SECRET": PASSWORD + "-jwt",
    "OPENAI_API_KEY": PASSWORD + "-openai",
    "ANTHROPIC_API_KEY": PASSWORD + "-anthropic",
    "LLAMAPARSE_API_KEY": PASSWORD + "-llama",
}


def refused(**env: str) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    return caught.value.problems


def test_the_defaults_are_those_of_the_design() -> None:
    settings = load_settings({})

    assert settings.database_dsn() is None
    assert settings.uses_embedded_database
    assert settings.database_schema == "upload_pipeline"
    assert (settings.service_host, settings.service_port) == ("0.0.0.0", 10000)
    assert settings.environment == "development"
    assert settings.log_level == "INFO"
    assert settings.cors_origins == []
    assert (settings.rag_similarity_threshold, settings.rag_max_chunks,
            settings.rag_token_budget) == (0.3, 10, 4000)
    assert settings.rag_embedding_model == "text-embedding-3-small"
    assert settings.rag_vector_dimension == 1536
    assert (settings.worker_poll_interval, settings.worker_max_retries,
            settings.worker_retry_base_delay, settings.worker_retry_max_delay) == (5, 3, 1.0, 300)
    assert (settings.worker_concurrency, settings.worker_lease_seconds) == (4, 60)
    assert settings.heartbeat_seconds == 20
    assert settings.upload_max_bytes == 50 * 1024 * 1024
    assert (settings.chunk_target_tokens, settings.chunk_overlap_tokens) == (512, 64)
    assert settings.navigator_home == Path("~/.local/share/insurance-navigator").expanduser()
    assert settings.blob_path == settings.navigator_home / "blobs"
    assert settings.database_pooler_mode == "auto"


def test_settings_are_read_from_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SERVICE_PORT", "8080")
    monkeypatch.setenv("WORKER_CONCURRENCY", "")  # empty counts as unset

    settings = load_settings()

    assert settings.service_port == 8080
    assert settings.worker_concurrency == 4


def test_variables_are_parsed_into_their_types(tmp_path: Path) -> None:
    settings = load_settings({
        "CORS_ORIGINS": "https://app.example.org, http://localhost:3000/",
        "DEBUG": "true", "LOG_LEVEL": "debug", "DATABASE_POOLER_MODE": "1",
        "NAVIGATOR_HOME": str(tmp_path), "BLOB_DIR": str(tmp_path / "files"),
        "WORKER_HEARTBEAT_SECONDS": "5", "ENVIRONMENT": "Production",
    })

    assert settings.cors_origins == ["https://app.example.org", "http://localhost:3000"]
    assert settings.debug is True
    assert settings.log_level == "DEBUG"
    assert settings.database_pooler_mode == "transaction"
    assert settings.blob_path == tmp_path / "files"
    assert settings.heartbeat_seconds == 5
    assert settings.environment == "production"


def test_database_url_wins_over_the_supabase_parts() -> None:
    settings = load_settings({"DATABASE_URL": "postgresql://a@h/db", "SUPABASE_DB_HOST": "x"})

    assert settings.database_dsn() == "postgresql://a@h/db"


def test_a_dsn_is_built_from_the_supabase_parts_with_the_password_escaped() -> None:
    settings = load_settings({
        "SUPABASE_DB_HOST": "db.project.supabase.co", "SUPABASE_DB_PORT": "6543",
        "SUPABASE_DB_USER": "postgres.project", "SUPABASE_DB_PASSWORD": "p@ss:/word",
        "SUPABASE_DB_NAME": "postgres",
    })

    assert settings.database_dsn() == (
        "postgresql://postgres.project:p%40ss%3A%2Fword@db.project.supabase.co:6543/postgres"
    )


@pytest.mark.parametrize(("env", "expected"), [
    ({"RAG_SIMILARITY_THRESHOLD": "7"}, "RAG_SIMILARITY_THRESHOLD must be between 0 and 1 "
                                        "(got 7)"),
    ({"SERVICE_PORT": "http"}, "SERVICE_PORT must be a whole number (got http)"),
    ({"SERVICE_PORT": "70000"}, "SERVICE_PORT must be between 1 and 65535 (got 70000)"),
    ({"WORKER_POLL_INTERVAL": "0"}, "WORKER_POLL_INTERVAL must be greater than 0 and at most "
                                    "3600 (got 0)"),
    ({"WORKER_MAX_RETRIES": "-1"}, "WORKER_MAX_RETRIES must be between 0 and 100 (got -1)"),
    ({"WORKER_RETRY_BASE_DELAY": "soon"}, "WORKER_RETRY_BASE_DELAY must be a number (got soon)"),
    ({"DEBUG": "perhaps"}, "DEBUG must be true or false (also accepted: 1/0, yes/no, on/off) "
                           "(got perhaps)"),
    ({"LOG_LEVEL": "loud"}, "LOG_LEVEL must be one of 'DEBUG', 'INFO', 'WARNING', 'ERROR' or "
                            "'CRITICAL' (got LOUD)"),
    ({"UPLOAD_MAX_BYTES": "0"}, "UPLOAD_MAX_BYTES must be at least 1 (got 0)"),
    ({"RAG_VECTOR_DIMENSION": "3072"}, "RAG_VECTOR_DIMENSION must be between 2 and 2000 "
                                       "(got 3072)"),
])
def test_a_bad_value_is_refused_with_the_variable_and_what_is_allowed(
    env: dict[str, str], expected: str
) -> None:
    assert refused(**env) == [expected]


@pytest.mark.parametrize("schema", ['upload"; drop schema public; --', "pg_uploads", "Upload"])
def test_a_schema_name_must_be_a_plain_sql_identifier(schema: str) -> None:
    (problem,) = refused(DATABASE_SCHEMA=schema)

    assert problem.startswith("DATABASE_SCHEMA must be a plain SQL identifier")


def test_cors_origins_must_be_origins() -> None:
    (problem,) = refused(CORS_ORIGINS="https://app.example.org/path")

    assert problem.startswith("CORS_ORIGINS must be a comma-separated list of origins")


def test_every_bad_variable_is_named_at_once() -> None:
    problems = refused(SERVICE_PORT="0", RAG_MAX_CHUNKS="0", WORKER_CONCURRENCY="x")

    assert [p.split()[0] for p in problems] == ["SERVICE_PORT", "RAG_MAX_CHUNKS",
                                                "WORKER_CONCURRENCY"]


def test_settings_that_contradict_each_other_are_named_together() -> None:
    assert refused(CHUNK_TARGET_TOKENS="100", CHUNK_OVERLAP_TOKENS="100") == [
        "CHUNK_OVERLAP_TOKENS must be less than CHUNK_TARGET_TOKENS (got 100 and 100)"
    ]
    assert refused(WORKER_LEASE_SECONDS="30", WORKER_HEARTBEAT_SECONDS="30")[0].startswith(
        "WORKER_HEARTBEAT_SECONDS must be less than WORKER_LEASE_SECONDS"
    )


def test_secrets_never_appear_in_the_settings_repr_or_str() -> None:
    settings = load_settings(SECRETS)

    assert PASSWORD not in repr(settings)
    assert PASSWORD not in str(settings)
    assert PASSWORD not in str(settings.model_dump())


def test_secrets_never_appear_in_the_start_up_error_or_its_traceback() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({**SECRETS, "SERVICE_PORT": "nope", "CHUNK_OVERLAP_TOKENS": "9999"})

    shown = "".join(traceback.format_exception(caught.value))
    assert "SERVICE_PORT" in shown
    assert PASSWORD not in shown


def test_in_development_a_dev_jwt_secret_is_made_once_per_home(tmp_path: Path) -> None:
    settings = load_settings({"NAVIGATOR_HOME": str(tmp_path)})

    first = jwt_secret(settings)
    again = jwt_secret(load_settings({"NAVIGATOR_HOME": str(tmp_path)}))

    assert first.get_secret_value() == again.get_secret_value()
    assert len(first.get_secret_value()) >= 64
    path = tmp_path / DEV_SECRET_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    assert first.get_secret_value() not in repr(first)


def test_outside_development_the_jwt_secret_must_be_set(tmp_path: Path) -> None:
    settings = load_settings({"ENVIRONMENT": "production", "NAVIGATOR_HOME": str(tmp_path)})

    with pytest.raises(SettingsError, match="SUPABASE_JWT_SECRET must be set"):
        jwt_secret(settings)
    assert not (tmp_path / DEV_SECRET_FILE).exists()


def test_the_configured_jwt_secret_is_used_as_is(tmp_path: Path) -> None:
    settings = load_settings({"SUPABASE_JWT_SECRET": "s" * 64, "NAVIGATOR_HOME": str(tmp_path)})

    assert jwt_secret(settings).get_secret_value() == "s" * 64
    assert not os.listdir(tmp_path)


def test_settings_are_immutable() -> None:
    settings = load_settings({})

    with pytest.raises(ValueError, match="frozen"):
        settings.service_port = 1
    assert isinstance(settings, Settings)


def test_search_finds_passages_by_words_and_meaning_unless_told_otherwise() -> None:
    assert load_settings({}).rag_search_mode == "hybrid"
    assert load_settings({"RAG_SEARCH_MODE": "keyword"}).rag_search_mode == "keyword"
    assert refused(RAG_SEARCH_MODE="fuzzy") == [
        "RAG_SEARCH_MODE must be one of 'hybrid', 'vector' or 'keyword' (got fuzzy)"]


def test_the_search_use_case_gets_the_configured_mode() -> None:
    container = build_container(load_settings({"RAG_SEARCH_MODE": "vector"}))
    use_memory_adapters(container)
    assert container.search_documents().mode is SearchMode.VECTOR


@pytest.mark.parametrize("dsn", [
    "postgresql://svc:S3cret/Pw9x@db.example.internal:5432/postgres",  # "/" in the password
    "postgresql://svc:S3cret#Pw9x@db.example.internal:5432/postgres",
    "postgresql://svc:S3cret?Pw9x@db.example.internal:5432/postgres",
    "postgresql://svc:12/S3cretPw9x@db.example.internal:5432/postgres",  # digits then "/"
    "mysql://svc:S3cretPw9x@db.example.internal:3306/app",
])
@pytest.mark.parametrize("variable", ["DATABASE_URL", "MIGRATION_DATABASE_URL"])
def test_a_database_url_the_driver_would_misread_is_refused_without_quoting_it(
    dsn: str, variable: str,
) -> None:
    # the driver's own error quoted the part of the password it took for a port
    with pytest.raises(SettingsError) as caught:
        load_settings({variable: dsn})

    message = str(caught.value)
    assert f"{variable} must be a postgresql://user:password@host:port/database URL" in message
    assert "percent-encode" in message
    assert "S3cret" not in message and "Pw9x" not in message


@pytest.mark.parametrize("dsn", [
    "postgresql://app:p%2Fa%23s%3Fs@db.example.org:5432/app",  # the same characters, encoded
    "postgres://app@db.example.org/app",
    "postgresql://postgres@/postgres?host=/tmp/navigator-socket",
    "postgresql://postgres.abcdefgh:pw@aws-0-eu-west-1.pooler.supabase.com:6543/postgres",
])
def test_a_database_url_written_right_is_taken_as_it_is(dsn: str) -> None:
    settings = load_settings({"DATABASE_URL": dsn, "DATABASE_POOLER_MODE": "auto"})

    assert settings.database_dsn() == dsn
