"""Benchmark: the PostgreSQL job queue with an instant parser and embedder.

Run from the repository root::

    .venv/bin/python -m bench.queue [--documents 2000] [--workers 4] [--batch 16]
        [--dimensions 1536] [--chunks 4] [--poll-interval 1.0] [--samples 200]
        [--dsn postgresql://...]

Without ``--dsn`` it starts the embedded PostgreSQL server in a temporary data
directory (default durability settings) and removes it afterwards; either way it
works in a fresh schema that is dropped at the end.

1. **throughput**: ``--documents`` uploads are submitted (document + job + notice,
   one statement each), then ``--workers`` workers, each on its own connection,
   claim batches of ``--batch`` and take every job through all six steps, keeping
   the job from step to step (``continue_``). The steps are instant but their
   artefacts are real: one parsed page, ``--chunks`` chunks, and one vector of
   ``--dimensions`` floats per chunk (distinct and clustered like real embeddings,
   bench/_vectors.py; numpy from the ``bench`` extra). Prints documents/s,
   status transitions/s (events recorded per second) and round trips per document
   (statements sent, counted on the connections; each is its own transaction).
2. **pickup latency**: one idle worker, uploads arriving one at a time at random
   intervals; the time from the start of the submit to the end of the claim that
   picks the job up, p50/p95, once waking on ``LISTEN/NOTIFY`` and once polling
   alone every ``--poll-interval`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import statistics
import sys
import time
import uuid
from contextlib import suppress
from datetime import timedelta

import asyncpg
import attrs
import numpy as np

from adapters.clock import SystemClock
from adapters.postgres.connection import connect, create_pool, listen
from adapters.postgres.job_queue import PostgresJobQueue
from bench._db import database, drop_schema, fresh_schema
from bench._vectors import EmbeddingSpace
from domain.model import (
    Chunk,
    ChunkVector,
    Document,
    Job,
    Lease,
    MediaType,
    ParsedDocument,
    ParsedPage,
    StepOutput,
)
from domain.status import JobStatus
from domain.uploads import blob_key_for
from tests.round_trips import RoundTrips

LEASE = timedelta(seconds=60)


@attrs.frozen
class Options:
    documents: int
    workers: int
    batch: int
    dimensions: int
    chunks: int
    poll_interval: float
    samples: int
    dsn: str | None


@attrs.frozen
class Throughput:
    documents: int
    submit_seconds: float
    process_seconds: float
    transitions: int
    submit_trips: int
    process_trips: int
    client_cpu_seconds: float

    @property
    def documents_per_second(self) -> float:
        return self.documents / self.process_seconds

    @property
    def transitions_per_second(self) -> float:
        return self.transitions / self.process_seconds

    @property
    def trips_per_document(self) -> float:
        return (self.submit_trips + self.process_trips) / self.documents


# -- data -------------------------------------------------------------------------------


def new_upload(n: int, run: str) -> tuple[Document, Job]:
    clock = SystemClock()
    content = f"{run} upload {n}".encode()
    sha = hashlib.sha256(content).hexdigest()
    document_id, member = uuid.uuid4(), f"member-{n % 50}"
    document = Document(document_id, member, f"policy-{n}.pdf", MediaType.PDF, len(content),
                        sha, blob_key_for(member, document_id), clock.now())
    return document, Job.new(uuid.uuid4(), document.document_id, document.user_id, clock.now())


class InstantSteps:
    """The artefacts an instant parser, chunker and embedder would hand back."""

    def __init__(self, chunks: int, dimensions: int) -> None:
        self._chunks = chunks
        self._space = EmbeddingSpace(dimensions)
        self._vectors: dict[uuid.UUID, list[tuple[float, ...]]] = {}
        self._page = ParsedDocument([ParsedPage(1, "# Benefits\n\nDeductible: $500")],
                                    parser="instant")

    def prepare(self, document: Document) -> None:
        """Draw the document's vectors now, so drawing them is not timed."""
        member = int(document.user_id.rsplit("-", 1)[1])
        drawn = np.vstack(self._space.documents(member, self._chunks,
                                                document.document_id.int >> 64))
        self._vectors[document.document_id] = [tuple(v.tolist()) for v in drawn]

    def _chunks_of(self, job: Job) -> tuple[Chunk, ...]:
        return tuple(
            Chunk(uuid.uuid5(job.document_id, str(i)), job.document_id, job.user_id, i,
                  f"chunk {i} of {job.document_id}", 12, ("Benefits",), 1, i * 40, i * 40 + 30,
                  "instant")
            for i in range(self._chunks)
        )

    def output(self, lease: Lease) -> StepOutput:
        job = lease.job
        if job.status is JobStatus.PARSING:
            return StepOutput(parsed=self._page)
        if job.status is JobStatus.CHUNKING:
            return StepOutput(chunks=self._chunks_of(job))
        if job.status is JobStatus.EMBEDDING_IN_PROGRESS:
            vectors = tuple(
                ChunkVector(c.chunk_id, v, "instant")
                for c, v in zip(self._chunks_of(job), self._vectors[job.document_id],
                                strict=True)
            )
            return StepOutput(vectors=vectors, embedding_tokens=12 * self._chunks)
        return StepOutput()


async def run_job(queue: PostgresJobQueue, lease: Lease, steps: InstantSteps) -> None:
    current: Lease | None = lease
    while current is not None:
        current = await queue.finish_step(current, steps.output(current), LEASE)


# -- phases -----------------------------------------------------------------------------


async def throughput(dsn: str, schema: str, options: Options) -> Throughput:
    steps = InstantSteps(options.chunks, options.dimensions)
    submit_trips, process_trips = RoundTrips(), RoundTrips()
    submit_pool = await create_pool(dsn, schema, min_size=4, max_size=4,
                                    connection_class=submit_trips.connection_class())
    pools = [await create_pool(dsn, schema, min_size=1, max_size=1,
                               connection_class=process_trips.connection_class())
             for _ in range(options.workers)]
    clock = SystemClock()
    try:
        submitter = PostgresJobQueue(submit_pool, clock, schema,
                                     vector_dimension=options.dimensions)
        queues = [PostgresJobQueue(p, clock, schema, vector_dimension=options.dimensions)
                  for p in pools]
        for queue in queues:  # connections open before timing
            await queue.counts()
        await submitter.counts()
        submit_trips.count = process_trips.count = 0
        run = uuid.uuid4().hex

        uploads = [new_upload(n, run) for n in range(options.documents)]
        for document, _ in uploads:
            steps.prepare(document)
        started = time.perf_counter()
        for start in range(0, len(uploads), 64):
            await asyncio.gather(*(submitter.submit(d, j) for d, j in uploads[start:start + 64]))
        submitted = time.perf_counter()
        submit_count = submit_trips.count
        events_before = await _events(submit_pool, schema)

        async def worker(queue: PostgresJobQueue, name: str) -> None:
            while leases := await queue.claim(name, options.batch, LEASE):
                for lease in leases:
                    await run_job(queue, lease, steps)

        cpu = time.process_time()
        await asyncio.gather(*(worker(q, f"bench-{n}") for n, q in enumerate(queues)))
        finished = time.perf_counter()
        cpu = time.process_time() - cpu
        process_trips_count = process_trips.count
        counts = await submitter.counts()
        if counts[JobStatus.COMPLETE] != options.documents:
            raise SystemExit(f"not every job completed: {counts}")
        transitions = await _events(submit_pool, schema) - events_before
        return Throughput(options.documents, submitted - started, finished - submitted,
                          transitions, submit_count, process_trips_count, cpu)
    finally:
        await submit_pool.close()
        for pool in pools:
            await pool.close()


async def _events(pool: asyncpg.Pool, schema: str) -> int:
    return int(await pool.fetchval(f'SELECT count(*) FROM "{schema}".job_events'))


async def pickup_latency(dsn: str, schema: str, options: Options, notify: bool) -> list[float]:
    """Seconds from the start of each submit to the end of the claim that took it."""
    pool = await create_pool(dsn, schema, min_size=2, max_size=2)
    clock = SystemClock()
    queue = PostgresJobQueue(pool, clock, schema, vector_dimension=options.dimensions)
    loop = asyncio.get_running_loop()
    submitted_at: dict[uuid.UUID, float] = {}
    latencies: list[float] = []
    wake = asyncio.Event()
    listener = await listen(dsn, queue.channel, lambda _payload: wake.set()) if notify else None
    done = asyncio.Event()
    run = uuid.uuid4().hex

    async def worker() -> None:
        while not done.is_set() or len(latencies) < options.samples:
            if notify:
                with suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), timeout=options.poll_interval)
                wake.clear()
            else:
                await asyncio.sleep(options.poll_interval)
            while leases := await queue.claim("bench-idle", options.batch, LEASE):
                claimed = loop.time()  # the jobs stay held: nobody else claims them
                latencies.extend(claimed - submitted_at[lease.job_id] for lease in leases)

    async def uploads() -> None:
        rng = random.Random(11)
        for n in range(options.samples):
            await asyncio.sleep(rng.uniform(0.005, 0.045))
            document, job = new_upload(n, run)
            submitted_at[job.job_id] = loop.time()
            await queue.submit(document, job)
        done.set()

    try:
        await queue.counts()  # connections open before timing
        await asyncio.gather(worker(), uploads())
    finally:
        if listener is not None:
            await listener.close()
        await pool.close()
    return latencies


# -- running ----------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def main_async(options: Options, dsn: str) -> None:
    conn = await connect(dsn)
    version = await conn.fetchval("SHOW server_version")
    vector = await conn.fetchval("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
    await conn.close()
    print(f"PostgreSQL {version}, pgvector {vector}, Python {sys.version.split()[0]}")
    print(f"{options.documents} documents, {options.workers} workers, claim batch "
          f"{options.batch}, {options.chunks} chunks x {options.dimensions} dimensions each")

    schema = await fresh_schema(dsn, options.dimensions)
    try:
        result = await throughput(dsn, schema, options)
    finally:
        await drop_schema(dsn, schema)
    print()
    print(f"submit:     {result.documents / result.submit_seconds:8.0f} uploads/s "
          f"({result.submit_seconds:.2f} s)")
    print(f"pipeline:   {result.documents_per_second:8.0f} documents/s "
          f"({result.process_seconds:.2f} s for all six steps of every document)")
    print(f"            {result.transitions_per_second:8.0f} status transitions/s "
          f"({result.transitions} recorded)")
    print(f"round trips per document: {result.trips_per_document:.2f} "
          f"(submit {result.submit_trips / result.documents:.2f}, claims and steps "
          f"{result.process_trips / result.documents:.2f})")
    print(f"client CPU during the pipeline: {result.client_cpu_seconds:.2f} s of "
          f"{result.process_seconds:.2f} s (the rest is waiting for PostgreSQL)")

    for notify in (True, False):
        schema = await fresh_schema(dsn, options.dimensions)
        try:
            latencies = await pickup_latency(dsn, schema, options, notify)
        finally:
            await drop_schema(dsn, schema)
        how = "LISTEN/NOTIFY" if notify else f"polling every {options.poll_interval:g} s"
        print(f"pickup latency, {how:<24} p50 {percentile(latencies, 50) * 1000:7.1f} ms   "
              f"p95 {percentile(latencies, 95) * 1000:7.1f} ms   "
              f"(mean {statistics.fmean(latencies) * 1000:.1f} ms, {len(latencies)} uploads)")


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--dimensions", type=int, default=1536)
    parser.add_argument("--chunks", type=int, default=4)
    parser.add_argument("--poll-interval", type=float, default=1.0)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--dsn", default=None,
                        help="an existing PostgreSQL with pgvector (default: embedded)")
    args = parser.parse_args(argv)
    return Options(args.documents, args.workers, args.batch, args.dimensions, args.chunks,
                   args.poll_interval, args.samples, args.dsn)


def main(argv: list[str] | None = None) -> None:
    options = parse_args(argv)
    with database(options.dsn) as dsn:
        asyncio.run(main_async(options, dsn))


if __name__ == "__main__":
    main()
