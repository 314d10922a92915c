"""OpenAI embeddings through the real openai SDK, against the fake OpenAI on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import math
import random
import traceback
from collections.abc import AsyncIterator

import pytest

from adapters.hashing_embedder import HashingEmbedder, tokens
from adapters.openai_embedder import OpenAIEmbedder
from adapters.tiktoken_tokenizer import TiktokenTokenizer
from domain.batching import minimum_requests
from domain.errors import PermanentError, TransientError
from domain.model import EmbeddingLimits
from tests.fakes.openai_server import (
    MALFORMED_KINDS,
    BadRequest,
    FakeOpenAI,
    Malformed,
    QuotaExhausted,
    RateLimited,
    ServerError,
    Slow,
)
from tests.ports import free_port

TOKENIZER = TiktokenTokenizer()
CLAUSES = [
    "The annual deductible is $500 per member.",
    "Emergency room visits have a $250 copay after the deductible.",
    "Generic drugs cost $10 at a preferred pharmacy.",
    "Out-of-network care is not covered except in an emergency.",
]


def embedder_for(server: FakeOpenAI, **options: object) -> OpenAIEmbedder:
    return OpenAIEmbedder(server.api_key, tokenizer=TOKENIZER, base_url=server.base_url,
                          **options)  # type: ignore[arg-type]


@pytest.fixture
async def embedder(openai_server: FakeOpenAI) -> AsyncIterator[OpenAIEmbedder]:
    embedder = embedder_for(openai_server)
    yield embedder
    await embedder.aclose()


def cosine(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


# -- vectors, order, tokens ---------------------------------------------------------


async def test_each_text_gets_its_own_unit_vector_in_the_order_given(embedder):
    result = await embedder.embed(CLAUSES)

    expected = HashingEmbedder()  # what the fake computes, sent as float32
    assert len(result.vectors) == len(CLAUSES)
    for text, vector in zip(CLAUSES, result.vectors, strict=True):
        assert len(vector) == 1536
        assert math.isclose(math.hypot(*vector), 1.0, rel_tol=1e-5)
        assert cosine(vector, expected.vector(tokens(text))) > 0.99999


async def test_order_survives_many_concurrent_requests(openai_server):
    embedder = embedder_for(openai_server, limits=EmbeddingLimits(max_inputs=7),
                            max_concurrency=3)
    texts = [f"benefit clause number {n}: item {n * 13} is covered" for n in range(60)]

    result = await embedder.embed(texts)

    assert openai_server.request_count == 9
    reference = HashingEmbedder()
    assert all(
        cosine(vector, reference.vector(tokens(text))) > 0.99999
        for text, vector in zip(texts, result.vectors, strict=True)
    )
    await embedder.aclose()


async def test_tokens_used_add_up_what_openai_billed_for_every_request(openai_server):
    embedder = embedder_for(openai_server, limits=EmbeddingLimits(max_inputs=2))

    result = await embedder.embed(CLAUSES)

    billed = sum(request.tokens for request in openai_server.requests)
    assert len(openai_server.requests) == 2
    assert result.tokens_used == billed == sum(TOKENIZER.count(text) for text in CLAUSES)
    await embedder.aclose()


async def test_the_configured_model_and_dimensions_are_requested(openai_server):
    embedder = embedder_for(openai_server, model="text-embedding-3-large", dimensions=256)

    result = await embedder.embed(CLAUSES[:1])

    (seen,) = openai_server.requests
    assert (seen.model, seen.dimensions) == ("text-embedding-3-large", 256)
    assert len(result.vectors[0]) == 256
    await embedder.aclose()


async def test_nothing_to_embed_sends_nothing(embedder, openai_server):
    result = await embedder.embed([])

    assert result.vectors == () and result.tokens_used == 0
    assert openai_server.request_count == 0


# -- batching ------------------------------------------------------------------------


async def test_five_thousand_small_texts_take_exactly_the_minimum_number_of_requests(
    embedder, openai_server,
):
    texts = [f"line {n} of the schedule of benefits" for n in range(5000)]
    counts = [TOKENIZER.count(text) for text in texts]

    result = await embedder.embed(texts)

    assert len(result.vectors) == 5000
    assert openai_server.request_count == minimum_requests(counts, embedder.limits) == 3
    assert all(len(request.inputs) <= 2048 for request in openai_server.requests)


async def test_long_texts_are_packed_under_the_token_limit_in_the_fewest_requests(
    embedder, openai_server,
):
    rng = random.Random(7)
    words = ["plan", "claim", "care", "cost", "member", "network"]  # one token each
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(3000, 8000)))
             for _ in range(200)]
    counts = [TOKENIZER.count(text) for text in texts]
    assert max(counts) <= 8191 and sum(counts) > 3 * 300_000

    result = await embedder.embed(texts)

    assert len(result.vectors) == 200
    assert openai_server.request_count == minimum_requests(counts, embedder.limits)
    assert max(request.tokens for request in openai_server.requests) <= 300_000
    assert result.tokens_used == sum(counts)


async def test_no_more_requests_than_the_limit_run_at_once(openai_server):
    openai_server.latency = 0.05
    embedder = embedder_for(openai_server, limits=EmbeddingLimits(max_inputs=1),
                            max_concurrency=2)

    await embedder.embed([f"clause {n}" for n in range(12)])

    assert openai_server.request_count == 12
    assert openai_server.max_in_flight == 2
    await embedder.aclose()


async def test_a_text_over_the_per_input_limit_is_refused_before_anything_is_sent(
    embedder, openai_server,
):
    with pytest.raises(PermanentError, match="8191"):
        await embedder.embed(["short", "covered " * 9000])

    assert openai_server.request_count == 0


async def test_an_empty_text_is_a_bug_upstream_and_is_refused(embedder, openai_server):
    with pytest.raises(ValueError, match="empty"):
        await embedder.embed(["fine", "  "])

    assert openai_server.request_count == 0


# -- failures --------------------------------------------------------------------------


async def test_a_rate_limit_is_transient_and_carries_openai_s_retry_after(
    embedder, openai_server,
):
    openai_server.script(RateLimited(retry_after=3))

    with pytest.raises(TransientError, match="429") as caught:
        await embedder.embed(CLAUSES)

    assert caught.value.retry_after == 3


async def test_exhausted_quota_is_permanent_and_says_to_add_credit(embedder, openai_server):
    openai_server.script(QuotaExhausted())

    with pytest.raises(PermanentError, match="quota exhausted: add credit"):
        await embedder.embed(CLAUSES)


@pytest.mark.parametrize("status", [500, 502, 503, 408])
async def test_server_errors_and_request_timeouts_are_transient(embedder, openai_server, status):
    openai_server.script(ServerError(status))

    with pytest.raises(TransientError, match=str(status)):
        await embedder.embed(CLAUSES)


async def test_the_sdk_does_not_retry_behind_the_queue_s_back(embedder, openai_server):
    openai_server.script(ServerError(500), RateLimited(1))

    with pytest.raises(TransientError):
        await embedder.embed(CLAUSES)
    with pytest.raises(TransientError):
        await embedder.embed(CLAUSES)

    assert openai_server.hits == 2  # one HTTP request per call: no retry
    await embedder.embed(CLAUSES)
    assert openai_server.hits == 3


async def test_a_rejected_request_is_permanent(embedder, openai_server):
    openai_server.script(BadRequest())

    with pytest.raises(PermanentError, match="400"):
        await embedder.embed(CLAUSES)


async def test_a_response_slower_than_the_timeout_is_transient(openai_server):
    openai_server.script(Slow(2.0))
    embedder = embedder_for(openai_server, timeout=0.2)

    with pytest.raises(TransientError, match="timed out"):
        await embedder.embed(CLAUSES)
    await embedder.aclose()


async def test_an_unreachable_api_is_transient():
    port = free_port()  # nothing listens there, nor will
    embedder = OpenAIEmbedder("sk-anything", tokenizer=TOKENIZER,
                              base_url=f"http://127.0.0.1:{port}/v1")

    with pytest.raises(TransientError, match="connection"):
        await embedder.embed(CLAUSES)
    await embedder.aclose()


@pytest.mark.parametrize("kind", MALFORMED_KINDS)
async def test_a_malformed_response_is_transient_and_no_vector_comes_back(
    embedder, openai_server, kind,
):
    openai_server.script(Malformed(kind))

    with pytest.raises(TransientError, match="malformed"):
        await embedder.embed(CLAUSES)


async def test_one_failed_request_fails_the_whole_call(openai_server):
    embedder = embedder_for(openai_server, limits=EmbeddingLimits(max_inputs=1),
                            max_concurrency=1)
    openai_server.script(Slow(0), Malformed("zero_vector"))  # the second request is broken

    with pytest.raises(TransientError, match="zero vector"):
        await embedder.embed(CLAUSES)

    assert openai_server.hits == 2  # the rest were not sent
    await embedder.aclose()


async def test_a_refused_key_is_permanent_and_never_repeated(openai_server, caplog):
    secret = "sk-proj-this-key-is-wrong-0123456789"
    embedder = OpenAIEmbedder(secret, tokenizer=TOKENIZER, base_url=openai_server.base_url)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(PermanentError, match="OPENAI_API_KEY") as caught:
        await embedder.embed(CLAUSES)

    assert "401" in str(caught.value)
    assert secret not in str(caught.value)
    assert secret not in "".join(traceback.format_exception(caught.value))
    assert secret not in repr(embedder)
    assert secret not in caplog.text
    await embedder.aclose()


def test_the_embedder_works_from_one_event_loop_to_the_next(openai_server):
    embedder = embedder_for(openai_server)

    first = asyncio.run(embedder.embed(CLAUSES[:2]))
    second = asyncio.run(embedder.embed(CLAUSES[:2]))

    assert first == second
    assert openai_server.request_count == 2


def test_the_limits_are_openai_s_documented_ones():
    embedder = OpenAIEmbedder("sk-anything", tokenizer=TOKENIZER)

    assert embedder.limits == EmbeddingLimits(2048, 300_000, 8191)
    assert (embedder.model, embedder.dimensions) == ("text-embedding-3-small", 1536)
