"""The embed step's vectors, checked and packed once into pgvector's wire format."""

from __future__ import annotations

import math

import pytest
from pgvector import Vector

from adapters.postgres.vector_binary import packed_vector
from adapters.vectors import refuse_unstorable


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
    ([1.0e-50, -1.0e-50, 0.0, 1.0e-46], "all zeros once stored"),
    (["0.5", 1.0, 1.0, 1.0], "not a number"),
    ([None, 1.0, 1.0, 1.0], "not a number"),
])
def test_a_vector_that_must_never_be_stored_is_refused(values: list[float], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        packed_vector(values, 4)


def test_huge_but_finite_values_are_judged_one_by_one_not_by_their_sum() -> None:
    with pytest.raises(ValueError, match="4-byte floats"):  # the sum overflows, no value is NaN
        packed_vector([1.0e308, 1.0e308, 1.0, 1.0], 4)


@pytest.mark.parametrize(("value", "stored"), [
    (3.4028234663852886e38, True),  # the largest 4-byte float
    (3.4028235e38, True),  # above it, but rounds to it
    (3.4028236e38, False),  # past half a step above it: no 4-byte float holds it
    (-3.4028236e38, False),
])
def test_the_writer_and_every_store_agree_on_the_4_byte_range(value: float, stored: bool) -> None:
    values = [value, 0.0, 0.0, 1.0]
    outcomes = []
    for check in (lambda: packed_vector(values, 4), lambda: refuse_unstorable(values, 4)):
        try:
            check()
            outcomes.append(True)
        except ValueError as exc:
            assert "4-byte floats" in str(exc)
            outcomes.append(False)
    assert outcomes == [stored, stored]
