"""``bench.answers`` prints issue 20's targets and whether a run met them, from its
figures (never a hard-coded verdict)."""

from __future__ import annotations

from bench.answers import Asked, targets
from bench.questions import Question


def asked(answered: bool, cited: bool, covered: bool = True, silent: bool = False) -> Asked:
    question = Question("Q?", "eoc.pdf", None if silent else "phrase", half="held-out")
    return Asked(question=question, in_context=True, in_answer=answered, cited_page=cited,
                 cited_passage=cited, covered=covered, flagged=False, seconds=0.1,
                 tokens_in=0, tokens_out=0)


def test_targets_met_when_the_figures_reach_them() -> None:
    answerable = [asked(True, True)] * 17 + [asked(False, True)] * 3  # 85 %, 100 %
    silent = [asked(False, False, covered=False, silent=True)]

    lines = targets(answerable, silent)

    assert lines[0] == "target: phrase in the answer 85 %  (target >= 85 %: met)"
    assert lines[1] == "target: a cited passage holding it 100 %  (target >= 85 %: met)"
    assert lines[2].endswith("0 answerable said so, 1/1 silent said so  (met)")


def test_targets_not_met_below_them_or_with_a_wrong_not_covered() -> None:
    answerable = [asked(True, True)] * 16 + [asked(False, False, covered=False)] * 4
    silent = [asked(False, False, covered=True, silent=True)]

    lines = targets(answerable, silent)

    assert lines[0] == "target: phrase in the answer 80 %  (target >= 85 %: not met)"
    assert lines[1] == "target: a cited passage holding it 80 %  (target >= 85 %: not met)"
    assert lines[2].endswith("4 answerable said so, 0/1 silent said so  (not met)")
