"""Vector checks and cosine similarity shared by the in-memory adapters."""

from __future__ import annotations

import math
from collections.abc import Sequence


def check_vector(vector: Sequence[float], dimensions: int | None = None) -> None:
    """Refuse a vector that must never be stored: wrong size, NaN/inf, or all zeros."""
    if dimensions is not None and len(vector) != dimensions:
        raise ValueError(f"vector has {len(vector)} dimensions, expected {dimensions}")
    if not all(math.isfinite(x) for x in vector):
        raise ValueError("vector contains NaN or infinity")
    if not any(vector):
        raise ValueError("vector is all zeros")


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0
