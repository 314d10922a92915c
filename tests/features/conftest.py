"""Fixtures of the scenarios' world, and every step definition (shared by all features).

Every scenario runs twice: on the in-memory adapters and on PostgreSQL (the
session's embedded server, a fresh schema per world).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from functools import partial

import pytest

from adapters.hashing_embedder import HashingEmbedder
from adapters.parsers.local import LocalParser
from adapters.tiktoken_tokenizer import TiktokenTokenizer
from tests.fakes.clock import FakeClock
from tests.features.backends import Backend, PostgresSchemas, memory_backend
from tests.features.steps.answers import *  # noqa: F403
from tests.features.steps.charts import *  # noqa: F403
from tests.features.steps.crashes import *  # noqa: F403
from tests.features.steps.failures import *  # noqa: F403
from tests.features.steps.library import *  # noqa: F403
from tests.features.steps.members import *  # noqa: F403
from tests.features.steps.pipeline import *  # noqa: F403
from tests.features.steps.search import *  # noqa: F403
from tests.features.steps.traces import *  # noqa: F403
from tests.features.steps.uploads import *  # noqa: F403
from tests.features.steps.watching import *  # noqa: F403
from tests.features.steps.workers import *  # noqa: F403
from tests.features.world import DIMENSIONS, Upload, World, build_world


@pytest.fixture(scope="session")
def tokenizer() -> TiktokenTokenizer:
    return TiktokenTokenizer()


@pytest.fixture(scope="session")
def local_parser() -> LocalParser:
    return LocalParser()


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """The one event loop a scenario's steps run their coroutines on."""
    loop = asyncio.new_event_loop()
    try:
        yield loop
    finally:
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.wait(pending))
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()


@pytest.fixture
def postgres_schemas(
    postgres_dsn: str, loop: asyncio.AbstractEventLoop
) -> Iterator[PostgresSchemas]:
    """The scenario's PostgreSQL schemas, made on its loop and dropped at its end."""
    schemas = PostgresSchemas(postgres_dsn, loop, DIMENSIONS)
    try:
        yield schemas
    finally:
        loop.run_until_complete(schemas.close())


@pytest.fixture(autouse=True, params=[
    pytest.param("memory", id="memory"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
])
def store_kind(request: pytest.FixtureRequest) -> str:
    """Which store the scenario runs on. Autouse, because pytest-bdd asks for the
    world only while the steps run, too late for pytest to parametrise over it."""
    return str(request.param)


@pytest.fixture
def new_backend(
    request: pytest.FixtureRequest, store_kind: str
) -> Callable[[FakeClock], Backend]:
    """Makes a new, empty store of the kind the scenario runs on."""
    if store_kind == "memory":
        return partial(memory_backend, vector_dimension=DIMENSIONS)
    schemas: PostgresSchemas = request.getfixturevalue("postgres_schemas")
    return schemas.backend


@pytest.fixture
def make_world(
    loop: asyncio.AbstractEventLoop, tokenizer: TiktokenTokenizer, local_parser: LocalParser,
    new_backend: Callable[[FakeClock], Backend],
) -> Callable[[], World]:
    """Builds a fresh world on the scenario's loop (e.g. to compare with a clean run)."""
    return lambda: build_world(
        loop, tokenizer, local_parser,
        lambda: HashingEmbedder(dimensions=DIMENSIONS, tokenizer=tokenizer),
        new_backend,
    )


@pytest.fixture
def world(make_world: Callable[[], World]) -> World:
    return make_world()


@pytest.fixture
def upload() -> Upload | None:
    """The scenario's latest upload ("the document"); steps that upload replace it."""
    return None
