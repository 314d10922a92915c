"""How ``navigator upload`` and ``navigator search`` show what the API answered."""

from __future__ import annotations

import io

from entrypoints.cli.client import ProgressView, Tracked, render_line
from entrypoints.cli.search import best_lines, mark_matches, render_results

FILLER = " ".join(f"Section {n} explains how claims are filed and paid." for n in range(40))
ANSWER = ("If you reach the maximum out-of-pocket amount of $1,500, you will not have to pay "
          "any out-of-pocket costs for the rest of the year.")


def test_a_progress_line_shows_the_bar_the_percentage_and_the_status() -> None:
    item = Tracked("policy.pdf", job_id="j1", status="chunking", progress=0.5)
    assert render_line(item, 12) == "policy.pdf    [############------------]  50%  chunking"


def test_a_complete_file_shows_a_full_bar() -> None:
    item = Tracked("policy.pdf", job_id="j1", status="complete", progress=1.0)
    assert render_line(item, 10).endswith("[########################] 100%  complete")


def test_a_failed_file_shows_why() -> None:
    item = Tracked("scan.pdf", job_id="j1", status="failed",
                   error="failed at parse: this PDF is damaged")
    assert render_line(item, 8).endswith("failed: failed at parse: this PDF is damaged")


def test_a_file_waiting_to_be_retried_shows_the_attempt_and_the_last_error() -> None:
    item = Tracked("policy.pdf", job_id="j1", status="uploaded", attempts=1,
                   error="the parser timed out")
    assert "uploaded (attempt 2; last error: the parser timed out)" in render_line(item, 10)


def test_off_a_terminal_a_line_is_printed_only_when_a_file_changes_status() -> None:
    out = io.StringIO()
    view = ProgressView(out, tty=False)
    item = Tracked("policy.pdf", job_id="j1", status="parsing", progress=0.1)
    view.show([item])
    view.show([item])
    item.status, item.progress = "complete", 1.0
    view.show([item])
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("parsing") and lines[1].endswith("complete")


def test_on_a_terminal_the_lines_are_redrawn_in_place() -> None:
    out = io.StringIO()
    view = ProgressView(out, tty=True)
    files = [Tracked("a.pdf", job_id="1", status="parsing"), Tracked("b.pdf", job_id="2")]
    view.show(files)
    view.show(files)
    assert out.getvalue().count("\x1b[2F") == 1  # back up two lines before the redraw


def test_the_summary_counts_complete_and_failed_files() -> None:
    out = io.StringIO()
    view = ProgressView(out, tty=False)
    view.finish([Tracked("a", job_id="1", status="complete"),
                 Tracked("b", status="rejected", error="not a PDF"),
                 Tracked("c", job_id="3", status="failed", error="damaged")])
    assert out.getvalue() == "1 complete, 2 failed\n"


def test_a_long_passage_is_cut_to_the_stretch_that_answers_the_question() -> None:
    text = FILLER + " " + ANSWER + " " + FILLER
    shown = best_lines(text, "maximum out-of-pocket")
    assert "$1,500" in shown
    assert len(shown) < 520
    assert shown.startswith("… ") and shown.endswith(" …")


def test_a_short_passage_is_shown_whole() -> None:
    assert best_lines(ANSWER, "deductible").replace("\n", " ") == ANSWER


def test_results_name_the_file_the_page_and_the_similarity() -> None:
    result = {"chunks": [{"filename": "scan_classic_hmo.pdf", "page": 57, "similarity": 0.361,
                          "heading_path": ["Chapter 4", "Section 1.2"], "text": ANSWER}],
              "tokens_used": 412, "token_budget": 4000, "similarity_threshold": 0.3}
    shown = render_results(result, "maximum out-of-pocket")
    assert '1 passage(s) for "maximum out-of-pocket" (412 of 4,000 tokens)' in shown
    assert "1. scan_classic_hmo.pdf, page 57  (similarity 0.361)" in shown
    assert "Chapter 4 > Section 1.2" in shown
    assert "$1,500" in shown


def test_no_results_suggest_what_to_do() -> None:
    shown = render_results({"chunks": [], "similarity_threshold": 0.3}, "dental")
    assert "no passage matches" in shown and "--threshold" in shown


def test_results_show_the_matched_words_and_how_each_passage_was_found() -> None:
    text = (FILLER + " How to contact our plan's Member Services. CALL 1-800-559-3500. "
            + FILLER)
    result = {"chunks": [{"filename": "scan_classic_hmo.pdf", "page": 19, "similarity": 0.31,
                          "heading_path": ["CHAPTER 2: Important phone numbers and resources",
                                           "SECTION 1 SCAN Classic contacts"],
                          "text": text,
                          "highlight": "How to contact our plan's **Member** **Services**. "
                                       "CALL 1-800-559-3500",
                          "matched_by": ["keyword", "vector"]}],
              "tokens_used": 412, "token_budget": 4000, "similarity_threshold": 0.3}

    shown = render_results(result, "phone number for Member Services")

    assert ("1. scan_classic_hmo.pdf, page 19  (similarity 0.310) found by its words and "
            "its meaning") in shown
    assert ("CHAPTER 2: Important phone numbers and resources > SECTION 1 SCAN Classic "
            "contacts") in shown
    assert "**Member** **Services**. CALL 1-800-559-3500" in " ".join(shown.split())
    assert len(shown) < len(text)


def test_words_are_marked_whole_and_only_those_the_search_matched() -> None:
    marked = mark_matches("Appeals and appealing; an appeal.", "an **appeal** and **Appeals**")
    assert marked == "**Appeals** and appealing; an **appeal**."
    assert mark_matches("nothing matched", "") == "nothing matched"
