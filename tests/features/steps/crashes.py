"""Steps about workers that die or stall in the middle of a step.

A worker "dies" by holding a document, starting the step, and having its task
cancelled while the parser (or embedder) is blocked: it never finishes, never
fails the job, never gives it back, exactly like a killed process. A worker that
"stalls" is blocked the same way but is later let go instead of cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import attrs
from pytest_bdd import given, parsers, then, when

from domain.model import Job, Lease
from domain.status import STEPS, JobStatus
from tests.faults import FaultScript
from tests.features.steps.workers import ACTIVITIES, ready_to_search
from tests.features.world import FIRST_WORKER, OTHER_WORKER, Upload, World


@attrs.frozen
class Stalled:
    """A worker blocked mid-step, and the hold it had."""

    lease: Lease
    task: asyncio.Task[Job | None]


@attrs.frozen
class Comeback:
    """What a worker that came back late achieved, and the data before it tried."""

    result: Job | None
    before: tuple[object, ...]


def _block(world: World, activity: str) -> FaultScript:
    blocker: FaultScript = world.parser if ACTIVITIES[activity] == "parse" else world.embedder
    blocker.hang()
    return blocker


def _start_blocked(world: World, worker: str, activity: str) -> Stalled:
    """A worker holds the next ready document and gets stuck ``activity`` it."""
    blocker = _block(world, activity)
    leases = world.claim(worker)
    assert len(leases) == 1, "no document was ready for the worker"
    task = world.loop.create_task(world.process(leases[0]))
    # Wait for the hang itself (an event), bounded so a step that never blocks fails.
    world.run(asyncio.wait_for(blocker.wait_until_hanging(), timeout=10))
    return Stalled(leases[0], task)


def _die(world: World, worker: str, activity: str) -> Lease:
    stalled = _start_blocked(world, worker, activity)
    stalled.task.cancel()
    world.run(asyncio.wait([stalled.task]))
    assert stalled.task.cancelled()
    return stalled.lease


def _snapshot(world: World, upload: Upload) -> tuple[object, ...]:
    document = upload.document
    job = world.job_of(document)
    return (job, tuple(world.history(job)), tuple(world.chunks_of(document)),
            tuple(sorted(world.vectors().items(), key=lambda item: str(item[0]))))


# -- holds ------------------------------------------------------------------------------


@given(parsers.parse("a worker holds a document for {seconds:d} seconds unless it renews its "
                     "hold"))
def _(world: World, seconds: int) -> None:
    world.lease_for = timedelta(seconds=seconds)


# -- dying --------------------------------------------------------------------------------


@when(parsers.re(r"a worker dies while (?P<activity>parsing|embedding) it"),
      target_fixture="dead_lease")
def _(world: World, activity: str) -> Lease:
    return _die(world, FIRST_WORKER, activity)


@given("a worker died while parsing it and another worker finished it",
       target_fixture="dead_lease")
def _(world: World, upload: Upload) -> Lease:
    lease = _die(world, FIRST_WORKER, "parsing")
    world.clock.advance(world.lease_for.total_seconds())
    world.look_for_work(OTHER_WORKER)
    world.clock.advance(world.retry_policy.delay(1))
    world.look_for_work(OTHER_WORKER)
    ready_to_search(world, upload.document)
    return lease


@when(parsers.parse("{count:d} workers in turn die while parsing it"))
def _(world: World, upload: Upload, count: int) -> None:
    for number in range(1, count + 1):
        job = world.job_of(upload.document)
        assert job.status is JobStatus.UPLOADED, (job.status, job.last_error)
        world.clock.advance(max(0.0, (job.available_at - world.clock.now()).total_seconds()))
        _die(world, f"worker-{number}", "parsing")
        world.clock.advance(world.lease_for.total_seconds())
        world.look_for_work(f"worker-{number + 1}")


@then("its history shows that the first worker's hold ran out")
def _(world: World, upload: Upload) -> None:
    history = world.history(world.job_of(upload.document))
    taken_back = [e for e in history if e.worker == "rescue"]
    assert len(taken_back) == 1, history
    assert f"the lease of worker {FIRST_WORKER} expired" in taken_back[0].detail


@when("the worker that died comes back and finishes its work", target_fixture="comeback")
def _(world: World, upload: Upload, dead_lease: Lease) -> Comeback:
    before = _snapshot(world, upload)
    return Comeback(world.run(world.process(dead_lease)), before)


@then("its work is refused")
def _(comeback: Comeback) -> None:
    assert comeback.result is None


@then("the document's passages and history are unchanged")
def _(world: World, upload: Upload, comeback: Comeback) -> None:
    assert _snapshot(world, upload) == comeback.before


# -- stalling ---------------------------------------------------------------------------


@given("a worker stalled while parsing it", target_fixture="stalled")
def _(world: World) -> Stalled:
    return _start_blocked(world, FIRST_WORKER, "parsing")


@when("the stalled worker wakes up", target_fixture="stalled_result")
def _(world: World, stalled: Stalled) -> Job | None:
    world.parser.resume()
    return world.run(stalled.task)


@then("the stalled worker's work is refused")
def _(stalled_result: Job | None) -> None:
    assert stalled_result is None


# -- exactly once -------------------------------------------------------------------------


@then("every step was completed exactly once")
def _(world: World, upload: Upload) -> None:
    history = world.history(world.job_of(upload.document))
    for step in STEPS:
        done = [e for e in history if (e.from_status, e.to_status) == (step.held_status,
                                                                         step.result)]
        assert len(done) == 1, (step.name, history)
    chunks = world.chunks_of(upload.document)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert len({c.chunk_id for c in chunks}) == len(chunks)
    vectors = [v for v in world.vectors().values() if v.chunk_id in {c.chunk_id for c in chunks}]
    assert len(vectors) == len(chunks)


@then("it has exactly the passages of a document processed without trouble")
def _(world: World, upload: Upload, make_world: Callable[[], World]) -> None:
    clean = make_world()
    clean.chunking = world.chunking
    data = world.run(world.blobs.get(upload.document.blob_key))
    outcome = clean.submit(upload.member, upload.filename, data)
    assert outcome.error is None
    clean.look_for_work()
    expected = clean.chunks_of(outcome.value.document)
    assert expected
    assert [_passage(c) for c in world.chunks_of(upload.document)] == [
        _passage(c) for c in expected
    ]


def _passage(chunk: object) -> tuple[object, ...]:
    return tuple(getattr(chunk, name) for name in (
        "ordinal", "text", "token_count", "heading_path", "page", "char_start", "char_end",
        "chunker"))
