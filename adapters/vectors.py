"""Vector rules every store applies alike, and cosine similarity for the in-memory one."""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence


def check_vector(vector: Sequence[float], dimensions: int | None) -> list[float]:
    """The vector's values as floats, after :func:`refuse_unstorable`."""
    values = list(map(float, vector))
    refuse_unstorable(values, dimensions)
    return values


def refuse_unstorable(values: Sequence[float], dimensions: int | None) -> None:
    """Refuse a vector that must never be stored: wrong size, NaN or infinity, all
    zeros (it would match nothing, or everything, in a cosine search), or a value a
    4-byte float cannot hold (one that rounds to a 4-byte float's largest is held)."""
    refuse_unusable(values, dimensions)
    packed_floats(values)


def refuse_unusable(values: Sequence[float], dimensions: int | None) -> None:
    """:func:`refuse_unstorable` but for the 4-byte range, which :func:`packed_floats`
    checks as it packs (a writer that packs anyway pays for one pass, not two)."""
    if dimensions is not None and len(values) != dimensions:
        raise ValueError(f"vector has {len(values)} dimensions, expected {dimensions}")
    # A finite sum proves every value finite in one C loop (a worker checks ~300 vectors
    # of 1,536 per step); only a sum that overflowed or met NaN/inf needs the full check.
    try:
        finite = math.isfinite(sum(values)) or all(map(math.isfinite, values))
    except TypeError:  # a value that is not a number (a string, None)
        raise ValueError("vector holds a value that is not a number") from None
    if not finite:
        raise ValueError("vector contains NaN or infinity")
    if not any(values):
        raise ValueError("vector is all zeros")


def packed_floats(values: Sequence[float], byte_order: str = "<") -> bytes:
    """The values as 4-byte floats (pgvector's element type), refusing one that no
    4-byte float holds: the packing checks the range in C, where a ``max`` of the
    magnitudes in Python cost four times the packing itself."""
    count = len(values)
    try:
        packed = struct.pack(f"{byte_order}{count}f", *values)
    except OverflowError:
        raise ValueError("vector has a value that does not fit 4-byte floats") from None
    except struct.error as exc:  # a value that is not a number
        raise ValueError(f"vector holds a value that is not a number: {exc}") from None
    # Values too small for a 4-byte float pack as zeros: a vector of them is all zeros
    # as stored. Each zero is at least three zero bytes, so most vectors skip the check.
    if packed.count(0) >= 3 * count and not any(struct.unpack(f"{byte_order}{count}f",
                                                               packed)):
        raise ValueError("vector is all zeros once stored: its values are too small for "
                         "4-byte floats")
    return packed


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0
