"""The benchmarks' question sets: two halves fixed in the files, the 46 kept apart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.questions import ADDED, BLIND, THE_46, halves, load_questions, load_set


def test_the_46_stay_the_retrieval_set_and_every_set_is_split_in_halves() -> None:
    the_46 = load_set("46")
    added = load_set("added")

    assert len(the_46) == 46 and all(q.answerable for q in the_46)
    assert len(added) >= 30
    assert sum(q.voice == "member" for q in added) >= 10
    assert len(load_set("all")) == len(the_46) + len(added)
    assert all(q.half == "held-out" for q in load_set("blind"))
    for questions in (the_46, added):
        split = halves(questions)
        assert abs(len(split["tuning"]) - len(split["held-out"])) <= 1
    assert load_set("all", "tuning") == halves(load_set("all"))["tuning"]


def test_no_question_is_asked_twice_across_the_sets() -> None:
    asked = [q.question for path in (THE_46, ADDED, BLIND) for q in load_questions(path)]

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
