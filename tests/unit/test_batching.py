"""Embedding requests: within the provider's limits, and as few as possible."""

from __future__ import annotations

import random

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from domain.batching import minimum_requests, plan_batches
from domain.model import EmbeddingLimits

OPENAI = EmbeddingLimits(max_inputs=2048, max_tokens_per_request=300_000, max_tokens_per_input=8191)


def assert_valid_plan(counts: list[int], plan: list[list[int]], limits: EmbeddingLimits) -> None:
    assert sorted(i for batch in plan for i in batch) == list(range(len(counts)))
    for batch in plan:
        assert batch, "an empty request"
        assert len(batch) <= limits.max_inputs
        assert sum(counts[i] for i in batch) <= limits.max_tokens_per_request
        assert batch == sorted(batch)
    assert [b[0] for b in plan] == sorted(b[0] for b in plan)


def test_nothing_to_embed_needs_no_request():
    assert plan_batches([], OPENAI) == []
    assert minimum_requests([], OPENAI) == 0


def test_a_small_document_goes_in_one_request_in_order():
    assert plan_batches([120, 512, 30], OPENAI) == [[0, 1, 2]]


def test_the_input_count_limit_splits_many_small_chunks():
    counts = [10] * 5000
    plan = plan_batches(counts, OPENAI)
    assert len(plan) == 3 == minimum_requests(counts, OPENAI)
    assert_valid_plan(counts, plan, OPENAI)


def test_the_token_limit_splits_many_large_chunks():
    counts = [8000] * 100
    plan = plan_batches(counts, OPENAI)
    assert len(plan) == 3 == minimum_requests(counts, OPENAI)
    assert_valid_plan(counts, plan, OPENAI)


def test_ten_thousand_typical_chunks_need_only_the_minimum_of_requests():
    for seed in range(5):
        rnd = random.Random(seed)
        counts = [rnd.randint(50, 600) for _ in range(10_000)]
        plan = plan_batches(counts, OPENAI)
        assert_valid_plan(counts, plan, OPENAI)
        assert len(plan) == minimum_requests(counts, OPENAI)


def test_chunks_near_the_target_size_need_only_the_minimum_of_requests():
    rnd = random.Random(7)
    counts = [rnd.randint(480, 515) if rnd.random() < 0.9 else rnd.randint(20, 400)
              for _ in range(10_000)]
    plan = plan_batches(counts, OPENAI)
    assert_valid_plan(counts, plan, OPENAI)
    assert len(plan) == minimum_requests(counts, OPENAI)


def test_packing_beats_cutting_in_order_when_sizes_alternate():
    limits = EmbeddingLimits(max_inputs=10, max_tokens_per_request=100, max_tokens_per_input=100)
    counts = [60, 60, 40, 40]  # in order: [60], [60, 40], [40] -> three requests
    plan = plan_batches(counts, limits)
    assert len(plan) == 2
    assert_valid_plan(counts, plan, limits)


def test_an_input_too_long_to_embed_is_refused_by_its_index():
    with pytest.raises(ValueError, match=r"input 2 has 9000 tokens, more than the 8191"):
        plan_batches([10, 20, 9000], OPENAI)


def test_an_input_longer_than_a_whole_request_is_refused():
    limits = EmbeddingLimits(max_inputs=10, max_tokens_per_request=100, max_tokens_per_input=8191)
    with pytest.raises(ValueError, match="input 0 has 101 tokens"):
        plan_batches([101], limits)


def test_a_negative_token_count_is_refused():
    with pytest.raises(ValueError, match="input 1 has a negative token count"):
        plan_batches([1, -1], OPENAI)


def test_the_minimum_is_the_larger_of_the_two_limits_bounds():
    limits = EmbeddingLimits(max_inputs=3, max_tokens_per_request=100, max_tokens_per_input=100)
    assert minimum_requests([1] * 7, limits) == 3  # by inputs
    assert minimum_requests([90, 90, 21], limits) == 3  # by tokens: 201 / 100
    assert minimum_requests([50, 50], limits) == 1


LIMITS = st.builds(
    EmbeddingLimits,
    max_inputs=st.integers(1, 50),
    max_tokens_per_request=st.integers(100, 5000),
    max_tokens_per_input=st.integers(1, 100),
)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), limits=LIMITS)
def test_any_plan_respects_the_limits_and_places_each_input_once(
    data: st.DataObject, limits: EmbeddingLimits
):
    counts = data.draw(st.lists(st.integers(0, limits.max_tokens_per_input), max_size=400))
    plan = plan_batches(counts, limits)
    assert_valid_plan(counts, plan, limits)
    assert len(plan) >= minimum_requests(counts, limits)
    assert plan_batches(counts, limits) == plan


@settings(max_examples=100, deadline=None)
@given(
    counts=st.lists(st.integers(50, 600), min_size=1, max_size=3000),
    limits=st.builds(
        EmbeddingLimits,
        max_inputs=st.integers(64, 2048),
        max_tokens_per_request=st.integers(20_000, 300_000),
    ),
)
def test_typical_chunk_sizes_reach_the_minimum_number_of_requests(
    counts: list[int], limits: EmbeddingLimits
):
    fewest = minimum_requests(counts, limits)
    # The common case: the minimum leaves at least one largest chunk of spare room per
    # request. (When the total is within a few tokens of full requests, no fast packer
    # can promise the minimum: that is bin packing.)
    assume(fewest * limits.max_tokens_per_request - sum(counts) >= fewest * 600)
    plan = plan_batches(counts, limits)
    assert len(plan) == fewest
