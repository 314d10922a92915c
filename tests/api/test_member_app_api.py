"""The routes a member's app builds on, over HTTP on the in-memory adapters: the file
itself with byte ranges, cursor paging and the status filter, limiting a search or a
question to some documents, usage against limits, reprocessing, and a job's progress
pushed as server-sent events (driven by the injected clock, never by sleeping)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from uuid import uuid4

import attrs
import pytest
from starlette.types import ASGIApp

from domain.status import JobStatus
from tests.api.conftest import MEMBER, OTHER_MEMBER, Api, MakeApi, bearer
from tests.api.test_documents import POLICY, is_problem
from tests.api.test_search import DENTAL, search

LEASE = timedelta(seconds=60)


async def uploaded(api: Api, name: str, data: bytes, member: str = MEMBER) -> dict[str, Any]:
    response = await api.upload(name, data, member)
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


# -- the file ----------------------------------------------------------------------------


async def test_a_member_downloads_their_file_exactly_as_uploaded(api: Api) -> None:
    body = await uploaded(api, "2025 bénéfices.md", POLICY)
    document = body["document"]

    response = await api.client.get(f"/api/v1/documents/{document['id']}/file",
                                    headers=bearer())

    assert response.status_code == 200
    assert response.content == POLICY
    assert response.headers["content-type"].startswith("text/markdown")
    assert response.headers["content-length"] == str(len(POLICY))
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["etag"] == f'"{document["sha256"]}"'
    assert response.headers["x-content-type-options"] == "nosniff"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('inline; filename="2025 b_n_fices.md"')
    assert "filename*=UTF-8''2025%20b%C3%A9n%C3%A9fices.md" in disposition


@pytest.mark.parametrize(("header", "expected", "content_range"), [
    ("bytes=0-9", slice(0, 10), "bytes 0-9/"),
    ("bytes=10-", slice(10, None), "bytes 10-{last}/"),
    ("bytes=-7", slice(-7, None), "bytes {tail}-{last}/"),
    ("bytes=5-100000", slice(5, None), "bytes 5-{last}/"),
])
async def test_a_range_of_the_file_comes_as_partial_content(
    api: Api, header: str, expected: slice, content_range: str,
) -> None:
    document = (await uploaded(api, "benefits.md", POLICY))["document"]

    response = await api.client.get(f"/api/v1/documents/{document['id']}/file",
                                    headers={**bearer(), "Range": header})

    assert response.status_code == 206
    assert response.content == POLICY[expected]
    size = len(POLICY)
    assert response.headers["content-range"] == (
        content_range.format(last=size - 1, tail=size - 7) + str(size))
    assert response.headers["content-length"] == str(len(POLICY[expected]))


async def test_a_range_past_the_end_is_416_and_several_or_backwards_get_the_whole_file(
    api: Api,
) -> None:
    document = (await uploaded(api, "benefits.md", POLICY))["document"]
    url = f"/api/v1/documents/{document['id']}/file"

    past = await api.client.get(url, headers={**bearer(), "Range": f"bytes={len(POLICY)}-"})
    several = await api.client.get(url, headers={**bearer(), "Range": "bytes=0-1,5-9"})
    backwards = await api.client.get(url, headers={**bearer(), "Range": "bytes=5-3"})

    body = is_problem(past, 416)
    assert f"the file has {len(POLICY)} bytes" in str(body["detail"])
    assert past.headers["content-range"] == f"bytes */{len(POLICY)}"
    assert (several.status_code, several.content) == (200, POLICY)
    # not a range at all (it ends before it starts): ignored, as RFC 9110 says
    assert (backwards.status_code, backwards.content) == (200, POLICY)


async def test_another_members_file_is_not_found(api: Api) -> None:
    document = (await uploaded(api, "benefits.md", POLICY))["document"]

    theirs = await api.client.get(f"/api/v1/documents/{document['id']}/file",
                                  headers=bearer(OTHER_MEMBER))
    missing = await api.client.get(f"/api/v1/documents/{uuid4()}/file", headers=bearer())

    is_problem(theirs, 404)
    is_problem(missing, 404)
    assert POLICY.decode() not in theirs.text


async def test_an_html_document_is_sent_sandboxed_so_it_runs_no_script(api: Api) -> None:
    page = b"<html><body><h1>Plan</h1><script>alert(1)</script><p>Deductible $500</p></body>"
    document = (await uploaded(api, "plan.html", page))["document"]

    response = await api.client.get(f"/api/v1/documents/{document['id']}/file",
                                    headers=bearer())

    assert response.headers["content-security-policy"] == "sandbox"


# -- paging and filtering ------------------------------------------------------------------


async def test_cursor_pages_are_stable_while_the_member_uploads_more(api: Api) -> None:
    first = [(await uploaded(api, f"policy-{n}.md", POLICY + f"{n}".encode()))["document"]["id"]
             for n in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await api.client.get("/api/v1/documents", params=params,
                                     headers=bearer())).json()
        seen += [item["document"]["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        await uploaded(api, f"new-{len(seen)}.md", POLICY + f"new {len(seen)}".encode())

    # Every document that was there is shown exactly once. (On this fixed clock the new
    # uploads tie on time with the old ones, so some sort after the cursor and show too.)
    assert set(first) <= set(seen)
    assert len(seen) == len(set(seen))


async def test_the_list_is_filtered_by_status(api: Api) -> None:
    await uploaded(api, "benefits.md", POLICY)
    await api.run_worker()
    waiting = (await uploaded(api, "dental.md", DENTAL))["document"]["id"]

    only_waiting = await api.client.get("/api/v1/documents?status=uploaded", headers=bearer())
    both = await api.client.get("/api/v1/documents?status=uploaded&status=complete",
                                headers=bearer())
    strange = await api.client.get("/api/v1/documents?status=lost", headers=bearer())

    assert [i["document"]["id"] for i in only_waiting.json()["items"]] == [waiting]
    assert len(both.json()["items"]) == 2
    is_problem(strange, 422)


async def test_a_cursor_this_service_never_gave_is_refused_saying_what_to_send(
    api: Api,
) -> None:
    response = await api.client.get("/api/v1/documents?cursor=not-a-cursor", headers=bearer())

    body = is_problem(response, 422)
    assert "next_cursor" in str(body["detail"])


# -- limiting a search or a question to some documents ----------------------------------------


async def test_a_search_limited_to_one_document_finds_only_its_passages(api: Api) -> None:
    policy = (await uploaded(api, "benefits.md", POLICY))["document"]["id"]
    await uploaded(api, "dental.md", DENTAL)
    await api.run_worker()

    response = await search(api, query="What is covered and what is the deductible?",
                            document_ids=[policy])

    assert response.status_code == 200
    assert {c["document_id"] for c in response.json()["chunks"]} == {policy}


async def test_ids_that_are_not_the_members_are_refused_naming_them(api: Api) -> None:
    mine = (await uploaded(api, "benefits.md", POLICY))["document"]["id"]
    theirs = (await uploaded(api, "dental.md", DENTAL, OTHER_MEMBER))["document"]["id"]
    never = str(uuid4())

    searched = await search(api, query="deductible", document_ids=[mine, theirs, never])
    asked = await api.client.post("/api/v1/answers", headers=bearer(), json={
        "question": "What is the deductible?", "document_ids": [theirs]})
    too_many = await search(api, query="deductible", document_ids=[str(uuid4())] * 21)

    detail = str(is_problem(searched, 404)["detail"])
    assert theirs in detail and never in detail and mine not in detail
    assert theirs in str(is_problem(asked, 404)["detail"])
    is_problem(too_many, 422)


async def test_an_answer_limited_to_one_document_cites_only_it(api: Api) -> None:
    await uploaded(api, "dental.md", DENTAL)
    policy = (await uploaded(api, "benefits.md", POLICY))["document"]["id"]
    await api.run_worker()

    response = await api.client.post("/api/v1/answers", headers=bearer(), json={
        "question": "What is covered and what is the deductible?", "document_ids": [policy]})

    assert response.status_code == 200
    citations = response.json()["citations"]
    assert citations and {c["document_id"] for c in citations} == {policy}


# -- usage ----------------------------------------------------------------------------------


async def test_usage_shows_documents_bytes_and_answers_against_their_limits(
    make_api: MakeApi,
) -> None:
    api = await make_api(UPLOAD_MAX_DOCUMENTS_PER_MEMBER="5", ANSWER_RATE_LIMIT="7")
    await uploaded(api, "benefits.md", POLICY)
    await uploaded(api, "dental.md", DENTAL)
    await uploaded(api, "theirs.md", POLICY, OTHER_MEMBER)
    await api.run_worker()
    await api.client.post("/api/v1/answers", headers=bearer(),
                          json={"question": "What is the deductible?"})

    response = await api.client.get("/api/v1/me/usage", headers=bearer())

    assert response.status_code == 200
    assert response.json() == {
        "documents": {"used": 2, "limit": 5},
        "bytes": {"used": len(POLICY) + len(DENTAL),
                  "limit": api.settings.upload_max_bytes_per_member},
        "answers": {"used": 1, "limit": 7, "window_seconds": 600.0},
    }
    assert (await api.client.get("/api/v1/me/usage")).status_code == 401


# -- reprocessing --------------------------------------------------------------------------


async def test_a_reprocessed_document_is_reported_by_searches_until_it_is_complete_again(
    api: Api,
) -> None:
    document = (await uploaded(api, "benefits.md", POLICY))["document"]["id"]
    url = f"/api/v1/documents/{document}/reprocess"
    early = await api.client.post(url, headers=bearer())
    await api.run_worker()

    response = await api.client.post(url, headers=bearer())
    during = (await search(api, query="deductible")).json()
    answered_during = (await api.client.post("/api/v1/answers", headers=bearer(), json={
        "question": "What is the deductible?"})).json()
    await api.run_worker()
    after = (await search(api, query="deductible")).json()

    assert "wait until it is complete" in str(is_problem(early, 409)["detail"])
    assert response.status_code == 202
    job = response.json()
    assert job["status"] == "parse_validated"
    assert job["history"][-1]["detail"] == "reprocess requested by member"
    assert response.headers["location"] == f"/api/v1/jobs/{job['id']}"
    assert during["chunks"] == []
    assert during["not_searched"] == [{"document_id": document, "filename": "benefits.md",
                                       "reason": "processing", "status": "parse_validated"}]
    assert after["chunks"] and after["not_searched"] == []
    assert answered_during["not_searched"] == during["not_searched"]
    is_problem(await api.client.post(url, headers=bearer(OTHER_MEMBER)), 404)


async def test_documents_of_an_older_embedding_model_are_reported_not_dropped(api: Api) -> None:
    document = (await uploaded(api, "benefits.md", POLICY))["document"]["id"]
    await api.run_worker()
    vectors = api.memory.store.vectors
    for chunk_id, vector in list(vectors.items()):  # as an earlier model left them
        vectors[chunk_id] = attrs.evolve(vector, model="an-older-model")

    body = (await search(api, query="deductible")).json()

    assert body["chunks"] == []
    assert body["not_searched"] == [{"document_id": document, "filename": "benefits.md",
                                     "reason": "embedded_by_another_model",
                                     "status": "complete"}]


# -- job progress as server-sent events -------------------------------------------------------


@attrs.define
class EventStream:
    """A streaming GET to the ASGI app in this event loop (httpx's in-process transport
    gathers a whole body first); events are read as they are sent."""

    status: int
    headers: dict[str, str]
    chunks: asyncio.Queue[bytes]
    task: asyncio.Task[None]
    buffer: bytes = b""

    async def next_event(self) -> dict[str, str] | None:
        """The next event (its fields), a comment as {"comment": ...}, None at the end."""
        while b"\n\n" not in self.buffer:
            chunk = await asyncio.wait_for(self.chunks.get(), timeout=10)  # a bound only
            if chunk == b"" and self.task.done():
                return None
            self.buffer += chunk
        block, self.buffer = self.buffer.split(b"\n\n", 1)
        fields: dict[str, str] = {}
        for line in block.decode().splitlines():
            name, _, value = line.partition(":")
            fields[name or "comment"] = value.strip()
        return fields


async def open_events(app: ASGIApp, job_id: str, **headers: str) -> EventStream:
    chunks: asyncio.Queue[bytes] = asyncio.Queue()
    start: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    closed = asyncio.Event()
    requested = False
    path = f"/api/v1/jobs/{job_id}/events"

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await closed.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            start.set_result(message)
        elif message["type"] == "http.response.body":
            await chunks.put(message.get("body", b""))
            if not message.get("more_body", False):
                await chunks.put(b"")

    sent = {**bearer(), **headers}
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 50000), "server": ("navigator.test", 80),
        "headers": [(k.lower().encode(), v.encode("latin-1")) for k, v in sent.items()],
    }
    task = asyncio.create_task(app(scope, receive, send))  # type: ignore[arg-type]
    started = await asyncio.wait_for(start, timeout=10)
    headers_out = {k.decode(): v.decode() for k, v in started["headers"]}
    return EventStream(started["status"], headers_out, chunks, task)


@pytest.fixture
async def streams() -> AsyncIterator[list[EventStream]]:
    opened: list[EventStream] = []
    yield opened
    for stream in opened:
        stream.task.cancel()
        await asyncio.gather(stream.task, return_exceptions=True)


async def test_each_status_change_reaches_the_member_within_a_second(
    api: Api, streams: list[EventStream],
) -> None:
    job = (await uploaded(api, "benefits.md", POLICY))["job"]
    stream = await open_events(api.app, job["id"])
    streams.append(stream)
    clock, queue = api.memory.clock, api.memory.job_queue

    first = await stream.next_event()
    [lease] = await queue.claim("worker-1", 1, LEASE)  # the worker starts parsing it
    await clock.wait_until_sleeping()
    clock.advance(api.settings.job_events_poll_seconds)  # <= 1 s on the service's clock
    second = await stream.next_event()

    assert stream.status == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert first is not None and second is not None
    assert (first["event"], first["id"]) == ("status", "1")
    shown = (await api.client.get(f"/api/v1/jobs/{job['id']}", headers=bearer())).json()
    assert json.loads(second["data"]) == shown  # the same JSON as GET /jobs/{id}
    assert (second["id"], shown["status"]) == ("2", "parsing")
    assert api.settings.job_events_poll_seconds <= 1
    assert lease.job.status is JobStatus.PARSING


async def test_the_stream_ends_after_complete_and_resumes_after_the_last_event_id(
    api: Api, streams: list[EventStream],
) -> None:
    job = (await uploaded(api, "benefits.md", POLICY))["job"]
    await api.run_worker()
    history = (await api.client.get(f"/api/v1/jobs/{job['id']}", headers=bearer())).json()

    whole = await open_events(api.app, job["id"])
    resumed = await open_events(api.app, job["id"],
                                **{"Last-Event-ID": str(len(history["history"]))})
    streams += [whole, resumed]

    only = await whole.next_event()
    assert only is not None and json.loads(only["data"])["status"] == "complete"
    assert only["id"] == str(len(history["history"]))
    assert await whole.next_event() is None
    assert await resumed.next_event() is None


@pytest.mark.parametrize("last", ["\u00b2", "-1", "3x", "", "9" * 5000])
async def test_a_last_event_id_that_is_not_a_count_replays_from_the_start(
    api: Api, streams: list[EventStream], last: str,
) -> None:
    job = (await uploaded(api, "benefits.md", POLICY))["job"]
    await api.run_worker()

    stream = await open_events(api.app, job["id"], **{"Last-Event-ID": last})
    streams.append(stream)

    assert stream.status == 200
    only = await stream.next_event()
    assert only is not None and json.loads(only["data"])["status"] == "complete"


async def test_a_quiet_job_gets_keep_alives_and_another_members_job_is_not_found(
    make_api: MakeApi, streams: list[EventStream],
) -> None:
    api = await make_api(JOB_EVENTS_KEEP_ALIVE_SECONDS="1", JOB_EVENTS_POLL_SECONDS="0.5")
    job = (await uploaded(api, "benefits.md", POLICY))["job"]
    stream = await open_events(api.app, job["id"])
    streams.append(stream)

    await stream.next_event()
    for _ in range(2):
        await api.memory.clock.wait_until_sleeping()
        api.memory.clock.advance(0.5)

    assert await stream.next_event() == {"comment": "keep-alive"}
    theirs = await api.client.get(f"/api/v1/jobs/{job['id']}/events",
                                  headers=bearer(OTHER_MEMBER))
    is_problem(theirs, 404)


async def test_the_stream_says_so_when_the_document_is_deleted_meanwhile(
    api: Api, streams: list[EventStream],
) -> None:
    body = await uploaded(api, "benefits.md", POLICY)
    stream = await open_events(api.app, body["job"]["id"])
    streams.append(stream)
    await stream.next_event()

    deleted = await api.client.delete(f"/api/v1/documents/{body['document']['id']}",
                                      headers=bearer())
    await api.memory.clock.wait_until_sleeping()
    api.memory.clock.advance(0.5)
    ended = await stream.next_event()

    assert deleted.status_code == 204
    assert ended is not None and ended["event"] == "error"
    assert json.loads(ended["data"])["status"] == 404
    assert await stream.next_event() is None


async def test_a_document_whose_file_is_missing_is_404_without_naming_where_it_was(
    api: Api,
) -> None:
    document = (await uploaded(api, "benefits.md", POLICY))["document"]
    api.memory.store.files.clear()  # lost from the file store

    response = await api.client.get(f"/api/v1/documents/{document['id']}/file",
                                    headers=bearer())

    detail = str(is_problem(response, 404)["detail"])
    assert "missing from the file store" in detail and "uploads/" not in detail
