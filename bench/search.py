"""Benchmark: member-scoped vector search and vector ingestion on a growing table.

Run from the repository root (numpy comes with the ``bench`` extra)::

    .venv/bin/python -m bench.search [--chunks 100000] [--steps 3] [--heavy 10000]
        [--mid 3000] [--typical 330] [--queries 200] [--ingest 3000] [--dimensions 1536]
        [--migration] [--dsn postgresql://...]

On the embedded PostgreSQL (a temporary data directory, default durability) or
``--dsn``, in a fresh schema with every migration applied:

1. **the table grows** to ``--chunks`` in ``--steps`` steps, by COPY, in members of
   ``--typical`` chunks, plus one member of ``--heavy`` and one of ``--mid`` chunks;
   documents of 285 chunks (the 232-page policy) land in shuffled order, members
   interleaved, every document complete. Vectors: bench/_vectors.py (clustered,
   distinct). Chunk texts ~1,900 characters, like a 512-token chunk.
2. **ingestion** at each size: ``--ingest`` vectors through the worker's own write
   path (``PostgresJobQueue.finish_step``: the chunk step inserts a document's 285
   chunks in one statement, the embed step writes their 285 vectors in one
   statement), one worker, one document after another; then a plain COPY of the same
   rows (chunks with their vectors) into a table like ``document_chunks`` with no
   index, no key or check (NOT NULL only) and no generated column, 285 rows per COPY.
   Prints vectors/s for each and their ratio.
3. **search** at the final size: ``--queries`` queries per member size (typical
   members: spread over 20 of them), each through ``PostgresDocumentRepository.search``
   (the product's call, threshold 0.3, 10 chunks), timed from the client; p50, p95,
   p99 and recall@10 against an exact answer computed in numpy from the same vectors
   with the same threshold; and the CPU time the PostgreSQL backend spent per query
   (from /proc: a figure other work on a shared machine does not inflate as much as
   it inflates the wall-clock latencies).

``--migration`` instead measures migration 0005 on a populated table: the schema is
migrated up to 0004, filled to ``--chunks`` (without the old HNSW index: dropping an
index is a file unlink, whatever its size, and building it would take the run's
whole budget), then 0005 is applied and timed.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import attrs
import numpy as np
from pgvector.asyncpg import register_vector

from adapters.clock import SystemClock
from adapters.postgres.connection import connect, create_pool, vector_schema
from adapters.postgres.documents import PostgresDocumentRepository
from adapters.postgres.job_queue import PostgresJobQueue
from adapters.postgres.migrations import MIGRATIONS_DIR, migrate, run_migrations
from bench._db import database, drop_schema
from bench._vectors import EmbeddingSpace, Matrix, exact_top
from domain.hybrid import RRF_K
from domain.model import Chunk, ChunkVector, Document, Job, MediaType, ParsedDocument, ParsedPage
from domain.ports import StepOutput
from domain.status import JobStatus
from domain.uploads import blob_key_for

MODEL = "text-embedding-3-small"
THRESHOLD = 0.3
LIMIT = 10
LEASE = timedelta(seconds=60)
MEMBER_SCOPED_MIGRATION = 5
_WORDS = np.array([f"w{n:04d}" for n in range(5000)])


@attrs.frozen
class Options:
    chunks: int
    steps: int
    heavy: int
    mid: int
    typical: int
    queries: int
    ingest: int
    dimensions: int
    migration: bool
    explain: bool
    dsn: str | None


@attrs.define
class Member:
    number: int
    chunks: int
    documents: list[Matrix] = attrs.Factory(list)
    chunk_ids: list[uuid.UUID] = attrs.Factory(list)

    @property
    def user_id(self) -> str:
        return f"member-{self.number:06d}"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _text(rng: np.random.Generator) -> str:
    return " ".join(rng.choice(_WORDS, 380))  # ~1,900 characters


# -- filling the table by COPY ----------------------------------------------------------


class Filler:
    """Adds members to the table by COPY; keeps the vectors of the members it is told to."""

    def __init__(self, conn: asyncpg.Connection, schema: str, space: EmbeddingSpace) -> None:
        self._conn, self._schema, self._space = conn, schema, space
        self._rng = np.random.default_rng(17)
        self.rows = 0

    async def add(self, members: list[Member], keep: set[int]) -> None:
        documents: list[tuple[Member, uuid.UUID, Matrix]] = []
        for member in members:
            vectors = self._space.documents(member.number, member.chunks)
            ids = [uuid.uuid4() for _ in vectors]
            documents.extend((member, i, v) for i, v in zip(ids, vectors, strict=True))
            if member.number in keep:  # in the order of ``documents``, as exact_top counts
                member.documents = vectors
                member.chunk_ids = [uuid.uuid5(i, str(n)) for i, v in zip(ids, vectors,
                                                                         strict=True)
                                    for n in range(len(v))]
        order = self._rng.permutation(len(documents))
        now = datetime.now(UTC)
        docs, jobs, chunks = [], [], []
        for index in order:
            member, document_id, vectors = documents[index]
            sha = hashlib.sha256(document_id.bytes).hexdigest()
            docs.append((document_id, member.user_id, f"policy-{document_id.hex[:8]}.pdf",
                         "application/pdf", 1000, sha, blob_key_for(member.user_id, document_id),
                         now))
            jobs.append((uuid.uuid4(), document_id, member.user_id, "complete", now, now, now))
            for ordinal, vector in enumerate(vectors):
                chunks.append((uuid.uuid5(document_id, str(ordinal)), document_id,
                               member.user_id, ordinal, _text(self._rng), 480, vector, MODEL))
        await self._conn.copy_records_to_table(
            "documents", schema_name=self._schema, records=docs,
            columns=["document_id", "user_id", "filename", "media_type", "size_bytes",
                     "sha256", "blob_key", "created_at"])
        await self._conn.copy_records_to_table(
            "upload_jobs", schema_name=self._schema, records=jobs,
            columns=["job_id", "document_id", "user_id", "status", "available_at",
                     "created_at", "updated_at"])
        for start in range(0, len(chunks), 20_000):
            await self._conn.copy_records_to_table(
                "document_chunks", schema_name=self._schema, records=chunks[start:start + 20_000],
                columns=["chunk_id", "document_id", "user_id", "ordinal", "text", "token_count",
                         "embedding", "embedding_model"])
        self.rows += len(chunks)


def plan_members(options: Options) -> list[Member]:
    """The heavy and mid members first (numbers 0 and 1), then typical members."""
    members = [Member(0, options.heavy)]
    if options.mid:
        members.append(Member(1, options.mid))
    left = options.chunks - options.heavy - options.mid
    number = len(members)
    while left > 0:
        members.append(Member(number, min(options.typical, left)))
        left -= options.typical
        number += 1
    return members


# -- ingestion --------------------------------------------------------------------------


@attrs.frozen
class Ingestion:
    table_rows: int
    vectors: int
    embed_seconds: float
    chunk_seconds: float
    copy_seconds: float


async def ingest(pool: asyncpg.Pool, conn: asyncpg.Connection, schema: str,
                 space: EmbeddingSpace, count: int, dimensions: int, member: int,
                 table_rows: int) -> Ingestion:
    """``count`` vectors through the worker's write path, then the same rows by COPY."""
    clock = SystemClock()
    queue = PostgresJobQueue(pool, clock, schema, vector_dimension=dimensions)
    rng = np.random.default_rng(member)
    user = f"ingest-{member:06d}"
    embed = chunk = 0.0
    copied: list[tuple[object, ...]] = []
    for vectors in space.documents(member, count):
        document_id = uuid.uuid4()
        sha = hashlib.sha256(document_id.bytes).hexdigest()
        document = Document(document_id, user, "policy.pdf", MediaType.PDF, 1000, sha,
                            blob_key_for(user, document_id), clock.now())
        await queue.submit(document, Job.new(uuid.uuid4(), document_id, user, clock.now()))
        [lease] = await queue.claim("bench-ingest", 1, LEASE)
        texts = [_text(rng) for _ in range(len(vectors))]
        chunks = tuple(
            Chunk(uuid.uuid5(document_id, str(i)), document_id, user, i, texts[i], 480,
                  ("Benefits",), 1 + i, 0, len(texts[i]), "bench")
            for i in range(len(vectors))
        )
        current = lease
        while current is not None:
            status = current.job.status
            output = StepOutput()
            if status is JobStatus.PARSING:
                output = StepOutput(parsed=ParsedDocument([ParsedPage(1, "# Policy")], "bench"))
            elif status is JobStatus.CHUNKING:
                output = StepOutput(chunks=chunks)
            elif status is JobStatus.EMBEDDING_IN_PROGRESS:
                output = StepOutput(vectors=tuple(
                    ChunkVector(c.chunk_id, v.tolist(), MODEL) for c, v in zip(chunks, vectors,
                                                                              strict=True)
                ), embedding_tokens=480 * len(chunks))
            began = time.perf_counter()
            current = await queue.finish_step(current, output, LEASE)
            took = time.perf_counter() - began
            if status is JobStatus.CHUNKING:
                chunk += took
            elif status is JobStatus.EMBEDDING_IN_PROGRESS:
                embed += took
        copied.extend(
            (uuid.uuid4(), document_id, user, c.ordinal, c.text, c.token_count, v, MODEL)
            for c, v in zip(chunks, vectors, strict=True)
        )
    await conn.execute(f'DROP TABLE IF EXISTS "{schema}".plain_copy')
    await conn.execute(
        f'CREATE TABLE "{schema}".plain_copy (LIKE "{schema}".document_chunks '
        "INCLUDING DEFAULTS INCLUDING STORAGE)"
    )
    await conn.execute(f'ALTER TABLE "{schema}".plain_copy DROP COLUMN embedding_bits')
    began = time.perf_counter()
    for start in range(0, len(copied), 285):
        await conn.copy_records_to_table(
            "plain_copy", schema_name=schema, records=copied[start:start + 285],
            columns=["chunk_id", "document_id", "user_id", "ordinal", "text", "token_count",
                     "embedding", "embedding_model"])
    copy = time.perf_counter() - began
    await conn.execute(f'DROP TABLE "{schema}".plain_copy')
    return Ingestion(table_rows, count, embed, chunk, copy)


def print_ingestion(result: Ingestion) -> None:
    embed = result.vectors / result.embed_seconds
    both = result.vectors / (result.embed_seconds + result.chunk_seconds)
    copy = result.vectors / result.copy_seconds
    print(f"  table {result.table_rows:>9,} chunks: embed step {embed:7,.0f} vectors/s   "
          f"chunk+embed steps {both:7,.0f} /s   plain COPY {copy:7,.0f} /s   "
          f"COPY / embed step {copy / embed:4.2f}x", flush=True)


# -- search -----------------------------------------------------------------------------


def _backend_cpu(pid: int) -> float:
    """CPU seconds a PostgreSQL backend on this machine has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def search(repository: PostgresDocumentRepository, pool: asyncpg.Pool,
                 space: EmbeddingSpace, members: list[Member], queries: int,
                 label: str) -> None:
    latencies: list[float] = []
    recalls: list[float] = []
    per_member = max(1, queries // len(members))
    pid = await pool.fetchval("SELECT pg_backend_pid()")  # the pool's one connection
    server_cpu = _backend_cpu(pid)
    for member in members:
        vectors = np.vstack(member.documents)
        for query in space.queries(member.number, vectors, per_member, seed=3):
            began = time.perf_counter()
            hits = await repository.search(member.user_id, query.tolist(), MODEL, THRESHOLD,
                                           LIMIT)
            latencies.append(time.perf_counter() - began)
            exact = {member.chunk_ids[i] for i in exact_top(vectors, query, THRESHOLD, LIMIT)}
            found = {h.chunk.chunk_id for h in hits}
            recalls.append(len(exact & found) / len(exact) if exact else float(not found))
    server_cpu = _backend_cpu(pid) - server_cpu
    ms = [x * 1000 for x in latencies]
    print(f"  {label:<30} p50 {percentile(ms, 50):6.1f}  p95 {percentile(ms, 95):6.1f}  "
          f"p99 {percentile(ms, 99):6.1f} ms  recall@10 {statistics.fmean(recalls):.4f} "
          f"(min {min(recalls):.1f}, {len(ms)} q)  server CPU {server_cpu / len(ms) * 1000:5.1f} "
          f"ms/q", flush=True)


async def explain(pool: asyncpg.Pool, repository: PostgresDocumentRepository,
                  space: EmbeddingSpace, member: Member) -> None:
    """The plan PostgreSQL runs for one of the member's queries, with its timings."""
    query = space.queries(member.number, np.vstack(member.documents), 2, seed=5)[1]
    sql = repository.search_sql(LIMIT)
    rows = await pool.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", member.user_id,
                            query.tolist(), MODEL, THRESHOLD, LIMIT, "", "vector", RRF_K)
    print(f"plan for {member.user_id} ({member.chunks:,} chunks):")
    for row in rows:
        print("   ", row[0])


# -- running ----------------------------------------------------------------------------


async def run(options: Options, dsn: str) -> None:
    conn = await connect(dsn)
    version = await conn.fetchval("SHOW server_version")
    await conn.close()
    space = EmbeddingSpace(options.dimensions)
    members = plan_members(options)
    sampled = [members[0]] + ([members[1]] if options.mid else []) + members[-20:]
    keep = {m.number for m in sampled}
    print(f"PostgreSQL {version}, Python {sys.version.split()[0]}; {options.chunks:,} chunks "
          f"of {options.dimensions} dimensions: 1 member of {options.heavy:,}, "
          f"{'1 of ' + format(options.mid, ',') + ', ' if options.mid else ''}"
          f"{len(members) - 1 - bool(options.mid)} of ~{options.typical}", flush=True)
    if options.migration:
        await run_migration(options, dsn, space, members, keep)
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    await run_migrations(dsn, schema, options.dimensions)
    conn = await connect(dsn)
    pool = await create_pool(dsn, schema, min_size=1, max_size=1)
    try:
        await _register(conn)
        filler = Filler(conn, schema, space)
        print("ingestion (one worker, 285 chunks per statement, as the worker writes them):")
        r = await ingest(pool, conn, schema, space, options.ingest, options.dimensions,
                         900_000, 0)
        print_ingestion(r)
        batches = np.array_split(np.arange(len(members)), options.steps)
        for step, batch in enumerate(batches):
            began = time.perf_counter()
            await filler.add([members[i] for i in batch], keep)
            took = time.perf_counter() - began
            await conn.execute(f'VACUUM ANALYZE "{schema}".document_chunks')
            print(f"  (filled to {filler.rows:,} chunks by COPY in {took:.0f} s)", flush=True)
            r = await ingest(pool, conn, schema, space, options.ingest, options.dimensions,
                             900_001 + step, filler.rows)
            print_ingestion(r)
        for table in ("documents", "upload_jobs", "document_chunks"):
            await conn.execute(f'VACUUM ANALYZE "{schema}".{table}')
        size = await conn.fetchval(
            f"SELECT pg_size_pretty(pg_total_relation_size('\"{schema}\".document_chunks'))")
        print(f"search ({filler.rows:,} chunks, {size} with indexes; threshold {THRESHOLD}, "
              f"{LIMIT} chunks; client-timed through the repository):")
        repository = PostgresDocumentRepository(pool, schema)
        warm = sampled[-1]
        await search(repository, pool, space, [warm], 20, "(warm-up, not counted)")
        await search(repository, pool, space, sampled[-20:], options.queries,
                     f"typical member (~{options.typical} chunks)")
        if options.mid:
            await search(repository, pool, space, [members[1]], options.queries,
                         f"mid member ({options.mid:,} chunks)")
        await search(repository, pool, space, [members[0]], options.queries,
                     f"heavy member ({options.heavy:,} chunks)")
        if options.explain:
            for member in (sampled[-1], members[0]):
                await explain(pool, repository, space, member)
    finally:
        await pool.close()
        await conn.close()
        await drop_schema(dsn, schema)


async def _register(conn: asyncpg.Connection) -> None:
    """Binary COPY of vectors on a plain connection, as the pool's connections have it."""
    await register_vector(conn, schema=await vector_schema(conn) or "public")


async def run_migration(options: Options, dsn: str, space: EmbeddingSpace,
                        members: list[Member], keep: set[int]) -> None:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    before = Path(tempfile.mkdtemp(prefix="navigator-bench-migrations-"))
    for path in MIGRATIONS_DIR.glob("*.sql"):
        if int(path.name[:4]) < MEMBER_SCOPED_MIGRATION:
            shutil.copy(path, before / path.name)
    conn = await connect(dsn)
    try:
        await migrate(conn, schema, options.dimensions, before)
        await conn.execute(f'DROP INDEX "{schema}".document_chunks_embedding')
        await _register(conn)
        filler = Filler(conn, schema, space)
        began = time.perf_counter()
        await filler.add(members, keep)
        await conn.execute(f'VACUUM ANALYZE "{schema}".document_chunks')
        print(f"filled {filler.rows:,} chunks (vectors in TOAST, as shipped) in "
              f"{time.perf_counter() - began:.0f} s", flush=True)
        began = time.perf_counter()
        applied = await migrate(conn, schema, options.dimensions)
        took = time.perf_counter() - began
        toasted = await conn.fetchval(
            f'SELECT count(*) FROM "{schema}".document_chunks '
            "WHERE pg_column_toast_chunk_id(embedding) IS NOT NULL")
        print(f"applied {', '.join(applied)} in {took:.1f} s "
              f"({took / filler.rows * 1e6 / 60:.1f} min per million chunks); "
              f"vectors still out of line afterwards: {toasted}")
    finally:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()
        shutil.rmtree(before, ignore_errors=True)


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.search",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=3,
                        help="measure ingestion after filling this many equal steps")
    parser.add_argument("--heavy", type=int, default=10_000)
    parser.add_argument("--mid", type=int, default=3_000)
    parser.add_argument("--typical", type=int, default=330)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ingest", type=int, default=3_000)
    parser.add_argument("--dimensions", type=int, default=1536)
    parser.add_argument("--migration", action="store_true",
                        help="time migration 0005 on a table of --chunks instead")
    parser.add_argument("--explain", action="store_true",
                        help="print the plan of one search per member size")
    parser.add_argument("--dsn", default=None)
    a = parser.parse_args(argv)
    return Options(a.chunks, a.steps, a.heavy, a.mid, a.typical, a.queries, a.ingest,
                   a.dimensions, a.migration, a.explain, a.dsn)


def main(argv: list[str] | None = None) -> None:
    options = parse_args(argv)
    with database(options.dsn) as dsn:
        asyncio.run(run(options, dsn))


if __name__ == "__main__":
    main()
