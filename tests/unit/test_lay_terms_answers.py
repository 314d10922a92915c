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
