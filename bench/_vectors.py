"""Vectors shaped like text embeddings of members' insurance documents (numpy; ``bench`` extra).

Real embeddings are not uniform random points: every vector of a model shares a
common direction, texts about one subject cluster, and the chunks of one document
sit closer still. So a chunk here is the unit-length sum of

- a direction common to every vector (weight 0.4),
- one of the 256 topics, the member leaning on 8 of them (0.5),
- its document's own direction (0.4),
- noise of its own (0.65),

which gives cosine similarities like text-embedding-3-small on such text: ~0.57
between chunks of one document, ~0.41 within a topic, ~0.16 across topics. Every
vector is distinct; nothing cycles.

Queries are of two kinds, half each: a question about one passage (0.8 of a chunk
plus 0.6 noise: the best match at ~0.8, the next ones ~0.5) and a broad question on
the topic of one of the member's documents (the best ten within a few hundredths of each other:
the hard case for any approximate ranking).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]

TOPICS = 256
TOPICS_PER_MEMBER = 8
CHUNKS_PER_DOCUMENT = 285  # the 232-page policy


def _unit(a: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return a / np.linalg.norm(a, axis=-1, keepdims=True)


class EmbeddingSpace:
    """A deterministic space of topics; members and queries drawn from it by seed."""

    def __init__(self, dimensions: int, seed: int = 1) -> None:
        self.dimensions = dimensions
        rng = np.random.default_rng(seed)
        self.common = _unit(rng.standard_normal(dimensions))
        self.topics = _unit(rng.standard_normal((TOPICS, dimensions)))
        self._seed = seed
        self._document_topics: dict[int, list[int]] = {}

    def _member_topics(self, member: int) -> npt.NDArray[np.int64]:
        rng = np.random.default_rng((self._seed, member, 0))
        return rng.choice(TOPICS, TOPICS_PER_MEMBER, replace=False)

    def documents(self, member: int, chunks: int, upload: int = 0) -> list[Matrix]:
        """The member's ``chunks`` vectors, as documents of up to 285 chunks each;
        each ``upload`` number draws different documents."""
        rng = np.random.default_rng((self._seed, member, 1, upload))
        topics = self._member_topics(member)
        out: list[Matrix] = []
        chosen = self._document_topics.setdefault(member, [])
        left = chunks
        while left > 0:
            n = min(CHUNKS_PER_DOCUMENT, left)
            document = _unit(rng.standard_normal(self.dimensions))
            chosen.append(int(rng.choice(topics)))
            topic = self.topics[chosen[-1]]
            noise = _unit(rng.standard_normal((n, self.dimensions)))
            mixed = 0.4 * self.common + 0.5 * topic + 0.4 * document + 0.65 * noise
            out.append(_unit(mixed).astype(np.float32))
            left -= n
        return out

    def queries(self, member: int, vectors: Matrix, count: int, seed: int) -> Matrix:
        """``count`` queries for a member whose chunks are ``vectors`` (drawn by
        :meth:`documents` first, whose topics the broad questions are about)."""
        rng = np.random.default_rng((self._seed, member, 2, seed))
        topics = self._document_topics[member]
        out = np.empty((count, self.dimensions), dtype=np.float32)
        for i in range(count):
            noise = _unit(rng.standard_normal(self.dimensions))
            if i % 2 == 0:
                passage = vectors[rng.integers(len(vectors))]
                out[i] = _unit(0.8 * passage + 0.6 * noise)
            else:
                topic = self.topics[rng.choice(topics)]
                out[i] = _unit(0.4 * self.common + 0.5 * topic + 0.75 * noise)
        return out


def exact_top(vectors: Matrix, query: Matrix, min_similarity: float, limit: int) -> list[int]:
    """Indices of the exact best ``limit`` vectors at or above ``min_similarity``."""
    similarity = vectors @ query
    order = np.argsort(-similarity, kind="stable")[:limit]
    return [int(i) for i in order if similarity[i] >= min_similarity]
