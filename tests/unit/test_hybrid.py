"""Reciprocal rank fusion and BM25: the rules both repositories apply."""

from __future__ import annotations

from uuid import UUID, uuid5

import pytest

from domain.hybrid import (
    PAIR_WEIGHT,
    RRF_K,
    bm25,
    fuse,
    inverse_document_frequency,
    pair_score,
    question_pairs,
)
from domain.model import Chunk, ScoredChunk

POLICY = UUID("5a1e0000-0000-4000-8000-000000000001")


def hit(ordinal: int, similarity: float = 0.5) -> ScoredChunk:
    chunk = Chunk(uuid5(POLICY, str(ordinal)), POLICY, "member-ana", ordinal,
                  f"chunk {ordinal}", 10)
    return ScoredChunk(chunk, similarity, "policy.pdf")


def test_a_chunk_in_both_lists_scores_the_sum_of_its_reciprocal_ranks():
    fused = fuse([hit(1), hit(2)], [hit(2), hit(3)], limit=10)

    assert [h.chunk.ordinal for h in fused] == [2, 1, 3]
    assert fused[0].score == pytest.approx(1 / (RRF_K + 2) + 1 / (RRF_K + 1))
    assert (fused[0].vector_rank, fused[0].keyword_rank) == (2, 1)
    assert (fused[1].vector_rank, fused[1].keyword_rank) == (1, None)
    assert (fused[2].vector_rank, fused[2].keyword_rank) == (None, 2)


def test_equal_fused_scores_are_ordered_by_document_then_position():
    fused = fuse([hit(7)], [hit(4)], limit=10)
    assert [h.chunk.ordinal for h in fused] == [4, 7]


def test_fusion_keeps_each_chunks_similarity_and_stops_at_the_limit():
    fused = fuse([hit(1, 0.9), hit(2, 0.8)], [hit(3, 0.1), hit(4, 0.05)], limit=3)
    assert len(fused) == 3
    assert {h.chunk.ordinal: h.similarity for h in fused}[1] == 0.9


def test_rarer_words_weigh_more():
    assert inverse_document_frequency(100, 1) > inverse_document_frequency(100, 50) > 0
    assert inverse_document_frequency(100, 100) > 0  # a word every chunk has still counts


def test_saying_a_word_again_counts_less_each_time():
    holding = {"copay": 10}
    once, twice, thrice = (bm25({"copay": n}, holding, 100, 400, 400.0) for n in (1, 2, 3))
    assert once < twice < thrice
    assert twice - once > thrice - twice


def test_a_longer_chunk_needs_more_mentions_for_the_same_score():
    holding = {"copay": 10}
    assert bm25({"copay": 1}, holding, 100, 200, 400.0) > bm25({"copay": 1}, holding, 100,
                                                                800, 400.0)
    assert bm25({}, holding, 100, 200, 400.0) == 0


def test_a_questions_pairs_are_its_neighbouring_words_in_order_once_each():
    words = ["plan", "chang", "month", "plan", "premium", "plan", "chang"]

    assert question_pairs(words) == [
        ("plan", "chang"), ("chang", "month"), ("month", "plan"), ("plan", "premium"),
        ("premium", "plan"),
    ]
    assert question_pairs(["copay", "copay"]) == []
    assert question_pairs(["copay"]) == []


def test_a_rare_pair_adds_more_than_a_common_one():
    holding = {("primari", "care"): 2, ("care", "visit"): 40}

    rare = pair_score([("primari", "care")], holding, chunks=100)
    common = pair_score([("care", "visit")], holding, chunks=100)

    assert rare > common > 0
    assert pair_score([], holding, chunks=100) == 0
    assert rare == pytest.approx(PAIR_WEIGHT * inverse_document_frequency(100, 2))
