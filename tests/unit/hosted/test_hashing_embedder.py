"""The offline hashing embedder: deterministic, unit-length, and meaningful enough to search."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.hashing_embedder import HashingEmbedder
from adapters.tiktoken_tokenizer import TiktokenTokenizer
from domain.errors import PermanentError

ROOT = Path(__file__).resolve().parents[3]

QUESTION = "What is my deductible for an emergency room visit?"
ANSWER = "Your deductible for emergency room care is $500 per visit, then a $250 copay."
UNRELATED = "Generic drugs from a mail-order pharmacy cost nothing after the first fill."


def cosine(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


async def test_every_vector_has_unit_length_and_the_declared_dimensions():
    embedder = HashingEmbedder(dimensions=256)

    result = await embedder.embed([QUESTION, ANSWER, "!", "x"])

    assert [len(v) for v in result.vectors] == [256] * 4
    assert all(math.isclose(math.hypot(*v), 1.0, rel_tol=1e-9) for v in result.vectors)


async def test_a_question_is_closer_to_its_answer_than_to_an_unrelated_passage():
    result = await HashingEmbedder().embed([QUESTION, ANSWER, UNRELATED])
    question, answer, unrelated = result.vectors

    assert cosine(question, answer) > 0.3
    assert abs(cosine(question, unrelated)) < 0.15
    assert cosine(question, answer) > cosine(question, unrelated) + 0.25


async def test_word_forms_that_share_most_letters_still_meet():
    singular, plural, other = (await HashingEmbedder().embed(
        ["deductible", "deductibles", "formulary"])).vectors

    assert cosine(singular, plural) > 0.4
    assert abs(cosine(singular, other)) < 0.2


async def test_the_same_text_gets_the_same_vector_from_any_embedder_instance():
    first = await HashingEmbedder().embed([ANSWER])
    second = await HashingEmbedder().embed([ANSWER])

    assert first.vectors == second.vectors


def test_vectors_do_not_depend_on_the_process_hash_seed():
    script = (
        "import asyncio, json\n"
        "from adapters.hashing_embedder import HashingEmbedder\n"
        f"r = asyncio.run(HashingEmbedder(dimensions=64).embed([{ANSWER!r}]))\n"
        "print(json.dumps(r.vectors[0]))\n"
    )
    vectors = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        out = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT,
                             capture_output=True, text=True, check=True, timeout=60)
        vectors.append(json.loads(out.stdout))

    assert vectors[0] == vectors[1]


async def test_vectors_come_back_in_the_order_of_the_texts():
    embedder = HashingEmbedder()
    texts = [f"clause {n} of the policy covers item {n * 7}" for n in range(20)]

    together = (await embedder.embed(texts)).vectors
    one_by_one = [(await embedder.embed([text])).vectors[0] for text in texts]

    assert list(together) == one_by_one


async def test_tokens_used_are_the_tokenizer_s_count_or_else_the_word_count():
    tokenizer = TiktokenTokenizer()

    counted = await HashingEmbedder(tokenizer=tokenizer).embed([QUESTION, ANSWER])
    approximated = await HashingEmbedder().embed(["three small words", "two words"])

    assert counted.tokens_used == tokenizer.count(QUESTION) + tokenizer.count(ANSWER)
    assert approximated.tokens_used == 5


@pytest.mark.parametrize("blank", ["", "   ", "\n\t"])
async def test_an_empty_text_is_a_bug_upstream_and_is_refused(blank):
    with pytest.raises(ValueError, match="empty"):
        await HashingEmbedder().embed(["fine", blank])


async def test_a_text_longer_than_an_embedding_input_may_be_is_refused_like_openai_would():
    embedder = HashingEmbedder(tokenizer=TiktokenTokenizer())

    with pytest.raises(PermanentError, match="8191"):
        await embedder.embed(["covered " * 9000])


def test_the_limits_are_openai_s_so_a_chunk_that_fits_one_fits_the_other():
    limits = HashingEmbedder().limits

    assert (limits.max_inputs, limits.max_tokens_per_request, limits.max_tokens_per_input) == (
        2048, 300_000, 8191)
    assert HashingEmbedder().model == "local-hashing-v2"
