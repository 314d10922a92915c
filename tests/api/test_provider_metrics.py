"""Calls to hosted providers, their 429s and 5xx, and the tokens billed, counted in the
process that made them: the real SDKs against the fakes on 127.0.0.1."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from adapters.provider_calls import outcome_of
from tests.api.conftest import Api, MakeApi, bearer
from tests.api.test_documents import POLICY
from tests.fakes import anthropic_server as anthropic_fake
from tests.fakes import openai_server as openai_fake
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.llamaparse_server import FakeLlamaParse
from tests.fakes.openai_server import FakeOpenAI


@pytest.fixture
def fakes() -> Iterator[tuple[FakeOpenAI, FakeLlamaParse, FakeAnthropic]]:
    with FakeOpenAI() as openai, FakeLlamaParse(pending_polls=0) as llamaparse, \
            FakeAnthropic() as anthropic:
        yield openai, llamaparse, anthropic


def sample(api: Api, name: str, **labels: str) -> float:
    """The value of one series in the process's metrics (0 if it is not there)."""
    text = api.container.metrics().render().decode()
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    match = re.search(rf"^{name}\{{{re.escape(wanted)}\}} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


async def test_hosted_calls_their_failures_and_the_tokens_billed_are_counted(
    make_api: MakeApi, fakes: tuple[FakeOpenAI, FakeLlamaParse, FakeAnthropic],
) -> None:
    openai, llamaparse, anthropic = fakes
    api = await make_api(
        LLAMAPARSE_API_KEY=llamaparse.api_key, LLAMAPARSE_BASE_URL=llamaparse.base_url,
        OPENAI_API_KEY=openai.api_key, OPENAI_BASE_URL=openai.base_url,
        ANTHROPIC_API_KEY=anthropic.api_key, ANTHROPIC_BASE_URL=anthropic.base_url,
        RAG_SIMILARITY_THRESHOLD="0",
    )
    calls = "navigator_provider_calls_total"
    before = sample(api, calls, provider="openai", operation="embeddings", outcome="ok")

    await api.upload("benefits.md", POLICY)
    await api.run_worker()  # parsed by LlamaParse, embedded by OpenAI
    openai.script(openai_fake.RateLimited(retry_after=1))
    limited = await api.client.post("/api/v1/search", json={"query": "deductible"},
                                    headers=bearer())
    openai.script(openai_fake.ServerError(502))
    broken = await api.client.post("/api/v1/search", json={"query": "deductible"},
                                   headers=bearer())
    anthropic.script(anthropic_fake.RateLimited(retry_after=1))
    refused = await api.client.post("/api/v1/answers", json={"question": "deductible?"},
                                    headers=bearer())

    assert before == 0
    assert (limited.status_code, broken.status_code, refused.status_code) == (503, 503, 503)
    # The document's embeddings (worker) and the answer's question (API): ok.
    assert sample(api, calls, provider="openai", operation="embeddings", outcome="ok") == 2
    assert sample(api, calls, provider="openai", operation="embeddings",
                  outcome="rate_limited") == 1
    assert sample(api, calls, provider="openai", operation="embeddings",
                  outcome="server_error") == 1
    assert sample(api, calls, provider="anthropic", operation="messages",
                  outcome="rate_limited") == 1
    for operation in ("upload", "status", "result"):
        assert sample(api, calls, provider="llamaparse", operation=operation,
                      outcome="ok") == 1, operation
    assert sample(api, "navigator_provider_tokens_total", provider="openai",
                  kind="input") > 0


async def test_an_answer_counts_the_input_and_output_tokens_claude_billed(
    make_api: MakeApi, fakes: tuple[FakeOpenAI, FakeLlamaParse, FakeAnthropic],
) -> None:
    _openai, _llamaparse, anthropic = fakes
    api = await make_api(ANTHROPIC_API_KEY=anthropic.api_key,
                         ANTHROPIC_BASE_URL=anthropic.base_url, RAG_SIMILARITY_THRESHOLD="0")
    await api.upload("benefits.md", POLICY)
    await api.run_worker()
    anthropic.script(anthropic_fake.Reply("Your deductible is $500 [1]."))

    answered = await api.client.post("/api/v1/answers", json={"question": "deductible?"},
                                     headers=bearer())

    assert answered.status_code == 200, answered.text
    seen = anthropic.requests[-1]
    assert sample(api, "navigator_provider_calls_total", provider="anthropic",
                  operation="messages", outcome="ok") == 1
    assert sample(api, "navigator_provider_tokens_total", provider="anthropic",
                  kind="input") == len((seen.system + seen.user).split())
    assert sample(api, "navigator_provider_tokens_total", provider="anthropic",
                  kind="output") > 0


class _Status(Exception):
    def __init__(self, status_code: int) -> None:
        super().__init__(status_code)
        self.status_code = status_code


class APITimeoutError(Exception):
    pass


class APIConnectionError(Exception):
    pass


@pytest.mark.parametrize(("error", "outcome"), [
    (None, "ok"), (_Status(429), "rate_limited"), (_Status(503), "server_error"),
    (_Status(500), "server_error"), (_Status(408), "timeout"), (_Status(401), "client_error"),
    (APITimeoutError(), "timeout"), (APIConnectionError(), "unreachable"),
    (ValueError("malformed"), "error"), (GeneratorExit(), "cancelled"),
])
def test_each_failure_is_counted_under_the_outcome_an_operator_alerts_on(
    error: BaseException | None, outcome: str,
) -> None:
    assert outcome_of(error) == outcome
