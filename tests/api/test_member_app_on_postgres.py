"""The member's app routes on the real adapters (PostgreSQL, its file store in parts of
1 MiB): a range across parts, cursor pages, a search limited to one document, usage,
reprocessing, and a job's progress read from the database and pushed within a second
on the injected clock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
from dependency_injector import providers
from fastapi import FastAPI

from domain.units import MIB
from entrypoints.api.app import create_app
from entrypoints.container import Container, build_container, running
from entrypoints.settings import load_settings
from tests.api.conftest import BASE_ENV, OTHER_MEMBER, bearer
from tests.api.test_documents import POLICY, is_problem
from tests.api.test_member_app_api import LEASE, EventStream, open_events
from tests.api.test_search import DENTAL
from tests.fakes.clock import FakeClock

pytestmark = pytest.mark.postgres


@attrs.frozen
class Wired:
    client: httpx.AsyncClient
    app: FastAPI
    container: Container
    clock: FakeClock

    async def upload(self, name: str, data: bytes, member: str | None = None
                     ) -> dict[str, Any]:
        headers = bearer() if member is None else bearer(member)
        response = await self.client.post("/api/v1/documents", files={"file": (name, data)},
                                          headers=headers)
        assert response.status_code == 202, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
async def wired(postgres_dsn: str, pg_schema: str, tmp_path: Path) -> AsyncIterator[Wired]:
    settings = load_settings({**BASE_ENV, "NAVIGATOR_HOME": str(tmp_path),
                              "DATABASE_SCHEMA": pg_schema,
                              "UPLOAD_MAX_BYTES": str(4 * MIB)})
    container = build_container(settings, postgres_dsn)
    clock = FakeClock()
    container.clock.override(providers.Object(clock))
    app = create_app(container)
    async with running(container), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://navigator.test",
    ) as client:
        yield Wired(client, app, container, clock)


async def test_a_range_across_the_parts_of_a_stored_file_comes_back_exactly(
    wired: Wired,
) -> None:
    text = b"".join(b"line %07d of the plan\n" % n for n in range(110_000))  # ~2.5 MiB
    document = (await wired.upload("plan.txt", text))["document"]
    url = f"/api/v1/documents/{document['id']}/file"

    whole = await wired.client.get(url, headers=bearer())
    across = await wired.client.get(url, headers={**bearer(), "Range": f"bytes={MIB - 10}-"
                                                                       f"{2 * MIB + 9}"})
    theirs = await wired.client.get(url, headers=bearer(OTHER_MEMBER))

    assert (whole.status_code, whole.content) == (200, text)
    assert (across.status_code, across.content) == (206, text[MIB - 10 : 2 * MIB + 10])
    assert across.headers["content-range"] == f"bytes {MIB - 10}-{2 * MIB + 9}/{len(text)}"
    is_problem(theirs, 404)


async def test_pages_search_usage_and_reprocessing_on_postgres(wired: Wired) -> None:
    client = wired.client
    policy = (await wired.upload("benefits.md", POLICY))["document"]["id"]
    wired.clock.advance(1)
    dental = (await wired.upload("dental.md", DENTAL))["document"]["id"]
    await wired.container.worker(worker_id="worker-pg").drain()

    first = (await client.get("/api/v1/documents?limit=1", headers=bearer())).json()
    second = (await client.get("/api/v1/documents", headers=bearer(),
                               params={"limit": 1, "cursor": first["next_cursor"]})).json()
    limited = (await client.post("/api/v1/search", headers=bearer(), json={
        "query": "What is covered and what is the deductible?",
        "document_ids": [policy]})).json()
    usage = (await client.get("/api/v1/me/usage", headers=bearer())).json()
    again = await client.post(f"/api/v1/documents/{policy}/reprocess", headers=bearer())
    during = (await client.post("/api/v1/search", headers=bearer(),
                                json={"query": "deductible"})).json()

    assert [i["document"]["id"] for i in first["items"] + second["items"]] == [dental, policy]
    assert second["next_cursor"] is None
    assert limited["chunks"] and {c["document_id"] for c in limited["chunks"]} == {policy}
    assert usage["documents"]["used"] == 2
    assert usage["bytes"]["used"] == len(POLICY) + len(DENTAL)
    assert (again.status_code, again.json()["status"]) == (202, "parse_validated")
    assert [(n["document_id"], n["reason"]) for n in during["not_searched"]] == [
        (policy, "processing")]


@pytest.fixture
async def streams() -> AsyncIterator[list[EventStream]]:
    opened: list[EventStream] = []
    yield opened
    for stream in opened:
        stream.task.cancel()
        await asyncio.gather(stream.task, return_exceptions=True)


async def test_a_status_change_stored_in_postgres_reaches_the_stream_within_a_second(
    wired: Wired, streams: list[EventStream],
) -> None:
    job = (await wired.upload("benefits.md", POLICY))["job"]
    stream = await open_events(wired.app, job["id"])
    streams.append(stream)

    first = await stream.next_event()
    # Another process's worker claims it: the change is only in the database.
    [lease] = await wired.container.job_queue().claim("worker-elsewhere", 1, LEASE)
    await wired.clock.wait_until_sleeping()
    wired.clock.advance(wired.container.settings().job_events_poll_seconds)
    second = await stream.next_event()

    assert first is not None and json.loads(first["data"])["status"] == "uploaded"
    assert second is not None and json.loads(second["data"])["status"] == "parsing"
    assert second["id"] == "2"
    assert str(lease.job_id) == job["id"]
