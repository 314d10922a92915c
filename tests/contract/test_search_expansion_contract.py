"""A search's expansion (the booklet's words for a member's own), on the in-memory store
and on PostgreSQL: it finds passages by keyword, weighs less than the member's own
words, and is marked where it matched."""

from __future__ import annotations

import pytest

from domain.hybrid import SearchMode
from tests.contract.builders import MARIA, process_fully, submit, unit
from tests.contract.conftest import DIMENSIONS, Backend

MODEL = "text-embedding-3-small"
BOOKLETS = "The maximum applies to every member of the plan."
MEMBERS = "The cap applies to every member of the plan."


async def _complete(backend: Backend, texts: list[str]) -> None:
    await submit(backend.queue, MARIA, b"policy", backend.clock.now())
    await process_fully(backend.queue, "worker-1", DIMENSIONS, texts, MODEL)


@pytest.mark.parametrize("mode", [SearchMode.KEYWORD, SearchMode.HYBRID])
async def test_the_expansion_finds_a_passage_the_members_words_do_not(
    backend: Backend, mode: SearchMode,
) -> None:
    await _complete(backend, [BOOKLETS])

    plain = await backend.documents.search(MARIA, unit(0, DIMENSIONS), MODEL, 1.01, 10,
                                           text="spending cap", mode=mode)
    expanded = await backend.documents.search(
        MARIA, unit(0, DIMENSIONS), MODEL, 1.01, 10, text="spending cap", mode=mode,
        expansion="maximum out-of-pocket amount")

    assert plain == []
    assert [h.chunk.text for h in expanded] == [BOOKLETS]
    assert "**maximum**" in expanded[0].highlight


async def test_the_members_own_word_outranks_a_booklet_word(backend: Backend) -> None:
    await _complete(backend, [BOOKLETS, MEMBERS])  # the booklet's first: it would win a tie

    hits = await backend.documents.search(
        MARIA, unit(0, DIMENSIONS), MODEL, 1.01, 10, text="spending cap",
        mode=SearchMode.KEYWORD, expansion="maximum out-of-pocket amount")

    assert [h.chunk.text for h in hits] == [MEMBERS, BOOKLETS]
    assert hits[0].score > hits[1].score


async def test_without_an_expansion_nothing_changes(backend: Backend) -> None:
    await _complete(backend, [BOOKLETS, MEMBERS])

    hits = await backend.documents.search(MARIA, unit(0, DIMENSIONS), MODEL, 1.01, 10,
                                          text="cap", mode=SearchMode.KEYWORD,
                                          expansion="")

    assert [h.chunk.text for h in hits] == [MEMBERS]
