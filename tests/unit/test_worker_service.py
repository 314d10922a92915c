"""The worker service on the in-memory adapters: waking, claiming into free slots,
rescuing, registering, recovering from a lost database, shutting down gracefully.

Everything runs on a fake clock: lease expiry, polls, rescue rounds, registry beats
and the grace period come only when a test moves it. Tests wait for a condition
(moving the clock on meanwhile where time must pass), never for real time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import attrs
import pytest
from dependency_injector import providers

from domain.errors import StoreUnavailable
from domain.model import Job, Lease
from domain.status import JobStatus
from domain.worker import Worker
from entrypoints.container import Container, build_container, running
from entrypoints.settings import load_settings
from entrypoints.worker import WorkerService
from tests.fakes.clock import FakeClock
from tests.faults import ScriptedParser
from tests.memory_container import MemoryAdapters, use_memory_adapters

MEMBER = "member-worker-tests"
POLICY = (
    "# Plan summary\n\nYour deductible is $250 a year. The maximum out-of-pocket amount "
    "is $1,500 for covered services.\n"
)
QUICK = dict(poll_interval=1.0, rescue_interval=1.0, beat_interval=1.0, shutdown_grace=1.0)
#: What the process around the loop takes; the rest is the loop's (``Worker``).
PLUMBING = ("registry", "subscribe", "beat_interval")


@attrs.define
class FakeSubscription:
    rig: Rig
    alive: bool = True

    async def close(self) -> None:
        self.alive = False
        self.rig.unsubscribed += 1


@attrs.define
class Rig:
    container: Container
    memory: MemoryAdapters
    parser: ScriptedParser
    notices: list[Callable[[], None]] = attrs.Factory(list)
    unsubscribed: int = 0
    subscriptions: list[FakeSubscription] = attrs.Factory(list)

    async def upload(self, name: str = "policy.md", text: str = POLICY) -> UUID:
        submission = await self.container.submit_upload()(MEMBER, name, text.encode())
        return submission.job.job_id

    def job(self, job_id: UUID) -> Job:
        return self.memory.store.jobs[job_id]

    async def subscribe(self, callback: Callable[[], None]) -> FakeSubscription:
        self.notices.append(callback)
        subscription = FakeSubscription(self)
        self.subscriptions.append(subscription)
        return subscription

    @property
    def clock(self) -> FakeClock:
        return self.memory.clock

    def service(self, **changes: Any) -> WorkerService:
        fields: dict[str, Any] = dict(
            queue=self.container.job_queue(), process=self.container.process_job(),
            rescue=self.container.rescue_expired_leases(),
            registry=self.container.worker_registry(), subscribe=self.subscribe,
            worker_id="worker-under-test", concurrency=2, lease_for=timedelta(seconds=30),
            **QUICK,
        )
        fields.update(changes)
        plumbing = {k: fields.pop(k) for k in PLUMBING}
        worker = Worker(ticker=self.clock, **fields)
        return WorkerService(worker=worker, ticker=self.clock, **plumbing)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    settings = load_settings({
        "NAVIGATOR_HOME": str(tmp_path), "SUPABASE_JWT_SECRET": "worker-tests-" + "s" * 32,
        "RAG_VECTOR_DIMENSION": "64", "CHUNK_TARGET_TOKENS": "64", "CHUNK_OVERLAP_TOKENS": "8",
    })
    container = build_container(settings)
    memory = use_memory_adapters(container)
    parser = ScriptedParser()
    container.parser.override(providers.Object(parser))
    async with running(container):
        yield Rig(container, memory, parser)
    container.reset_override()


@attrs.define
class Running:
    """A service running in the background until ``stop()``."""

    service: WorkerService
    stop_event: asyncio.Event
    task: asyncio.Task[None]

    @property
    def worker(self) -> Worker:
        return self.service.worker

    async def stop(self, clock: FakeClock | None = None) -> None:
        """Stop, moving ``clock`` past grace periods until the service has stopped."""
        self.stop_event.set()
        async with asyncio.timeout(5):
            while not self.task.done():
                if clock is not None:
                    clock.advance(QUICK["shutdown_grace"])
                await asyncio.wait({self.task}, timeout=0.01)
        await self.task


async def start(service: WorkerService) -> Running:
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    await asyncio.sleep(0)
    return Running(service, stop, task)


async def eventually(check: Callable[[], bool], within: float = 3.0,
                     clock: FakeClock | None = None, step: float = 1.0) -> None:
    """Wait until ``check()`` holds; with ``clock``, moving it ``step`` seconds on
    between looks (so polls, rescue rounds and beats come due)."""
    try:
        async with asyncio.timeout(within):
            while not check():
                if clock is not None:
                    clock.advance(step)
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"the condition did not come true within {within}s") from None


# -- waking up ---------------------------------------------------------------------------


async def test_a_notice_wakes_an_idle_worker_long_before_its_next_poll(rig: Rig) -> None:
    running_ = await start(rig.service(poll_interval=60))
    await eventually(lambda: len(rig.notices) == 1 and running_.worker.idle)
    job_id = await rig.upload()  # the clock stands still: no poll will come
    rig.notices[0]()  # what the database's NOTIFY does
    await eventually(lambda: rig.job(job_id).status is JobStatus.COMPLETE, within=2)
    await running_.stop()


async def test_without_notices_the_worker_finds_new_work_by_polling(rig: Rig) -> None:
    running_ = await start(rig.service(subscribe=None, poll_interval=5))
    await eventually(lambda: running_.worker.idle)
    job_id = await rig.upload()
    await eventually(lambda: rig.job(job_id).status is JobStatus.COMPLETE, clock=rig.clock)
    await running_.stop()


async def test_a_finished_job_frees_its_slot_for_the_next_one_without_waiting_to_poll(
    rig: Rig,
) -> None:
    first = await rig.upload("first.md")
    second = await rig.upload("second.md", POLICY + "\nSecond copy.\n")
    running_ = await start(rig.service(concurrency=1, poll_interval=60, subscribe=None))
    # One slot, no notices, a minute between polls: both finish long before the next
    # poll only if the finished job's slot is filled at once. (Which of the two is
    # claimed first is not the point: they were uploaded at the same instant.)
    await eventually(
        lambda: {rig.job(first).status, rig.job(second).status} == {JobStatus.COMPLETE},
        within=10,
    )
    await running_.stop()


async def test_the_worker_never_holds_more_jobs_than_its_concurrency(rig: Rig) -> None:
    rig.parser.hang(times=5)
    jobs = [await rig.upload(f"policy-{n}.md", POLICY + f"\nCopy {n}.\n") for n in range(5)]
    running_ = await start(rig.service(concurrency=2))
    await eventually(lambda: rig.parser.hanging == 2)
    looked = rig.clock.now()
    await eventually(lambda: rig.clock.now() >= looked + timedelta(seconds=5), clock=rig.clock)
    held = [j for j in jobs if rig.job(j).is_held]  # five polls later, still only two
    assert len(held) == 2
    assert running_.service.running_jobs == 2
    rig.parser.resume()
    await eventually(lambda: rig.parser.hanging == 2)  # the next two take the free slots
    rig.parser.heal()
    rig.parser.resume()
    await eventually(lambda: all(rig.job(j).status is JobStatus.COMPLETE for j in jobs))
    await running_.stop()


# -- shutting down ----------------------------------------------------------------------------


async def test_a_job_still_running_after_the_grace_period_is_given_back_without_an_attempt(
    rig: Rig,
) -> None:
    rig.parser.hang()
    job_id = await rig.upload()
    running_ = await start(rig.service(shutdown_grace=1))
    await eventually(lambda: rig.parser.hanging == 1)
    await running_.stop(rig.clock)  # the clock moves past the grace period
    job = rig.job(job_id)
    assert job.status is JobStatus.UPLOADED
    assert job.attempts == 0
    assert not job.is_held
    history = await rig.container.job_queue().history(job_id)
    assert history[-1].detail == "released at shutdown"


async def test_a_stopping_worker_finishes_the_running_step_then_gives_the_job_back(
    rig: Rig,
) -> None:
    rig.parser.hang()
    job_id = await rig.upload()
    running_ = await start(rig.service(shutdown_grace=5))
    await eventually(lambda: rig.parser.hanging == 1)
    running_.stop_event.set()
    await eventually(lambda: running_.worker.stopping)
    assert not running_.task.done()  # waiting for the job: no time has passed
    rig.parser.resume()
    await asyncio.wait_for(running_.task, timeout=5)
    job = rig.job(job_id)
    assert job.status is JobStatus.PARSED  # parsing finished; chunking never started
    assert not job.is_held
    assert job.attempts == 0


async def test_a_stopping_worker_claims_nothing_new(rig: Rig) -> None:
    rig.parser.hang()  # one job keeps the worker busy within its grace period
    running_ = await start(rig.service(shutdown_grace=60))
    busy = await rig.upload()
    await eventually(lambda: rig.parser.hanging == 1, clock=rig.clock)  # found by a poll
    running_.stop_event.set()
    await eventually(lambda: running_.worker.stopping)

    late = await rig.upload("late.md", POLICY + "\nLate addition.\n")
    for notice in rig.notices:
        notice()  # the upload's wake-up reaches the stopping worker
    for _ in range(5):
        rig.clock.advance(1)  # several poll intervals, within the grace period
    assert not running_.task.done()  # still finishing the busy job
    assert not rig.job(late).is_held and rig.job(late).status is JobStatus.UPLOADED

    rig.parser.resume()
    await asyncio.wait_for(running_.task, timeout=5)
    assert rig.job(late).status is JobStatus.UPLOADED
    assert rig.job(busy).status is JobStatus.PARSED
    assert rig.unsubscribed == 1


# -- registry and rescue -------------------------------------------------------------------


async def test_the_worker_registers_while_it_runs_and_unregisters_when_it_stops(
    rig: Rig,
) -> None:
    registry = rig.container.worker_registry()
    running_ = await start(rig.service())
    await eventually(lambda: "worker-under-test" in rig.memory.store.workers)
    live = await registry.live(timedelta(seconds=30))
    assert [w.worker_id for w in live] == ["worker-under-test"]
    await running_.stop()
    assert await registry.live(timedelta(seconds=30)) == []


async def test_a_worker_whose_registration_vanished_registers_again_on_its_next_beat(
    rig: Rig,
) -> None:
    running_ = await start(rig.service())
    await eventually(lambda: "worker-under-test" in rig.memory.store.workers)
    rig.memory.store.workers.clear()  # e.g. an operator cleaned the table
    await eventually(lambda: "worker-under-test" in rig.memory.store.workers, clock=rig.clock)
    await running_.stop()


async def test_the_rescue_takes_back_the_job_of_a_dead_worker_and_the_live_one_finishes_it(
    rig: Rig,
) -> None:
    job_id = await rig.upload()
    queue = rig.container.job_queue()
    [lease] = await queue.claim("worker-that-died", 1, timedelta(seconds=30))
    assert lease.job_id == job_id
    running_ = await start(rig.service())
    await eventually(lambda: running_.worker.idle)  # its first rescue round is done
    assert rig.job(job_id).lease_owner == "worker-that-died"  # not before the lease expires
    rig.memory.clock.advance(31)
    await eventually(lambda: not rig.job(job_id).is_held, clock=rig.clock, step=0.1)
    assert rig.job(job_id).attempts == 1  # the dead worker's try counts ...
    assert rig.job(job_id).status is JobStatus.UPLOADED
    rig.memory.clock.advance(rig.container.retry_policy().delay(1))  # ... and backs off
    await eventually(lambda: rig.job(job_id).status is JobStatus.COMPLETE, clock=rig.clock)
    await running_.stop()


# -- trouble ---------------------------------------------------------------------------------


@attrs.define
class FlakyQueue:
    """The real in-memory queue, but claims fail while ``down`` (the database is gone)."""

    inner: Any
    down: bool = False
    failed_claims: int = 0

    async def claim(self, worker: str, limit: int, lease_for: timedelta) -> list[Lease]:
        if self.down:
            self.failed_claims += 1
            raise StoreUnavailable("the database is unreachable: ConnectionRefusedError")
        return list(await self.inner.claim(worker, limit, lease_for))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_after_the_database_comes_back_the_worker_listens_again_and_picks_up_work(
    rig: Rig,
) -> None:
    queue = FlakyQueue(rig.container.job_queue(), down=True)
    running_ = await start(rig.service(queue=queue))
    await eventually(lambda: queue.failed_claims >= 2, clock=rig.clock)
    assert running_.service.running_jobs == 0
    job_id = await rig.upload()
    queue.down = False
    await eventually(lambda: rig.job(job_id).status is JobStatus.COMPLETE, clock=rig.clock)
    assert len(rig.notices) == 2  # subscribed at start, and again after the outage
    assert rig.unsubscribed >= 1  # the dead listener was let go of first
    await running_.stop()


@attrs.define
class BuggyClaims:
    """The real in-memory queue, but every claim trips over a bug."""

    inner: Any

    async def claim(self, worker: str, limit: int, lease_for: timedelta) -> list[Lease]:
        raise RuntimeError("a bug in the claim")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_a_bug_in_the_claim_stops_the_worker_instead_of_passing_for_an_outage(
    rig: Rig,
) -> None:
    running_ = await start(rig.service(queue=BuggyClaims(rig.container.job_queue())))

    with pytest.raises(RuntimeError, match="a bug in the claim"):
        async with asyncio.timeout(5):
            await running_.task


@attrs.define
class RescueThatBreaks:
    """Rescue rounds that work ``rounds`` times, then trip over a bug."""

    inner: Any
    rounds: int = 1

    async def __call__(self) -> list[Job]:
        if self.rounds == 0:
            raise RuntimeError("a bug in the rescue")
        self.rounds -= 1
        return list(await self.inner())


async def test_a_bug_in_a_rescue_round_stops_the_worker_once_its_jobs_are_given_back(
    rig: Rig,
) -> None:
    rig.parser.hang()
    job_id = await rig.upload()
    rescue = RescueThatBreaks(rig.container.rescue_expired_leases())
    running_ = await start(rig.service(rescue=rescue, rescue_interval=60, shutdown_grace=1))
    await eventually(lambda: rig.parser.hanging == 1)

    with pytest.raises(RuntimeError, match="a bug in the rescue"):
        async with asyncio.timeout(5):
            while not running_.task.done():  # to the next rescue round, then past the grace
                rig.clock.advance(2)  # in steps the heartbeats keep up with
                await asyncio.wait({running_.task}, timeout=0.01)
            await running_.task
    job = rig.job(job_id)
    assert job.status is JobStatus.UPLOADED  # given back, as at any shutdown
    assert job.attempts == 0
    assert not job.is_held


async def test_every_job_the_worker_leaves_goes_to_the_job_hook(rig: Rig) -> None:
    rig.parser.fail_permanently("this file has no text", filename="empty.md")
    good = await rig.upload()
    bad = await rig.upload("empty.md", "nothing useful\n")
    left: list[Job | None] = []
    running_ = await start(rig.service(on_job_left=left.append))
    await eventually(lambda: len(left) == 2)
    await running_.stop()
    outcomes = {job.job_id: job.status for job in left if job is not None}
    assert outcomes == {good: JobStatus.COMPLETE, bad: JobStatus.FAILED}


async def test_a_failing_job_hook_does_not_stop_the_worker(rig: Rig) -> None:
    def broken(_job: Job | None) -> None:
        raise RuntimeError("metrics backend exploded")

    first = await rig.upload("one.md")
    running_ = await start(rig.service(on_job_left=broken))
    await eventually(lambda: rig.job(first).status is JobStatus.COMPLETE)
    second = await rig.upload("two.md", POLICY + "\nAnother.\n")
    await eventually(lambda: rig.job(second).status is JobStatus.COMPLETE, clock=rig.clock)
    assert not running_.task.done()
    await running_.stop()


async def test_a_dropped_notice_connection_is_replaced_while_the_database_is_fine(
    rig: Rig,
) -> None:
    running_ = await start(rig.service())
    await eventually(lambda: len(rig.subscriptions) == 1)

    rig.subscriptions[0].alive = False  # e.g. a proxy closed the idle LISTEN connection

    await eventually(lambda: len(rig.subscriptions) == 2, clock=rig.clock)
    assert rig.subscriptions[1].alive
    job_id = await rig.upload()
    rig.notices[-1]()
    await eventually(lambda: rig.job(job_id).status is JobStatus.COMPLETE)
    await running_.stop()

