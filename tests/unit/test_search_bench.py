"""bench.search's ``--writers``: how many documents its ingestion writes at once (the
worker's default concurrency unless told), refused below one with a clear message, and
said next to the ingestion target's verdict, which comes from the run's figures.

bench.search itself needs numpy (the ``bench`` extra, which tests do without): its
parser takes ``--writers`` from bench/_ingestion.py, whose parser is tested here."""

from __future__ import annotations

import argparse

import pytest

from bench._ingestion import Ingestion, add_writers_argument, target_line
from entrypoints.settings.worker import WorkerSettings


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.search")
    add_writers_argument(parser)
    return parser.parse_args(argv)


def test_the_writers_default_to_the_workers_default_concurrency() -> None:
    assert parse_args([]).writers == WorkerSettings().worker_concurrency


def test_a_number_of_writers_is_taken_as_given() -> None:
    assert parse_args(["--writers", "2"]).writers == 2
    assert parse_args(["--writers", "1"]).writers == 1


@pytest.mark.parametrize("given", ["0", "-3"])
def test_no_writers_or_fewer_is_refused_with_a_clear_message(
    given: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        parse_args(["--writers", given])

    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert "--writers: must be at least 1" in error
    assert f"(got {given})" in error


def test_writers_that_are_not_a_number_are_refused_with_a_clear_message(
    capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--writers", "four"])

    assert "--writers: must be a whole number of writers, at least 1 (got 'four')" in (
        capsys.readouterr().err)


def _ingestion(steps_seconds: float, writers: int) -> Ingestion:
    # 2,850 vectors; the chunk step three quarters of the steps' time; COPYs of 0.5 s
    return Ingestion(100_000, 2_850, steps_seconds / 4, steps_seconds * 3 / 4, 0.1, 0.15,
                     0.4, writers=writers)


def test_the_ingestion_target_is_met_from_the_figures_and_names_the_writers() -> None:
    line = target_line(_ingestion(0.5, writers=4))  # 5,700 vectors/s, 2x a COPY

    assert "4 writers at once" in line
    assert "chunk+embed 5,700 vectors/s (target >= 4,000: met)" in line
    assert "2.00x a COPY without the tsvector (target <= 3x: met)" in line
    assert "4 COPYs at once" in line


def test_the_ingestion_target_is_not_met_below_it_with_one_writer() -> None:
    line = target_line(_ingestion(1.5, writers=1))  # 1,900 vectors/s, 6x a COPY

    assert "1 writer at once" in line
    assert "chunk+embed 1,900 vectors/s (target >= 4,000: not met)" in line
    assert "6.00x a COPY without the tsvector (target <= 3x: not met)" in line
    assert "3.00x a COPY computing it (met)" in line
