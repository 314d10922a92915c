"""The same API on the real adapters: the container wired to PostgreSQL (embedded)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID

import httpx
import pytest

from entrypoints.container import Container
from tests.api.conftest import api_on_postgres, bearer
from tests.api.test_documents import POLICY
from tests.api.test_health import OPERATOR_TOKEN
from tests.api.test_health import operator as operator_bearer

pytestmark = pytest.mark.postgres


@pytest.fixture
async def wired(
    postgres_dsn: str, pg_schema: str, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, Container]]:
    async with api_on_postgres(postgres_dsn, pg_schema, tmp_path,
                               OPERATOR_TOKEN=OPERATOR_TOKEN) as wired:
        yield wired


async def test_health_reads_the_schema_and_the_live_workers_from_postgres(
    wired: tuple[httpx.AsyncClient, Container], pg_schema: str
) -> None:
    client, container = wired

    before = (await client.get("/health")).json()
    await container.worker_registry().register("worker-a", "host-a", 4121)
    after = (await client.get("/health")).json()
    operator = (await client.get("/health", headers=operator_bearer())).json()

    assert before["status"] == "degraded"
    assert before["database"]["schema"] == pg_schema
    assert before["database"]["schema_present"] is True
    assert before["database"]["migration_version"] >= 1
    assert before["database"]["pending_migrations"] == []
    assert after["status"] == "ok"
    assert after["workers"] == {"live": 1, "window_seconds": 60.0}  # no hosts: anonymous
    assert operator["workers"]["ids"] == ["worker-a"]
    assert operator["workers"]["details"][0]["hostname"] == "host-a"
    assert operator["database"]["where"]  # where the database lives, for operators only
    assert "where" not in after["database"]


async def test_an_upload_is_processed_and_found_by_search_on_postgres(
    wired: tuple[httpx.AsyncClient, Container], tmp_path: Path
) -> None:
    client, container = wired

    uploaded = await client.post("/api/v1/documents", files={"file": ("benefits.md", POLICY)},
                                 headers=bearer())
    await container.worker(worker_id="test-worker").drain()
    job = (await client.get(uploaded.json()["job"]["links"]["self"], headers=bearer())).json()
    found = (await client.post("/api/v1/search", json={"query": "maximum out-of-pocket"},
                               headers=bearer())).json()
    metrics = (await client.get("/metrics")).text

    assert uploaded.status_code == 202
    assert not (tmp_path / "blobs").exists()  # the file is in the database, not on disk
    document_id = uploaded.json()["document"]["id"]
    stored = await container.pool().fetchval(
        f'SELECT sum(length(data)) FROM "{container.settings().database_schema}".document_files '
        "WHERE document_id = $1", UUID(document_id))
    assert stored == len(POLICY)
    assert job["status"] == "complete"
    assert found["chunks"] and found["chunks"][0]["filename"] == "benefits.md"
    assert 'navigator_jobs{status="complete"} 1.0' in metrics


async def test_the_worker_is_woken_by_a_notice_when_a_document_is_uploaded(
    wired: tuple[httpx.AsyncClient, Container],
) -> None:
    client, container = wired
    woken = asyncio.Event()
    subscribe = container.job_notices()
    assert subscribe is not None
    subscription = await subscribe(woken.set)
    try:
        assert subscription.alive
        await client.post("/api/v1/documents", files={"file": ("benefits.md", POLICY)},
                          headers=bearer())
        await asyncio.wait_for(woken.wait(), timeout=5)
    finally:
        await subscription.close()
    assert not subscription.alive
