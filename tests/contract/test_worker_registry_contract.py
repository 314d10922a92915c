"""The worker registry's contract (PostgreSQL; the in-memory registry joins when it exists)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.errors import NotFound
from tests.contract.conftest import Registry

RECENT = timedelta(seconds=30)


async def test_a_registered_worker_is_live_until_it_stops_beating(workers: Registry) -> None:
    registry, clock = workers.registry, workers.clock
    started = clock.now()
    await registry.register("worker-a", "host-1", 4242, version="1.2.0")

    [info] = await registry.live(RECENT)
    assert (info.worker_id, info.hostname, info.pid, info.version) == (
        "worker-a", "host-1", 4242, "1.2.0")
    assert info.started_at == info.last_seen_at == started

    clock.advance(25)
    await registry.beat("worker-a")
    clock.advance(25)
    [info] = await registry.live(RECENT)
    assert info.last_seen_at == started + timedelta(seconds=25)

    clock.advance(10)
    assert await registry.live(RECENT) == []


async def test_live_workers_are_listed_by_id(workers: Registry) -> None:
    for worker_id in ("worker-c", "worker-a", "worker-b"):
        await workers.registry.register(worker_id, "host", 1)

    assert [w.worker_id for w in await workers.registry.live(RECENT)] == [
        "worker-a", "worker-b", "worker-c"]


async def test_a_restarted_worker_registers_anew(workers: Registry) -> None:
    registry, clock = workers.registry, workers.clock
    await registry.register("worker-a", "host-1", 100)
    clock.advance(60)

    await registry.register("worker-a", "host-2", 200)

    [info] = await registry.live(RECENT)
    assert (info.hostname, info.pid, info.started_at) == ("host-2", 200, clock.now())


async def test_a_worker_that_stops_cleanly_is_forgotten(workers: Registry) -> None:
    await workers.registry.register("worker-a", "host", 1)

    await workers.registry.unregister("worker-a")
    await workers.registry.unregister("worker-never-seen")

    assert await workers.registry.live(RECENT) == []
    with pytest.raises(NotFound):
        await workers.registry.beat("worker-a")


async def test_a_worker_counts_as_live_for_its_own_window_not_the_askers(
    workers: Registry,
) -> None:
    # a worker with WORKER_LEASE_SECONDS=300 beats every 100 s; the API's shell, on
    # default settings, would have judged it by 60 s
    registry, clock = workers.registry, workers.clock
    await registry.register("worker-slow", "host", 1, live_for=timedelta(seconds=300))
    await registry.register("worker-older-release", "host", 2)

    clock.advance(100)
    [info] = await registry.live(RECENT)
    assert (info.worker_id, info.live_for) == ("worker-slow", timedelta(seconds=300))

    clock.advance(201)
    assert await registry.live(RECENT) == []
