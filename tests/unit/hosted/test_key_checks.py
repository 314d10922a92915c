"""Checking hosted API keys with one cheap call each, through the real SDKs, against
the fake providers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.hosted_key_checks import (
    check_anthropic_key,
    check_llamaparse_key,
    check_openai_key,
)
from tests.fakes.anthropic_models_server import FakeAnthropicModels
from tests.fakes.llamaparse_server import FakeLlamaParse
from tests.fakes.openai_server import FakeOpenAI
from tests.ports import free_port

WRONG_KEY = "sk-wrong-key-that-must-never-be-shown-1234"


@pytest.fixture
def anthropic_server() -> Iterator[FakeAnthropicModels]:
    with FakeAnthropicModels() as server:
        yield server


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there, nor will


async def test_an_accepted_openai_key_is_reported_with_the_embedding_model_it_may_use(
    openai_server: FakeOpenAI,
) -> None:
    check = await check_openai_key(openai_server.api_key, base_url=openai_server.base_url,
                                   model="text-embedding-3-small")
    assert check.accepted
    assert "text-embedding-3-small available" in check.detail
    assert openai_server.request_count == 0  # no embeddings were bought


async def test_an_openai_key_that_may_not_use_the_configured_model_fails(
    openai_server: FakeOpenAI,
) -> None:
    check = await check_openai_key(openai_server.api_key, base_url=openai_server.base_url,
                                   model="text-embedding-4-huge")
    assert not check.accepted
    assert "text-embedding-4-huge" in check.detail and "RAG_EMBEDDING_MODEL" in check.detail


async def test_a_refused_openai_key_fails_without_showing_the_key(
    openai_server: FakeOpenAI,
) -> None:
    check = await check_openai_key(WRONG_KEY, base_url=openai_server.base_url)
    assert not check.accepted
    assert "refused the key (401)" in check.detail
    assert WRONG_KEY not in check.detail and "1234" not in check.detail


async def test_an_accepted_llamaparse_key_costs_no_parsing(
    llamaparse_server: FakeLlamaParse,
) -> None:
    check = await check_llamaparse_key(llamaparse_server.api_key,
                                       base_url=llamaparse_server.base_url)
    assert check.accepted, check.detail
    assert check.detail == "key accepted (1 project(s))"
    assert llamaparse_server.uploads == 0


async def test_a_refused_llamaparse_key_fails_without_showing_the_key(
    llamaparse_server: FakeLlamaParse,
) -> None:
    check = await check_llamaparse_key(WRONG_KEY, base_url=llamaparse_server.base_url)
    assert not check.accepted
    assert "refused the key (401)" in check.detail
    assert WRONG_KEY not in check.detail


async def test_an_accepted_anthropic_key_lists_the_models(
    anthropic_server: FakeAnthropicModels,
) -> None:
    check = await check_anthropic_key(anthropic_server.api_key,
                                      base_url=anthropic_server.base_url)
    assert check.accepted, check.detail
    assert check.detail == "key accepted (2 models listed)"


async def test_a_refused_anthropic_key_fails_without_showing_the_key(
    anthropic_server: FakeAnthropicModels,
) -> None:
    check = await check_anthropic_key(WRONG_KEY, base_url=anthropic_server.base_url)
    assert not check.accepted
    assert "refused the key (401)" in check.detail
    assert WRONG_KEY not in check.detail
    assert anthropic_server.requests == 1  # SDK retries are off


@pytest.mark.parametrize("check", [check_openai_key, check_anthropic_key,
                                   check_llamaparse_key])
async def test_a_provider_that_cannot_be_reached_is_reported_as_such(check: object) -> None:
    result = await check(WRONG_KEY, base_url=closed_port_url(), http_timeout=3)  # type: ignore[operator]
    assert not result.accepted
    assert result.detail == "cannot reach the provider (connection failed)"
