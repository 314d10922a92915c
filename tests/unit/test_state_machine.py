"""The job state machine: the step table, the legal transitions, and the job's moves."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from uuid import UUID

import attrs
import pytest

from domain.errors import Conflict, IllegalTransition, LeaseLost
from domain.model import Job, Lease, ParsedDocument, ParsedPage, StepOutput
from domain.retry import RetryPolicy
from domain.status import (
    CLAIMABLE,
    LEGAL_TRANSITIONS,
    PIPELINE_ORDER,
    STEPS,
    WORKING,
    JobStatus,
    StepName,
    check_transition,
    next_step,
    progress,
    step_claimable_at,
    step_held_at,
)

S = JobStatus
NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)

STATUS_NAMES = [
    "uploaded", "parsing", "parsed", "parse_validated", "chunking", "chunks_stored",
    "embedding_queued", "embedding_in_progress", "embeddings_stored", "complete", "failed",
]

STEP_TABLE = [
    ("parse", "uploaded", "parsing", "parsed"),
    ("validate", "parsed", None, "parse_validated"),
    ("chunk", "parse_validated", "chunking", "chunks_stored"),
    ("queue", "chunks_stored", None, "embedding_queued"),
    ("embed", "embedding_queued", "embedding_in_progress", "embeddings_stored"),
    ("finalize", "embeddings_stored", None, "complete"),
]

EXPECTED_LEGAL = {
    # the happy path
    ("uploaded", "parsing"), ("parsing", "parsed"), ("parsed", "parse_validated"),
    ("parse_validated", "chunking"), ("chunking", "chunks_stored"),
    ("chunks_stored", "embedding_queued"), ("embedding_queued", "embedding_in_progress"),
    ("embedding_in_progress", "embeddings_stored"), ("embeddings_stored", "complete"),
    # back to the start of a step: retry later, rescue, release
    ("parsing", "uploaded"), ("chunking", "parse_validated"),
    ("embedding_in_progress", "embedding_queued"),
    # dead letter from any claimable or working status
    ("uploaded", "failed"), ("parsing", "failed"), ("parsed", "failed"),
    ("parse_validated", "failed"), ("chunking", "failed"), ("chunks_stored", "failed"),
    ("embedding_queued", "failed"), ("embedding_in_progress", "failed"),
    ("embeddings_stored", "failed"),
    # a manual retry resumes at the start of the failed step
    ("failed", "uploaded"), ("failed", "parsed"), ("failed", "parse_validated"),
    ("failed", "chunks_stored"), ("failed", "embedding_queued"),
    ("failed", "embeddings_stored"),
    # reprocessing a complete document chunks and embeds it again
    ("complete", "parse_validated"),
}


def new_job() -> Job:
    return Job.new(UUID(int=1), UUID(int=2), "member-a", NOW)


def at_status(job: Job, status: JobStatus) -> Job:
    return attrs.evolve(job, status=status)


def claim(job: Job, worker: str = "worker-1", at: datetime = NOW) -> tuple[Job, Lease]:
    claimed = job.claim(worker, at, LEASE).job
    return claimed, Lease(claimed, worker, claimed.fencing_token)


def test_the_status_names_are_the_operators_contract_in_pipeline_order() -> None:
    assert [str(s) for s in PIPELINE_ORDER] == STATUS_NAMES


def test_the_step_table_says_where_each_step_is_claimed_worked_on_and_left() -> None:
    table = [
        (str(s.name), str(s.claim_from), s.working and str(s.working), str(s.result))
        for s in STEPS
    ]
    assert table == STEP_TABLE


def test_each_step_leads_to_the_next_and_the_last_leads_nowhere() -> None:
    for step, following in itertools.pairwise(STEPS):
        assert next_step(step) == following
    assert next_step(STEPS[-1]) is None


def test_steps_are_found_by_the_status_they_are_claimed_from_or_held_at() -> None:
    for step in STEPS:
        assert step_claimable_at(step.claim_from) == step
        assert step_held_at(step.held_status) == step
    assert {step.claim_from for step in STEPS} == CLAIMABLE
    assert {S.PARSING, S.CHUNKING, S.EMBEDDING_IN_PROGRESS} == WORKING


@pytest.mark.parametrize("status", [S.COMPLETE, S.FAILED, S.PARSING])
def test_no_step_can_be_claimed_from_a_terminal_or_working_status(status: JobStatus) -> None:
    with pytest.raises(IllegalTransition):
        step_claimable_at(status)


def test_the_legal_transitions_are_exactly_the_ones_the_design_lists() -> None:
    assert {(str(a), str(b)) for a, b in LEGAL_TRANSITIONS} == EXPECTED_LEGAL


@pytest.mark.parametrize(("from_status", "to_status"), sorted(EXPECTED_LEGAL))
def test_every_legal_transition_is_allowed(from_status: str, to_status: str) -> None:
    check_transition(S(from_status), S(to_status))


@pytest.mark.parametrize(
    ("from_status", "to_status"),
    [
        (a, b)
        for a, b in itertools.permutations(STATUS_NAMES, 2)
        if (a, b) not in EXPECTED_LEGAL
    ],
)
def test_every_other_transition_raises(from_status: str, to_status: str) -> None:
    with pytest.raises(IllegalTransition):
        check_transition(S(from_status), S(to_status))


def test_staying_in_the_same_status_is_not_a_transition() -> None:
    for status in JobStatus:
        check_transition(status, status)


def test_complete_and_failed_are_terminal_and_progress_runs_from_zero_to_one() -> None:
    assert {s for s in JobStatus if s.is_terminal} == {S.COMPLETE, S.FAILED}
    assert progress(S.UPLOADED) == 0.0
    assert progress(S.COMPLETE) == 1.0
    assert progress(S.FAILED) == 0.0
    values = [progress(s) for s in PIPELINE_ORDER[:-1]]
    assert values == sorted(values)


def test_a_job_walks_the_whole_pipeline_recording_every_status_it_enters() -> None:
    job = new_job()
    events = [job.first_event()]
    claimed = job.claim("worker-1", NOW, LEASE)
    events += claimed.events
    job, lease = claimed.job, Lease(claimed.job, "worker-1", claimed.job.fencing_token)
    while True:
        moved = job.finish_step(lease, NOW, LEASE)
        job, events = moved.job, events + list(moved.events)
        if job.status is S.COMPLETE:
            break
        lease = Lease(job, "worker-1", job.fencing_token)
    assert [e.to_status for e in events] == list(PIPELINE_ORDER[:-1])
    assert all(e.worker == "worker-1" for e in events[1:])
    assert not job.is_held


def test_claiming_a_step_without_a_working_status_records_no_event() -> None:
    job = at_status(new_job(), S.PARSED)
    claimed = job.claim("worker-1", NOW, LEASE)
    assert claimed.events == ()
    claimed = claimed.job
    assert claimed.status is S.PARSED
    assert claimed.lease_owner == "worker-1"


def test_every_claim_hands_out_a_larger_fencing_token() -> None:
    job, first = claim(new_job())
    job = job.retry_later(first, NOW, "busy", NOW).job
    job, second = claim(job)
    assert second.token > first.token


def test_a_job_that_is_waiting_for_its_next_attempt_cannot_be_claimed_early() -> None:
    job, lease = claim(new_job())
    job = job.retry_later(lease, NOW, "busy", NOW + timedelta(seconds=5)).job
    assert not job.is_claimable(NOW + timedelta(seconds=4))
    assert job.is_claimable(NOW + timedelta(seconds=5))
    with pytest.raises(IllegalTransition):
        job.claim("worker-2", NOW, LEASE)


def test_a_held_job_cannot_be_claimed_by_another_worker() -> None:
    job, _ = claim(at_status(new_job(), S.PARSED))
    with pytest.raises(IllegalTransition):
        job.claim("worker-2", NOW, LEASE)


def test_a_write_with_an_old_token_is_refused() -> None:
    job, stale = claim(new_job())
    job = job.rescue(NOW + LEASE, RetryPolicy(jitter=0), 0.0).job
    job, _ = claim(job, "worker-2", NOW + LEASE + timedelta(seconds=1))
    with pytest.raises(LeaseLost):
        job.finish_step(stale, NOW + LEASE + timedelta(seconds=2), LEASE)


def test_a_write_after_the_lease_expired_is_refused_even_before_a_rescue() -> None:
    job, lease = claim(new_job())
    with pytest.raises(LeaseLost):
        job.finish_step(lease, NOW + LEASE, LEASE)


def test_a_heartbeat_extends_the_lease() -> None:
    job, lease = claim(new_job())
    later = NOW + timedelta(seconds=50)
    job = job.renew(lease, later, LEASE).job
    assert job.lease_expires_at == later + LEASE
    job.check_lease(lease, NOW + timedelta(seconds=100))


def test_a_transient_failure_sends_the_job_back_to_the_start_of_its_step() -> None:
    job, lease = claim(new_job())
    moved = job.retry_later(lease, NOW, "the parser is unavailable", NOW + timedelta(seconds=1))
    job, [event] = moved.job, moved.events
    assert (job.status, job.attempts) == (S.UPLOADED, 1)
    assert job.last_error == "the parser is unavailable"
    assert (event.from_status, event.to_status, event.attempt) == (S.PARSING, S.UPLOADED, 1)
    assert not job.is_held


def test_failing_keeps_the_stage_and_the_reason() -> None:
    job, lease = claim(new_job())
    moved = job.fail(lease, NOW, "the file is damaged")
    job, [event] = moved.job, moved.events
    assert (job.status, job.failed_stage, job.last_error) == (
        S.FAILED, "parse", "the file is damaged")
    assert event.detail == "the file is damaged"


def test_rescue_counts_an_attempt_and_gives_up_past_the_maximum() -> None:
    policy = RetryPolicy(max_retries=1, base_delay=1.0, jitter=0)
    job, _ = claim(new_job())
    at = NOW + LEASE
    moved = job.rescue(at, policy, 0.0)
    job, [event] = moved.job, moved.events
    assert (job.status, job.attempts, job.available_at) == (
        S.UPLOADED, 1, at + timedelta(seconds=1))
    assert event.worker == "rescue"
    job, _ = claim(job, at=job.available_at)
    job = job.rescue(job.available_at + LEASE, policy, 0.0).job
    assert job.status is S.FAILED
    assert job.failed_stage == "parse"


def test_a_job_whose_lease_is_still_running_cannot_be_rescued() -> None:
    job, _ = claim(new_job())
    with pytest.raises(IllegalTransition):
        job.rescue(NOW + timedelta(seconds=59), RetryPolicy(), 0.0)


def test_release_gives_the_job_back_without_counting_an_attempt() -> None:
    job, lease = claim(new_job())
    moved = job.release(lease, NOW)
    job, [event] = moved.job, moved.events
    assert (job.status, job.attempts, job.is_held) == (S.UPLOADED, 0, False)
    assert event is not None and event.detail == "released at shutdown"


def test_a_manual_retry_resumes_at_the_failed_step_with_attempts_reset() -> None:
    job = at_status(new_job(), S.EMBEDDING_QUEUED)
    job, lease = claim(job)
    job = job.fail(lease, NOW, "the embedding service refused the text").job
    moved = job.requeue(NOW, "member")
    job, [event] = moved.job, moved.events
    assert (job.status, job.attempts, job.last_error, job.failed_stage) == (
        S.EMBEDDING_QUEUED, 0, None, None)
    assert event.detail == "retried by member"
    assert job.is_claimable(NOW)


def test_a_manual_retry_parses_afresh_instead_of_waiting_on_the_hosted_job_that_failed(
) -> None:
    job, lease = claim(new_job())
    job = attrs.evolve(job, parser_job_id="llamaparse-job-that-failed")
    job = job.fail(lease, NOW, "LlamaParse could not read the file").job
    job = job.requeue(NOW, "member").job
    assert (job.status, job.parser_job_id) == (S.UPLOADED, None)


def test_only_a_failed_job_can_be_retried_by_hand() -> None:
    with pytest.raises(Conflict):
        new_job().requeue(NOW, "member")


def test_a_finished_step_without_continuing_hands_the_job_back() -> None:
    job, lease = claim(new_job())
    moved = job.finish_step(lease, NOW, LEASE, continue_=False)
    job, events = moved.job, moved.events
    assert [e.to_status for e in events] == [S.PARSED]
    assert not job.is_held
    assert job.is_claimable(NOW)
    assert StepName(step_claimable_at(job.status).name) is StepName.VALIDATE


@pytest.mark.parametrize("artefacts", [
    {"chunks": (), "vectors": ()},
    {"parsed": ParsedDocument(pages=[ParsedPage(1, "# Policy")]), "chunks": ()},
    {"parsed": ParsedDocument(pages=[ParsedPage(1, "# Policy")]), "vectors": ()},
])
def test_a_step_output_carries_one_kind_of_artefact_never_several(
    artefacts: dict[str, object],
) -> None:
    with pytest.raises(ValueError, match="one kind, not several"):
        StepOutput(**artefacts)  # type: ignore[arg-type]


def test_the_failed_stage_is_the_step_itself_and_a_retry_resumes_at_its_start() -> None:
    job, lease = claim(at_status(new_job(), S.PARSE_VALIDATED))
    job = job.fail(lease, NOW, "the chunker gave up").job
    assert job.failed_stage is StepName.CHUNK
    assert job.requeue(NOW, "operator").job.status is S.PARSE_VALIDATED


def test_a_failed_job_that_does_not_say_which_step_failed_is_not_sent_back_to_the_start(
) -> None:
    job = attrs.evolve(new_job(), status=S.FAILED, failed_stage=None)
    with pytest.raises(IllegalTransition):
        job.requeue(NOW, "operator")


def test_finishing_a_step_and_starting_the_next_is_one_move_with_both_events() -> None:
    job, lease = claim(at_status(new_job(), S.PARSE_VALIDATED))
    moved = job.finish_step(lease, NOW, LEASE)
    job = moved.job
    assert [(e.from_status, e.to_status) for e in moved.events] == [
        (S.CHUNKING, S.CHUNKS_STORED)]
    assert moved.job.lease_owner == "worker-1"
    moved = job.finish_step(Lease(job, "worker-1", job.fencing_token), NOW, LEASE)
    assert [(e.from_status, e.to_status) for e in moved.events] == [
        (S.CHUNKS_STORED, S.EMBEDDING_QUEUED), (S.EMBEDDING_QUEUED, S.EMBEDDING_IN_PROGRESS)]
