"""Texts into vectors, and counting their tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from domain.model import EmbeddingLimits, Embeddings


class Embedder(Protocol):
    """Texts in, one unit-length vector per text out, in order."""

    model: str
    dimensions: int
    limits: EmbeddingLimits

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        ...


class Tokenizer(Protocol):
    """cl100k tokens, as the embedding model counts them."""

    def encode(self, text: str) -> list[int]:
        ...

    def decode(self, tokens: Sequence[int]) -> str:
        ...

    def count(self, text: str) -> int:
        ...
