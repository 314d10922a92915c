"""A question's words and the marked passage both repositories return."""

from __future__ import annotations

from adapters.text_search import headline, terms


def test_a_texts_words_are_stemmed_and_common_words_left_out() -> None:
    assert terms("What is the number of Member Services?") == terms("numbers members services")
    assert len(terms("What is the number of Member Services?")) == 3
    assert terms("appeals") == terms("appeal")
    assert terms("the of and") == frozenset()


def test_the_questions_words_are_marked_in_the_passage() -> None:
    text = "Member Services: call 1-800-559-3500, TTY 711."

    marked = headline(text, terms("phone number of member services"))

    assert marked == "**Member** **Services**: call 1-800-559-3500, TTY 711"


def test_a_common_word_of_the_question_is_never_marked() -> None:
    assert headline("The plan pays.", terms("the plan")) == "The **plan** pays"


def test_the_passage_shows_the_stretch_holding_most_of_the_questions_words() -> None:
    text = " ".join(["filler"] * 100 + ["deductible", "for", "dental", "cleanings"]
                    + ["filler"] * 100)

    marked = headline(text, terms("dental cleanings deductible"), max_words=10)

    assert "**deductible** for **dental** **cleanings**" in marked
    assert len(marked.split()) == 10


def test_without_a_match_the_passage_shows_its_first_words() -> None:
    text = " ".join(f"word{n}" for n in range(60))

    assert headline(text, terms("xylophone"), max_words=5) == "word0 word1 word2 word3 word4"
    assert headline("", terms("xylophone")) == ""
