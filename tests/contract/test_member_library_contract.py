"""What a member's app reads and asks of the repository and the queue, on the in-memory
store and on PostgreSQL: cursor paging and the status filter, searches limited to some
documents, what a search could not look into, reprocessing, and following a job."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import uuid4

import pytest

from domain.errors import Conflict, NotFound
from domain.hybrid import SearchMode
from domain.library import FollowJob
from domain.members import ShowJob
from domain.model import DocumentCursor, NotSearchedReason
from domain.status import JobStatus
from tests.contract.builders import (
    JAMAL,
    LEASE,
    MARIA,
    process_fully,
    run_to,
    submit,
    unit,
)
from tests.contract.conftest import DIMENSIONS, Backend

MODEL = "text-embedding-3-small"
NEW_MODEL = "text-embedding-3-large"
S = JobStatus


async def _complete(backend: Backend, user: str, content: bytes, texts: list[str],
                    model: str = MODEL) -> None:
    await submit(backend.queue, user, content, backend.clock.now())
    await process_fully(backend.queue, "worker-1", DIMENSIONS, texts, model)


async def test_cursor_pages_hold_every_document_once_while_others_are_uploaded(
    backend: Backend,
) -> None:
    q, clock, docs = backend.queue, backend.clock, backend.documents
    # Two at each instant: ties on the time are ordered by id.
    first = [await submit(q, MARIA, f"maria {n}".encode(), clock.now() + _seconds(n // 2))
             for n in range(6)]
    await submit(q, JAMAL, b"jamal's", clock.now())

    seen = []
    cursor = None
    while True:
        rows = await docs.list(MARIA, 2, after=cursor)
        seen += [d.document_id for d, _ in rows]
        if len(rows) < 2:
            break
        cursor = DocumentCursor.after(rows[-1][0])
        # a new upload between pages is newer than any cursor: it never shifts a page
        await submit(q, MARIA, f"new {len(seen)}".encode(), clock.now() + _seconds(60))

    assert sorted(seen, key=str) == sorted((u.document.document_id for u in first), key=str)
    everything = await docs.list(MARIA, 100)
    assert [d.document_id for d, _ in everything][-6:] == seen


async def test_the_list_keeps_only_the_statuses_asked_for(backend: Backend) -> None:
    q = backend.queue
    await _complete(backend, MARIA, b"done", ["deductible"])
    waiting = await submit(q, MARIA, b"waiting", backend.clock.now())

    uploaded = await backend.documents.list(MARIA, 10, statuses=[S.UPLOADED])
    both = await backend.documents.list(MARIA, 10, statuses=[S.UPLOADED, S.COMPLETE])

    assert [d for d, _ in uploaded] == [waiting.document]
    assert len(both) == 2
    assert await backend.documents.list(MARIA, 10, statuses=[S.FAILED]) == []


async def test_ids_that_are_not_the_members_documents_are_told_apart(backend: Backend) -> None:
    mine = await submit(backend.queue, MARIA, b"mine", backend.clock.now())
    theirs = await submit(backend.queue, JAMAL, b"theirs", backend.clock.now())
    never = uuid4()

    unknown = await backend.documents.unknown(
        MARIA, [never, mine.document.document_id, theirs.document.document_id])

    assert unknown == [never, theirs.document.document_id]


@pytest.mark.parametrize("mode", list(SearchMode))
async def test_a_search_limited_to_some_documents_finds_only_their_passages(
    backend: Backend, mode: SearchMode,
) -> None:
    await _complete(backend, MARIA, b"policy", ["deductible for the policy"])
    backend.clock.advance(1)
    await _complete(backend, MARIA, b"summary", ["deductible for the summary"])
    [_summary, policy] = [d for d, _ in await backend.documents.list(MARIA, 10)]

    hits = await backend.documents.search(MARIA, unit(0, DIMENSIONS), MODEL, -1.0, 10,
                                          text="deductible", mode=mode,
                                          documents=[policy.document_id])
    every = await backend.documents.search(MARIA, unit(0, DIMENSIONS), MODEL, -1.0, 10,
                                           text="deductible", mode=mode)

    assert [h.chunk.text for h in hits] == ["deductible for the policy"]
    assert len(every) == 2


async def test_a_search_says_which_documents_it_could_not_look_into(backend: Backend) -> None:
    q = backend.queue
    await _complete(backend, MARIA, b"old", ["old model"], model="old-model")
    backend.clock.advance(1)
    await _complete(backend, MARIA, b"current", ["current model"])
    backend.clock.advance(1)
    uploading = await submit(q, MARIA, b"uploading", backend.clock.now())
    await submit(q, JAMAL, b"jamal's", backend.clock.now())

    left_out = await backend.documents.not_searched(MARIA, MODEL)
    only = await backend.documents.not_searched(MARIA, MODEL,
                                                [uploading.document.document_id])

    assert [(n.reason, n.status) for n in left_out] == [
        (NotSearchedReason.OTHER_MODEL, S.COMPLETE), (NotSearchedReason.PROCESSING, S.UPLOADED)]
    assert [n.document_id for n in only] == [uploading.document.document_id]
    assert [n.reason for n in await backend.documents.not_searched(JAMAL, MODEL)] == [
        NotSearchedReason.PROCESSING]


async def test_documents_embedded_by_another_model_are_found_for_reprocessing(
    backend: Backend,
) -> None:
    await _complete(backend, MARIA, b"maria's", ["maria"], model="old-model")
    backend.clock.advance(1)
    await _complete(backend, JAMAL, b"jamal's", ["jamal"], model="old-model")
    await _complete(backend, MARIA, b"current", ["current"])

    stale = await backend.documents.embedded_by_other_models(MODEL)

    assert [d.user_id for d in stale] == [MARIA, JAMAL]
    assert await backend.documents.embedded_by_other_models("old-model") != []


async def test_a_reprocessed_document_is_chunked_and_embedded_again(backend: Backend) -> None:
    q, docs = backend.queue, backend.documents
    await _complete(backend, MARIA, b"policy", ["deductible"], model="old-model")
    [(_document, job)] = await docs.list(MARIA, 1)

    with pytest.raises(NotFound):
        await q.reprocess(job.job_id, by="member", user_id=JAMAL)
    again = await q.reprocess(job.job_id, by="member", user_id=MARIA)
    with pytest.raises(Conflict):
        await q.reprocess(job.job_id, by="member", user_id=MARIA)

    assert (again.status, again.attempts) == (S.PARSE_VALIDATED, 0)
    assert (await q.history(job.job_id))[-1].detail == "reprocess requested by member"
    [lease] = await q.claim("worker-2", 1, LEASE)
    assert lease.job.status is S.CHUNKING
    await run_to(q, lease, S.COMPLETE, DIMENSIONS, ["deductible"], NEW_MODEL)
    assert await docs.embedded_by_other_models(NEW_MODEL) == []
    assert len(await docs.search(MARIA, unit(0, DIMENSIONS), NEW_MODEL, -1.0, 10)) == 1


async def test_following_a_job_gives_each_change_as_it_is_stored_then_ends(
    backend: Backend,
) -> None:
    q, clock = backend.queue, backend.clock
    submitted = await submit(q, MARIA, b"policy", clock.now())
    job_id = submitted.job.job_id
    follow = FollowJob(ShowJob(q, backend.documents), q, clock, poll_every=0.5,
                       keep_alive_every=1.0)
    reports = aiter(follow(job_id, MARIA))

    first = await anext(reports)
    assert first is not None and first.job.status is S.UPLOADED
    [lease] = await q.claim("worker-1", 1, LEASE)  # uploaded -> parsing
    pending = asyncio.ensure_future(anext(reports))
    await clock.wait_until_sleeping()
    clock.advance(0.5)  # the next look, at most half a second after the change
    second = await pending
    assert second is not None and second.job.status is S.PARSING
    assert len(second.history) == 2

    pending = asyncio.ensure_future(anext(reports))
    for _ in range(2):  # a second of quiet: a keep-alive
        await clock.wait_until_sleeping()
        clock.advance(0.5)
    assert await pending is None

    pending = asyncio.ensure_future(anext(reports))
    await clock.wait_until_sleeping()  # looked again, nothing new: waiting for the next look
    await run_to(q, lease, S.COMPLETE, DIMENSIONS)
    clock.advance(0.5)
    last = await pending
    assert last is not None and last.job.status is S.COMPLETE
    assert await anext(reports, "ended") == "ended"

    resumed = [r async for r in follow(job_id, MARIA, seen=len(last.history))]
    assert resumed == []  # nothing after the last event the member had
    with pytest.raises(NotFound):
        await anext(aiter(follow(job_id, JAMAL)))


def _seconds(n: int) -> timedelta:
    return timedelta(seconds=n)
