"""The embedder's contract, on every adapter: offline hashing, OpenAI, and the scripted fake.

Each adapter is wired as the composition root wires it (exact cl100k token counts);
OpenAI runs through the real ``openai`` SDK against the fake OpenAI on 127.0.0.1,
and the scripted fake wraps the hashing embedder with no failure scripted. Small
vectors (64 dimensions) keep the suite fast; OpenAI's text-embedding-3 models
accept a chosen size too.

What only one adapter does (request batching and concurrency, provider errors,
the key kept out of messages) is tested in that adapter's own tests.
"""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator, Callable, Sequence

import pytest

from adapters.hashing_embedder import HashingEmbedder
from adapters.openai_embedder import OpenAIEmbedder
from adapters.tiktoken_tokenizer import TiktokenTokenizer
from domain.errors import PermanentError
from domain.ports import Embedder
from tests.fakes.openai_server import FakeOpenAI
from tests.faults import ScriptedEmbedder

DIMENSIONS = 64
TOKENIZER = TiktokenTokenizer()

QUESTION = "What is my deductible for an emergency room visit?"
ANSWER = "Your deductible for emergency room care is $500 per visit, then a $250 copay."
UNRELATED = "Generic drugs from a mail-order pharmacy cost nothing after the first fill."
CLAUSES = [
    "The annual deductible is $500 per member.",
    "Emergency room visits have a $250 copay after the deductible.",
    "Generic drugs cost $10 at a preferred pharmacy.",
    "Out-of-network care is not covered except in an emergency.",
]

MakeEmbedder = Callable[[], Embedder]


@pytest.fixture(params=["hashing", "openai", "scripted"])
async def make_embedder(request: pytest.FixtureRequest) -> AsyncIterator[MakeEmbedder]:
    """Makes new embedders of one kind (all closed after the test)."""
    opened: list[OpenAIEmbedder] = []
    if request.param == "openai":
        with FakeOpenAI() as server:

            def make_openai() -> Embedder:
                embedder = OpenAIEmbedder(server.api_key, tokenizer=TOKENIZER,
                                          base_url=server.base_url, dimensions=DIMENSIONS)
                opened.append(embedder)
                return embedder

            yield make_openai
            for embedder in opened:
                await embedder.aclose()
        return

    def make_hashing() -> Embedder:
        return HashingEmbedder(dimensions=DIMENSIONS, tokenizer=TOKENIZER)

    def make_scripted() -> Embedder:
        return ScriptedEmbedder(make_hashing())

    yield make_hashing if request.param == "hashing" else make_scripted


@pytest.fixture
def embedder(make_embedder: MakeEmbedder) -> Embedder:
    return make_embedder()


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def cl100k_tokens(texts: Sequence[str]) -> int:
    return sum(TOKENIZER.count(text) for text in texts)


# -- what it declares ---------------------------------------------------------------


def test_the_embedder_declares_its_model_its_size_and_limits_within_openai_s(
    embedder: Embedder,
) -> None:
    assert embedder.model.strip()
    assert embedder.dimensions == DIMENSIONS
    limits = embedder.limits
    assert 1 <= limits.max_inputs <= 2048
    assert 1 <= limits.max_tokens_per_input <= 8191
    assert limits.max_tokens_per_input <= limits.max_tokens_per_request <= 300_000


# -- vectors ------------------------------------------------------------------------


async def test_each_text_gets_one_finite_unit_vector_of_the_declared_size(
    embedder: Embedder,
) -> None:
    result = await embedder.embed(CLAUSES)

    assert len(result.vectors) == len(CLAUSES)
    for vector in result.vectors:
        assert len(vector) == DIMENSIONS
        assert all(math.isfinite(x) for x in vector)
        assert math.isclose(math.hypot(*vector), 1.0, rel_tol=1e-5)


async def test_vectors_come_back_in_the_order_of_the_texts(embedder: Embedder) -> None:
    forward = await embedder.embed(CLAUSES)
    backward = await embedder.embed(CLAUSES[::-1])

    assert len(set(forward.vectors)) == len(CLAUSES)  # distinct texts, distinct vectors
    for vector, again in zip(forward.vectors, backward.vectors[::-1], strict=True):
        assert cosine(vector, again) > 0.99999


async def test_the_same_text_gets_the_same_vector_from_a_new_embedder(
    make_embedder: MakeEmbedder,
) -> None:
    # The worker embeds chunks and the API embeds questions: two processes.
    first = await make_embedder().embed(CLAUSES)
    second = await make_embedder().embed(CLAUSES)

    assert first == second


async def test_a_text_sharing_words_with_another_is_closer_to_it_than_an_unrelated_one(
    embedder: Embedder,
) -> None:
    question, answer, unrelated = (await embedder.embed([QUESTION, ANSWER, UNRELATED])).vectors

    assert cosine(question, answer) > cosine(question, unrelated) + 0.2


async def test_five_thousand_short_texts_all_come_back_in_order(embedder: Embedder) -> None:
    texts = [f"clause {n}: the member pays ${n} for visit {n * 7}" for n in range(5000)]

    result = await embedder.embed(texts)

    assert len(result.vectors) == len(texts)
    assert result.tokens_used == cl100k_tokens(texts)
    sample = list(range(0, 5000, 499))[::-1]  # spread over every request, asked backwards
    alone = await embedder.embed([texts[i] for i in sample])
    for position, vector in zip(sample, alone.vectors, strict=True):
        assert cosine(result.vectors[position], vector) > 0.99999


# -- tokens -------------------------------------------------------------------------


async def test_tokens_used_are_the_cl100k_tokens_of_the_texts(embedder: Embedder) -> None:
    result = await embedder.embed(CLAUSES)

    assert result.tokens_used == cl100k_tokens(CLAUSES) > 0


async def test_no_texts_give_no_vectors_and_cost_nothing(embedder: Embedder) -> None:
    result = await embedder.embed([])

    assert result.vectors == ()
    assert result.tokens_used == 0


# -- refusals -----------------------------------------------------------------------


@pytest.mark.parametrize("blank", ["", "   ", "\n\t\n"])
async def test_an_empty_text_is_a_bug_upstream_and_raises_value_error(
    embedder: Embedder, blank: str,
) -> None:
    with pytest.raises(ValueError, match="empty"):
        await embedder.embed([CLAUSES[0], blank])


async def test_a_text_of_exactly_the_per_input_limit_is_embedded(embedder: Embedder) -> None:
    limit = embedder.limits.max_tokens_per_input
    text = "word" + " word" * (limit - 1)
    assert TOKENIZER.count(text) == limit

    result = await embedder.embed([text])

    assert len(result.vectors) == 1
    assert result.tokens_used == limit


async def test_a_text_over_the_per_input_limit_fails_permanently(embedder: Embedder) -> None:
    limit = embedder.limits.max_tokens_per_input
    text = "word" + " word" * limit
    assert TOKENIZER.count(text) == limit + 1

    with pytest.raises(PermanentError) as caught:
        await embedder.embed([CLAUSES[0], text])

    assert re.search(rf"\b{limit + 1}\b.*\b{limit}\b", str(caught.value))
