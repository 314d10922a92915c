"""``/health``: the database, the schema, live workers, and what parses and embeds."""

from __future__ import annotations

import asyncpg
from dependency_injector import providers

from adapters.postgres.probe import PostgresDatabaseProbe
from domain.ports import DatabaseReport
from entrypoints.container import Container
from tests.api.conftest import Api, MakeApi


class DownDatabase:
    async def check(self) -> DatabaseReport:
        return DatabaseReport(False, "upload_pipeline",
                              error="cannot reach PostgreSQL at db:5432/postgres: timed out")


def database_down(container: Container) -> None:
    container.database_probe.override(providers.Object(DownDatabase()))


async def test_without_live_workers_the_service_is_up_but_degraded(api: Api) -> None:
    response = await api.client.get("/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["database"]["reachable"] is True
    assert body["database"]["schema_present"] is True
    assert body["workers"] == {"live": 0, "window_seconds": 60.0, "ids": []}
    assert body["parser"] == "local"
    assert body["embedder"] == {"model": "local-hashing-v2", "dimensions": 256}
    assert body["environment"] == "development"


async def test_a_worker_that_beat_recently_makes_the_service_ok(api: Api) -> None:
    await api.memory.worker_registry.register("worker-a", "host-a", 4121)

    body = (await api.client.get("/health")).json()

    assert body["status"] == "ok"
    assert body["workers"]["live"] == 1
    assert body["workers"]["ids"] == ["worker-a"]


async def test_a_worker_silent_for_three_heartbeats_no_longer_counts(api: Api) -> None:
    await api.memory.worker_registry.register("worker-a", "host-a", 4121)
    api.memory.clock.advance(61)  # heartbeat 20 s (a third of the 60 s lease) x 3

    body = (await api.client.get("/health")).json()

    assert body["status"] == "degraded"
    assert body["workers"]["live"] == 0


async def test_an_unreachable_database_makes_health_503(make_api: MakeApi) -> None:
    api = await make_api(override=database_down)

    response = await api.client.get("/health")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["database"]["reachable"] is False
    assert "timed out" in body["database"]["error"]


async def test_a_down_database_is_reported_without_saying_where_it_lives() -> None:
    dsn = "postgresql://navigator:s3cret-password@127.0.0.1:1/insurance"
    pool = await asyncpg.create_pool(dsn, min_size=0, max_size=1)
    try:
        report = await PostgresDatabaseProbe(pool, "upload_pipeline", dsn, timeout=5).check()
    finally:
        await pool.close()

    assert not report.reachable
    assert report.error is not None and report.error.startswith("cannot reach PostgreSQL")
    assert "127.0.0.1" not in report.error
    assert "s3cret" not in report.error and "s3cret" not in repr(report)
