"""``bench.answers --answerer anthropic`` runs the same questions through Claude's path.

With no key here, the real ``anthropic`` SDK talks to the fake Messages API on
127.0.0.1: the run proves that the grounded prompt (system rules, labelled passages,
the question) reaches the model, that its citations come back as the answer's, that
a refusal ("NOT COVERED") is counted as one, and that an invented citation is
flagged, with the same figures the offline answerer gets.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import answers as bench_answers
from domain.grounding import SYSTEM_PROMPT
from tests.corpus import CORPUS_DIR
from tests.fakes.anthropic_server import FakeAnthropic, Reply

pytestmark = pytest.mark.postgres

POLICY = "simulated_insurance_document.pdf"
QUESTIONS = [
    # asked in this order: the fake's script answers the first two
    {"question": "Does the plan pay for my dog's visits to the vet?", "document": POLICY,
     "phrase": None, "half": "held-out", "voice": "member"},
    {"question": "What is the email address for questions about my plan?", "document": POLICY,
     "phrase": "support@accessa.org", "half": "tuning"},
    {"question": "How do I reach Accessa Support?", "document": POLICY,
     "phrase": "1-800-555-1234", "half": "tuning"},
]


def test_the_claude_path_answers_the_same_questions_with_the_same_figures(
    postgres_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    questions = tmp_path / "questions.json"
    questions.write_text(json.dumps(QUESTIONS))
    with FakeAnthropic() as server:
        server.script(Reply("NOT COVERED"), Reply("Write to support@accessa.org [1] [9]"))
        monkeypatch.setenv("ANTHROPIC_API_KEY", server.api_key)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
        monkeypatch.setenv("ANTHROPIC_MODEL", "claude-fake")

        bench_answers.main(["--answerer", "anthropic", "--questions", str(questions),
                            "--corpus", str(CORPUS_DIR), "--dsn", postgres_dsn])

    report = capsys.readouterr().out
    # the prompt, as the model saw it
    assert len(server.requests) == 3
    for seen, asked in zip(server.requests, QUESTIONS, strict=True):
        assert seen.system == SYSTEM_PROMPT
        assert seen.model == "claude-fake"
        assert f"<question>\n{asked['question']}\n</question>" in seen.user
        assert '<passage id="1" file="simulated_insurance_document.pdf"' in seen.user
    # the same figures, for each half, for the generated answers
    assert "== generated (claude-fake), tuning: 2 questions, 2 the document answers" in report
    assert "== generated (claude-fake), held-out: 1 questions, 0 the document answers, " \
        "1 it does not" in report
    assert "'not covered' where it is not    1/1 (100 %)" in report  # the refusal counts
    assert "phrase in the answer             2/2 (100 %)" in report
    assert "a cited passage holding it       2/2 (100 %)" in report
    # the invented citation [9] was taken out and the answer flagged
    assert "flagged (citation removed/withheld) 1/2 (50 %)" in report
    assert "tokens per answer, median" in report


def test_the_claude_path_needs_a_key_and_says_so() -> None:
    with pytest.raises(SystemExit, match="--answerer anthropic needs ANTHROPIC_API_KEY"):
        bench_answers.answerers_for("anthropic", {})
    (offline,) = bench_answers.answerers_for("extractive", {})
    assert offline.model == "extractive"
    both = bench_answers.answerers_for("both", {"ANTHROPIC_API_KEY": "sk-ant-test"})
    assert [a.kind.value for a in both] == ["extracted", "generated"]
