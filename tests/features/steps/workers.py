"""Steps about workers doing the work, time passing, and where a document stands."""

from __future__ import annotations

import asyncio
from collections import Counter
from uuid import UUID

from pytest_bdd import given, parsers, then, when

from domain.model import Document, Lease
from domain.status import CLAIMABLE, JobStatus, StepName
from tests.features.documents import note
from tests.features.world import FIRST_WORKER, OTHER_WORKER, Upload, World

ACTIVITIES = {"parsing": StepName.PARSE, "embedding": StepName.EMBED}


def seconds(phrase: str) -> float:
    """'1 second', '60 seconds', 'half a second', 'another half second', 'an hour'."""
    words = phrase.split()
    if phrase in ("half a second", "another half second"):
        return 0.5
    if phrase == "an hour":
        return 3600.0
    if len(words) == 2 and words[1] in ("second", "seconds"):
        return float(words[0])
    raise ValueError(f"cannot tell how long {phrase!r} is")


def worker_named(who: str) -> str:
    return FIRST_WORKER if who == "the" else OTHER_WORKER


def ready_to_search(world: World, document: Document) -> None:
    job = world.job_of(document)
    assert job.status is JobStatus.COMPLETE, (job.status, job.last_error)
    chunks = world.chunks_of(document)
    assert chunks, "a complete document has passages"
    vectors = world.vectors()
    assert all(c.chunk_id in vectors for c in chunks)


# -- the worker ------------------------------------------------------------------------


@when(parsers.re(r"(?P<who>the|another) worker looks for work$"), target_fixture="work_done")
def _(world: World, who: str) -> int:
    return world.look_for_work(worker_named(who))


@when(parsers.re(r"(?P<duration>.+?) pass(?:es)? and (?P<who>the|another) worker looks for work"),
      target_fixture="work_done")
def _(world: World, duration: str, who: str) -> int:
    world.clock.advance(seconds(duration))
    return world.look_for_work(worker_named(who))


@given(parsers.re(r"the worker has processed (?:her|their) documents"))
def _(world: World) -> None:
    world.look_for_work()
    for job in world.all_jobs():
        assert job.status is JobStatus.COMPLETE, (job.status, job.last_error)


# -- where the document stands --------------------------------------------------------


@then("the document is ready to search")
def _(world: World, upload: Upload) -> None:
    ready_to_search(world, upload.document)


@then("both documents are ready to search")
def _(world: World) -> None:
    documents = world.all_documents()
    assert len(documents) == 2
    for document in documents:
        ready_to_search(world, document)


@then("the document is still waiting to be processed")
def _(world: World, upload: Upload) -> None:
    job = world.job_of(upload.document)
    assert job.status in CLAIMABLE and not job.is_held, job


@then(parsers.re(r"the document waits (?P<wait>[\d.]+) seconds? before its next attempt"))
def _(world: World, upload: Upload, wait: str) -> None:
    job = world.job_of(upload.document)
    assert job.status in CLAIMABLE and not job.is_held, job
    assert (job.available_at - world.clock.now()).total_seconds() == float(wait)
    assert not job.is_claimable(world.clock.now())


@then(parsers.re(r"the document has failed while (?P<activity>parsing|embedding)"))
def _(world: World, upload: Upload, activity: str) -> None:
    job = world.job_of(upload.document)
    assert job.status is JobStatus.FAILED, job.status
    assert job.failed_stage == ACTIVITIES[activity]


@then(parsers.parse('the reason given is "{reason}"'))
def _(world: World, upload: Upload, reason: str) -> None:
    assert world.job_of(upload.document).last_error == reason


@then(parsers.parse('the reason given mentions "{words}"'))
def _(world: World, upload: Upload, words: str) -> None:
    error = world.job_of(upload.document).last_error
    assert error is not None and words in error, error


@then(parsers.re(r"(?:it|each document) was parsed only once"))
def _(world: World) -> None:
    assert world.parser.calls, "nothing was parsed"
    assert set(Counter(world.parser.calls).values()) == {1}, world.parser.calls


@then(parsers.parse("it was parsed {times:d} times"))
def _(world: World, upload: Upload, times: int) -> None:
    assert world.parser.calls.count(upload.filename) == times


@then(parsers.re(r'the job shows (?P<count>\d+) failed attempts? with the error "(?P<error>.+)"'))
def _(world: World, upload: Upload, count: str, error: str) -> None:
    job = world.job_of(upload.document)
    assert (job.attempts, job.last_error) == (int(count), error)


@then(parsers.re(r"the job (?:still )?shows (?P<count>\d+|no) failed attempts?$"))
def _(world: World, upload: Upload, count: str) -> None:
    assert world.job_of(upload.document).attempts == (0 if count == "no" else int(count))


@then(parsers.parse('its history keeps the error "{error}"'))
def _(world: World, upload: Upload, error: str) -> None:
    history = world.history(world.job_of(upload.document))
    assert any(error in event.detail for event in history), [e.detail for e in history]


# -- several workers ------------------------------------------------------------------


@given(parsers.parse("{member} uploaded {count:d} documents"), target_fixture="batch")
def _(world: World, member: str, count: int) -> list[Document]:
    uploads = [world.submit(member, note(n).filename, note(n).data()) for n in range(1, count + 1)]
    assert all(u.error is None and u.value.created for u in uploads)
    return [u.value.document for u in uploads]


@when("two workers look for work at the same moment", target_fixture="claims")
def _(world: World) -> dict[str, set[UUID]]:
    async def together() -> list[list[Lease]]:
        return list(await asyncio.gather(
            world.queue.claim(FIRST_WORKER, 10, world.lease_for),
            world.queue.claim(OTHER_WORKER, 10, world.lease_for),
        ))

    first, other = world.run(together())
    return {FIRST_WORKER: {lease.job_id for lease in first},
            OTHER_WORKER: {lease.job_id for lease in other}}


@then("each document is held by exactly one of them")
def _(world: World, batch: list[Document], claims: dict[str, set[UUID]]) -> None:
    first, other = claims[FIRST_WORKER], claims[OTHER_WORKER]
    assert not first & other
    assert first | other == {world.job_of(d).job_id for d in batch}
    for job in world.all_jobs():
        owner = FIRST_WORKER if job.job_id in first else OTHER_WORKER
        assert job.lease_owner == owner


@when("two workers process documents side by side until there is nothing left")
def _(world: World) -> None:
    async def side_by_side() -> None:
        await asyncio.gather(world.worker(FIRST_WORKER).drain(),
                             world.worker(OTHER_WORKER).drain())

    world.run(side_by_side())


@then(parsers.parse("all {count:d} documents are ready to search"))
def _(world: World, batch: list[Document], count: int) -> None:
    assert len(batch) == count
    for document in batch:
        ready_to_search(world, document)
    workers = {e.worker for e in world.all_events() if e.worker}
    assert workers == {FIRST_WORKER, OTHER_WORKER}, "both workers took part"


@when("one worker takes every document", target_fixture="claims")
def _(world: World, batch: list[Document]) -> dict[str, set[UUID]]:
    return {FIRST_WORKER: {lease.job_id for lease in world.claim(FIRST_WORKER, 100)}}


@then("the other worker gets nothing")
def _(world: World, work_done: int, batch: list[Document]) -> None:
    assert work_done == 0
    assert all(world.job_of(d).lease_owner == FIRST_WORKER for d in batch)
