"""Benchmark: member-scoped vector search and vector ingestion on a growing table.

Run from the repository root (numpy comes with the ``bench`` extra)::

    .venv/bin/python -m bench.search [--chunks 100000] [--steps 3] [--heavy 10000]
        [--mid 3000] [--typical 330] [--queries 200] [--ingest 3000] [--dimensions 1536]
        [--booklet-words 0]
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
   statement), one worker, one document after another; after each document, a plain
   COPY of the same rows (one COPY each) into tables like ``chunk_embeddings`` (the
   embed step's rows) and ``document_chunks`` (the chunk step's) with no index, no key
   or check (NOT NULL only) and no generated column: interleaved, so that both see
   the same load on a shared machine. Prints vectors/s for the embed step against
   the COPY of its rows, and for both steps against the COPY of both, with ratios.
3. **search** at the final size: ``--queries`` queries per member size (typical
   members: spread over 20 of them), each through ``PostgresDocumentRepository.search``
   in vector mode (the product's call, threshold 0.3, 10 chunks), timed from the client;
   p50, p95, p99 and recall@10 against an exact answer computed in numpy from the same
   vectors with the same threshold; and the CPU time the PostgreSQL backend spent per
   query (from /proc: a figure other work on a shared machine does not inflate as much
   as it inflates the wall-clock latencies). Every search carries a three-word question
   of the chunks' vocabulary (the product always sends the question: it is marked in
   each returned chunk's highlight, in every mode). Then the typical members in hybrid
   and keyword mode (no recall: there is no exact keyword answer to compare with).

``--migration`` instead measures migration 0006 on a populated table: the schema is
migrated up to 0005 (vectors in the chunks' rows), filled to ``--chunks``, then 0006
(vectors moved to ``chunk_embeddings``) is applied and timed.
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
from pgvector import Vector
from pgvector.asyncpg import register_vector

from adapters.clock import SystemClock
from adapters.postgres.connection import connect, create_pool, vector_schema
from adapters.postgres.documents import PostgresDocumentRepository
from adapters.postgres.job_queue import PostgresJobQueue
from adapters.postgres.migrations import migrate, migrations_source, run_migrations
from bench._db import database, drop_schema
from bench._vectors import EmbeddingSpace, Matrix, exact_top
from domain.hybrid import SearchMode
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

MODEL = "text-embedding-3-small"
THRESHOLD = 0.3
LIMIT = 10
LEASE = timedelta(seconds=60)
VECTORS_TABLE_MIGRATION = 6  # the migration --migration times
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
    modes: tuple[SearchMode, ...] = tuple(SearchMode)
    #: Words of the chunks' vocabulary each question's expansion adds (the lay-terms
    #: glossary's booklet words: a question in a member's own words gets ~5-10).
    booklet_words: int = 0


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
    """Adds members to the tables by COPY; keeps the vectors of the members it is told
    to. ``vectors_in_chunks``: the layout before migration 0006 (the vector in the
    chunk's row) instead of ``chunk_embeddings``."""

    def __init__(self, conn: asyncpg.Connection, schema: str, space: EmbeddingSpace,
                 vectors_in_chunks: bool = False) -> None:
        self._conn, self._schema, self._space = conn, schema, space
        self._rng = np.random.default_rng(17)
        self._vectors_in_chunks = vectors_in_chunks
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
        docs, jobs, chunks, vectors_of = [], [], [], []
        for index in order:
            member, document_id, vectors = documents[index]
            sha = hashlib.sha256(document_id.bytes).hexdigest()
            docs.append((document_id, member.user_id, f"policy-{document_id.hex[:8]}.pdf",
                         "application/pdf", 1000, sha, blob_key_for(member.user_id, document_id),
                         now))
            jobs.append((uuid.uuid4(), document_id, member.user_id, "complete", now, now, now))
            for ordinal, vector in enumerate(vectors):
                chunk_id = uuid.uuid5(document_id, str(ordinal))
                chunks.append((chunk_id, document_id, member.user_id, ordinal,
                               _text(self._rng), 480))
                vectors_of.append((chunk_id, document_id, member.user_id, MODEL, vector))
        await self._conn.copy_records_to_table(
            "documents", schema_name=self._schema, records=docs,
            columns=["document_id", "user_id", "filename", "media_type", "size_bytes",
                     "sha256", "blob_key", "created_at"])
        await self._conn.copy_records_to_table(
            "upload_jobs", schema_name=self._schema, records=jobs,
            columns=["job_id", "document_id", "user_id", "status", "available_at",
                     "created_at", "updated_at"])
        columns = ["chunk_id", "document_id", "user_id", "ordinal", "text", "token_count"]
        records: list[tuple[object, ...]] = list(chunks)
        if self._vectors_in_chunks:
            records = [(*c, v[4], MODEL) for c, v in zip(chunks, vectors_of, strict=True)]
            columns += ["embedding", "embedding_model"]
        for start in range(0, len(chunks), 20_000):
            await self._conn.copy_records_to_table(
                "document_chunks", schema_name=self._schema,
                records=records[start:start + 20_000], columns=columns)
            if not self._vectors_in_chunks:
                await self._conn.copy_records_to_table(
                    "chunk_embeddings", schema_name=self._schema,
                    records=vectors_of[start:start + 20_000],
                    columns=["chunk_id", "document_id", "user_id", "model", "embedding"])
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
    copy_vectors_seconds: float
    copy_chunks_seconds: float


async def ingest(pool: asyncpg.Pool, conn: asyncpg.Connection, schema: str,
                 space: EmbeddingSpace, count: int, dimensions: int, member: int,
                 table_rows: int) -> Ingestion:
    """``count`` vectors through the worker's write path, then the same rows by COPY."""
    clock = SystemClock()
    queue = PostgresJobQueue(pool, clock, schema, vector_dimension=dimensions)
    rng = np.random.default_rng(member)
    user = f"ingest-{member:06d}"
    embed = chunk = 0.0
    copy_vectors = copy_chunks = 0.0
    plain_vectors = await _plain_table(conn, schema, "chunk_embeddings")
    plain_chunks = await _plain_table(conn, schema, "document_chunks")
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
        current: Lease | None = lease
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
        # each document's rows are COPYed right after its steps, so both see the same load
        copy_vectors += await _copy(conn, schema, plain_vectors, [
            (c.chunk_id, document_id, user, MODEL, v)
            for c, v in zip(chunks, vectors, strict=True)
        ], ["chunk_id", "document_id", "user_id", "model", "embedding"])
        copy_chunks += await _copy(conn, schema, plain_chunks, [
            (c.chunk_id, document_id, user, c.ordinal, c.text, c.token_count) for c in chunks
        ], ["chunk_id", "document_id", "user_id", "ordinal", "text", "token_count"])
    for table in (plain_vectors, plain_chunks):
        await conn.execute(f'DROP TABLE "{schema}".{table}')
    return Ingestion(table_rows, count, embed, chunk, copy_vectors, copy_chunks)


async def _plain_table(conn: asyncpg.Connection, schema: str, like: str) -> str:
    """A table with ``like``'s columns and storage but no index, key, check or generated
    column: the floor the worker's write of the same rows is measured against."""
    table = f"plain_{like}"
    await conn.execute(f'DROP TABLE IF EXISTS "{schema}".{table}')
    await conn.execute(
        f'CREATE TABLE "{schema}".{table} (LIKE "{schema}".{like} '
        "INCLUDING DEFAULTS INCLUDING STORAGE)"
    )
    generated = await conn.fetch(
        "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass "
        "AND attgenerated <> '' AND NOT attisdropped", f'"{schema}".{like}')
    for row in generated:  # LIKE without INCLUDING GENERATED: a plain column; not written
        await conn.execute(f'ALTER TABLE "{schema}".{table} DROP COLUMN {row["attname"]}')
    return table


async def _copy(conn: asyncpg.Connection, schema: str, table: str,
                rows: list[tuple[object, ...]], columns: list[str]) -> float:
    """Seconds to COPY one document's rows (one COPY, as a step writes them at once)."""
    began = time.perf_counter()
    await conn.copy_records_to_table(table, schema_name=schema, records=rows, columns=columns)
    return time.perf_counter() - began


def print_ingestion(result: Ingestion) -> None:
    embed = result.vectors / result.embed_seconds
    both = result.vectors / (result.embed_seconds + result.chunk_seconds)
    copy_vectors = result.vectors / result.copy_vectors_seconds
    copy_both = result.vectors / (result.copy_vectors_seconds + result.copy_chunks_seconds)
    print(f"  table {result.table_rows:>9,} chunks: embed step {embed:7,.0f} vectors/s, "
          f"COPY of its rows {copy_vectors:7,.0f} /s ({copy_vectors / embed:4.2f}x)   "
          f"chunk+embed steps {both:7,.0f} /s, COPY of their rows {copy_both:7,.0f} /s "
          f"({copy_both / both:4.2f}x)", flush=True)


# -- search -----------------------------------------------------------------------------


def _backend_cpu(pid: int) -> float:
    """CPU seconds a PostgreSQL backend on this machine has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _question(n: int, words: int = 3) -> str:
    """``words`` words of the chunks' vocabulary: each occurs in ~7 % of chunks."""
    return " ".join(np.random.default_rng(n).choice(_WORDS, words)) if words else ""


async def search(repository: PostgresDocumentRepository, pool: asyncpg.Pool,
                 space: EmbeddingSpace, members: list[Member], queries: int,
                 label: str, mode: SearchMode = SearchMode.VECTOR, booklet_words: int = 0
                 ) -> None:
    """Client-timed searches; recall@10 against the exact vector answer (vector mode)."""
    latencies: list[float] = []
    recalls: list[float] = []
    per_member = max(1, queries // len(members))
    pid = await pool.fetchval("SELECT pg_backend_pid()")  # the pool's one connection
    server_cpu = _backend_cpu(pid)
    for member in members:
        vectors = np.vstack(member.documents)
        for query in space.queries(member.number, vectors, per_member, seed=3):
            text = _question(len(latencies))  # the product always sends the question
            expansion = _question(len(latencies) + 1_000_000, booklet_words)
            began = time.perf_counter()
            hits = await repository.search(member.user_id, query.tolist(), MODEL, THRESHOLD,
                                           LIMIT, text=text, mode=mode, expansion=expansion)
            latencies.append(time.perf_counter() - began)
            exact = {member.chunk_ids[i] for i in exact_top(vectors, query, THRESHOLD, LIMIT)}
            found = {h.chunk.chunk_id for h in hits}
            recalls.append(len(exact & found) / len(exact) if exact else float(not found))
    server_cpu = _backend_cpu(pid) - server_cpu
    ms = [x * 1000 for x in latencies]
    recall = (f"recall@10 {statistics.fmean(recalls):.4f} (min {min(recalls):.1f})"
              if mode is SearchMode.VECTOR else f"({mode} mode)")
    print(f"  {label:<30} p50 {percentile(ms, 50):6.1f}  p95 {percentile(ms, 95):6.1f}  "
          f"p99 {percentile(ms, 99):6.1f} ms  {recall}, {len(ms)} q  "
          f"server CPU {server_cpu / len(ms) * 1000:5.1f} ms/q", flush=True)


async def explain(pool: asyncpg.Pool, repository: PostgresDocumentRepository,
                  space: EmbeddingSpace, member: Member, mode: SearchMode) -> None:
    """The plan PostgreSQL runs for one of the member's queries, with its timings."""
    query = space.queries(member.number, np.vstack(member.documents), 2, seed=5)[1]
    sql, arguments = repository.search_statement(
        member.user_id, Vector(query.tolist()), MODEL, THRESHOLD, LIMIT, text=_question(0),
        mode=mode)
    rows = await pool.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", *arguments)
    print(f"plan for {member.user_id} ({member.chunks:,} chunks), {mode} mode:")
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
            for table in ("document_chunks", "chunk_embeddings"):
                await conn.execute(f'VACUUM ANALYZE "{schema}".{table}')
            print(f"  (filled to {filler.rows:,} chunks by COPY in {took:.0f} s)", flush=True)
            r = await ingest(pool, conn, schema, space, options.ingest, options.dimensions,
                             900_001 + step, filler.rows)
            print_ingestion(r)
        for table in ("documents", "upload_jobs", "document_chunks", "chunk_embeddings"):
            await conn.execute(f'VACUUM ANALYZE "{schema}".{table}')
        size = await conn.fetchval(
            f"SELECT pg_size_pretty(pg_total_relation_size('\"{schema}\".document_chunks') "
            f"+ pg_total_relation_size('\"{schema}\".chunk_embeddings'))")
        print(f"search ({filler.rows:,} chunks, {size} with indexes; threshold {THRESHOLD}, "
              f"{LIMIT} chunks; client-timed through the repository):")
        repository = PostgresDocumentRepository(pool, schema)
        warm = sampled[-1]
        sizes = [(sampled[-20:], f"typical (~{options.typical})")]
        if options.mid:
            sizes.append(([members[1]], f"mid ({options.mid:,})"))
        sizes.append(([members[0]], f"heavy ({options.heavy:,})"))
        for mode in options.modes:
            await search(repository, pool, space, [warm], 20, "(warm-up, not counted)", mode)
            for chosen, label in sizes:
                await search(repository, pool, space, chosen, options.queries,
                             f"{label}, {mode}", mode, options.booklet_words)
        if options.explain:
            for member in (sampled[-1], members[0]):
                for mode in options.modes:
                    await explain(pool, repository, space, member, mode)
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
    for path in migrations_source().glob("*.sql"):
        if int(path.name[:4]) < VECTORS_TABLE_MIGRATION:
            shutil.copy(path, before / path.name)
    conn = await connect(dsn)
    try:
        await migrate(conn, schema, options.dimensions, before)
        await _register(conn)
        filler = Filler(conn, schema, space, vectors_in_chunks=True)
        began = time.perf_counter()
        await filler.add(members, keep)
        await conn.execute(f'VACUUM ANALYZE "{schema}".document_chunks')
        print(f"filled {filler.rows:,} chunks (vectors in the chunks' rows, as of 0005) in "
              f"{time.perf_counter() - began:.0f} s", flush=True)
        began = time.perf_counter()
        applied = await migrate(conn, schema, options.dimensions)
        took = time.perf_counter() - began
        moved = await conn.fetchval(f'SELECT count(*) FROM "{schema}".chunk_embeddings')
        toasted = await conn.fetchval(
            f'SELECT count(*) FROM "{schema}".chunk_embeddings '
            "WHERE pg_column_toast_chunk_id(embedding) IS NOT NULL")
        print(f"applied {', '.join(applied)} in {took:.1f} s "
              f"({took / filler.rows * 1e6 / 60:.1f} min per million chunks); "
              f"{moved:,} vectors moved, {toasted} of them out of line")
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
                        help="time migration 0006 on a table of --chunks instead")
    parser.add_argument("--explain", action="store_true",
                        help="print the plan of one search per member size")
    parser.add_argument("--modes", default=",".join(m.value for m in SearchMode),
                        help="the search modes to time, comma-separated")
    parser.add_argument("--booklet-words", type=int, default=0,
                        help="words each question's lay-terms expansion adds (default 0)")
    parser.add_argument("--dsn", default=None)
    a = parser.parse_args(argv)
    modes = tuple(SearchMode(m.strip()) for m in a.modes.split(",") if m.strip())
    return Options(a.chunks, a.steps, a.heavy, a.mid, a.typical, a.queries, a.ingest,
                   a.dimensions, a.migration, a.explain, a.dsn, modes, a.booklet_words)


def main(argv: list[str] | None = None) -> None:
    options = parse_args(argv)
    with database(options.dsn) as dsn:
        asyncio.run(run(options, dsn))


if __name__ == "__main__":
    main()
