"""A parser that can be told how to misbehave, for scenarios about failures and crashes.

It hands the real work to an optional real parser (the local one, in scenarios)
and otherwise parses plain text and markdown itself (pages split on form feeds).
Before parsing it follows its script: fail transiently a number of times, fail
permanently, or hang until the task running it is cancelled (a worker that dies
mid-step) or :meth:`resume` is called (a worker that stalls and wakes up late).
"""

from __future__ import annotations

import asyncio
import enum

import attrs

from domain.errors import PermanentError, TransientError
from domain.model import MediaType, ParsedDocument, ParsedPage
from domain.ports import ParseCheckpoint, Parser, ParseRequest

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

    def applies_to(self, filename: str) -> bool:
        return (self.remaining is None or self.remaining > 0) and self.filename in (None, filename)


class ScriptedParser:
    """The ``Parser`` port for text and markdown, with scripted failures.

    Rules apply in the order they were given; a rule with a ``filename`` applies to
    that file only. ``calls`` records every file the parser was asked to parse.
    """

    def __init__(self, inner: Parser | None = None, name: str = "scripted") -> None:
        self.name = name
        self.calls: list[str] = []
        self._inner = inner
        self._rules: list[_Rule] = []
        self._hangs: list[asyncio.Event] = []
        self._stuck: asyncio.Event | None = None

    def __repr__(self) -> str:
        return f"ScriptedParser(rules={len(self._rules)}, calls={len(self.calls)})"

    # -- the script -----------------------------------------------------------------

    def fail_transiently(
        self, times: int | None = 1, message: str = "the parser is unavailable", *,
        filename: str | None = None, retry_after: float | None = None,
    ) -> None:
        """Raise ``TransientError`` the next ``times`` times (None: every time)."""
        self._rules.append(_Rule(_Kind.TRANSIENT, message, times, filename, retry_after))

    def fail_permanently(self, message: str, *, filename: str | None = None) -> None:
        """Raise ``PermanentError`` every time."""
        self._rules.append(_Rule(_Kind.PERMANENT, message, None, filename))

    def hang(self, times: int = 1, *, filename: str | None = None) -> None:
        """Block the next ``times`` parses until cancelled or resumed."""
        self._rules.append(_Rule(_Kind.HANG, "", times, filename))

    def heal(self) -> None:
        """Forget every rule that has not run out yet: the parser works again."""
        self._rules.clear()

    def resume(self) -> None:
        """Let every hanging parse carry on."""
        for event in self._hangs:
            event.set()

    @property
    def hanging(self) -> int:
        """How many parses are blocked right now."""
        return sum(1 for event in self._hangs if not event.is_set())

    async def wait_until_hanging(self) -> None:
        """Return once a parse is blocked (at once if one already is)."""
        await self._stuck_event().wait()

    def _stuck_event(self) -> asyncio.Event:
        if self._stuck is None:
            self._stuck = asyncio.Event()
        return self._stuck

    # -- the port -------------------------------------------------------------------

    def supports(self, media_type: MediaType) -> bool:
        if media_type in (MediaType.TEXT, MediaType.MARKDOWN):
            return True
        return self._inner is not None and self._inner.supports(media_type)

    async def parse(self, request: ParseRequest, checkpoint: ParseCheckpoint) -> ParsedDocument:
        self.calls.append(request.filename)
        rule = next((r for r in self._rules if r.applies_to(request.filename)), None)
        if rule is not None:
            if rule.remaining is not None:
                rule.remaining -= 1
            if rule.kind is _Kind.TRANSIENT:
                raise TransientError(rule.message, retry_after=rule.retry_after)
            if rule.kind is _Kind.PERMANENT:
                raise PermanentError(rule.message)
            await self._block()
        if self._inner is not None and self._inner.supports(request.media_type):
            return await self._inner.parse(request, checkpoint)
        if request.media_type in (MediaType.TEXT, MediaType.MARKDOWN):
            return _parse_text(request.data, self.name)
        raise PermanentError(f"{request.media_type} files cannot be parsed here")

    async def _block(self) -> None:
        event = asyncio.Event()
        self._hangs.append(event)
        self._stuck_event().set()
        try:
            await event.wait()
        finally:
            event.set()  # a cancelled parse no longer counts as hanging
            if not self.hanging:
                self._stuck_event().clear()


def _parse_text(data: bytes, parser: str) -> ParsedDocument:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PermanentError("the file is not valid UTF-8 text") from None
    if not text.strip():
        raise PermanentError("we could not find any text in this document")
    pages = tuple(ParsedPage(n, page) for n, page in enumerate(text.split(PAGE_BREAK), start=1))
    return ParsedDocument(pages, parser=parser)
