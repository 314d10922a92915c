"""The embed step's vectors, checked and packed once into pgvector's wire format."""

from __future__ import annotations

import math

import pytest
from pgvector import Vector

from adapters.postgres.vector_binary import packed_vector


def test_a_packed_vector_reads_back_as_the_same_four_byte_floats() -> None:
    values = [0.25, -1.5, 3.0e-5, 1.0 / 3.0]

    packed = packed_vector(values, 4)

    assert Vector.from_binary(packed.to_binary()).to_list() == Vector(values).to_list()
    assert repr(packed) == "PackedVector(4 dimensions)"


@pytest.mark.parametrize(("values", "reason"), [
    ([1.0, 2.0, 3.0], "3 dimensions, expected 4"),
    ([1.0, math.nan, 0.0, 1.0], "NaN or infinity"),
    ([1.0, -math.inf, 0.0, 1.0], "NaN or infinity"),
    ([0.0, 0.0, 0.0, 0.0], "all zeros"),
    ([1.0e39, 0.0, 0.0, 1.0], "4-byte floats"),
])
def test_a_vector_that_must_never_be_stored_is_refused(values: list[float], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        packed_vector(values, 4)


def test_huge_but_finite_values_are_judged_one_by_one_not_by_their_sum() -> None:
    with pytest.raises(ValueError, match="4-byte floats"):  # the sum overflows, no value is NaN
        packed_vector([1.0e308, 1.0e308, 1.0, 1.0], 4)
