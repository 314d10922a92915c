"""What only PostgreSQL can show: one statement per claim, wake-up notices, row
locks skipped, the partial index used, schemas kept apart, round trips counted."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import attrs
import pytest

from adapters.hashing_embedder import HashingEmbedder
from adapters.memory.blobs import InMemoryBlobStore
from adapters.postgres.connection import connect, create_pool, listen
from adapters.postgres.documents import PostgresDocumentRepository
from adapters.postgres.job_queue import PostgresJobQueue
from adapters.postgres.named_sql import queue_statements
from adapters.tiktoken_tokenizer import TiktokenTokenizer
from domain.errors import LeaseLost, StoreUnavailable
from domain.files import BytesFile
from domain.model import ChunkVector, Document, Lease, MediaType, StepOutput, Usage
from domain.processing import ProcessJob
from domain.retry import RetryPolicy
from domain.status import STEPS, JobStatus
from tests.conftest import TEST_VECTOR_DIMENSION, migrated_schema
from tests.contract.builders import LEASE, MARIA, parsed, run_to, submit, unit, upload
from tests.corpus import REPO_DIR
from tests.fakes.clock import FakeClock
from tests.faults import ScriptedParser
from tests.ports import free_port
from tests.round_trips import RoundTrips

pytestmark = pytest.mark.postgres
S = JobStatus


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def queue(pg_pool: asyncpg.Pool, pg_schema: str, clock: FakeClock) -> PostgresJobQueue:
    return PostgresJobQueue(pg_pool, clock, pg_schema)


@pytest.fixture
async def counted(
    postgres_dsn: str, pg_schema: str, clock: FakeClock
) -> AsyncIterator[tuple[PostgresJobQueue, RoundTrips]]:
    trips = RoundTrips()
    pool = await create_pool(postgres_dsn, pg_schema, min_size=1, max_size=1,
                             connection_class=trips.connection_class())
    try:
        queue = PostgresJobQueue(pool, clock, pg_schema, vector_dimension=TEST_VECTOR_DIMENSION)
        yield queue, trips
    finally:
        await pool.close()


async def test_every_step_of_a_job_costs_one_round_trip(
    counted: tuple[PostgresJobQueue, RoundTrips], clock: FakeClock
) -> None:
    queue, trips = counted
    await queue.claim("warm-up", 1, LEASE)  # the pool's first connection introspects types
    for content, once in ((b"x", 1), (b"y", 0)):
        trips.count = 0

        await submit(queue, MARIA, content, clock.now())
        assert trips.count == 1
        [lease] = await queue.claim("worker-1", 5, LEASE)
        assert trips.count == 2
        await run_to(queue, lease, S.COMPLETE, TEST_VECTOR_DIMENSION)

        # submit + claim + one statement for each of the six steps, and, once a process,
        # the check that the database indexes words as this worker does (keyword_index)
        assert trips.count == 8 + once
        assert (await queue.get_job(lease.job_id)).status is S.COMPLETE


async def test_an_upload_with_its_file_and_quota_costs_four_round_trips(
    counted: tuple[PostgresJobQueue, RoundTrips], clock: FakeClock
) -> None:
    queue, trips = counted
    await queue.claim("warm-up", 1, LEASE)  # the pool's first connection introspects types
    trips.count = 0
    asked: list[Usage] = []
    document, job = upload(MARIA, b"Maria's summary of benefits", clock.now())

    submission = await queue.submit(document, job, admit=asked.append,
                                    file=BytesFile(b"Maria's summary of benefits"))

    assert trips.count == 4  # begin, the member's lock, the insert, commit
    assert submission.created
    assert asked == [Usage(documents=0, bytes=0)]  # what she had before this upload


async def test_the_claim_moves_each_step_exactly_as_the_domain_does(
    queue: PostgresJobQueue, clock: FakeClock
) -> None:
    job_id = (await submit(queue, MARIA, b"x", clock.now())).job.job_id
    for step in STEPS:
        before = await queue.get_job(job_id)
        assert before.status is step.claim_from and not before.is_held
        clock.advance(1)

        [lease] = await queue.claim("worker-1", 1, LEASE)

        expected = before.claim("worker-1", clock.now(), LEASE)
        assert lease.job == expected.job
        last = (await queue.history(job_id))[-1]
        assert [last] == list(expected.events) if expected.events else (
            last.to_status is step.claim_from)
        await queue.finish_step(lease, StepOutput(), LEASE, continue_=False)
    assert (await queue.get_job(job_id)).status is S.COMPLETE


async def test_a_claim_can_use_the_ready_jobs_index(
    pg_pool: asyncpg.Pool, pg_schema: str, clock: FakeClock
) -> None:
    async with pg_pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        plan = await conn.fetch(
            "EXPLAIN " + queue_statements(pg_schema)["claim"], "worker-1",
            clock.now(), clock.now() + LEASE, 10,
        )
    assert "upload_jobs_ready" in "\n".join(r[0] for r in plan)


@pytest.mark.parametrize("name", queue_statements("public").names())
async def test_every_named_statement_of_the_queue_plans_on_postgresql(
    pg_pool: asyncpg.Pool, pg_schema: str, name: str
) -> None:
    """Each statement as it runs, its arguments' types inferred by the server: no
    statement of the queue is assembled at run time, so each can be shown."""
    async with pg_pool.acquire() as conn:
        explain = await conn.prepare("EXPLAIN " + queue_statements(pg_schema)[name])
        plan = await explain.fetch(*[None] * len(explain.get_parameters()))
    assert plan, f"{name} has no plan"


async def test_a_claim_skips_a_job_locked_by_another_transaction_instead_of_waiting(
    postgres_dsn: str, pg_schema: str, queue: PostgresJobQueue, clock: FakeClock
) -> None:
    first = await submit(queue, MARIA, b"first", clock.now())
    clock.advance(1)
    second = await submit(queue, MARIA, b"second", clock.now())
    other = await connect(postgres_dsn)
    try:
        async with other.transaction():
            await other.execute(
                f'SELECT 1 FROM "{pg_schema}".upload_jobs WHERE job_id = $1 FOR UPDATE',
                first.job.job_id,
            )
            claimed = await asyncio.wait_for(queue.claim("worker-1", 2, LEASE), timeout=5)
    finally:
        await other.close()

    assert [lease.job_id for lease in claimed] == [second.job.job_id]


async def test_new_and_retried_jobs_are_announced_on_the_schemas_channel(
    postgres_dsn: str, queue: PostgresJobQueue, clock: FakeClock
) -> None:
    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = await listen(postgres_dsn, queue.channel, heard.put_nowait)
    try:
        submission = await submit(queue, MARIA, b"x", clock.now())
        assert await asyncio.wait_for(heard.get(), timeout=5) == str(submission.job.job_id)

        await submit(queue, MARIA, b"x", clock.now())  # a duplicate: nothing new to do
        [lease] = await queue.claim("worker-1", 1, LEASE)
        await queue.fail(lease, "corrupt file")
        await queue.requeue(lease.job_id, by="operator")
        assert await asyncio.wait_for(heard.get(), timeout=5) == str(lease.job_id)
        assert heard.empty()
        assert listener.alive
    finally:
        await listener.close()
    assert not listener.alive


async def test_two_schemas_in_one_database_never_see_each_others_jobs(
    postgres_dsn: str, pg_schema: str, clock: FakeClock
) -> None:
    async with migrated_schema(postgres_dsn, TEST_VECTOR_DIMENSION,
                               f"{pg_schema}_staging") as staging:
        await _both_schemas(postgres_dsn, pg_schema, staging, clock)


async def _both_schemas(dsn: str, pg_schema: str, staging: str, clock: FakeClock) -> None:
    pools = [await create_pool(dsn, s, max_size=2) for s in (pg_schema, staging)]
    try:
        production_q, staging_q = (PostgresJobQueue(p, clock, s)
                                   for p, s in zip(pools, (pg_schema, staging), strict=True))
        staging_docs = PostgresDocumentRepository(pools[1], staging)
        document, job = upload(MARIA, b"the same file in both", clock.now())
        await production_q.submit(document, job)

        assert (await staging_q.submit(document, job)).created  # same ids, other schema
        [lease] = await staging_q.claim("staging-worker", 10, LEASE)
        await run_to(staging_q, lease, S.COMPLETE, TEST_VECTOR_DIMENSION)

        assert (await production_q.get_job(job.job_id)).status is S.UPLOADED
        assert (await staging_q.get_job(job.job_id)).status is S.COMPLETE
        assert sum((await production_q.counts()).values()) == 1
        assert production_q.channel != staging_q.channel
        assert len(await staging_docs.chunks(document.document_id)) == 2
        production_docs = PostgresDocumentRepository(pools[0], pg_schema)
        assert await production_docs.chunks(document.document_id) == []
    finally:
        for pool in pools:
            await pool.close()


async def test_a_worker_using_its_lease_from_before_a_heartbeat_pays_a_reread_not_an_error(
    counted: tuple[PostgresJobQueue, RoundTrips], clock: FakeClock
) -> None:
    queue, trips = counted
    await submit(queue, MARIA, b"x", clock.now())
    [lease] = await queue.claim("worker-1", 1, LEASE)
    clock.advance(20)
    await queue.heartbeat(lease, LEASE)
    clock.advance(20)
    trips.count = 0

    after = await queue.finish_step(lease, StepOutput(parsed=parsed()), LEASE)

    assert after is not None and after.job.status is S.PARSED
    assert trips.count == 2  # read the row, then the fenced write
    assert after.job.lease_expires_at == clock.now() + LEASE


async def test_lease_expiry_follows_the_injected_clock_not_the_database_clock(
    queue: PostgresJobQueue, clock: FakeClock
) -> None:
    await submit(queue, MARIA, b"x", clock.now())
    [lease] = await queue.claim("worker-1", 1, timedelta(hours=1))
    clock.advance(timedelta(hours=2).total_seconds())

    assert [j.job_id for j in await queue.rescue_expired(RetryPolicy(), lambda: 0.0)] == [
        lease.job_id]


@attrs.define
class _Described:
    """The repository, but the document it hands the worker is the one given (the
    test's upload is markdown, the contract builders' default type is PDF)."""

    inner: PostgresDocumentRepository
    document: Document

    async def get(self, document_id: UUID, user_id: str | None = None) -> Document:
        return self.document

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


#: A worker's rescue round that freezes itself (SIGSTOP, as a paused VM or a debugger
#: does) at the first expired job it finds, after reading the expired rows.
_FROZEN_RESCUER = """
import asyncio, os, signal, sys
from datetime import datetime
from adapters.hashing_embedder import HashingEmbedder
from adapters.memory.blobs import InMemoryBlobStore
from tests.fakes.clock import FakeClock
from tests.faults import ScriptedParser
from adapters.postgres.connection import create_pool
from adapters.postgres.job_queue import PostgresJobQueue
from adapters.postgres.named_sql import queue_statements
from adapters.tiktoken_tokenizer import TiktokenTokenizer
from domain.retry import RetryPolicy

def freeze() -> float:
    os.kill(os.getpid(), signal.SIGSTOP)
    return 0.0

async def main() -> None:
    dsn, schema, now = sys.argv[1:4]
    pool = await create_pool(dsn, schema, min_size=1, max_size=1)
    queue = PostgresJobQueue(pool, FakeClock(datetime.fromisoformat(now)), schema)
    print(len(await queue.rescue_expired(RetryPolicy(jitter=0.0), freeze)))
    await pool.close()

asyncio.run(main())
"""


def _stopped(pid: int) -> bool:
    """Whether the process is stopped by a signal (state T in /proc)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2] == "T"


async def test_a_worker_frozen_in_its_rescue_round_holds_up_no_other_workers_rescue(
    queue: PostgresJobQueue, clock: FakeClock, postgres_dsn: str, pg_schema: str,
) -> None:
    await submit(queue, MARIA, b"maria's policy", clock.now())
    [lease] = await queue.claim("worker-crashed", 1, LEASE)
    clock.advance(LEASE.total_seconds() + 1)
    frozen = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _FROZEN_RESCUER, postgres_dsn, pg_schema, clock.now().isoformat(),
        cwd=REPO_DIR, stdout=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(60):  # the child starts Python and reads the rows
            while not _stopped(frozen.pid):
                assert frozen.returncode is None, "the frozen rescuer exited before freezing"
                await asyncio.sleep(0.01)

        [rescued] = await queue.rescue_expired(RetryPolicy(jitter=0.0), lambda: 0.0)
        assert (rescued.job_id, rescued.status, rescued.attempts, rescued.is_held) == (
            lease.job_id, JobStatus.UPLOADED, 1, False)
    finally:
        frozen.send_signal(signal.SIGCONT)
        out, _ = await asyncio.wait_for(frozen.communicate(), timeout=60)
    # Woken up, the frozen worker finds the job already moved and writes nothing.
    assert (frozen.returncode, out.decode().strip()) == (0, "0")
    assert (await queue.get_job(lease.job_id)).attempts == 1


async def test_two_workers_rescuing_the_same_job_at_once_count_one_attempt(
    queue: PostgresJobQueue, clock: FakeClock, pg_pool: asyncpg.Pool, pg_schema: str,
) -> None:
    other = PostgresJobQueue(pg_pool, clock, pg_schema)
    await submit(queue, MARIA, b"maria's policy", clock.now())
    [lease] = await queue.claim("worker-crashed", 1, LEASE)
    clock.advance(LEASE.total_seconds() + 1)
    policy = RetryPolicy(jitter=0.0)

    results = await asyncio.gather(*(q.rescue_expired(policy, lambda: 0.0)
                                     for q in (queue, other, queue, other)))

    assert sorted(len(r) for r in results) == [0, 0, 0, 1]
    job = await queue.get_job(lease.job_id)
    assert (job.status, job.attempts, job.is_held) == (JobStatus.UPLOADED, 1, False)
    rescues = [e for e in await queue.history(lease.job_id) if e.worker == "rescue"]
    assert len(rescues) == 1


async def test_a_write_the_database_cannot_take_says_the_store_is_unavailable(
    queue: PostgresJobQueue, clock: FakeClock, pg_schema: str,
) -> None:
    await submit(queue, MARIA, b"maria's policy", clock.now())
    [lease] = await queue.claim("worker-1", 1, LEASE)
    # a port nothing listens on: the server is gone
    gone = f"postgresql://navigator@127.0.0.1:{free_port()}/navigator"
    pool = await asyncpg.create_pool(gone, min_size=0, max_size=1)
    try:
        with pytest.raises(StoreUnavailable, match="unreachable"):
            await PostgresJobQueue(pool, clock, pg_schema).release(lease)
    finally:
        await pool.close()
    assert (await queue.get_job(lease.job_id)).is_held  # nothing changed meanwhile


async def test_a_step_that_outlived_several_heartbeats_is_recorded_in_one_write(
    counted: tuple[PostgresJobQueue, RoundTrips], clock: FakeClock
) -> None:
    queue, trips = counted
    await submit(queue, MARIA, b"x", clock.now())
    [lease] = await queue.claim("worker-1", 1, LEASE)
    for _ in range(3):  # the worker keeps the lease each heartbeat gives back
        clock.advance(20)
        lease = await queue.heartbeat(lease, LEASE)
    trips.count = 0

    after = await queue.finish_step(lease, StepOutput(parsed=parsed()), LEASE)

    assert trips.count == 1
    assert after is not None and after.job.status is S.PARSED


async def test_a_refused_write_says_why_from_its_own_statement(
    counted: tuple[PostgresJobQueue, RoundTrips], clock: FakeClock
) -> None:
    queue, trips = counted
    await submit(queue, MARIA, b"x", clock.now())
    [lease] = await queue.claim("worker-1", 1, LEASE)
    held = await run_to(queue, lease, S.EMBEDDING_IN_PROGRESS, TEST_VECTOR_DIMENSION)
    assert held is not None
    stranger = StepOutput(vectors=[ChunkVector(uuid4(), unit(0, TEST_VECTOR_DIMENSION), "m")])
    trips.count = 0

    with pytest.raises(ValueError, match="not a chunk of this document"):
        await queue.finish_step(held, stranger, LEASE)
    assert trips.count == 1

    clock.advance(LEASE.total_seconds() + 1)
    await queue.rescue_expired(RetryPolicy(jitter=0.0), lambda: 0.0)
    clock.advance(5)
    await queue.claim("worker-2", 1, LEASE)
    trips.count = 0
    with pytest.raises(LeaseLost):
        await queue.finish_step(held, StepOutput(), LEASE)
    assert trips.count == 1


async def test_a_worker_records_a_step_that_outlived_several_heartbeats_in_one_write(
    counted: tuple[PostgresJobQueue, RoundTrips], clock: FakeClock, pg_pool: asyncpg.Pool,
    pg_schema: str,
) -> None:
    queue, trips = counted
    parser = ScriptedParser()
    parser.hang()
    blobs = InMemoryBlobStore()
    submission = await submit(queue, MARIA, b"# Plan\n\nDeductible: $500\n", clock.now(),
                              filename="plan.md")
    document = attrs.evolve(submission.document, media_type=MediaType.MARKDOWN)
    await blobs.put(document.blob_key, BytesFile(b"# Plan\n\nDeductible: $500\n"))
    documents = PostgresDocumentRepository(pg_pool, pg_schema)
    process = ProcessJob(
        queue=queue, documents=_Described(documents, document), blobs=blobs, parser=parser,
        embedder=HashingEmbedder(dimensions=TEST_VECTOR_DIMENSION),
        tokenizer=TiktokenTokenizer(), clock=clock, jitter=lambda: 0.0, lease_for=LEASE,
        timer=clock,  # a heartbeat every 10 s of the fake clock
    )
    writes: list[int] = []
    renewed = asyncio.Event()
    finish_step, heartbeat = queue.finish_step, queue.heartbeat

    async def counted_finish(*args: Any, **kwargs: Any) -> Lease | None:
        before = trips.count
        try:
            return await finish_step(*args, **kwargs)
        finally:
            writes.append(trips.count - before)

    async def noted_heartbeat(*args: Any, **kwargs: Any) -> Lease:
        try:
            return await heartbeat(*args, **kwargs)
        finally:
            renewed.set()

    queue.finish_step = counted_finish  # type: ignore[method-assign]
    queue.heartbeat = noted_heartbeat  # type: ignore[method-assign]
    [lease] = await queue.claim("worker-1", 1, LEASE)
    task = asyncio.create_task(process(lease, stopping=lambda: True))
    await parser.wait_until_hanging()
    for _ in range(4):  # 40 s: the step outlives its first 30 s lease
        renewed.clear()
        clock.advance(10)
        await asyncio.wait_for(renewed.wait(), timeout=10)
    assert (await queue.get_job(lease.job_id)).lease_expires_at == clock.now() + LEASE
    parser.resume()
    job = await task

    assert job is not None and job.status is S.PARSED
    assert writes == [1]  # the result went in with the latest lease: one statement
