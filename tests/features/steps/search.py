"""Steps about members asking questions of their documents."""

from __future__ import annotations

from typing import Any

import attrs
from pytest_bdd import parsers, then, when

from domain.model import ScoredChunk
from domain.retrieval import RetrievalResult
from tests.features.documents import item
from tests.features.world import World

ASKS = (
    r'(?P<member>Maria|Omar) asks "(?P<question>[^"]+)"'
    r"(?: with a similarity threshold of (?P<threshold>[\d.]+))?"
    r"(?: for at most (?P<most>\d+) passages)?"
    r"(?: within a budget of (?P<budget>\d+) tokens)?"
)


@attrs.frozen
class Answer:
    member: str
    result: RetrievalResult

    @property
    def passages(self) -> tuple[ScoredChunk, ...]:
        return self.result.chunks


@when(parsers.re(ASKS), target_fixture="answer")
def _(world: World, member: str, question: str, threshold: str | None, most: str | None,
      budget: str | None) -> Answer:
    options: dict[str, Any] = {}
    if threshold is not None:
        options["similarity_threshold"] = float(threshold)
    if most is not None:
        options["max_chunks"] = int(most)
    if budget is not None:
        options["token_budget"] = int(budget)
    outcome = world.search(member, question, **options)
    assert outcome.error is None, outcome.error
    return Answer(member, outcome.value)


def _owner(answer: Answer, whose: str) -> str:
    return answer.member if whose in ("her", "his") else whose.removesuffix("'s")


@then(parsers.re(r"the best passage comes from (?P<whose>her|his|\w+'s) (?P<name>.+)"))
def _(world: World, answer: Answer, whose: str, name: str) -> None:
    assert answer.passages, "nothing was found"
    expected = world.document_named(_owner(answer, whose), item(name).filename)
    assert answer.passages[0].chunk.document_id == expected.document_id, answer.passages[0]


@then(parsers.re(r"none of the passages come from (?P<whose>her|his|\w+'s) (?P<name>.+)"))
def _(world: World, answer: Answer, whose: str, name: str) -> None:
    document = world.document_named(_owner(answer, whose), item(name).filename)
    assert all(p.chunk.document_id != document.document_id for p in answer.passages)


@then(parsers.parse('the best passage mentions "{words}"'))
def _(answer: Answer, words: str) -> None:
    assert answer.passages and words in answer.passages[0].chunk.text


@then("the passages come best match first")
def _(answer: Answer) -> None:
    scores = [p.score for p in answer.passages]
    assert len(scores) > 1
    assert scores == sorted(scores, reverse=True)


@then("no passages are found")
def _(answer: Answer) -> None:
    assert answer.passages == ()
    assert answer.result.tokens_used == 0


@then(parsers.parse("more than {count:d} passages are found"))
def _(answer: Answer, count: int) -> None:
    assert len(answer.passages) > count


@then(parsers.parse("at most {count:d} passages are found"))
def _(answer: Answer, count: int) -> None:
    assert 1 <= len(answer.passages) <= count


@then(parsers.re(r"at least (?P<count>\d+) passages? (?:is|are) found"))
def _(answer: Answer, count: str) -> None:
    assert len(answer.passages) >= int(count)


@then(parsers.parse("the passages use no more than {budget:d} tokens"))
def _(answer: Answer, budget: int) -> None:
    assert sum(p.chunk.token_count for p in answer.passages) <= budget


@then("the answer reports exactly the tokens the passages use")
def _(answer: Answer) -> None:
    assert answer.result.tokens_used == sum(p.chunk.token_count for p in answer.passages) > 0


@then(parsers.re(r"every passage comes from (?P<member>\w+)'s own documents"))
def _(world: World, answer: Answer, member: str) -> None:
    own = {d.document_id for d in world.documents_of(member)}
    assert answer.passages, "nothing was found"
    assert all(p.chunk.document_id in own for p in answer.passages)


@then("every passage holds a word of the question")
def _(answer: Answer) -> None:
    assert answer.passages and all(p.keyword_match for p in answer.passages)


@then(parsers.parse('the best passage gives the number "{number}"'))
def _(answer: Answer, number: str) -> None:
    assert answer.passages and number in answer.passages[0].chunk.text


@then(parsers.parse('the part of it that matched shows "{words}" marked'))
def _(answer: Answer, words: str) -> None:
    highlight = answer.passages[0].highlight
    assert all(f"**{word}**" in highlight for word in words.split()), highlight
