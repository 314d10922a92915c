"""Routes declare the use case they run as a FastAPI dependency; none sees the container."""

from __future__ import annotations

import typing

from fastapi.routing import APIRoute

from domain.model import QueueFigures
from domain.status import JobStatus
from entrypoints.api import (
    answers,
    deps,
    documents,
    events,
    files,
    health,
    jobs,
    metrics,
    search,
    usage,
)
from entrypoints.container import Container
from tests.api.conftest import Api


def _reaches_the_container(annotation: object) -> bool:
    if annotation is Container:
        return True
    return any(_reaches_the_container(arg) for arg in typing.get_args(annotation))


def test_no_route_takes_the_container() -> None:
    routers = (documents, files, usage, jobs, events, search, answers, health, metrics)
    routes = [r for module in routers for r in module.router.routes if isinstance(r, APIRoute)]
    assert len(routes) == 17
    for route in routes:
        hints = typing.get_type_hints(route.endpoint, include_extras=True)
        taking = [name for name, hint in hints.items() if _reaches_the_container(hint)]
        assert taking == [], f"{route.path} takes the container as {taking}"


async def test_a_route_runs_the_use_case_its_dependency_provides(api: Api) -> None:
    async def seven_complete() -> QueueFigures:
        return QueueFigures(at=api.memory.clock.now(), counts={JobStatus.COMPLETE: 7})

    api.app.dependency_overrides[deps.watch_queue] = lambda: seven_complete
    try:
        response = await api.client.get("/metrics")
    finally:
        api.app.dependency_overrides.clear()

    assert 'navigator_jobs{status="complete"} 7.0' in response.text
    assert 'navigator_jobs{status="uploaded"} 0.0' in response.text
