"""Use case: a member asks a question and gets an answer from their own documents.

The order of things, and why:

1. The member's rate limit is checked first (``ANSWER_RATE_LIMIT`` answers per
   ``ANSWER_RATE_WINDOW_SECONDS``): a refused request costs nothing, not even an
   embedding. Every accepted question counts, answered or not.
2. Search picks the member's own passages (threshold, ``RAG_MAX_CHUNKS``,
   ``RAG_TOKEN_BUDGET``). Another member's chunks can never be in the context,
   so no answer can quote them.
3. No passage cleared the threshold: the answer says the documents do not cover
   the question, and no answerer is asked.
4. Otherwise the domain builds the grounded prompt and the answerer writes the
   answer; its text is cleaned as it streams (invented citations never shown)
   and checked when it ends (``domain.grounding.finish``).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from uuid import UUID

import attrs

from domain.errors import TooManyRequests
from domain.grounding import (
    Answer,
    CitationStream,
    GroundedPrompt,
    Usage,
    build_prompt,
    finish,
    guarded_lines,
    not_covered,
)
from domain.model import NotSearched
from domain.ports import Answerer, AnswerRateLimiter, Clock
from domain.search import SearchDocuments


def rate_limit_wait(
    recent: Sequence[datetime], now: datetime, limit: int, window: timedelta
) -> timedelta | None:
    """The sliding-window rule: None when one more request at ``now`` is allowed (fewer
    than ``limit`` of ``recent`` fall within ``window`` before it), else how long until
    the oldest of those leaves the window."""
    inside = sorted(t for t in recent if now - window < t <= now)
    if len(inside) < limit:
        return None
    return inside[len(inside) - limit] + window - now


@attrs.frozen
class AnswerRateLimit:
    """How many answers a member may ask for in a sliding window."""

    limit: int = attrs.field(default=30, validator=attrs.validators.ge(1))
    window: timedelta = timedelta(minutes=10)


@attrs.frozen
class TextPiece:
    """Part of the answer's text, to show as it arrives."""

    text: str


@attrs.frozen
class Finished:
    """The whole answer, checked: its final text, citations, flags and tokens."""

    answer: Answer


AnswerEvent = TextPiece | Finished


@attrs.frozen
class PreparedQuestion:
    """A question that passed the rate limit and search, ready to be answered."""

    user_id: str
    prompt: GroundedPrompt
    considered: int
    #: The member's documents the search could not look into, and why.
    not_searched: tuple[NotSearched, ...] = ()


@attrs.frozen
class AnswerQuestion:
    """Answer a member's question from their own documents, with citations that resolve
    to their own chunks and pages; say so, without guessing, when their documents do not
    cover it. Document text is data, never instructions."""

    search: SearchDocuments
    answerer: Answerer
    limiter: AnswerRateLimiter
    clock: Clock
    rate_limit: AnswerRateLimit = AnswerRateLimit()

    async def prepare(self, user_id: str, question: str,
                      document_ids: Sequence[UUID] | None = None) -> PreparedQuestion:
        """Steps 1 and 2: may raise ``TooManyRequests`` or ``InvalidQuery`` (nothing
        has been streamed yet, so the caller can still answer with an error). A question
        the search would refuse is refused before it takes one of the member's questions
        of the rate limit."""
        self.search.checked(question, "question")
        wait = await self.limiter.take(user_id, self.clock.now(), self.rate_limit.limit,
                                       self.rate_limit.window)
        if wait is not None:
            seconds = max(1, math.ceil(wait.total_seconds()))
            raise TooManyRequests(
                f"you asked {self.rate_limit.limit} questions in the last "
                f"{_duration(self.rate_limit.window)}, the most allowed; try again in "
                f"{seconds} s", retry_after=seconds,
            )
        result = await self.search(user_id, question, document_ids=document_ids)
        prompt = build_prompt(question.strip(), result.chunks,
                              budget=result.options.token_budget,
                              count=self.search.tokenizer.count)
        return PreparedQuestion(user_id, prompt, considered=result.considered,
                                not_searched=result.not_searched)

    async def stream(self, prepared: PreparedQuestion) -> AsyncIterator[AnswerEvent]:
        """Steps 3 and 4: text pieces as the answerer writes them, then ``Finished``."""
        prompt = prepared.prompt
        if not prompt.passages:
            yield Finished(not_covered(prompt.question, self.answerer.kind, self.answerer.model,
                                       prepared.considered))
            return
        cleaner = CitationStream(prompt.labels, guarded_lines(prompt))
        draft: list[str] = []
        usage = Usage()
        async for piece in self.answerer.stream(prompt):
            if isinstance(piece, Usage):
                usage = piece
                continue
            draft.append(piece)
            shown = cleaner.feed(piece)
            if shown:
                yield TextPiece(shown)
        rest = cleaner.close()
        answer = finish(prompt, "".join(draft), self.answerer.kind, self.answerer.model, usage,
                        prepared.considered)
        if rest and answer.covered and not answer.withheld:
            yield TextPiece(rest)
        yield Finished(answer)

    async def __call__(self, user_id: str, question: str,
                       document_ids: Sequence[UUID] | None = None) -> Answer:
        prepared = await self.prepare(user_id, question, document_ids)
        async for event in self.stream(prepared):
            if isinstance(event, Finished):
                return event.answer
        raise AssertionError("an answer stream ended without its answer")  # a bug


def _duration(window: timedelta) -> str:
    seconds = int(window.total_seconds())
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return "hour" if hours == 1 else f"{hours} hours"
    if seconds % 60 == 0:
        minutes = seconds // 60
        return "minute" if minutes == 1 else f"{minutes} minutes"
    return f"{seconds} seconds"
