"""The API on the in-memory adapters: a real app, a real container, a fake clock.

``make_api(**env)`` builds a container from settings (the given variables over the
defaults below), swaps the database for the in-memory adapters, opens it and
serves the app through an in-process ASGI transport. Nothing touches the network.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import attrs
import httpx
import pytest
from fastapi import FastAPI

from entrypoints.api.app import create_app
from entrypoints.container import Container, build_container, running
from entrypoints.settings import Settings, load_settings
from entrypoints.tokens import mint_token
from tests.memory_container import MemoryAdapters, use_memory_adapters

SECRET = "test-secret-for-the-api-suite-" + "0123456789abcdef" * 3
MEMBER = "member-1"
OTHER_MEMBER = "member-2"
ORIGIN = "https://app.navigator.test"

BASE_ENV = {
    "SUPABASE_JWT_SECRET": SECRET,
    "RAG_VECTOR_DIMENSION": "256",
    "UPLOAD_MAX_BYTES": str(64 * 1024),
    "CORS_ORIGINS": ORIGIN,
}


@pytest.fixture
def pg_vector_dimension() -> int:
    """Schemas of the PostgreSQL-backed API tests hold vectors of the suite's size."""
    return int(BASE_ENV["RAG_VECTOR_DIMENSION"])


@contextlib.asynccontextmanager
async def api_on_postgres(
    dsn: str, schema: str, home: Path, *, raise_app_exceptions: bool = True, **env: str,
) -> AsyncIterator[tuple[httpx.AsyncClient, Container]]:
    """The real app and container on PostgreSQL (``schema``), with ``env`` over the
    suite's settings; a client that calls it in-process, and the container."""
    settings = load_settings({**BASE_ENV, "NAVIGATOR_HOME": str(home),
                              "DATABASE_SCHEMA": schema, **env})
    container = build_container(settings, dsn)
    transport = httpx.ASGITransport(app=create_app(container),
                                    raise_app_exceptions=raise_app_exceptions)
    async with running(container), httpx.AsyncClient(
        transport=transport, base_url="http://navigator.test"
    ) as client:
        yield client, container


def bearer(member: str = MEMBER, secret: str = SECRET, **kwargs: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(secret, member, **kwargs)}"}  # type: ignore[arg-type]


@attrs.frozen
class Api:
    client: httpx.AsyncClient
    app: FastAPI
    container: Container
    memory: MemoryAdapters
    settings: Settings

    async def upload(
        self, name: str, data: bytes, member: str = MEMBER, content_type: str | None = None
    ) -> httpx.Response:
        file = (name, data) if content_type is None else (name, data, content_type)
        return await self.client.post("/api/v1/documents", files={"file": file},
                                      headers=bearer(member))

    async def run_worker(self) -> int:
        """Process every ready job to the end (one worker, in this event loop)."""
        return await self.container.worker(worker_id="test-worker").drain()


MakeApi = Callable[..., Awaitable[Api]]


@pytest.fixture
async def make_api(tmp_path: Path) -> AsyncIterator[MakeApi]:
    async with AsyncExitStack() as stack:

        async def make(
            override: Callable[[Container], None] | None = None, **env: str
        ) -> Api:
            settings = load_settings({**BASE_ENV, "NAVIGATOR_HOME": str(tmp_path), **env})
            container = build_container(settings)
            memory = use_memory_adapters(container)
            if override is not None:
                override(container)
            app = create_app(container)
            await stack.enter_async_context(running(container))
            client = await stack.enter_async_context(httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://navigator.test"
            ))
            return Api(client, app, container, memory, settings)

        yield make


@pytest.fixture
async def api(make_api: MakeApi) -> Api:
    return await make_api()

