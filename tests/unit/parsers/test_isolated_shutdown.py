"""Shutting the parser down leaves no child process behind, even one that was still
starting (the spare made ready for the next file) when shutdown began."""

from __future__ import annotations

import asyncio
import threading
import uuid

import pytest

from adapters.parsers import isolated
from adapters.parsers.isolated import IsolatedLocalParser
from domain.model import MediaType, ParseRequest

EXIT_WAIT_SECONDS = 10.0  # an upper bound on waiting for a killed process, not a guess


class _NoCheckpoint:
    external_id: str | None = None

    async def save(self, external_id: str) -> None:
        raise AssertionError("a local parse has no external job")


async def test_a_spare_child_still_starting_at_shutdown_is_stopped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gate, spare_made, spare_started = threading.Event(), threading.Event(), threading.Event()
    children: list[isolated._Child] = []

    class HeldSpare(isolated._Child):
        """Children after the first wait at the gate before starting."""

        def start(self) -> None:
            if self is not children[0]:
                gate.wait(EXIT_WAIT_SECONDS)
            super().start()
            if self is not children[0]:
                spare_started.set()

        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            children.append(self)
            if len(children) == 2:
                spare_made.set()

    monkeypatch.setattr(isolated, "_Child", HeldSpare)
    parser = IsolatedLocalParser()
    request = ParseRequest(uuid.uuid4(), "member-upload", MediaType.TEXT, b"Deductible: $250")

    parsed = await parser.parse(request, _NoCheckpoint())  # then a spare starts, held
    assert "Deductible" in parsed.pages[0].markdown
    assert await asyncio.to_thread(spare_made.wait, EXIT_WAIT_SECONDS)
    closing = asyncio.create_task(parser.aclose())
    await asyncio.sleep(0)  # shutdown begins while the spare is still starting
    gate.set()
    await closing

    assert await asyncio.to_thread(spare_started.wait, EXIT_WAIT_SECONDS)
    spare = children[1]
    assert spare._process is not None
    await asyncio.to_thread(spare._process.join, EXIT_WAIT_SECONDS)
    assert spare._process.exitcode is not None, "the spare outlived the parser"
