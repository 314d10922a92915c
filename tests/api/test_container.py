"""The composition root picks adapters from the settings and builds nothing at import."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from adapters.hashing_embedder import HashingEmbedder
from adapters.llamaparse_parser import LlamaParseParser
from adapters.openai_embedder import OpenAIEmbedder
from adapters.parsers.isolated import IsolatedLocalParser, ParseLimits
from adapters.postgres.errors import DatabaseUnavailable
from domain.retry import RetryPolicy
from entrypoints.container import (
    Container,
    build_container,
    start,
    start_database,
    stop,
)
from entrypoints.settings import load_settings
from tests.api.conftest import BASE_ENV
from tests.memory_container import use_memory_adapters


def entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def container_for(tmp_path: Path, **env: str) -> Container:
    return build_container(load_settings({**BASE_ENV, "NAVIGATOR_HOME": str(tmp_path), **env}))


def test_without_keys_the_local_parser_and_the_hashing_embedder_are_used(
    tmp_path: Path,
) -> None:
    container = container_for(tmp_path)

    parser = container.parser()
    assert isinstance(parser, IsolatedLocalParser)  # each file in a child process
    assert parser.limits == ParseLimits(memory_bytes=1024 * 1024 * 1024, cpu_seconds=120,
                                        wall_seconds=300)
    embedder = container.embedder()
    assert isinstance(embedder, HashingEmbedder)
    assert embedder.dimensions == 256


def test_with_keys_the_hosted_parser_and_embedder_are_used(tmp_path: Path) -> None:
    container = container_for(
        tmp_path, LLAMAPARSE_API_KEY="llx-test", OPENAI_API_KEY="sk-test",
        OPENAI_BASE_URL="http://127.0.0.1:9/v1", RAG_EMBEDDING_MODEL="text-embedding-3-large",
    )

    assert isinstance(container.parser(), LlamaParseParser)
    embedder = container.embedder()
    assert isinstance(embedder, OpenAIEmbedder)
    assert (embedder.model, embedder.dimensions) == ("text-embedding-3-large", 256)
    assert "sk-test" not in repr(embedder)


def test_policies_follow_the_settings(tmp_path: Path) -> None:
    container = container_for(
        tmp_path, WORKER_MAX_RETRIES="5", WORKER_RETRY_BASE_DELAY="2",
        WORKER_RETRY_MAX_DELAY="60", RAG_MAX_CHUNKS="7", CHUNK_TARGET_TOKENS="256",
        CHUNK_OVERLAP_TOKENS="32", UPLOAD_MAX_DOCUMENTS_PER_MEMBER="9",
    )
    use_memory_adapters(container)

    assert container.retry_policy() == RetryPolicy(max_retries=5, base_delay=2, max_delay=60)
    assert container.retrieval_options().max_chunks == 7
    assert (container.chunking().target_tokens, container.chunking().overlap_tokens) == (256,
                                                                                         32)
    assert container.upload_policy().max_documents_per_member == 9
    assert container.upload_policy().max_bytes == 64 * 1024
    assert container.process_job().retry_policy is container.retry_policy()
    assert container.search_documents().defaults is container.retrieval_options()


async def test_a_worker_is_made_for_a_named_worker(tmp_path: Path) -> None:
    container = container_for(tmp_path, WORKER_CONCURRENCY="3")
    memory = use_memory_adapters(container)

    worker = container.worker(worker_id="worker-7")

    assert (worker.worker_id, worker.concurrency) == ("worker-7", 3)
    assert worker.process is container.process_job()
    assert worker.ticker is memory.clock


def test_a_worker_tells_the_registry_its_own_live_window(tmp_path: Path) -> None:
    # three of its heartbeats, which are a third of its lease: whoever asks (the API's
    # shell on other settings) judges it by this, not by its own settings
    container = container_for(tmp_path, WORKER_LEASE_SECONDS="300")
    use_memory_adapters(container)

    service = container.worker_service()

    assert (service.beat_interval, service.live_for) == (100, timedelta(seconds=300))


async def test_memory_adapters_replace_the_database_until_reset(tmp_path: Path) -> None:
    container = container_for(tmp_path)
    memory = use_memory_adapters(container)
    await start(container)

    assert container.job_queue() is memory.job_queue
    assert container.clock() is memory.clock
    assert container.jitter()() == 0.0
    await stop(container)
    container.reset_override()
    assert container.settings().rag_vector_dimension == 256


async def test_a_production_worker_starts_without_the_jwt_secret_only_the_api_needs(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in BASE_ENV.items() if k != "SUPABASE_JWT_SECRET"}
    settings = load_settings({**env, "ENVIRONMENT": "production",
                              "NAVIGATOR_HOME": str(tmp_path)})
    container = build_container(settings)
    use_memory_adapters(container)

    await start(container)
    await stop(container)

    assert entries(tmp_path) == []  # no development secret written either


async def test_an_unreachable_database_stops_start_up_with_a_clear_message(
    tmp_path: Path,
) -> None:
    settings = load_settings({**BASE_ENV, "NAVIGATOR_HOME": str(tmp_path)})
    container = build_container(settings, "postgresql://app:pw@127.0.0.1:9/app")

    with pytest.raises(DatabaseUnavailable, match=r"127\.0\.0\.1:9/app") as caught:
        await start(container)
    assert "pw" not in str(caught.value)


async def test_a_configured_database_url_is_used_without_starting_a_server(
    tmp_path: Path,
) -> None:
    settings = load_settings({"DATABASE_URL": "postgresql://app@db.example.org/app",
                              "NAVIGATOR_HOME": str(tmp_path)})

    assert await start_database(settings) == ("postgresql://app@db.example.org/app", None)
    assert not (tmp_path / "pgdata").exists()


def test_importing_the_entrypoints_builds_nothing(tmp_path: Path) -> None:
    code = (
        "import entrypoints.container, entrypoints.api.app, entrypoints.settings, "
        "entrypoints.metrics, entrypoints.tokens; import os; "
        "print(sorted(os.listdir(os.environ['NAVIGATOR_HOME'])))"
    )
    env = {"NAVIGATOR_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "SERVICE_PORT": "bad"}

    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, cwd=Path(__file__).resolve().parents[2], check=True)

    assert result.stdout.strip() == "[]"
