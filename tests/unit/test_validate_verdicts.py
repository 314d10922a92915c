"""How ``navigator validate`` judges what it saw, without a deployment: a canary's
history, a damaged canary's end, the retry policy, and how results are printed."""

from __future__ import annotations

import json

from entrypoints.cli.validate.canaries import Canary, _damaged_check, _history_check
from entrypoints.cli.validate.consistency import retry_check
from entrypoints.cli.validate.results import PIPELINE, Check, render_json, render_text
from entrypoints.settings import load_settings


def canary_with(statuses: list[str], **job: object) -> Canary:
    history = [{"to_status": status} for status in statuses]
    return Canary("navigator-validate-x-canary.md", "doc", "job", 0.0,
                  job={"status": statuses[-1] if statuses else "uploaded",
                       "history": history, **job})


def test_a_history_with_all_ten_statuses_in_order_passes() -> None:
    check = _history_check(canary_with(list(PIPELINE)))
    assert check.passed
    assert check.detail.startswith("uploaded → parsing → parsed")


def test_a_retried_step_still_passes_and_says_how_many_extra_changes_it_made() -> None:
    statuses = ["uploaded", "parsing", "uploaded", "parsing", *PIPELINE[2:]]
    check = _history_check(canary_with(statuses))
    assert check.passed
    assert check.detail.endswith("(and 2 more from retries)")


def test_a_history_that_skips_a_status_fails_naming_it() -> None:
    statuses = [s for s in PIPELINE if s != "embedding_queued"]
    check = _history_check(canary_with(statuses))
    assert not check.passed
    assert check.detail.endswith("lacks embedding_queued in its place")


def test_a_history_out_of_order_fails() -> None:
    statuses = ["uploaded", "parsed", "parsing", *PIPELINE[3:]]
    assert not _history_check(canary_with(statuses)).passed


def test_a_damaged_canary_that_completed_fails_the_error_handling_item() -> None:
    check = _damaged_check(canary_with(list(PIPELINE)))
    assert not check.passed
    assert check.detail == "ended complete, not failed"


def test_a_damaged_canary_that_failed_without_a_reason_fails_the_item() -> None:
    check = _damaged_check(canary_with(["uploaded", "parsing", "failed"], last_error=None))
    assert not check.passed


def test_the_retry_policy_is_shown_with_the_configured_delays() -> None:
    settings = load_settings({"WORKER_MAX_RETRIES": "4", "WORKER_RETRY_BASE_DELAY": "2",
                              "WORKER_RETRY_MAX_DELAY": "10"})
    check = retry_check(settings)
    assert check.data["delays_seconds"] == [2.0, 4.0, 8.0, 10.0]
    assert "retried 4 time(s), after 2s, 4s, 8s, 10s" in check.detail


def test_no_retries_configured_is_said_plainly() -> None:
    check = retry_check(load_settings({"WORKER_MAX_RETRIES": "0"}))
    assert check.detail.startswith(
        "WORKER_MAX_RETRIES is 0: a passing error fails a job at once; as WORKER_MAX_RETRIES "
        "and WORKER_RETRY_* are set where this runs")


def test_text_output_groups_items_by_section_and_counts_the_failures() -> None:
    checks = [Check("connectivity", "database reachable", True, "db:5432/postgres"),
              Check("connectivity", "live worker", False, "none"),
              Check("cleanup", "nothing of the canaries left", True)]
    assert render_text(checks).splitlines() == [
        "connectivity", "✓ database reachable: db:5432/postgres", "✗ live worker: none",
        "", "cleanup", "✓ nothing of the canaries left", "", "2 of 3 checks passed"]


def test_json_output_carries_every_item_and_the_overall_verdict() -> None:
    checks = [Check("queue", "canary deleted", True, "gone", {"seconds": 1.5}),
              Check("security", "OpenAI key", False, "refused")]
    body = json.loads(render_json(checks, None, "https://api.example.org"))
    assert body["passed"] is False
    assert body["api"] == "https://api.example.org"
    assert body["checks"][0] == {"section": "queue", "item": "canary deleted", "passed": True,
                                 "detail": "gone", "data": {"seconds": 1.5}}
    assert "data" not in body["checks"][1]
