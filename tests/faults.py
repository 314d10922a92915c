"""Fault injection for tests: one script of failures, worn by the parser or the embedder.

A :class:`FaultScript` is told how to misbehave: fail transiently a number of
times, fail permanently, or hang until the task running it is cancelled (a worker
that dies mid-step) or :meth:`~FaultScript.resume` is called (a worker that stalls
and wakes up late). :class:`ScriptedParser` and :class:`ScriptedEmbedder` are the
``Parser`` and ``Embedder`` ports around a working adapter, following the script
before every call. Rules apply in the order they were given; a rule with a
``filename`` applies to that file only. ``calls`` records every call, failed or not
(the file's name for a parse, ``"N texts"`` for an embedding request), so a test
can tell whether work was done twice.

Test doubles, so they live in the test tree: the installed packages ship only
working adapters.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Sequence

import attrs

from domain.errors import PermanentError, TransientError
from domain.model import (
    EmbeddingLimits,
    Embeddings,
    MediaType,
    ParsedDocument,
    ParsedPage,
    ParseRequest,
)
from domain.ports import Embedder, ParseCheckpoint, Parser

PAGE_BREAK = "\f"


class _Kind(enum.Enum):
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    HANG = "hang"


@attrs.define
class _Rule:
    kind: _Kind
    message: str
    remaining: int | None  # None: every time
    filename: str | None
    retry_after: float | None = None

    def applies_to(self, subject: str) -> bool:
        return (self.remaining is None or self.remaining > 0) and self.filename in (None, subject)


class FaultScript:
    """The failures to inject, in order, and the calls that met them."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self._rules: list[_Rule] = []
        self._hangs: list[asyncio.Event] = []
        self._stuck: asyncio.Event | None = None

    # -- the script -----------------------------------------------------------------

    def fail_transiently(
        self, times: int | None = 1, message: str = "the service is unavailable", *,
        filename: str | None = None, retry_after: float | None = None,
    ) -> None:
        """Raise ``TransientError`` the next ``times`` times (None: every time)."""
        self._rules.append(_Rule(_Kind.TRANSIENT, message, times, filename, retry_after))

    def fail_permanently(self, message: str, *, filename: str | None = None) -> None:
        """Raise ``PermanentError`` every time."""
        self._rules.append(_Rule(_Kind.PERMANENT, message, None, filename))

    def hang(self, times: int = 1, *, filename: str | None = None) -> None:
        """Block the next ``times`` calls until cancelled or resumed."""
        self._rules.append(_Rule(_Kind.HANG, "", times, filename))

    def heal(self) -> None:
        """Forget every rule that has not run out yet: the service works again."""
        self._rules.clear()

    def resume(self) -> None:
        """Let every hanging call carry on."""
        for event in self._hangs:
            event.set()

    @property
    def hanging(self) -> int:
        """How many calls are blocked right now."""
        return sum(1 for event in self._hangs if not event.is_set())

    async def wait_until_hanging(self) -> None:
        """Return once a call is blocked (at once if one already is)."""
        await self._stuck_event().wait()

    # -- following it ---------------------------------------------------------------

    async def strike(self, subject: str) -> None:
        """Record a call about ``subject`` and do what the first rule that applies says."""
        self.calls.append(subject)
        rule = next((r for r in self._rules if r.applies_to(subject)), None)
        if rule is None:
            return
        if rule.remaining is not None:
            rule.remaining -= 1
        if rule.kind is _Kind.TRANSIENT:
            raise TransientError(rule.message, retry_after=rule.retry_after)
        if rule.kind is _Kind.PERMANENT:
            raise PermanentError(rule.message)
        await self._block()

    def _stuck_event(self) -> asyncio.Event:
        if self._stuck is None:
            self._stuck = asyncio.Event()
        return self._stuck

    async def _block(self) -> None:
        event = asyncio.Event()
        self._hangs.append(event)
        self._stuck_event().set()
        try:
            await event.wait()
        finally:
            event.set()  # a cancelled call no longer counts as hanging
            if not self.hanging:
                self._stuck_event().clear()


class ScriptedParser(FaultScript):
    """The ``Parser`` port for text and markdown (pages split on form feeds), handing
    other types to an optional real parser (the local one, in scenarios)."""

    def __init__(self, inner: Parser | None = None, name: str = "scripted") -> None:
        super().__init__()
        self.name = name
        self._inner = inner

    def __repr__(self) -> str:
        return f"ScriptedParser(rules={len(self._rules)}, calls={len(self.calls)})"

    def supports(self, media_type: MediaType) -> bool:
        if media_type in (MediaType.TEXT, MediaType.MARKDOWN):
            return True
        return self._inner is not None and self._inner.supports(media_type)

    async def parse(self, request: ParseRequest, checkpoint: ParseCheckpoint) -> ParsedDocument:
        await self.strike(request.filename)
        if self._inner is not None and self._inner.supports(request.media_type):
            return await self._inner.parse(request, checkpoint)
        if request.media_type in (MediaType.TEXT, MediaType.MARKDOWN):
            return _parse_text(request.data, self.name)
        raise PermanentError(f"{request.media_type} files cannot be parsed here")


class ScriptedEmbedder(FaultScript):
    """The ``Embedder`` port around a working embedder, failing as scripted."""

    def __init__(self, inner: Embedder) -> None:
        super().__init__()
        self._inner = inner
        self.model = inner.model
        self.dimensions = inner.dimensions
        self.limits: EmbeddingLimits = inner.limits

    def __repr__(self) -> str:
        return f"ScriptedEmbedder({self._inner!r}, calls={len(self.calls)})"

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        await self.strike(f"{len(texts)} texts")
        return await self._inner.embed(texts)


def _parse_text(data: bytes, parser: str) -> ParsedDocument:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PermanentError("the file is not valid UTF-8 text") from None
    if not text.strip():
        raise PermanentError("we could not find any text in this document")
    pages = tuple(ParsedPage(n, page) for n, page in enumerate(text.split(PAGE_BREAK), start=1))
    return ParsedDocument(pages, parser=parser)
