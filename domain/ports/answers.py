"""Writing an answer from a member's passages, and limiting how many they ask.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Protocol

from domain.grounding import AnswerKind, GroundedPrompt
from domain.grounding import Usage as AnswerUsage


class Answerer(Protocol):
    """Writes an answer to a grounded prompt, citing its passages as ``[n]``.

    ``stream`` yields the answer's text piece by piece, then one ``AnswerUsage``
    (the tokens billed; zeros when nothing was billed). It never sees anything
    but the prompt: the member's own passages, chosen by search. It raises
    ``TransientError`` (with the provider's Retry-After) for rate limits,
    overload and 5xx, ``PermanentError`` for a refused key or request.
    """

    kind: AnswerKind
    model: str

    def stream(self, prompt: GroundedPrompt) -> AsyncIterator[str | AnswerUsage]:
        ...


class AnswerRateLimiter(Protocol):
    """Counts the answers each member asked for, to enforce the per-member limit."""

    async def take(self, user_id: str, now: datetime, limit: int, window: timedelta
                   ) -> timedelta | None:
        """Count one answer for ``user_id`` at ``now`` if fewer than ``limit`` were
        counted in the ``window`` before it, and return None; otherwise count nothing
        and return how long until one more would be allowed."""
        ...

    async def used(self, user_id: str, now: datetime, window: timedelta) -> int:
        """How many answers ``user_id`` was counted for in the ``window`` before ``now``."""
        ...
