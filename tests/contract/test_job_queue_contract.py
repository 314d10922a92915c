"""The job queue's contract, run on the in-memory queue and on PostgreSQL alike."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import attrs
import pytest

from domain.errors import Conflict, LeaseLost, NotFound
from domain.model import ChunkVector, StepOutput
from domain.retry import RetryPolicy
from domain.status import JobStatus
from tests.contract.builders import (
    JAMAL,
    LEASE,
    MARIA,
    chunks_for,
    parsed,
    run_to,
    submit,
    unit,
    upload,
    vectors_for,
)
from tests.contract.conftest import DIMENSIONS, Backend

S = JobStatus
NO_JITTER = RetryPolicy(max_retries=3, base_delay=2.0, max_delay=60.0, jitter=0.0)


def zero() -> float:
    return 0.0


# -- submitting -------------------------------------------------------------------------


async def test_a_submitted_upload_waits_as_uploaded_with_its_first_event(
    backend: Backend,
) -> None:
    q, now = backend.queue, backend.clock.now()
    submission = await submit(q, MARIA, b"policy 2025", now)

    assert submission.created
    job = await q.get_job(submission.job.job_id)
    assert job == submission.job
    assert job.status is S.UPLOADED and job.attempts == 0 and not job.is_held
    [event] = await q.history(job.job_id)
    assert (event.from_status, event.to_status, event.at, event.attempt) == (
        None, S.UPLOADED, now, 1)


async def test_a_member_uploading_the_same_bytes_again_gets_the_existing_document_back(
    backend: Backend,
) -> None:
    q, now = backend.queue, backend.clock.now()
    first = await submit(q, MARIA, b"policy 2025", now, filename="policy.pdf")
    backend.clock.advance(60)
    again = await submit(q, MARIA, b"policy 2025", backend.clock.now(), filename="copy.pdf")

    assert not again.created
    assert again.document == first.document
    assert again.job == first.job
    assert (await q.counts())[S.UPLOADED] == 1


async def test_a_new_upload_reusing_a_taken_job_id_is_refused_and_changes_nothing(
    backend: Backend,
) -> None:
    q, now = backend.queue, backend.clock.now()
    first = await submit(q, MARIA, b"policy 2025", now)
    document, job = upload(MARIA, b"dental plan", now)

    with pytest.raises(Conflict):
        await q.submit(document, attrs.evolve(job, job_id=first.job.job_id))

    assert await q.get_job(first.job.job_id) == first.job
    assert await q.job_for_document(first.document.document_id) == first.job


async def test_a_claim_for_no_jobs_claims_none(backend: Backend) -> None:
    await submit(backend.queue, MARIA, b"policy 2025", backend.clock.now())

    assert await backend.queue.claim("worker-1", 0, LEASE) == []
    assert await backend.queue.claim("worker-1", -1, LEASE) == []
    assert (await backend.queue.counts())[S.UPLOADED] == 1


async def test_two_members_uploading_the_same_bytes_get_separate_documents(
    backend: Backend,
) -> None:
    q, now = backend.queue, backend.clock.now()
    maria = await submit(q, MARIA, b"the same plan brochure", now)
    jamal = await submit(q, JAMAL, b"the same plan brochure", now)

    assert maria.created and jamal.created
    assert maria.document.document_id != jamal.document.document_id
    assert (await q.counts())[S.UPLOADED] == 2
    with pytest.raises(NotFound):
        await q.get_job(maria.job.job_id, user_id=JAMAL)
    assert (await q.get_job(jamal.job.job_id, user_id=JAMAL)).user_id == JAMAL


async def test_counts_name_every_status_even_when_no_job_has_it(backend: Backend) -> None:
    assert await backend.queue.counts() == dict.fromkeys(JobStatus, 0)
    await submit(backend.queue, MARIA, b"x", backend.clock.now())

    counts = await backend.queue.counts()
    assert set(counts) == set(JobStatus)
    assert counts[S.UPLOADED] == 1 and sum(counts.values()) == 1


async def test_a_job_is_found_by_its_document_and_missing_ones_are_not_found(
    backend: Backend,
) -> None:
    q = backend.queue
    submission = await submit(q, MARIA, b"x", backend.clock.now())

    assert await q.job_for_document(submission.document.document_id) == submission.job
    with pytest.raises(NotFound):
        await q.job_for_document(uuid4())
    with pytest.raises(NotFound):
        await q.get_job(uuid4())


# -- claiming ---------------------------------------------------------------------------


async def test_claims_take_ready_jobs_by_priority_then_age_in_batches(backend: Backend) -> None:
    q, clock = backend.queue, backend.clock
    oldest = await submit(q, MARIA, b"oldest", clock.now())
    clock.advance(1)
    urgent = await submit(q, MARIA, b"urgent", clock.now(), priority=10)
    clock.advance(1)
    newest = await submit(q, JAMAL, b"newest", clock.now())

    first = await q.claim("worker-1", 2, LEASE)
    second = await q.claim("worker-2", 2, LEASE)

    assert [lease.job_id for lease in first] == [urgent.job.job_id, oldest.job.job_id]
    assert [lease.job_id for lease in second] == [newest.job.job_id]
    assert await q.claim("worker-3", 2, LEASE) == []


async def test_a_claim_leases_the_job_and_starts_its_step(backend: Backend) -> None:
    q, clock = backend.queue, backend.clock
    submission = await submit(q, MARIA, b"x", clock.now())
    clock.advance(5)

    [lease] = await q.claim("worker-1", 1, LEASE)

    job = lease.job
    assert (lease.worker, lease.token) == ("worker-1", job.fencing_token)
    assert job.status is S.PARSING
    assert job.lease_owner == "worker-1"
    assert job.lease_expires_at == clock.now() + LEASE
    assert job.fencing_token == submission.job.fencing_token + 1
    assert await q.get_job(job.job_id) == job
    started = (await q.history(job.job_id))[-1]
    assert (started.from_status, started.to_status, started.worker, started.attempt) == (
        S.UPLOADED, S.PARSING, "worker-1", 1)
    assert started.detail == "parse started"


async def test_a_held_job_is_never_handed_to_a_second_worker(backend: Backend) -> None:
    q = backend.queue
    for n in range(5):
        await submit(q, MARIA, f"file {n}".encode(), backend.clock.now())

    one = await q.claim("worker-1", 3, LEASE)
    two = await q.claim("worker-2", 3, LEASE)
    three = await q.claim("worker-3", 3, LEASE)

    ids = [lease.job_id for lease in one + two + three]
    assert len(ids) == len(set(ids)) == 5
    assert three == []


async def test_a_step_without_a_working_status_is_claimed_in_place(backend: Backend) -> None:
    q = backend.queue
    await submit(q, MARIA, b"x", backend.clock.now())
    [lease] = await q.claim("worker-1", 1, LEASE)
    await q.finish_step(lease, StepOutput(parsed=parsed()), LEASE, continue_=False)

    [again] = await q.claim("worker-2", 1, LEASE)

    assert again.job.status is S.PARSED and again.job.lease_owner == "worker-2"
    assert again.token == lease.token + 1
    assert [e.to_status for e in await q.history(lease.job_id)] == [
        S.UPLOADED, S.PARSING, S.PARSED]


# -- leases, heartbeats and fencing ------------------------------------------------------


async def test_a_heartbeat_extends_the_lease_and_an_older_copy_still_writes(
    backend: Backend,
) -> None:
    q, clock = backend.queue, backend.clock
    await submit(q, MARIA, b"x", clock.now())
    [lease] = await q.claim("worker-1", 1, LEASE)

    clock.advance(20)
    renewed = await q.heartbeat(lease, LEASE)
    assert renewed.job.lease_expires_at == clock.now() + LEASE
    clock.advance(20)  # past the first expiry, within the renewed one

    after = await q.finish_step(lease, StepOutput(parsed=parsed()), LEASE)
    assert after is not None and after.job.status is S.PARSED


async def test_a_move_decided_from_a_job_that_changed_since_is_not_stored(
    backend: Backend,
) -> None:
    q, clock = backend.queue, backend.clock
    await submit(q, MARIA, b"x", clock.now())
    [lease] = await q.claim("worker-1", 1, LEASE)
    clock.advance(20)
    renewed = await q.heartbeat(lease, LEASE)  # the stored job is no longer lease.job

    stale = lease.job.fail(lease, clock.now(), "decided from an old copy")
    stored = await q.store_move(lease.job, stale, lease=lease, now=clock.now())

    assert stored.job is None and stored.found == renewed.job
    assert await q.get_job(lease.job_id) == renewed.job
    assert len(await q.history(lease.job_id)) == 2  # uploaded, parse started


async def test_a_move_is_stored_only_while_its_lease_is_alive(backend: Backend) -> None:
    q, clock = backend.queue, backend.clock
    await submit(q, MARIA, b"x", clock.now())
    [lease] = await q.claim("worker-1", 1, LEASE)
    decided = lease.job.release(lease, clock.now())
    clock.advance(LEASE.total_seconds())

    stored = await q.store_move(lease.job, decided, lease=lease, now=clock.now())

    assert stored.job is None and stored.found == lease.job
    later = clock.now()
    rescued = lease.job.rescue(later, NO_JITTER, 0.0)  # no lease: any worker may rescue
    assert (await q.store_move(lease.job, rescued)).job == rescued.job
    assert (await q.store_move(lease.job, rescued)).found == rescued.job  # only once


async def test_a_worker_whose_lease_expired_cannot_write(backend: Backend) -> None:
    q, clock = backend.queue, backend.clock
    await submit(q, MARIA, b"x", clock.now())
    [lease] = await q.claim("worker-1", 1, LEASE)
    clock.advance(LEASE.total_seconds())

    with pytest.raises(LeaseLost):
        await q.heartbeat(lease, LEASE)
    with pytest.raises(LeaseLost):
        await q.finish_step(lease, StepOutput(parsed=parsed()), LEASE)
    with pytest.raises(LeaseLost):
        await q.record_parser_job(lease, "parse-job-1")
    assert (await q.get_job(lease.job_id)).status is S.PARSING
    assert len(await q.history(lease.job_id)) == 2


async def test_an_expired_lease_is_rescued_as_one_failed_attempt(backend: Backend) -> None:
    q, clock = backend.queue, backend.clock
    await submit(q, MARIA, b"x", clock.now())
    [lease] = await q.claim("worker-1", 1, LEASE)
    assert await q.rescue_expired(NO_JITTER, zero) == []
    clock.advance(31)

    [rescued] = await q.rescue_expired(NO_JITTER, zero)

    assert rescued.job_id == lease.job_id
    assert rescued.status is S.UPLOADED and not rescued.is_held
    assert rescued.attempts == 1
    assert rescued.available_at == clock.now() + timedelta(seconds=2)
    assert "worker-1" in (rescued.last_error or "")
    event = (await q.history(lease.job_id))[-1]
    assert (event.from_status, event.to_status, event.worker) == (S.PARSING, S.UPLOADED,
                                                                  "rescue")
    assert await q.get_job(lease.job_id) == rescued


async def test_a_stale_token_cannot_overwrite_the_worker_that_took_over(
    backend: Backend,
) -> None:
    q, clock = backend.queue, backend.clock
    await submit(q, MARIA, b"x", clock.now())
    [stale] = await q.claim("worker-1", 1, LEASE)
    clock.advance(31)
    await q.rescue_expired(NO_JITTER, zero)
    clock.advance(2)
    [current] = await q.claim("worker-2", 1, LEASE)
    before = await q.get_job(current.job_id)
    history = await q.history(current.job_id)

    for write in (
        q.heartbeat(stale, LEASE),
        q.finish_step(stale, StepOutput(parsed=parsed("stale")), LEASE),
        q.record_parser_job(stale, "stale-parse"),
        q.retry_later(stale, "stale", clock.now()),
        q.fail(stale, "stale"),
        q.release(stale),
    ):
        with pytest.raises(LeaseLost):
            await write

    assert current.token > stale.token
    assert await q.get_job(current.job_id) == before
    assert await q.history(current.job_id) == history
    assert (await q.finish_step(current, StepOutput(parsed=parsed()), LEASE)) is not None


async def test_the_same_worker_name_with_an_old_token_is_still_fenced(backend: Backend) -> None:
    q, clock = backend.queue, backend.clock
    await submit(q, MARIA, b"x", clock.now())
    [old] = await q.claim("worker-1", 1, LEASE)
    clock.advance(31)
    await q.rescue_expired(NO_JITTER, zero)
    clock.advance(2)
    [new] = await q.claim("worker-1", 1, LEASE)

    with pytest.raises(LeaseLost):
        await q.finish_step(old, StepOutput(parsed=parsed()), LEASE)
    assert await q.finish_step(new, StepOutput(parsed=parsed()), LEASE) is not None


async def test_rescue_past_the_retry_limit_fails_the_job(backend: Backend) -> None:
    q, clock = backend.queue, backend.clock
    await submit(q, MARIA, b"a file that crashes every worker", clock.now())
    policy = RetryPolicy(max_retries=1, base_delay=1.0, jitter=0.0)

    assert len(await q.claim("worker-1", 1, LEASE)) == 1
    clock.advance(31)
    [first] = await q.rescue_expired(policy, zero)
    clock.advance(1)
    assert len(await q.claim("worker-2", 1, LEASE)) == 1
    clock.advance(31)
    [second] = await q.rescue_expired(policy, zero)

    assert first.status is S.UPLOADED and first.attempts == 1
    assert second.status is S.FAILED and second.attempts == 2
    assert second.failed_stage == "parse"
    assert "gave up after 2 attempts" in (second.last_error or "")


async def test_retry_later_waits_until_its_time_and_counts_an_attempt(backend: Backend) -> None:
    q, clock = backend.queue, backend.clock
    await submit(q, MARIA, b"x", clock.now())
    [lease] = await q.claim("worker-1", 1, LEASE)

    job = await q.retry_later(lease, "parser timed out", clock.now() + timedelta(seconds=10))

    assert job.status is S.UPLOADED and job.attempts == 1 and not job.is_held
    assert job.last_error == "parser timed out"
    assert await q.get_job(job.job_id) == job
    clock.advance(9)
    assert await q.claim("worker-2", 1, LEASE) == []
    clock.advance(1)
    [again] = await q.claim("worker-2", 1, LEASE)
    assert again.job_id == job.job_id and again.job.attempts == 1
    assert (await q.history(job.job_id))[-1].attempt == 2


async def test_failing_keeps_the_stage_and_the_reason(backend: Backend) -> None:
    q, clock = backend.queue, backend.clock
    await submit(q, MARIA, b"x", clock.now())
    [lease] = await q.claim("worker-1", 1, LEASE)
    lease = await run_to(q, lease, S.CHUNKING, DIMENSIONS)  # type: ignore[assignment]

    job = await q.fail(lease, "the PDF has no text layer")

    assert job.status is S.FAILED and not job.is_held
    assert job.failed_stage == "chunk"
    assert job.last_error == "the PDF has no text layer"
    assert await q.get_job(job.job_id) == job
    event = (await q.history(job.job_id))[-1]
    assert (event.from_status, event.to_status, event.detail) == (
        S.CHUNKING, S.FAILED, "the PDF has no text layer")
    assert await q.claim("worker-2", 1, LEASE) == []


async def test_a_released_job_is_ready_again_without_counting_an_attempt(
    backend: Backend,
) -> None:
    q, clock = backend.queue, backend.clock
    await submit(q, MARIA, b"x", clock.now())
    [lease] = await q.claim("worker-1", 1, LEASE)

    job = await q.release(lease)

    assert job.status is S.UPLOADED and job.attempts == 0 and not job.is_held
    assert (await q.history(job.job_id))[-1].detail == "released at shutdown"
    [again] = await q.claim("worker-2", 1, LEASE)
    assert again.job_id == job.job_id


async def test_releasing_a_step_without_working_status_records_no_event(
    backend: Backend,
) -> None:
    q, clock = backend.queue, backend.clock
    await submit(q, MARIA, b"x", clock.now())
    [lease] = await q.claim("worker-1", 1, LEASE)
    held = await q.finish_step(lease, StepOutput(parsed=parsed()), LEASE)
    assert held is not None and held.job.status is S.PARSED
    events = await q.history(lease.job_id)

    job = await q.release(held)

    assert job.status is S.PARSED and not job.is_held
    assert await q.history(lease.job_id) == events


async def test_a_parser_job_id_is_remembered_on_the_job(backend: Backend) -> None:
    q, clock = backend.queue, backend.clock
    await submit(q, MARIA, b"x", clock.now())
    [lease] = await q.claim("worker-1", 1, LEASE)

    saved = await q.record_parser_job(lease, "llama-job-42")

    assert saved.job.parser_job_id == "llama-job-42"
    assert (await q.get_job(lease.job_id)).parser_job_id == "llama-job-42"
    after = await q.finish_step(saved, StepOutput(parsed=parsed()), LEASE)
    assert after is not None and after.job.parser_job_id == "llama-job-42"


# -- manual retries ----------------------------------------------------------------------


async def test_only_a_failed_job_can_be_retried(backend: Backend) -> None:
    q, clock = backend.queue, backend.clock
    submission = await submit(q, MARIA, b"x", clock.now())

    with pytest.raises(Conflict):
        await q.requeue(submission.job.job_id, by="operator")
    with pytest.raises(NotFound):
        await q.requeue(uuid4(), by="operator")


async def test_a_retried_job_resumes_its_step_with_attempts_reset_and_history_kept(
    backend: Backend,
) -> None:
    q, clock = backend.queue, backend.clock
    await submit(q, MARIA, b"x", clock.now())
    [lease] = await q.claim("worker-1", 1, LEASE)
    lease = await run_to(q, lease, S.EMBEDDING_IN_PROGRESS, DIMENSIONS)  # type: ignore[assignment]
    failed = await q.fail(lease, "embedding provider said 400")
    before = await q.history(failed.job_id)
    clock.advance(60)

    with pytest.raises(NotFound):
        await q.requeue(failed.job_id, by=JAMAL, user_id=JAMAL)
    job = await q.requeue(failed.job_id, by=MARIA, user_id=MARIA)

    assert job.status is S.EMBEDDING_QUEUED
    assert job.attempts == 0 and job.last_error is None and job.failed_stage is None
    assert job.available_at == clock.now()
    after = await q.history(job.job_id)
    assert after[: len(before)] == before
    assert (after[-1].from_status, after[-1].to_status) == (S.FAILED, S.EMBEDDING_QUEUED)
    [again] = await q.claim("worker-2", 1, LEASE)
    assert again.job.status is S.EMBEDDING_IN_PROGRESS
    with pytest.raises(Conflict):
        await q.requeue(job.job_id, by="operator")


# -- steps and their artefacts -----------------------------------------------------------


async def test_a_worker_takes_a_job_through_every_step_to_complete(backend: Backend) -> None:
    q, docs, clock = backend.queue, backend.documents, backend.clock
    submission = await submit(q, MARIA, b"x", clock.now())
    [lease] = await q.claim("worker-1", 1, LEASE)

    left = await run_to(q, lease, S.COMPLETE, DIMENSIONS, texts=["one", "two", "three"])

    assert left is None
    job = await q.get_job(lease.job_id)
    assert job.status is S.COMPLETE and not job.is_held
    assert job.embedding_tokens == 21
    assert [(e.from_status, e.to_status) for e in await q.history(job.job_id)] == [
        (None, S.UPLOADED),
        (S.UPLOADED, S.PARSING), (S.PARSING, S.PARSED),
        (S.PARSED, S.PARSE_VALIDATED),
        (S.PARSE_VALIDATED, S.CHUNKING), (S.CHUNKING, S.CHUNKS_STORED),
        (S.CHUNKS_STORED, S.EMBEDDING_QUEUED),
        (S.EMBEDDING_QUEUED, S.EMBEDDING_IN_PROGRESS),
        (S.EMBEDDING_IN_PROGRESS, S.EMBEDDINGS_STORED),
        (S.EMBEDDINGS_STORED, S.COMPLETE),
    ]
    document_id = submission.document.document_id
    assert await docs.parsed(document_id) == parsed()
    assert [c.text for c in await docs.chunks(document_id)] == ["one", "two", "three"]


async def test_finishing_a_step_without_continuing_gives_the_job_back(backend: Backend) -> None:
    q, clock = backend.queue, backend.clock
    await submit(q, MARIA, b"x", clock.now())
    [lease] = await q.claim("worker-1", 1, LEASE)

    left = await q.finish_step(lease, StepOutput(parsed=parsed(), detail="3 pages"), LEASE,
                               continue_=False)

    assert left is None
    job = await q.get_job(lease.job_id)
    assert job.status is S.PARSED and not job.is_held and job.available_at == clock.now()
    assert (await q.history(job.job_id))[-1].detail == "3 pages"


async def test_artefacts_of_a_lost_lease_are_never_written(backend: Backend) -> None:
    q, docs, clock = backend.queue, backend.documents, backend.clock
    submission = await submit(q, MARIA, b"x", clock.now())
    [lease] = await q.claim("worker-1", 1, LEASE)
    slow = await run_to(q, lease, S.CHUNKING, DIMENSIONS)
    assert slow is not None
    clock.advance(31)
    await q.rescue_expired(NO_JITTER, zero)
    clock.advance(2)
    [fast] = await q.claim("worker-2", 1, LEASE)
    await run_to(q, fast, S.EMBEDDING_IN_PROGRESS, DIMENSIONS, texts=["fresh", "chunks"])

    with pytest.raises(LeaseLost):
        await q.finish_step(slow, StepOutput(chunks=chunks_for(slow.job, ["a", "b", "c"])),
                            LEASE)

    document_id = submission.document.document_id
    assert [c.text for c in await docs.chunks(document_id)] == ["fresh", "chunks"]


async def test_embedding_again_after_a_rescue_leaves_the_same_chunk_rows(
    backend: Backend,
) -> None:
    q, docs, clock = backend.queue, backend.documents, backend.clock
    submission = await submit(q, MARIA, b"x", clock.now())
    [lease] = await q.claim("worker-1", 1, LEASE)
    crashed = await run_to(q, lease, S.EMBEDDING_IN_PROGRESS, DIMENSIONS)
    assert crashed is not None
    document_id = submission.document.document_id
    chunks = await docs.chunks(document_id)
    clock.advance(31)
    [rescued] = await q.rescue_expired(NO_JITTER, zero)
    assert rescued.status is S.EMBEDDING_QUEUED
    clock.advance(2)

    [retry] = await q.claim("worker-2", 1, LEASE)
    await run_to(q, retry, S.COMPLETE, DIMENSIONS)

    assert await docs.chunks(document_id) == chunks
    hits = await docs.search(MARIA, unit(0, DIMENSIONS), "text-embedding-3-small", 0.0, 10)
    assert sorted(h.chunk.ordinal for h in hits) == [0, 1]


async def test_a_vector_that_must_never_be_searched_is_refused(backend: Backend) -> None:
    q, docs, clock = backend.queue, backend.documents, backend.clock
    submission = await submit(q, MARIA, b"x", clock.now())
    [lease] = await q.claim("worker-1", 1, LEASE)
    held = await run_to(q, lease, S.EMBEDDING_IN_PROGRESS, DIMENSIONS)
    assert held is not None
    chunk = (await docs.chunks(submission.document.document_id))[0]
    before = await q.get_job(lease.job_id)

    for bad in (
        (0.0,) * DIMENSIONS,
        (float("nan"),) + (1.0,) * (DIMENSIONS - 1),
        (1.0e39,) + (1.0,) * (DIMENSIONS - 1),  # finite, but no 4-byte float holds it
        (1.0,) * (DIMENSIONS + 1),
    ):
        output = StepOutput(vectors=[ChunkVector(chunk.chunk_id, bad, "m")])
        with pytest.raises(ValueError):
            await q.finish_step(held, output, LEASE)
    stranger = StepOutput(vectors=[ChunkVector(uuid4(), unit(0, DIMENSIONS), "m")])
    with pytest.raises(ValueError):
        await q.finish_step(held, stranger, LEASE)

    assert await q.get_job(lease.job_id) == before
    assert await docs.search(MARIA, unit(0, DIMENSIONS), "m", -1.0, 10) == []


async def test_vectors_are_written_by_chunk_id_with_their_model(backend: Backend) -> None:
    q, docs, clock = backend.queue, backend.documents, backend.clock
    submission = await submit(q, MARIA, b"x", clock.now())
    [lease] = await q.claim("worker-1", 1, LEASE)
    held = await run_to(q, lease, S.EMBEDDING_IN_PROGRESS, DIMENSIONS)
    assert held is not None
    chunks = tuple(await docs.chunks(submission.document.document_id))

    await run_to(q, await q.finish_step(  # type: ignore[arg-type]
        held, StepOutput(vectors=vectors_for(chunks, DIMENSIONS, "model-b")), LEASE),
        S.COMPLETE, DIMENSIONS)

    assert await docs.search(MARIA, unit(0, DIMENSIONS), "text-embedding-3-small", 0, 10) == []
    [best, *_] = await docs.search(MARIA, unit(1, DIMENSIONS), "model-b", 0.0, 10)
    assert best.chunk == chunks[1]


async def test_history_of_an_unknown_job_is_empty(backend: Backend) -> None:
    assert await backend.queue.history(uuid4()) == []


async def test_a_document_and_job_pair_keep_their_values_through_the_store(
    backend: Backend,
) -> None:
    document, job = upload(MARIA, b"exact values", backend.clock.now(), filename="SBC 2025.pdf")
    job = attrs.evolve(job, priority=7)
    await backend.queue.submit(document, job)

    assert await backend.documents.get(document.document_id) == document
    assert await backend.queue.get_job(job.job_id) == job


async def test_chunks_that_do_not_belong_to_the_job_are_refused(backend: Backend) -> None:
    q, docs, clock = backend.queue, backend.documents, backend.clock
    mine = await submit(q, MARIA, b"maria's policy", clock.now())
    theirs = await submit(q, JAMAL, b"jamal's policy", clock.now())
    [lease] = [x for x in await q.claim("worker-1", 2, LEASE) if x.job.user_id == MARIA]
    held = await run_to(q, lease, S.CHUNKING, DIMENSIONS)
    assert held is not None
    before = await q.get_job(lease.job_id)
    good = chunks_for(held.job, ["deductible", "copay"])

    for bad in (
        StepOutput(chunks=chunks_for(theirs.job, ["someone else's text"])),
        StepOutput(chunks=(good[0], attrs.evolve(good[1], ordinal=0))),
    ):
        with pytest.raises(ValueError):
            await q.finish_step(held, bad, LEASE)

    assert await q.get_job(lease.job_id) == before
    assert await docs.chunks(mine.document.document_id) == []


async def test_the_trace_an_upload_started_in_comes_back_with_its_job_at_every_claim(
    backend: Backend,
) -> None:
    q, now = backend.queue, backend.clock.now()
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    document, job = upload(MARIA, b"a traced policy", now)
    await q.submit(document, attrs.evolve(job, trace_context=traceparent))

    [lease] = await q.claim("worker-a", 1, LEASE)
    parsed_lease = await q.finish_step(lease, StepOutput(parsed=parsed()), LEASE,
                                       continue_=True)

    assert lease.job.trace_context == traceparent
    assert parsed_lease is not None and parsed_lease.job.trace_context == traceparent
    assert (await q.get_job(job.job_id)).trace_context == traceparent
