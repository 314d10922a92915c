"""The objects built at start-up are kept out of the garbage collector's sight while
the API serves, so full collections no longer walk them (a pause of every request in
flight), and are given back to it when the API stops."""

from __future__ import annotations

import gc
from pathlib import Path

from entrypoints.api.app import create_app
from entrypoints.container import build_container
from entrypoints.settings import load_settings
from tests.api.conftest import BASE_ENV
from tests.memory_container import use_memory_adapters


async def test_start_up_objects_are_frozen_while_serving_and_given_back_after(
    tmp_path: Path,
) -> None:
    container = build_container(load_settings({**BASE_ENV, "NAVIGATOR_HOME": str(tmp_path)}))
    use_memory_adapters(container)
    app = create_app(container)
    assert gc.get_freeze_count() == 0

    async with app.router.lifespan_context(app):
        assert gc.get_freeze_count() > 0
        assert not seen_by_the_collector(app)

    assert gc.get_freeze_count() == 0
    assert seen_by_the_collector(app)


def seen_by_the_collector(thing: object) -> bool:
    return any(candidate is thing for candidate in gc.get_objects())
