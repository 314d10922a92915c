"""Concurrent workers on a real PostgreSQL, each on its own connection, real time.

Parsers and embedders are instant here (each step just finishes with small
artefacts), so what is exercised is the queue itself: claims racing with
``SKIP LOCKED``, fencing, hand-overs between workers, crashes and rescues.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from uuid import UUID

import asyncpg
import attrs
import pytest

from adapters.clock import SystemClock
from adapters.postgres.connection import connect, create_pool
from adapters.postgres.job_queue import PostgresJobQueue
from domain.errors import LeaseLost
from domain.model import Lease, StepOutput
from domain.retry import RetryPolicy
from domain.status import STEPS, JobStatus
from tests.conftest import TEST_VECTOR_DIMENSION, migrated_schema
from tests.contract.builders import chunks_for, parsed, upload, vectors_for

pytestmark = pytest.mark.postgres
S = JobStatus
LONG_LEASE = timedelta(seconds=60)
PIPELINE = [
    (None, S.UPLOADED),
    (S.UPLOADED, S.PARSING), (S.PARSING, S.PARSED), (S.PARSED, S.PARSE_VALIDATED),
    (S.PARSE_VALIDATED, S.CHUNKING), (S.CHUNKING, S.CHUNKS_STORED),
    (S.CHUNKS_STORED, S.EMBEDDING_QUEUED), (S.EMBEDDING_QUEUED, S.EMBEDDING_IN_PROGRESS),
    (S.EMBEDDING_IN_PROGRESS, S.EMBEDDINGS_STORED), (S.EMBEDDINGS_STORED, S.COMPLETE),
]


@attrs.define
class Log:
    """What the workers saw: every claim and every write the queue accepted."""

    claims: list[tuple[UUID, str, int]] = attrs.Factory(list)
    writes: list[tuple[UUID, str, int]] = attrs.Factory(list)
    refused: list[tuple[UUID, str, int]] = attrs.Factory(list)
    completed: set[UUID] = attrs.Factory(set)


def instant_output(lease: Lease) -> StepOutput:
    job = lease.job
    if job.status is S.PARSING:
        return StepOutput(parsed=parsed())
    if job.status is S.CHUNKING:
        return StepOutput(chunks=chunks_for(job, ["deductible $500", "copay $20"]))
    if job.status is S.EMBEDDING_IN_PROGRESS:
        chunks = chunks_for(job, ["deductible $500", "copay $20"])
        return StepOutput(vectors=vectors_for(chunks, TEST_VECTOR_DIMENSION),
                          embedding_tokens=6)
    return StepOutput()


async def work(queue: PostgresJobQueue, name: str, log: Log, total: int, *,
               keep: float = 0.7, lease_for: timedelta = LONG_LEASE,
               rescue_every: float | None = None, seed: int = 0) -> None:
    """Claim and run jobs until ``total`` are complete; after each step keep the job
    with probability ``keep``, else give it back for any worker to take."""
    rng = random.Random(seed)
    policy = RetryPolicy(max_retries=5, base_delay=0.0, jitter=0.0)
    loop = asyncio.get_running_loop()
    last_rescue = loop.time()
    while len(log.completed) < total:
        if rescue_every is not None and loop.time() - last_rescue >= rescue_every:
            await queue.rescue_expired(policy, rng.random)
            last_rescue = loop.time()
        leases = await queue.claim(name, 8, lease_for)
        if not leases:
            await asyncio.sleep(0.005)
            continue
        for lease in leases:
            log.claims.append((lease.job_id, name, lease.token))
            current: Lease | None = lease
            while current is not None:
                finishing = current.job.status
                try:
                    current = await queue.finish_step(current, instant_output(current),
                                                      lease_for, continue_=rng.random() < keep)
                except LeaseLost:
                    log.refused.append((lease.job_id, name, lease.token))
                    break
                log.writes.append((lease.job_id, name, lease.token))
                if finishing is S.EMBEDDINGS_STORED:
                    log.completed.add(lease.job_id)


@pytest.fixture
async def make_queue(
    postgres_dsn: str, pg_schema: str
) -> AsyncIterator[Callable[..., asyncio.Future[PostgresJobQueue]]]:
    """Queues on pools of their own (one connection each, like separate workers)."""
    pools: list[asyncpg.Pool] = []

    async def make(schema: str = pg_schema, connections: int = 1) -> PostgresJobQueue:
        pool = await create_pool(postgres_dsn, schema, min_size=1, max_size=connections)
        pools.append(pool)
        return PostgresJobQueue(pool, SystemClock(), schema,
                                vector_dimension=TEST_VECTOR_DIMENSION)

    yield make  # type: ignore[misc]
    for pool in pools:
        await pool.close()


async def submit_many(queue: PostgresJobQueue, count: int, prefix: str = "") -> list[UUID]:
    now = SystemClock().now()
    pairs = [upload(f"member-{n % 7}", f"{prefix}file {n}".encode(), now) for n in range(count)]
    ids = []
    for start in range(0, count, 50):
        batch = pairs[start:start + 50]
        await asyncio.gather(*(queue.submit(d, j) for d, j in batch))
        ids.extend(j.job_id for _, j in batch)
    return ids


async def events_by_job(dsn: str, schema: str) -> dict[UUID, list[asyncpg.Record]]:
    conn = await connect(dsn)
    try:
        rows = await conn.fetch(
            f'SELECT job_id, from_status, to_status, worker FROM "{schema}".job_events '
            "ORDER BY id"
        )
    finally:
        await conn.close()
    events: dict[UUID, list[asyncpg.Record]] = defaultdict(list)
    for row in rows:
        events[row["job_id"]].append(row)
    return events


async def test_four_workers_take_five_hundred_jobs_to_complete_one_holder_at_a_time(
    postgres_dsn: str, pg_schema: str, make_queue: Callable[..., asyncio.Future[PostgresJobQueue]],
) -> None:
    total = 500
    submitter = await make_queue(connections=4)
    job_ids = await submit_many(submitter, total)
    queues = [await make_queue() for _ in range(4)]
    log = Log()

    await asyncio.wait_for(
        asyncio.gather(*(work(q, f"worker-{n}", log, total, seed=n)
                         for n, q in enumerate(queues))),
        timeout=90,
    )

    counts = await submitter.counts()
    assert counts[S.COMPLETE] == total and sum(counts.values()) == total
    # Each token was handed to one worker, and every write carried its own token.
    holder_of: dict[tuple[UUID, int], str] = {}
    for job_id, worker, token in log.claims:
        assert holder_of.setdefault((job_id, token), worker) == worker
    assert all(holder_of[(job_id, token)] == worker for job_id, worker, token in log.writes)
    assert log.refused == []  # nobody ever wrote for a job someone else held
    claims_per_job = defaultdict(int)
    for job_id, _, _ in log.claims:
        claims_per_job[job_id] += 1
    events = await events_by_job(postgres_dsn, pg_schema)
    handed_over = 0
    for job_id in job_ids:
        job = await submitter.get_job(job_id)
        assert job.fencing_token == claims_per_job[job_id]
        history = events[job_id]
        # every step ran exactly once: two holders at a time would have run one twice
        assert [(e["from_status"], e["to_status"]) for e in history] == [
            (str(a) if a else None, str(b)) for a, b in PIPELINE]
        workers = [e["worker"] for e in history[1:]]
        runs = 1 + sum(1 for a, b in itertools.pairwise(workers) if a != b)
        assert runs <= claims_per_job[job_id]
        handed_over += runs > 1
    assert handed_over > total // 4  # the test really made workers take turns on jobs
    assert len({w for _, w, _ in log.claims}) == 4


async def test_crashed_workers_jobs_are_rescued_and_their_late_writes_refused(
    postgres_dsn: str, pg_schema: str, make_queue: Callable[..., asyncio.Future[PostgresJobQueue]],
) -> None:
    total = 40
    short = timedelta(milliseconds=300)
    queue = await make_queue()
    await submit_many(queue, total)
    crashed = await make_queue()
    abandoned = await crashed.claim("worker-crashed", 10, short)
    assert len(abandoned) == 10
    log = Log()

    healthy = [await make_queue() for _ in range(2)]
    await asyncio.wait_for(
        asyncio.gather(*(work(q, f"worker-{n}", log, total, lease_for=short,
                              rescue_every=0.1, seed=n) for n, q in enumerate(healthy))),
        timeout=60,
    )

    for lease in abandoned:
        with pytest.raises(LeaseLost):
            await crashed.finish_step(lease, instant_output(lease), short)
        with pytest.raises(LeaseLost):
            await crashed.heartbeat(lease, short)
        job = await queue.get_job(lease.job_id)
        assert job.status is S.COMPLETE and job.attempts >= 1
        history = await queue.history(lease.job_id)
        assert any(e.worker == "rescue" and e.from_status is S.PARSING for e in history)
        assert not any(e.worker == "worker-crashed" and e.from_status is S.PARSING
                       for e in history)
    assert (await queue.counts())[S.COMPLETE] == total


async def test_two_schemas_worked_at_once_never_see_each_others_jobs(
    postgres_dsn: str, pg_schema: str, make_queue: Callable[..., asyncio.Future[PostgresJobQueue]],
) -> None:
    async with migrated_schema(postgres_dsn, TEST_VECTOR_DIMENSION,
                               f"{pg_schema}_staging") as staging:
        production_q, staging_q = await make_queue(pg_schema, 2), await make_queue(staging, 2)
        production_ids = set(await submit_many(production_q, 60, "production "))
        staging_ids = set(await submit_many(staging_q, 40, "staging "))
        production_log, staging_log = Log(), Log()
        production_workers = [await make_queue(pg_schema) for _ in range(2)]
        staging_workers = [await make_queue(staging) for _ in range(2)]

        await asyncio.wait_for(asyncio.gather(
            *(work(q, f"prod-{n}", production_log, 60, seed=n)
              for n, q in enumerate(production_workers)),
            *(work(q, f"stage-{n}", staging_log, 40, seed=n)
              for n, q in enumerate(staging_workers)),
        ), timeout=60)

        assert production_log.completed == production_ids
        assert staging_log.completed == staging_ids
        assert {j for j, _, _ in production_log.claims} <= production_ids
        assert {j for j, _, _ in staging_log.claims} <= staging_ids
        assert (await production_q.counts())[S.COMPLETE] == 60
        assert (await staging_q.counts())[S.COMPLETE] == 40
        assert set(await events_by_job(postgres_dsn, staging)) == staging_ids


def test_the_pipeline_the_tests_expect_is_the_state_machine() -> None:
    expected = [(None, S.UPLOADED)]
    for step in STEPS:
        if step.working is not None:
            expected += [(step.claim_from, step.working), (step.working, step.result)]
        else:
            expected.append((step.claim_from, step.result))
    assert expected == PIPELINE
