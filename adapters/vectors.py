"""Vector rules every store applies alike, and cosine similarity for the in-memory one."""

from __future__ import annotations

import math
from collections.abc import Sequence

#: The largest magnitude a 4-byte float (pgvector's element type) holds.
FLOAT4_MAX = 3.4028234663852886e38


def check_vector(vector: Sequence[float], dimensions: int | None) -> list[float]:
    """The vector's values as floats, after :func:`refuse_unstorable`."""
    values = list(map(float, vector))
    refuse_unstorable(values, dimensions)
    return values


def refuse_unstorable(values: Sequence[float], dimensions: int | None) -> None:
    """Refuse a vector that must never be stored: wrong size, NaN or infinity, all
    zeros (it would match nothing, or everything, in a cosine search), or a value a
    4-byte float cannot hold. Reads ``values`` without copying them."""
    if dimensions is not None and len(values) != dimensions:
        raise ValueError(f"vector has {len(values)} dimensions, expected {dimensions}")
    # A finite sum proves every value finite in one C loop (a worker checks ~300 vectors
    # of 1,536 per step); only a sum that overflowed or met NaN/inf needs the full check.
    if not math.isfinite(sum(values)) and not all(map(math.isfinite, values)):
        raise ValueError("vector contains NaN or infinity")
    if not any(values):
        raise ValueError("vector is all zeros")
    if max(map(abs, values)) > FLOAT4_MAX:
        raise ValueError("vector has a value that does not fit 4-byte floats")


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0
