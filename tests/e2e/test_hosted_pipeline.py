"""The whole pipeline through the hosted adapters: with ``LLAMAPARSE_API_KEY`` and
``OPENAI_API_KEY`` set (base URLs at the fake servers on 127.0.0.1) an upload is
parsed by LlamaParse, embedded by OpenAI, and searchable, with the embedding
tokens it cost shown on its job.

The real ``llama-cloud`` and ``openai`` SDKs talk HTTP to the fakes; the API (over
an in-process ASGI transport), the worker service (with LISTEN/NOTIFY) and the
database (a schema on the embedded server) are the real ones, in this process to
keep it quick.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from entrypoints.api.app import create_app
from entrypoints.container import Container, build_container, running
from entrypoints.settings import load_settings
from entrypoints.tokens import mint_token
from tests.corpus import corpus_bytes
from tests.fakes.llamaparse_server import FakeLlamaParse
from tests.fakes.openai_server import FakeOpenAI

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

SECRET = "hosted-e2e-secret-" + "c0ffee" * 8
MEMBER = "member-hosted"
DIMENSIONS = 256


@pytest.fixture
def pg_vector_dimension() -> int:
    return DIMENSIONS


@pytest.fixture
def fakes() -> Iterator[tuple[FakeOpenAI, FakeLlamaParse]]:
    with FakeOpenAI() as openai, FakeLlamaParse(pending_polls=1) as llamaparse:
        yield openai, llamaparse


@pytest.fixture
async def hosted(postgres_dsn: str, pg_schema: str, tmp_path: Path,
                 fakes: tuple[FakeOpenAI, FakeLlamaParse]) -> AsyncIterator[httpx.AsyncClient]:
    openai, llamaparse = fakes
    settings = load_settings({
        "DATABASE_URL": postgres_dsn, "DATABASE_SCHEMA": pg_schema,
        "NAVIGATOR_HOME": str(tmp_path), "SUPABASE_JWT_SECRET": SECRET,
        "RAG_VECTOR_DIMENSION": str(DIMENSIONS),
        "OPENAI_API_KEY": openai.api_key, "OPENAI_BASE_URL": openai.base_url,
        "LLAMAPARSE_API_KEY": llamaparse.api_key, "LLAMAPARSE_BASE_URL": llamaparse.base_url,
        "WORKER_POLL_INTERVAL": "0.5",
    })
    container: Container = build_container(settings, postgres_dsn)
    app = create_app(container)
    async with running(container):
        worker = container.worker_service()
        stop = asyncio.Event()
        working = asyncio.create_task(worker.run(stop))
        headers = {"Authorization": f"Bearer {mint_token(SECRET, MEMBER)}"}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://navigator.test", headers=headers) as client:
            yield client
        stop.set()
        await asyncio.wait_for(working, timeout=10)


async def finished(client: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    async with asyncio.timeout(30):
        while True:
            job: dict[str, Any] = (await client.get(f"/api/v1/jobs/{job_id}")).json()
            if job["status"] in ("complete", "failed"):
                return job
            await asyncio.sleep(0.1)


async def test_an_upload_goes_through_llamaparse_and_openai_and_shows_its_token_cost(
    hosted: httpx.AsyncClient, fakes: tuple[FakeOpenAI, FakeLlamaParse],
) -> None:
    openai, llamaparse = fakes
    health = (await hosted.get("/health")).json()
    assert health["parser"] == "llamaparse"
    assert health["embedder"] == {"model": "text-embedding-3-small", "dimensions": DIMENSIONS}

    uploaded = await hosted.post("/api/v1/documents", files={
        "file": ("accessa-policy.pdf", corpus_bytes("simulated_insurance_document.pdf"))})
    assert uploaded.status_code == 202
    job = await finished(hosted, uploaded.json()["job"]["id"])

    assert job["status"] == "complete", job
    assert llamaparse.uploads == 1
    assert any("llamaparse" in event["detail"] for event in job["history"])
    assert openai.requests, "the embeddings went through the OpenAI SDK"
    assert {(r.model, r.dimensions) for r in openai.requests} == {
        ("text-embedding-3-small", DIMENSIONS)}
    billed = sum(request.tokens for request in openai.requests)
    assert job["embedding_tokens"] == billed > 0

    found = await hosted.post("/api/v1/search", json={"query": "prescription drugs tiered "
                                                               "co-payment"})
    assert found.status_code == 200
    chunks = found.json()["chunks"]
    assert chunks and chunks[0]["filename"] == "accessa-policy.pdf"
    assert "Prescription" in chunks[0]["text"]
    assert len(openai.requests) == 2  # the document's batch, then the question
