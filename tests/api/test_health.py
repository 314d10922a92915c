"""Health: ``/health`` (the database, the schema, live workers, and what parses and
embeds; details for operators only), ``/health/live``, ``/health/ready`` and
``/health/started`` (what Render's health check calls)."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
import pytest
from dependency_injector import providers

from adapters.postgres.probe import PostgresDatabaseProbe
from domain.model import DatabaseReport
from entrypoints.container import Container
from entrypoints.settings import SettingsError, load_settings
from tests.api.conftest import Api, MakeApi, bearer


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
    assert body["workers"] == {"live": 0, "window_seconds": 60.0}
    assert body["parser"] == "local"
    assert body["embedder"] == {"model": "local-hashing-v2", "dimensions": 256}
    assert body["environment"] == "development"


async def test_a_worker_that_beat_recently_makes_the_service_ok(api: Api) -> None:
    await api.memory.worker_registry.register("worker-a", "host-a", 4121)

    body = (await api.client.get("/health")).json()

    assert body["status"] == "ok"
    assert body["workers"]["live"] == 1


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


OPERATOR_TOKEN = "operator-" + "5e1f" * 8


def operator(token: str = OPERATOR_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class SwitchableDatabase:
    """A database probe whose answer the test sets: up and migrated, down, or up with
    migrations this code needs still pending."""

    def __init__(self) -> None:
        self.report = DatabaseReport(True, "upload_pipeline", schema_present=True,
                                     migration_version=6, where="db.internal:5432/insurance")

    def down(self) -> None:
        self.report = DatabaseReport(False, "upload_pipeline",
                                     error="cannot reach PostgreSQL: CannotConnectNowError",
                                     where="db.internal:5432/insurance")

    def unmigrated(self) -> None:
        self.report = DatabaseReport(True, "upload_pipeline", schema_present=True,
                                     migration_version=5,
                                     pending_migrations=("0006_vectors.sql",))

    def newer_than_the_code(self) -> None:
        self.report = DatabaseReport(True, "upload_pipeline", schema_present=True,
                                     migration_version=9000,
                                     refused_migrations=("9000_later.sql",))

    def up(self) -> None:
        self.__init__()  # type: ignore[misc]

    async def check(self) -> DatabaseReport:
        return self.report


def switchable(database: SwitchableDatabase) -> Callable[[Container], None]:
    def override(container: Container) -> None:
        container.database_probe.override(providers.Object(database))

    return override


async def test_liveness_answers_while_the_database_is_down(make_api: MakeApi) -> None:
    api = await make_api(override=database_down)

    response = await api.client.get("/health/live")

    assert (response.status_code, response.json()) == (200, {"status": "alive"})


async def test_readiness_follows_the_database_and_the_migrations(make_api: MakeApi) -> None:
    database = SwitchableDatabase()
    api = await make_api(override=switchable(database))

    assert (await api.client.get("/health/ready")).status_code == 200
    database.down()
    down = await api.client.get("/health/ready")
    database.unmigrated()
    unmigrated = await api.client.get("/health/ready")
    database.newer_than_the_code()
    refused = await api.client.get("/health/ready")
    full = await api.client.get("/health")
    database.up()
    back = await api.client.get("/health/ready")

    assert (down.status_code, down.json()["status"]) == (503, "not_ready")
    assert "CannotConnectNowError" in down.json()["reason"]
    assert down.headers["retry-after"] == "5"
    assert unmigrated.status_code == 503
    assert "run `navigator migrate`" in unmigrated.json()["reason"]
    assert refused.status_code == 503
    assert "`navigator migrate --status` says which" in refused.json()["reason"]
    assert "run `navigator migrate`" not in refused.json()["reason"]
    assert full.json()["database"]["refused_migrations"] == ["9000_later.sql"]
    assert back.status_code == 200


async def test_a_new_process_that_cannot_reach_its_database_is_not_started(
    make_api: MakeApi,
) -> None:
    database = SwitchableDatabase()
    database.down()
    api = await make_api(override=switchable(database))

    response = await api.client.get("/health/started")

    assert response.status_code == 503
    assert response.json()["status"] == "not_ready"


async def test_a_new_process_whose_schema_is_not_migrated_is_not_started(
    make_api: MakeApi,
) -> None:
    database = SwitchableDatabase()
    database.unmigrated()
    api = await make_api(override=switchable(database))

    assert (await api.client.get("/health/started")).status_code == 503


async def test_once_started_an_outage_does_not_fail_the_platform_check(
    make_api: MakeApi,
) -> None:
    database = SwitchableDatabase()
    api = await make_api(override=switchable(database))
    first = await api.client.get("/health/started")

    database.down()
    during = await api.client.get("/health/started")

    assert (first.status_code, first.json()["status"]) == (200, "started")
    assert (during.status_code, during.json()["status"]) == (200, "started")
    assert (await api.client.get("/health/ready")).status_code == 503  # still honest
    assert (await api.client.get("/health")).status_code == 503


async def test_anonymous_callers_see_no_hosts_process_ids_or_database_host(
    make_api: MakeApi,
) -> None:
    database = SwitchableDatabase()
    api = await make_api(override=switchable(database), OPERATOR_TOKEN=OPERATOR_TOKEN)
    await api.memory.worker_registry.register("worker-host-a-4121", "host-a", 4121, "1.2.0")

    response = await api.client.get("/health")

    assert response.status_code == 200
    body = response.json()
    assert body["workers"] == {"live": 1, "window_seconds": 60.0}
    assert "where" not in body["database"]
    for secret in ("host-a", "4121", "db.internal", "insurance"):
        assert secret not in response.text


async def test_operators_see_the_workers_and_where_the_database_lives(
    make_api: MakeApi,
) -> None:
    database = SwitchableDatabase()
    api = await make_api(override=switchable(database), OPERATOR_TOKEN=OPERATOR_TOKEN)
    await api.memory.worker_registry.register("worker-host-a-4121", "host-a", 4121, "1.2.0")

    response = await api.client.get("/health", headers=operator())

    assert response.status_code == 200
    body = response.json()
    assert body["database"]["where"] == "db.internal:5432/insurance"
    assert body["workers"]["ids"] == ["worker-host-a-4121"]
    [worker] = body["workers"]["details"]
    assert (worker["hostname"], worker["pid"], worker["version"]) == ("host-a", 4121, "1.2.0")


async def test_any_other_token_gets_the_anonymous_view_not_an_error(
    make_api: MakeApi,
) -> None:
    """A member's app may send its own token everywhere; a guessed one shows nothing."""
    database = SwitchableDatabase()
    api = await make_api(override=switchable(database), OPERATOR_TOKEN=OPERATOR_TOKEN)
    await api.memory.worker_registry.register("worker-host-a-4121", "host-a", 4121)

    for headers in (bearer(), operator("operator-" + "0" * 32), operator(OPERATOR_TOKEN[:-1])):
        response = await api.client.get("/health", headers=headers)
        assert response.status_code == 200
        assert "host-a" not in response.text and "db.internal" not in response.text
        assert response.json()["workers"] == {"live": 1, "window_seconds": 60.0}


async def test_without_an_operator_token_set_nobody_sees_the_details(
    make_api: MakeApi,
) -> None:
    api = await make_api(override=switchable(SwitchableDatabase()))
    await api.memory.worker_registry.register("worker-host-a-4121", "host-a", 4121)

    response = await api.client.get("/health", headers=operator())

    assert response.status_code == 200
    assert "host-a" not in response.text and "db.internal" not in response.text


def test_an_operator_token_too_short_to_be_a_secret_is_refused_at_start_up() -> None:
    with pytest.raises(SettingsError, match="OPERATOR_TOKEN"):
        load_settings({"OPERATOR_TOKEN": "letmein"})
