"""How a job's history tells a failure or a retry of a step, and what the figures say
of the jobs waiting for a worker (domain/watching.py, ``QueueFigures``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import attrs
import pytest

from domain.model import Job, Lease, QueueFigures
from domain.retry import RetryPolicy
from domain.status import JobStatus, StepName
from domain.watching import setback

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=1)


def _claimed(status: JobStatus = JobStatus.UPLOADED) -> tuple[Job, Lease]:
    job = attrs.evolve(Job.new(UUID(int=1), UUID(int=2), "maria", NOW), status=status)
    claimed = job.claim("worker-1", NOW, LEASE).job
    return claimed, Lease(claimed, "worker-1", claimed.fencing_token)


def test_a_retry_later_is_a_retry_of_the_step_that_runs_again() -> None:
    job, lease = _claimed()
    moved = job.retry_later(lease, NOW, "the parser timed out", NOW + timedelta(seconds=1))
    assert [setback(e) for e in moved.events] == [("retry", StepName.PARSE)]


def test_a_retry_of_a_step_without_a_working_status_counts_against_that_step() -> None:
    job, lease = _claimed(JobStatus.PARSED)
    moved = job.retry_later(lease, NOW, "the database blinked", NOW)
    assert [setback(e) for e in moved.events] == [("retry", StepName.VALIDATE)]


def test_a_failure_counts_against_the_step_that_failed() -> None:
    job, lease = _claimed(JobStatus.EMBEDDING_QUEUED)
    moved = job.fail(lease, NOW, "the text was refused")
    assert [setback(e) for e in moved.events] == [("failure", StepName.EMBED)]


def test_a_rescue_is_a_retry_and_past_the_limit_a_failure() -> None:
    job, _ = _claimed()
    later = NOW + LEASE
    retried = job.rescue(later, RetryPolicy(max_retries=3), 0.0)
    failed = attrs.evolve(job, attempts=3).rescue(later, RetryPolicy(max_retries=3), 0.0)
    assert [setback(e) for e in retried.events] == [("retry", StepName.PARSE)]
    assert [setback(e) for e in failed.events] == [("failure", StepName.PARSE)]


def test_starts_results_releases_and_retries_by_hand_are_no_setbacks() -> None:
    job, lease = _claimed()
    started = Job.new(UUID(int=1), UUID(int=2), "maria", NOW).claim("worker-1", NOW, LEASE)
    finished = job.finish_step(lease, NOW, LEASE, continue_=False)
    released = job.release(lease, NOW)
    failed = job.fail(lease, NOW, "damaged").job
    requeued = failed.requeue(NOW, "operator")
    events = [*started.events, *finished.events, *released.events, *requeued.events]
    assert events and [setback(e) for e in events] == [None] * len(events)


def test_only_a_claimable_status_has_jobs_waiting_for_a_worker() -> None:
    with pytest.raises(ValueError, match="claimable"):
        QueueFigures(at=NOW, counts={}, ready_since={JobStatus.PARSING: NOW})


def test_the_wait_is_counted_from_when_the_job_became_ready() -> None:
    figures = QueueFigures(at=NOW, counts={JobStatus.UPLOADED: 2, JobStatus.PARSED: 1},
                           ready_since={JobStatus.UPLOADED: NOW - timedelta(minutes=3),
                                        JobStatus.PARSED: NOW - timedelta(seconds=5)})

    assert figures.oldest_waiting(JobStatus.UPLOADED) == timedelta(minutes=3)
    assert figures.oldest_waiting(JobStatus.CHUNKS_STORED) == timedelta(0)
    assert figures.longest_wait == timedelta(minutes=3)
    assert figures.counts[JobStatus.COMPLETE] == 0
    assert figures.failures == dict.fromkeys(StepName, 0)
