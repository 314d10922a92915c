"""Packing search results into an answer's context."""

from __future__ import annotations

import math
from typing import Any
from uuid import UUID, uuid5

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.model import Chunk, ScoredChunk
from domain.retrieval import RetrievalOptions, RetrievalResult, pack

POLICY = UUID("5a1e0000-0000-4000-8000-000000000001")
EOB = UUID("5a1e0000-0000-4000-8000-000000000002")


def scored(
    similarity: float, tokens: int = 100, ordinal: int = 0, document: UUID = POLICY
) -> ScoredChunk:
    chunk = Chunk(
        chunk_id=uuid5(document, str(ordinal)),
        document_id=document,
        user_id="member-ana",
        ordinal=ordinal,
        text=f"chunk {ordinal}",
        token_count=tokens,
    )
    return ScoredChunk(chunk=chunk, similarity=similarity, filename="policy.pdf")


def ordinals(result: RetrievalResult) -> list[int]:
    return [c.chunk.ordinal for c in result.chunks]


def test_the_defaults_match_the_documented_settings():
    assert RetrievalOptions() == RetrievalOptions(
        similarity_threshold=0.3, max_chunks=10, token_budget=4000
    )


def test_chunks_below_the_threshold_are_left_out():
    result = pack([scored(0.9, ordinal=1), scored(0.29, ordinal=2), scored(0.3, ordinal=3)],
                  RetrievalOptions())
    assert ordinals(result) == [1, 3]
    assert result.considered == 3


def test_the_most_similar_chunks_come_first():
    result = pack([scored(0.5, ordinal=1), scored(0.8, ordinal=2), scored(0.6, ordinal=3)],
                  RetrievalOptions())
    assert ordinals(result) == [2, 3, 1]


def test_equally_similar_chunks_are_ordered_by_document_then_position():
    candidates = [scored(0.7, ordinal=5, document=EOB), scored(0.7, ordinal=9),
                  scored(0.7, ordinal=2)]
    result = pack(candidates, RetrievalOptions())
    assert [(c.chunk.document_id, c.chunk.ordinal) for c in result.chunks] == [
        (POLICY, 2), (POLICY, 9), (EOB, 5)
    ]


def test_no_more_than_max_chunks_are_used():
    result = pack([scored(0.9 - n / 100, tokens=10, ordinal=n) for n in range(20)],
                  RetrievalOptions(max_chunks=3))
    assert ordinals(result) == [0, 1, 2]
    assert result.tokens_used == 30


def test_a_chunk_that_would_overflow_the_budget_is_skipped_for_a_smaller_one():
    candidates = [scored(0.9, tokens=3000, ordinal=1), scored(0.8, tokens=1500, ordinal=2),
                  scored(0.7, tokens=900, ordinal=3), scored(0.6, tokens=200, ordinal=4)]
    result = pack(candidates, RetrievalOptions(token_budget=4000))
    assert ordinals(result) == [1, 3]
    assert result.tokens_used == 3900


def test_a_chunk_found_twice_is_used_once_at_its_best_score():
    result = pack([scored(0.5, ordinal=1), scored(0.9, ordinal=1), scored(0.7, ordinal=2)],
                  RetrievalOptions())
    assert [(c.chunk.ordinal, c.similarity) for c in result.chunks] == [(1, 0.9), (2, 0.7)]


def test_a_score_that_is_not_a_number_is_never_used():
    assert pack([scored(math.nan)], RetrievalOptions(similarity_threshold=0.0)).chunks == ()


def test_no_candidates_give_an_empty_context():
    assert pack([], RetrievalOptions()) == RetrievalResult(chunks=(), tokens_used=0, considered=0)


@pytest.mark.parametrize(
    "changes",
    [{"similarity_threshold": -0.1}, {"similarity_threshold": 1.5}, {"max_chunks": 0},
     {"token_budget": 0}],
)
def test_options_outside_their_range_are_refused(changes: dict[str, Any]):
    with pytest.raises(ValueError):
        attrs.evolve(RetrievalOptions(), **changes)


SIZES = st.lists(st.integers(1, 2000), min_size=102, max_size=102)  # one per chunk id
CANDIDATES = SIZES.flatmap(
    lambda sizes: st.lists(
        st.builds(
            lambda similarity, ordinal, document: scored(
                similarity, sizes[ordinal + 51 * (document == EOB)], ordinal, document
            ),
            similarity=st.floats(-1.0, 1.0),
            ordinal=st.integers(0, 50),
            document=st.sampled_from([POLICY, EOB]),
        ),
        max_size=60,
    )
)
OPTIONS = st.builds(
    RetrievalOptions,
    similarity_threshold=st.floats(0.0, 1.0),
    max_chunks=st.integers(1, 20),
    token_budget=st.integers(1, 8000),
)


@given(candidates=CANDIDATES, options=OPTIONS)
def test_any_context_keeps_within_its_limits(
    candidates: list[ScoredChunk], options: RetrievalOptions
):
    result = pack(candidates, options)
    assert result.tokens_used == sum(c.chunk.token_count for c in result.chunks)
    assert result.tokens_used <= options.token_budget
    assert len(result.chunks) <= options.max_chunks
    assert all(c.similarity >= options.similarity_threshold for c in result.chunks)
    similarities = [c.similarity for c in result.chunks]
    assert similarities == sorted(similarities, reverse=True)
    assert len({c.chunk.chunk_id for c in result.chunks}) == len(result.chunks)
    assert result.considered == len(candidates)
    assert pack(reversed(candidates), options).chunks == result.chunks


# -- fused (hybrid) results ------------------------------------------------------------


def test_a_keyword_match_is_used_however_low_its_similarity():
    weak_but_worded = attrs.evolve(scored(0.05, ordinal=1), score=0.03, keyword_rank=1)
    weak = attrs.evolve(scored(0.05, ordinal=2), score=0.02)
    result = pack([weak_but_worded, weak], RetrievalOptions(similarity_threshold=0.3))
    assert ordinals(result) == [1]


def test_fused_results_are_packed_in_fused_order_not_by_similarity():
    first = attrs.evolve(scored(0.2, ordinal=1), score=0.032, keyword_rank=1, vector_rank=2)
    second = attrs.evolve(scored(0.9, ordinal=2), score=0.016, vector_rank=1)
    result = pack([second, first], RetrievalOptions(similarity_threshold=0.1))
    assert ordinals(result) == [1, 2]


def test_the_token_budget_and_the_chunk_limit_apply_to_the_fused_list():
    fused = [attrs.evolve(scored(0.1, tokens=300, ordinal=n), score=1 / (60 + n), keyword_rank=n)
             for n in range(1, 6)]
    assert ordinals(pack(fused, RetrievalOptions(token_budget=1000))) == [1, 2, 3]
    assert ordinals(pack(fused, RetrievalOptions(max_chunks=2))) == [1, 2]


def test_a_score_defaults_to_the_similarity():
    assert scored(0.42).score == 0.42
    assert not scored(0.42).keyword_match
