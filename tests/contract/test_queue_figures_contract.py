"""The queue's figures (``QueueFigureReads``), in memory and on PostgreSQL alike: what
``/metrics`` and ``navigator status`` show of the whole fleet."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs
import pytest

from adapters.memory.job_queue import InMemoryJobQueue
from adapters.memory.queue_figures import InMemoryQueueFigures
from adapters.memory.store import InMemoryStore
from adapters.memory.workers import InMemoryWorkerRegistry
from adapters.postgres.job_queue import PostgresJobQueue
from adapters.postgres.operator import PostgresQueueFigures
from adapters.postgres.workers import PostgresWorkerRegistry
from domain.ports import JobQueue, QueueFigureReads, WorkerRegistry
from domain.status import JobStatus as S
from domain.status import StepName
from tests.contract.builders import JAMAL, LEASE, MARIA, run_to, submit
from tests.contract.conftest import ADAPTERS, DIMENSIONS
from tests.fakes.clock import FakeClock

WINDOW = timedelta(minutes=15)
LIVE = timedelta(seconds=60)


@attrs.define
class Fleet:
    queue: JobQueue
    workers: WorkerRegistry
    reads: QueueFigureReads
    clock: FakeClock

    async def figures(self):  # type: ignore[no-untyped-def]
        return await self.reads.figures(self.clock.now(), window=WINDOW, live_within=LIVE)


@pytest.fixture(params=ADAPTERS)
def fleet(request: pytest.FixtureRequest) -> Fleet:
    clock = FakeClock()
    if request.param == "memory":
        store = InMemoryStore(vector_dimension=DIMENSIONS)
        return Fleet(InMemoryJobQueue(store, clock), InMemoryWorkerRegistry(store, clock),
                     InMemoryQueueFigures(store), clock)
    pool: Any = request.getfixturevalue("pg_pool")
    schema: str = request.getfixturevalue("pg_schema")
    return Fleet(PostgresJobQueue(pool, clock, schema),
                 PostgresWorkerRegistry(pool, clock, schema),
                 PostgresQueueFigures(pool, schema), clock)


async def test_an_empty_queue_has_every_figure_at_zero(fleet: Fleet) -> None:
    figures = await fleet.figures()

    assert figures.at == fleet.clock.now()
    assert figures.counts == dict.fromkeys(S, 0)
    assert figures.ready_since == {}
    assert figures.longest_wait == timedelta(0)
    assert (figures.leases_past_due, figures.completions, figures.live_workers) == (0, 0, 0)
    assert figures.failures == figures.retries == dict.fromkeys(StepName, 0)
    assert figures.window == WINDOW


async def test_a_run_with_a_retry_a_failure_and_a_completion_is_counted_by_step(
    fleet: Fleet,
) -> None:
    q, clock = fleet.queue, fleet.clock
    for content in (b"completes", b"fails", b"retries"):
        await submit(q, MARIA, content, clock.now())
    done, broken, flaky = await q.claim("worker-1", 3, LEASE)
    await run_to(q, done, S.COMPLETE, DIMENSIONS)
    await q.fail(broken, "the file is damaged")
    await q.retry_later(flaky, "the parser timed out", clock.now() + timedelta(seconds=30))
    await fleet.workers.register("worker-1", "host-a", 4242)

    figures = await fleet.figures()

    assert figures.counts[S.COMPLETE] == figures.counts[S.FAILED] == 1
    assert figures.counts[S.UPLOADED] == 1
    assert figures.failures[StepName.PARSE] == figures.retries[StepName.PARSE] == 1
    assert sum(figures.failures.values()) == sum(figures.retries.values()) == 1
    assert figures.completions == 1
    assert figures.live_workers == 1
    # the retried job waits out its delay: not late for a worker yet
    assert figures.ready_since == {}


async def test_retries_of_a_step_without_a_working_status_count_against_that_step(
    fleet: Fleet,
) -> None:
    q, clock = fleet.queue, fleet.clock
    await submit(q, MARIA, b"validate me", clock.now())
    [lease] = await q.claim("worker-1", 1, LEASE)
    parsed = await run_to(q, lease, S.PARSED, DIMENSIONS)
    assert parsed is not None

    await q.retry_later(parsed, "the database blinked", clock.now())

    figures = await fleet.figures()
    assert figures.retries[StepName.VALIDATE] == 1
    assert figures.ready_since == {S.PARSED: clock.now()}


async def test_the_oldest_ready_job_of_each_status_counts_from_when_it_became_ready(
    fleet: Fleet,
) -> None:
    q, clock = fleet.queue, fleet.clock
    first = await submit(q, MARIA, b"first", clock.now())
    clock.advance(30)
    await submit(q, JAMAL, b"second", clock.now())
    clock.advance(60)

    figures = await fleet.figures()

    assert figures.ready_since == {S.UPLOADED: first.job.available_at}
    assert figures.oldest_waiting(S.UPLOADED) == timedelta(seconds=90)
    assert figures.oldest_waiting(S.PARSED) == timedelta(0)
    assert figures.longest_wait == timedelta(seconds=90)


async def test_a_lease_that_ran_out_is_past_due_until_it_is_rescued(fleet: Fleet) -> None:
    q, clock = fleet.queue, fleet.clock
    await submit(q, MARIA, b"abandoned", clock.now())
    await q.claim("worker-that-dies", 1, LEASE)
    assert (await fleet.figures()).leases_past_due == 0

    clock.advance(LEASE.total_seconds())
    assert (await fleet.figures()).leases_past_due == 1


async def test_setbacks_older_than_the_window_and_workers_gone_quiet_are_not_counted(
    fleet: Fleet,
) -> None:
    q, clock = fleet.queue, fleet.clock
    await submit(q, MARIA, b"long ago", clock.now())
    [lease] = await q.claim("worker-1", 1, LEASE)
    await q.fail(lease, "the file is damaged")
    await fleet.workers.register("worker-1", "host-a", 4242)

    clock.advance(WINDOW.total_seconds())
    figures = await fleet.figures()

    assert figures.counts[S.FAILED] == 1
    assert figures.failures[StepName.PARSE] == 0
    assert figures.live_workers == 0


async def test_a_release_at_shutdown_and_a_retry_by_hand_are_no_setbacks(fleet: Fleet) -> None:
    q, clock = fleet.queue, fleet.clock
    await submit(q, MARIA, b"released", clock.now())
    [lease] = await q.claim("worker-1", 1, LEASE)
    await q.release(lease)
    [lease] = await q.claim("worker-1", 1, LEASE)
    failed = await q.fail(lease, "the file is damaged")
    await q.requeue(failed.job_id, by="operator")

    figures = await fleet.figures()

    assert figures.retries == dict.fromkeys(StepName, 0)
    assert figures.failures[StepName.PARSE] == 1
    assert figures.counts[S.UPLOADED] == 1


async def test_a_worker_is_counted_live_for_its_own_window_not_the_askers(
    fleet: Fleet,
) -> None:
    await fleet.workers.register("worker-slow", "host-a", 1, live_for=LIVE * 5)
    await fleet.workers.register("worker-older-release", "host-b", 2)

    fleet.clock.advance(LIVE.total_seconds() * 2)

    assert (await fleet.figures()).live_workers == 1
