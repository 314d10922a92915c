"""A deterministic, offline embedder: the feature-hashing trick, no model, no network.

Each text becomes a bag of features: its lowercase words, plus the character
trigrams of its longer words so that "deductible" and "deductibles" still meet.
Common words ("the", "what", PostgreSQL's English stop words) and punctuation
are left out, unless the text has nothing else, and a word's weight grows with
the logarithm of its count (1 + ln n), so a passage is not "about" whatever it
repeats most (counted linearly, every long passage would look alike; the
retrieval figures of both ways are in docs/BENCHMARKS.md).

Every feature is hashed with BLAKE2b (stable across processes and machines,
unlike Python's ``hash()``) to one of ``dimensions`` buckets with a sign; the
signed weights are summed and scaled to unit length.

So a query that shares words with a chunk has a clearly positive cosine
similarity with it, and unrelated texts land near zero. It is what ``navigator
up`` uses when no OpenAI key is set, and what tests use to get real vectors.

Per-word features are cached (a document's vocabulary is small), which makes it
fast enough for a 232-page policy in well under a second.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import operator
import re
from collections import Counter
from collections.abc import Sequence

from adapters.english import STOP_WORDS
from domain.model import EmbeddingLimits, Embeddings
from domain.ports import Tokenizer

_TOKEN = re.compile(r"\w+|[^\w\s]")
_WORD_WEIGHT = 1.0
_TRIGRAM_WEIGHT = 0.35
_MIN_WORD_FOR_TRIGRAMS = 5
_CACHE_LIMIT = 200_000
_TEXTS_BETWEEN_YIELDS = 64  # ~10-40 ms of work

Feature = tuple[int, float]  # (bucket, signed weight)


def tokens(text: str) -> list[str]:
    """The features' source: lowercase words and punctuation marks, in order."""
    return _TOKEN.findall(text.lower())


class HashingEmbedder:
    """Texts in, one unit-length vector per text out, always the same for the same text."""

    def __init__(
        self,
        dimensions: int = 1536,
        model: str = "local-hashing-v2",
        *,
        tokenizer: Tokenizer | None = None,
        limits: EmbeddingLimits | None = None,
    ) -> None:
        if dimensions < 2:
            raise ValueError("dimensions must be at least 2")
        self.model = model
        self.dimensions = dimensions
        # The same limits as OpenAI's, so a chunk that fits one fits the other.
        self.limits = limits or EmbeddingLimits()
        self._tokenizer = tokenizer
        self._features: dict[str, tuple[Feature, ...]] = {}

    def __repr__(self) -> str:
        return f"HashingEmbedder(model={self.model!r}, dimensions={self.dimensions})"

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        """Embed every text; an empty text is a bug upstream and raises ``ValueError``.

        A text longer than ``limits.max_tokens_per_input`` is refused with
        ``PermanentError``, as the hosted embedder would refuse it.
        """
        tokens_used = 0
        vectors: list[tuple[float, ...]] = []
        for position, text in enumerate(texts):
            if position and position % _TEXTS_BETWEEN_YIELDS == 0:
                await asyncio.sleep(0)  # let heartbeats and other jobs run meanwhile
            words = tokens(text)
            if not words:
                raise ValueError(f"text {position} is empty: there is nothing to embed")
            count = self._tokenizer.count(text) if self._tokenizer else len(words)
            tokens_used += self.limits.check_input(position, count)
            vectors.append(self.vector(words))
        return Embeddings(vectors=tuple(vectors), tokens_used=tokens_used)

    def vector(self, words: Sequence[str]) -> tuple[float, ...]:
        """The unit vector of an already tokenised, lowercase text."""
        vector = [0.0] * self.dimensions
        features = self._features
        counts = Counter(w for w in words if w not in STOP_WORDS and w.isalnum())
        for word, count in (counts or Counter(words)).items():
            cached = features.get(word)
            if cached is None:
                cached = self._word_features(word)
            often = 1.0 + math.log(count)
            for bucket, weight in cached:
                vector[bucket] += often * weight
        norm = math.sqrt(sum(map(operator.mul, vector, vector)))
        if norm == 0.0:
            # Every feature cancelled out (vanishingly rare): fall back to the
            # first word alone so the vector is never zero.
            bucket, weight = self._word_features(words[0])[0]
            vector[bucket], norm = weight, abs(weight)
        scale = 1.0 / norm
        return tuple([value * scale for value in vector])

    def _word_features(self, word: str) -> tuple[Feature, ...]:
        found = [self._hashed(word, _WORD_WEIGHT)]
        if len(word) >= _MIN_WORD_FOR_TRIGRAMS and word.isalpha():
            padded = f"<{word}>"
            found.extend(
                self._hashed("#" + padded[i : i + 3], _TRIGRAM_WEIGHT)
                for i in range(len(padded) - 2)
            )
        features = tuple(found)
        if len(self._features) >= _CACHE_LIMIT:
            self._features.clear()
        self._features[word] = features
        return features

    def _hashed(self, feature: str, weight: float) -> Feature:
        digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
        value = int.from_bytes(digest, "big")
        sign = 1.0 if value >> 63 else -1.0
        return value % self.dimensions, sign * weight
