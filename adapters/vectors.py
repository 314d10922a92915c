"""Vector rules every store applies alike, and cosine similarity for the in-memory one."""

from __future__ import annotations

import math
from collections.abc import Sequence


def check_vector(vector: Sequence[float], dimensions: int | None) -> list[float]:
    """Refuse a vector that must never be stored (wrong size, NaN or infinity, all
    zeros: it would match nothing, or everything, in a cosine search)."""
    values = list(map(float, vector))
    if dimensions is not None and len(values) != dimensions:
        raise ValueError(f"vector has {len(values)} dimensions, expected {dimensions}")
    # A finite sum proves every value finite in one C loop (a worker checks ~300 vectors
    # of 1,536 per step); only a sum that overflowed or met NaN/inf needs the full check.
    if not math.isfinite(sum(values)) and not all(map(math.isfinite, values)):
        raise ValueError("vector contains NaN or infinity")
    if not any(values):
        raise ValueError("vector is all zeros")
    return values


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0
