"""The benchmarks' question sets: two halves fixed in the files, the 46 kept apart, and
every expected phrase words of the document as the worker parses it."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from adapters.parsers.local import parse_bytes
from bench.questions import (
    ADDED,
    BLIND,
    FRESH,
    FRESH2,
    THE_46,
    TUNING2,
    Question,
    halves,
    load_questions,
    load_set,
)
from domain.model import MediaType
from tests.corpus import corpus_bytes

FILES = (THE_46, ADDED, BLIND, FRESH, TUNING2, FRESH2)


def test_the_46_stay_the_retrieval_set_and_every_set_is_split_in_halves() -> None:
    the_46 = load_set("46")
    added = load_set("added")

    assert len(the_46) == 46 and all(q.answerable for q in the_46)
    assert len(added) >= 30
    assert sum(q.voice == "member" for q in added) >= 10
    assert len(load_set("all")) == len(the_46) + len(added)
    assert all(q.half == "held-out" for q in load_set("blind"))
    for questions in (the_46, added):
        # Alternate answerable questions in each half; the silent ones added later to
        # measure an honest "not covered" are all tuning.
        split = halves([q for q in questions if q.answerable])
        assert abs(len(split["tuning"]) - len(split["held-out"])) <= 1
    assert load_set("all", "tuning") == halves(load_set("all"))["tuning"]


def test_no_question_is_asked_twice_across_the_sets() -> None:
    asked = [q.question for path in FILES for q in load_questions(path)]

    assert len(asked) == len(set(asked))


def test_a_malformed_question_file_says_which_question_and_why(tmp_path: Path) -> None:
    path = tmp_path / "questions.json"
    path.write_text(json.dumps([{"question": "q", "document": "d.pdf", "phrase": "p",
                                 "half": "middle"}]))

    with pytest.raises(SystemExit, match="question 1"):
        load_questions(path)
    with pytest.raises(SystemExit, match="unknown half"):
        load_set("46", "middle")
    with pytest.raises(SystemExit, match="unknown question set"):
        load_set("everything")


def test_the_fresh_set_is_held_out_apart_from_all_and_mostly_in_members_words() -> None:
    fresh = load_set("fresh")

    assert len(fresh) >= 40
    assert all(q.half == "held-out" for q in fresh)
    assert 2 * sum(q.voice == "member" for q in fresh) >= len(fresh)
    assert 3 <= sum(not q.answerable for q in fresh) <= 6
    assert {q.document for q in fresh} == {"scan_classic_hmo.pdf",
                                           "simulated_insurance_document.pdf"}
    assert not set(fresh) & set(load_set("all"))
    assert load_set("fresh", "tuning") == []


def test_the_second_fresh_set_is_held_out_apart_from_all_and_every_other_set() -> None:
    fresh2 = load_set("fresh2")

    assert len(fresh2) >= 60
    assert all(q.half == "held-out" for q in fresh2)
    assert load_set("fresh2", "tuning") == []
    assert 2 * sum(q.voice == "member" for q in fresh2) >= len(fresh2)
    assert 4 <= sum(not q.answerable for q in fresh2) <= 6
    assert {q.document for q in fresh2} == {"scan_classic_hmo.pdf",
                                            "simulated_insurance_document.pdf"}
    assert sum(q.document == "scan_classic_hmo.pdf" for q in fresh2) >= 0.9 * len(fresh2)
    # No question of another set is asked again, whatever its half or voice there.
    asked = {_normal(q.question) for path in FILES if path != FRESH2
             for q in load_questions(path)}
    assert [q.question for q in fresh2 if _normal(q.question) in asked] == []
    # Held out means new facts too: no expected phrase of another set is asked again.
    asked_before = {_normal(q.phrase) for path in FILES if path != FRESH2
                    for q in load_questions(path) if q.phrase is not None}
    assert [q.phrase for q in fresh2
            if q.phrase is not None and _normal(q.phrase) in asked_before] == []


def test_the_second_tuning_set_is_all_tuning_on_the_eoc_apart_from_all() -> None:
    tuning2 = load_set("tuning2")

    assert len(tuning2) == 50
    assert all(q.half == "tuning" for q in tuning2)
    assert load_set("tuning2", "held-out") == []
    assert sum(q.voice == "member" for q in tuning2) >= 20
    assert 6 <= sum(not q.answerable for q in tuning2) <= 8
    assert {q.document for q in tuning2} == {"scan_classic_hmo.pdf"}
    assert not set(tuning2) & set(load_set("all"))
    assert len(load_set("all")) == len(load_set("46")) + len(load_set("added"))


def _normal(text: str) -> str:
    """What ``bench.answers`` matches on: case and runs of white space ignored."""
    return " ".join(text.split()).lower()


@cache
def _pages(document: str) -> tuple[str, ...]:
    """The document's pages as the worker's local parser gives them, normalised."""
    media_type = MediaType.PDF if document.endswith(".pdf") else MediaType.TEXT
    return tuple(_normal(page.markdown)
                 for page in parse_bytes(media_type, corpus_bytes(document)))


def _not_found(questions: list[Question]) -> list[str]:
    return [q.question for q in questions if q.phrase is not None
            and not any(_normal(q.phrase) in page for page in _pages(q.document))]


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.stem)
def test_every_expected_phrase_is_on_one_page_of_its_document(path: Path) -> None:
    assert _not_found(load_questions(path)) == []


def test_a_phrase_the_document_does_not_hold_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "questions.json"
    path.write_text(json.dumps([
        {"question": "Found?", "document": "simulated_insurance_document.pdf",
         "phrase": "EMAIL   Support@Accessa.org"},
        {"question": "Invented?", "document": "simulated_insurance_document.pdf",
         "phrase": "a $5 copayment for each visit"},
    ]))

    assert _not_found(load_questions(path)) == ["Invented?"]
