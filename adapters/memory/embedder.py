"""An embedder wrapper that can be told to fail or hang, for failure scenarios."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from domain.errors import PermanentError, TransientError
from domain.ports import Embedder, EmbeddingLimits, Embeddings


class FlakyEmbedder:
    """The ``Embedder`` port around a working embedder, failing as scripted.

    ``calls`` counts requests, ``texts`` counts every text asked for (including
    requests that failed), so a test can tell whether work was done twice.
    """

    def __init__(self, inner: Embedder) -> None:
        self._inner = inner
        self.model = inner.model
        self.dimensions = inner.dimensions
        self.limits: EmbeddingLimits = inner.limits
        self.calls = 0
        self.texts = 0
        self._transient_left = 0
        self._transient_message = ""
        self._permanent: str | None = None
        self._hangs_left = 0
        self._hangs: list[asyncio.Event] = []

    def __repr__(self) -> str:
        return f"FlakyEmbedder({self._inner!r})"

    def fail_transiently(self, times: int = 1, message: str = "the embedding service is busy",
                         ) -> None:
        self._transient_left = times
        self._transient_message = message

    def fail_permanently(self, message: str) -> None:
        self._permanent = message

    def hang(self, times: int = 1) -> None:
        """Block the next ``times`` requests until cancelled or resumed."""
        self._hangs_left = times

    def heal(self) -> None:
        self._transient_left = 0
        self._permanent = None
        self._hangs_left = 0

    def resume(self) -> None:
        for event in self._hangs:
            event.set()

    @property
    def hanging(self) -> int:
        return sum(1 for event in self._hangs if not event.is_set())

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        self.calls += 1
        self.texts += len(texts)
        if self._permanent is not None:
            raise PermanentError(self._permanent)
        if self._transient_left > 0:
            self._transient_left -= 1
            raise TransientError(self._transient_message)
        if self._hangs_left > 0:
            self._hangs_left -= 1
            event = asyncio.Event()
            self._hangs.append(event)
            try:
                await event.wait()
            finally:
                event.set()
        return await self._inner.embed(texts)
