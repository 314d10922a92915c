"""The offline answerer reads a member's own words through the lay-terms glossary."""

from __future__ import annotations

from uuid import uuid4

from adapters.extractive_answerer import ExtractiveAnswerer, booklet_terms, key_terms
from domain.grounding import Passage

LIMITS = """Medical costs
You pay a $250 deductible each year for medical care before the plan pays its share.
Your maximum out-of-pocket amount for medical care is $3,400 each year."""


def passage(label: int, text: str) -> Passage:
    return Passage(label=label, chunk_id=uuid4(), document_id=uuid4(), filename="eoc.pdf",
                   page=12, text=text, similarity=0.5, token_count=len(text.split()))


def test_a_cap_on_what_i_spend_prefers_the_maximum_out_of_pocket_sentence() -> None:
    lines = ExtractiveAnswerer(max_sentences=1).choose(
        "Is there a cap on what I spend on medical care in a year?", [passage(1, LIMITS)])

    assert lines == ["Your maximum out-of-pocket amount for medical care is $3,400 each "
                     "year. [1]"]


def test_the_booklets_words_are_not_the_members_key_words() -> None:
    question = "How much does the ER charge?"

    assert {"emerg", "room"} <= booklet_terms(question)
    assert not booklet_terms(question) & key_terms(question)
    assert booklet_terms("Who is the Quality Improvement Organization?") == frozenset()


def test_the_answerer_reads_a_members_words_through_the_glossary_it_is_given() -> None:
    from adapters.text_search import EnglishWords
    from domain.lay_terms import LayTerms

    limit = [passage(1, "The maximum out-of-pocket amount for covered services is $3,400 "
                      "each year.")]
    question = "Is there a cap on what I spend?"

    glossary = ExtractiveAnswerer().choose(question, limit)
    none = ExtractiveAnswerer(lay_terms=LayTerms.of(EnglishWords(), "")).choose(
        question, limit)

    assert glossary and "$3,400" in glossary[0]
    assert none == []  # without the glossary nothing says "cap": the answer is not covered
