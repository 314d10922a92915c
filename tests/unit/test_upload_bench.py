"""bench.upload's verdict on the issue's targets comes from the figures of the runs,
and its pause report counts only what happened while the uploads ran."""

from __future__ import annotations

from bench.upload import RunResult, pause_report, target_lines


def run(per_second: float, p99_ms: float, window: tuple[float, float] = (0.0, 0.0)
        ) -> RunResult:
    # 100 uploads whose latencies put the p99 (index 98 of 100, sorted) at ``p99_ms``
    latencies = [0.010] * 98 + [p99_ms / 1000] * 2
    return RunResult(100, 100 / per_second, latencies, {}, {}, 0.0, window)


def test_runs_that_meet_both_targets_say_met() -> None:
    lines = target_lines([run(250, 90), run(210, 95), run(190, 120)], concurrency=16)

    assert "target >= 200/s: met" in lines[0]
    assert "target < 100 ms: met" in lines[3]
    assert lines[-1].strip() == "targets: met"


def test_a_median_p99_over_the_target_is_not_met_whatever_the_rate() -> None:
    lines = target_lines([run(300, 101), run(300, 150), run(300, 90)], concurrency=16)

    assert "target >= 200/s: met" in lines[0]
    assert "target < 100 ms: not met" in lines[3]
    assert lines[-1].strip() == "targets: not met"


def test_another_concurrency_is_said_next_to_the_verdict() -> None:
    lines = target_lines([run(250, 50)], concurrency=4)

    assert lines[-1].strip() == ("targets: met (but the targets are for concurrency 16, "
                                 "this was 4)")


def test_the_pause_report_counts_only_the_runs_windows() -> None:
    events = [(5.0, "gc2", 0.200), (15.0, "gc2", 0.003),
              (16.0, "task RequestResponseCycle.run_asgi", 0.012), (30.0, "gc0", 0.001)]

    report = pause_report(events, [run(200, 50, window=(10.0, 20.0))])

    assert "gc2" in report and "200.00" not in report
    assert "gc0" not in report
    assert "callbacks holding the loop >= 10 ms: 1" in report
    assert "callbacks holding the loop >= 20 ms: 0" in report
