"""The Anthropic answerer, through the real ``anthropic`` SDK, against the fake Messages API."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from uuid import uuid4

import pytest

from adapters.anthropic_answerer import AnthropicAnswerer
from domain.errors import PermanentError, TransientError
from domain.grounding import AnswerKind, GroundedPrompt, Usage, build_prompt, finish
from domain.model import Chunk, ScoredChunk
from tests.fakes.anthropic_server import (
    BadRequest,
    FakeAnthropic,
    Forbidden,
    Malformed,
    Overloaded,
    RateLimited,
    Reply,
    ServerError,
)

ER = "Emergency room care costs a $250 copay per visit. The copay is waived if admitted."
DRUGS = "Generic drugs cost $10 for a 30-day supply at a network pharmacy."


def passage(text: str, page: int) -> ScoredChunk:
    chunk = Chunk(chunk_id=uuid4(), document_id=uuid4(), user_id="member-maria", ordinal=page,
                  text=text, token_count=20, page=page)
    return ScoredChunk(chunk, 0.7, "summary-of-benefits.pdf")


PROMPT = build_prompt("How much is the emergency room copay?",
                      [passage(ER, 4), passage(DRUGS, 9)])


@pytest.fixture
async def answerer(anthropic_server: FakeAnthropic) -> AsyncIterator[AnthropicAnswerer]:
    answerer = AnthropicAnswerer(anthropic_server.api_key, base_url=anthropic_server.base_url,
                                 model="claude-test", max_tokens=300)
    yield answerer
    await answerer.aclose()


async def collect(answerer: AnthropicAnswerer, prompt: GroundedPrompt = PROMPT
                  ) -> tuple[list[str], Usage]:
    pieces: list[str] = []
    usage = None
    async for piece in answerer.stream(prompt):
        if isinstance(piece, Usage):
            usage = piece
        else:
            pieces.append(piece)
    assert usage is not None, "the stream ended without the tokens billed"
    return pieces, usage


async def test_the_answer_streams_in_pieces_and_ends_with_the_tokens_billed(
    answerer: AnthropicAnswerer, anthropic_server: FakeAnthropic,
) -> None:
    pieces, usage = await collect(answerer)

    text = "".join(pieces)
    assert len(pieces) > 1
    assert "$250 copay" in text and text.endswith("[1]")
    assert usage.input_tokens > 0 and usage.output_tokens == len(text.split())
    assert answerer.kind is AnswerKind.GENERATED


async def test_the_request_keeps_instructions_and_documents_apart(
    answerer: AnthropicAnswerer, anthropic_server: FakeAnthropic,
) -> None:
    await collect(answerer)

    (seen,) = anthropic_server.requests
    assert seen.stream and seen.model == "claude-test" and seen.max_tokens == 300
    assert seen.system == PROMPT.system
    assert ER not in seen.system
    assert seen.user == PROMPT.user
    assert seen.headers.get("anthropic-version")


async def test_a_citation_to_an_id_that_was_not_sent_is_removed_and_flagged(
    answerer: AnthropicAnswerer, anthropic_server: FakeAnthropic,
) -> None:
    anthropic_server.script(Reply("The copay is $250 [1]; drugs are free [3]."))

    pieces, usage = await collect(answerer)
    answer = finish(PROMPT, "".join(pieces), answerer.kind, answerer.model, usage)

    assert answer.text == "The copay is $250 [1]; drugs are free."
    assert answer.removed_citations == (3,) and answer.flagged
    assert answer.citations[0].passage.page == 4


async def test_a_rate_limit_is_transient_with_the_providers_retry_after_and_no_sdk_retry(
    answerer: AnthropicAnswerer, anthropic_server: FakeAnthropic,
) -> None:
    anthropic_server.script(RateLimited(retry_after=7))

    with pytest.raises(TransientError) as raised:
        await collect(answerer)

    assert raised.value.retry_after == 7
    assert "429" in str(raised.value)
    assert anthropic_server.hits == 1  # the SDK did not retry on its own


@pytest.mark.parametrize("behaviour", [Overloaded(), ServerError(500), ServerError(503)],
                         ids=["529-overloaded", "500", "503"])
async def test_overload_and_server_errors_are_transient(
    answerer: AnthropicAnswerer, anthropic_server: FakeAnthropic, behaviour: object,
) -> None:
    anthropic_server.script(behaviour)  # type: ignore[arg-type]

    with pytest.raises(TransientError):
        await collect(answerer)
    assert anthropic_server.hits == 1


async def test_the_next_request_after_a_transient_error_succeeds(
    answerer: AnthropicAnswerer, anthropic_server: FakeAnthropic,
) -> None:
    anthropic_server.script(Overloaded())
    with pytest.raises(TransientError):
        await collect(answerer)

    pieces, _ = await collect(answerer)

    assert "$250" in "".join(pieces)


async def test_a_refused_key_is_permanent_and_never_echoed(
    anthropic_server: FakeAnthropic, caplog: pytest.LogCaptureFixture,
) -> None:
    key = "sk-ant-revoked-key-0123456789"
    answerer = AnthropicAnswerer(key, base_url=anthropic_server.base_url)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(PermanentError) as raised:
        await collect(answerer)
    await answerer.aclose()

    assert "401" in str(raised.value) and "ANTHROPIC_API_KEY" in str(raised.value)
    assert key not in str(raised.value)
    assert key not in caplog.text
    assert key not in repr(answerer)


@pytest.mark.parametrize(("behaviour", "status"), [(BadRequest(), "400"), (Forbidden(), "403")])
async def test_a_rejected_request_or_forbidden_model_is_permanent_with_a_clear_message(
    answerer: AnthropicAnswerer, anthropic_server: FakeAnthropic, behaviour: object,
    status: str,
) -> None:
    anthropic_server.script(behaviour)  # type: ignore[arg-type]

    with pytest.raises(PermanentError) as raised:
        await collect(answerer)

    assert status in str(raised.value) and "ANTHROPIC_MODEL" in str(raised.value)


@pytest.mark.parametrize("kind", ["not_json", "no_content", "broken_event"])
async def test_a_malformed_response_is_transient(
    answerer: AnthropicAnswerer, anthropic_server: FakeAnthropic, kind: str,
) -> None:
    anthropic_server.script(Malformed(kind))

    with pytest.raises(TransientError) as raised:
        await collect(answerer)

    assert "malformed" in str(raised.value)


async def test_document_text_never_reaches_the_logs(
    answerer: AnthropicAnswerer, anthropic_server: FakeAnthropic,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    anthropic_server.script(Malformed("broken_event"), RateLimited(1))

    for _ in range(2):
        with pytest.raises(TransientError):
            await collect(answerer)
    await collect(answerer)

    assert "copay" not in caplog.text
    assert "emergency" not in caplog.text.lower()
