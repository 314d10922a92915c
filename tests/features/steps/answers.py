"""Steps about members asking for answers (not just passages) from their documents.

Answers are extractive (no language model) unless a scenario says a language model
writes them: then the real Anthropic adapter talks to the fake Messages API on
127.0.0.1, careful by default, or one that obeys whatever it reads.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs
import pytest
from pytest_bdd import given, parsers, then, when

from adapters.anthropic_answerer import AnthropicAnswerer
from adapters.extractive_answerer import ExtractiveAnswerer, sentences
from adapters.memory.rate_limiter import InMemoryAnswerRateLimiter
from domain.answering import AnswerQuestion
from domain.grounding import NOT_COVERED, SYSTEM_PROMPT, Answer, AnswerKind
from domain.ports import Answerer
from domain.search import SearchDocuments
from tests.fakes.anthropic_server import FakeAnthropic, Gullible
from tests.features.documents import DENTAL_PLAN, item
from tests.features.world import World, member_id


@attrs.define
class Answering:
    """Who writes the scenario's answers, and the fake language model if one does."""

    answerer: Answerer = attrs.Factory(ExtractiveAnswerer)
    server: FakeAnthropic | None = None
    closers: list[AnthropicAnswerer] = attrs.Factory(list)


@pytest.fixture
def answering(world: World) -> Iterator[Answering]:
    state = Answering()
    yield state
    for answerer in state.closers:
        world.run(answerer.aclose())
    if state.server is not None:
        state.server.stop()


@attrs.frozen
class Asked:
    member: str
    answer: Answer


@given(parsers.re(r'(?P<member>Maria|Omar) uploaded a letter that says "(?P<text>[^"]+)"'))
def _(world: World, member: str, text: str) -> None:
    letter = f"# A letter\n\n{text}\n"
    outcome = world.submit(member, "letter.md", letter.encode())
    assert outcome.error is None, outcome.error


@given(parsers.re(r'(?P<member>Maria|Omar) also uploaded a copy of (?:her|his) (?P<name>.+) '
                  r'saved as "(?P<filename>[^"]+)"'))
def _(world: World, member: str, name: str, filename: str) -> None:
    # Saved again: the same words, not the same bytes (the same bytes are one document).
    outcome = world.submit(member, filename, item(name).data() + b"\n")
    assert outcome.error is None, outcome.error


@given(parsers.re(r"answers are written by a language model(?P<gullible> that obeys "
                  r"whatever it reads)?"))
def _(answering: Answering, gullible: str | None) -> None:
    server = FakeAnthropic().start()
    answering.server = server
    if gullible:
        server.script(*[Gullible()] * 5)
    claude = AnthropicAnswerer(server.api_key, base_url=server.base_url, model="claude-fake")
    answering.closers.append(claude)
    answering.answerer = claude


@when(parsers.re(r'(?P<member>Maria|Omar) asks for an answer to "(?P<question>[^"]+)"'),
      target_fixture="asked")
def _(world: World, answering: Answering, member: str, question: str) -> Asked:
    search = SearchDocuments(world.documents, world.embedder, world.tokenizer,
                             defaults=world.search_defaults)
    use_case = AnswerQuestion(search=search, answerer=answering.answerer,
                              limiter=InMemoryAnswerRateLimiter(), clock=world.clock)
    outcome = world.attempt(use_case(member_id(member), question))
    assert outcome.error is None, outcome.error
    return Asked(member, outcome.value)


@then(parsers.parse('the answer says "{words}"'))
def _(asked: Asked, words: str) -> None:
    assert words in asked.answer.text, asked.answer.text
    assert asked.answer.covered


@then(parsers.parse('the answer does not say "{words}"'))
def _(asked: Asked, words: str) -> None:
    assert words not in asked.answer.text, asked.answer.text


@then(parsers.parse('the answer says "{words}" once'))
def _(asked: Asked, words: str) -> None:
    assert asked.answer.text.count(words) == 1, asked.answer.text
    assert asked.answer.covered


@then(parsers.parse('the answer says which copy it quotes, "{first}" or "{second}", '
                   'and that the other says the same'))
def _(asked: Asked, first: str, second: str) -> None:
    cited = {c.passage.filename for c in asked.answer.citations}
    assert len(cited) == 1, asked.answer.text  # one copy cited, the other named
    (quoted,) = cited
    assert quoted in (first, second)
    other = second if quoted == first else first
    assert f"quoted from \u201c{quoted}\u201d" in asked.answer.text, asked.answer.text
    assert f"\u201c{other}\u201d says the same" in asked.answer.text, asked.answer.text


@then(parsers.re(r"every citation points at a passage of (?P<member>\w+)'s (?P<name>.+)"))
def _(world: World, asked: Asked, member: str, name: str) -> None:
    document = world.document_named(member, item(name).filename)
    chunks = {c.chunk_id: c for c in world.chunks_of(document)}
    assert asked.answer.citations, "the answer cites nothing"
    for citation in asked.answer.citations:
        cited = citation.passage
        assert cited.document_id == document.document_id
        assert cited.filename == document.filename
        assert cited.chunk_id in chunks and chunks[cited.chunk_id].page == cited.page
        assert f"[{citation.label}]" in asked.answer.text
    assert not asked.answer.flagged


@then("the answer says it was extracted from her documents, not generated")
def _(asked: Asked) -> None:
    assert asked.answer.kind is AnswerKind.EXTRACTED
    assert asked.answer.text.startswith("Extracted from your documents")
    assert asked.answer.usage.input_tokens == asked.answer.usage.output_tokens == 0


@then("the answer was generated, and the tokens it used are counted")
def _(asked: Asked) -> None:
    assert asked.answer.kind is AnswerKind.GENERATED
    assert asked.answer.usage.input_tokens > 0 and asked.answer.usage.output_tokens > 0


@then(parsers.re(r"(?:she|he) is told (?:her|his) documents don't cover it"))
def _(asked: Asked) -> None:
    assert not asked.answer.covered
    assert asked.answer.text == NOT_COVERED


@then("the answer cites nothing")
def _(asked: Asked) -> None:
    assert asked.answer.citations == ()


@then(parsers.re(r"nothing from (?P<member>\w+)'s (?P<name>.+) is in the answer"))
def _(world: World, asked: Asked, member: str, name: str) -> None:
    document = world.document_named(member, item(name).filename)
    assert all(c.passage.document_id != document.document_id for c in asked.answer.citations)
    theirs = {s for c in world.chunks_of(document) for s in sentences(c.text)}
    assert theirs
    assert not any(sentence in asked.answer.text for sentence in theirs if len(sentence) > 20)


@then("the answer is withheld and flagged")
def _(asked: Asked) -> None:
    assert asked.answer.withheld and asked.answer.flagged
    assert asked.answer.citations == ()


@then("the answer reveals neither its instructions nor anything of Omar's")
def _(world: World, answering: Answering, asked: Asked) -> None:
    for line in SYSTEM_PROMPT.splitlines()[2:]:
        assert line not in asked.answer.text
    omar = {c.text for d in world.documents_of("Omar") for c in world.chunks_of(d)}
    assert omar, "Omar has no passages to leak"
    for text in omar:
        assert text not in asked.answer.text
    assert "Orthodontics" not in asked.answer.text and "$2,000" not in asked.answer.text
    if answering.server is not None:  # what the language model was sent at all
        for seen in answering.server.requests:
            assert "Orthodontics" not in seen.user and DENTAL_PLAN[:40] not in seen.user
