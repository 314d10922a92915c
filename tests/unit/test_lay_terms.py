"""The lay-terms glossary: how members say insurance things, and how documents do."""

from __future__ import annotations

import pytest

from adapters.text_search import EnglishWords
from domain.lay_terms import LayTerms

GLOSSARY = LayTerms.of(EnglishWords())


def booklet(question: str) -> tuple[str, ...]:
    return GLOSSARY.booklet_terms(question)


def test_a_cap_on_what_i_spend_is_the_maximum_out_of_pocket_amount() -> None:
    assert "maximum out-of-pocket amount" in booklet(
        "Is there a cap on what I spend on medical care in a year?")
    assert "maximum out-of-pocket amount" in booklet("What's the most I'd have to pay?")


@pytest.mark.parametrize(("question", "term"), [
    ("How much is an ER visit?", "emergency room"),
    ("What does an ambulance ride cost?", "ambulance services"),
    ("Does the plan pay for my glasses?", "eyewear"),
    ("Can I get a flu shot for free?", "immunization"),
    ("Are my meds covered?", "prescription drugs"),
    ("My husband broke his arm on vacation in Mexico", "outside the United States"),
    ("Can they kick me off the plan?", "disenroll"),
    ("Can they kick me off the plan?", "end your membership"),
    ("I want to complain about my doctor's office", "grievance"),
    ("Does it cover the dentist?", "dental services"),
    ("Mom is going to a nursing home for rehab", "skilled nursing facility"),
    ("How long does a normal decision take?", "standard coverage decision"),
    ("What is the deadline for a regular appeal?", "standard appeal"),
])
def test_a_members_words_find_the_booklets(question: str, term: str) -> None:
    assert term in booklet(question)


def test_a_phrase_matches_on_stemmed_words_in_any_order() -> None:
    """"spending" meets "spend", "glasses" meets "glass"; "spending cap" is "cap ... spend"."""
    assert "maximum out-of-pocket amount" in booklet("Is there a spending cap?")
    assert "eyewear" in booklet("How much for new glass frames?")
    assert "dental services" in booklet("Is a cleaning of my teeth covered?")


def test_a_phrases_words_far_apart_do_not_match() -> None:
    assert "maximum out-of-pocket amount" not in booklet(
        "Is there a cap on the number of visits to the physical therapist I can make "
        "before I must spend money?")


def test_a_phrase_does_not_match_across_two_sentences() -> None:
    glossary = LayTerms.of(EnglishWords(), "coin spend => numismatics")

    assert glossary.booklet_terms("Where can I spend a coin?") == ("numismatics",)
    assert glossary.booklet_terms("I found a coin. Where can I spend it?") == ()
    # a full stop inside a sentence ("U.S.") does not end it
    assert glossary.booklet_terms("Can I spend a U.S. coin?") == ("numismatics",)
    assert glossary.bridges("I found a coin. Where can I spend it?") == ()


def test_words_the_glossary_does_not_know_find_nothing() -> None:
    assert booklet("Are xylophone lessons reimbursed?") == ()
    assert booklet("Who is the Quality Improvement Organization in California?") == ()
    assert GLOSSARY.expansion("What is a benefit period?") == ""


def test_one_word_of_a_two_word_phrase_is_not_enough() -> None:
    """"most pay" needs both words: "pay" alone says nothing about a maximum."""
    assert "maximum out-of-pocket amount" not in booklet("How do I pay my premium?")


def test_each_booklet_term_is_given_once() -> None:
    terms = booklet("The ER sent me to the emergency department; what's the ER copay?")
    assert terms.count("emergency room") == 1


def test_the_expansion_is_the_booklet_terms_as_one_text() -> None:
    assert GLOSSARY.expansion("What does an ambulance ride cost?").startswith(
        "ambulance services; ambulance transportation")


def test_a_glossary_line_without_an_arrow_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="line 2"):
        LayTerms.of(EnglishWords(), "\nglasses eyewear\n")


def test_the_glossary_is_general_vocabulary_of_a_few_hundred_phrases() -> None:
    phrases = sum(len(entry.member) for entry in GLOSSARY.entries)
    assert phrases >= 300
    assert all(entry.member and entry.booklet for entry in GLOSSARY.entries)
