"""Pytest fixtures serving the fake hosted providers on 127.0.0.1.

Enable them with ``pytest_plugins = ["tests.fakes.fixtures"]`` in ``tests/conftest.py``.
Each test gets fresh servers (empty scripts, no recorded requests).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.llamaparse_server import FakeLlamaParse
from tests.fakes.openai_server import FakeOpenAI


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAI]:
    """A fake OpenAI embeddings API; ``.base_url`` and ``.api_key`` configure a client."""
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def llamaparse_server() -> Iterator[FakeLlamaParse]:
    """A fake LlamaParse; ``.base_url`` and ``.api_key`` configure a client."""
    with FakeLlamaParse() as server:
        yield server


@pytest.fixture
def anthropic_server() -> Iterator[FakeAnthropic]:
    """A fake Anthropic Messages API; ``.base_url`` and ``.api_key`` configure a client."""
    with FakeAnthropic() as server:
        yield server
