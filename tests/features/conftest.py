"""Fixtures of the scenarios' world, and every step definition (shared by all features)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest

from adapters.hashing_embedder import HashingEmbedder
from adapters.parsers.local import LocalParser
from adapters.tiktoken_tokenizer import TiktokenTokenizer
from tests.features.steps.crashes import *  # noqa: F403
from tests.features.steps.failures import *  # noqa: F403
from tests.features.steps.members import *  # noqa: F403
from tests.features.steps.pipeline import *  # noqa: F403
from tests.features.steps.search import *  # noqa: F403
from tests.features.steps.uploads import *  # noqa: F403
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
def make_world(
    loop: asyncio.AbstractEventLoop, tokenizer: TiktokenTokenizer, local_parser: LocalParser
) -> Callable[[], World]:
    """Builds a fresh world on the scenario's loop (e.g. to compare with a clean run)."""
    return lambda: build_world(
        loop, tokenizer, local_parser,
        lambda: HashingEmbedder(dimensions=DIMENSIONS, tokenizer=tokenizer),
    )


@pytest.fixture
def world(make_world: Callable[[], World]) -> World:
    return make_world()


@pytest.fixture
def upload() -> Upload | None:
    """The scenario's latest upload ("the document"); steps that upload replace it."""
    return None
