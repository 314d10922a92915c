"""Benchmark: member-scoped vector search and vector ingestion on a growing table.

Run from the repository root (numpy comes with the ``bench`` extra)::

    .venv/bin/python -m bench.search [--chunks 100000] [--steps 3] [--heavy 10000]
        [--mid 3000] [--typical 330] [--queries 200] [--ingest 3000] [--dimensions 1536]
        [--text corpus|synthetic] [--profile] [--until N] [--gin PARAMETERS]
        [--modes hybrid,keyword,vector] [--booklet-words 0]
        [--writers N] [--keyword-index worker|database]
        [--explain] [--migration] [--dsn postgresql://...]

On the embedded PostgreSQL (a temporary data directory, default durability) or
``--dsn``, in a fresh schema with every migration applied (``--until N``: those
numbered below N, e.g. 12 for the schema before the contract step; ``--gin``: storage
parameters set on the member GIN index of keyword search):

1. **the table grows** to ``--chunks`` in ``--steps`` steps, by COPY, in members of
   ``--typical`` chunks, plus one member of ``--heavy`` and one of ``--mid`` chunks;
   documents of 285 chunks (the 232-page policy) land in shuffled order, members
   interleaved, every document complete. Vectors: bench/_vectors.py (clustered,
   distinct). Chunk texts (bench/_texts.py, ``--text``): by default the product's own
   chunks of the corpus's booklet and one-page policy, each document's made distinct by
   a word of its own; ``synthetic``, the earlier invented words.
2. **ingestion** at each size (bench/_ingestion.py): ``--ingest`` vectors through the
   worker's own write path (``PostgresJobQueue.finish_step``: the chunk step inserts a
   document's 285 chunks in one statement, the embed step writes their 285 vectors in
   one statement), ``--writers`` documents at once (default: the worker's default
   ``WORKER_CONCURRENCY``; 1: one worker, one document after another), each writer on a
   pooled connection of its own, one document after another, each step timed apart (from
   the moment all writers start it until the last has finished). After each round of
   documents, **a COPY of the same rows**, as many at once: one COPY per step's rows (as
   a step writes them at once), from a connection of each writer's, into tables with the
   columns and storage of ``chunk_embeddings`` and ``document_chunks`` but no index,
   key, check or trigger: once into a chunks table without a tsvector (the COPY parses
   no text), once with the tsvectors the worker computes (the rows the chunk step writes
   since migration 0014), once into one that computes it (``to_tsvector`` of every
   chunk, as the chunk step did before 0014). Interleaved, so that all see the same load
   on a shared machine. ``--keyword-index``: who computes the chunks' tsvectors in the
   chunk step, the ``worker`` (default, as ``WORKER_INDEXES_KEYWORDS=true``) or the
   ``database``. Prints vectors/s of the chunk step, of the embed step against the COPY
   of its rows, and of both steps against the COPY of both, with the ratios, the
   database CPU per document (summed over the writers' backends) and the overall rate
   (all vectors over the wall time of the whole ingestion). Then as many vectors again
   with **each writer on its own** (``free_running``): a writer takes the next document
   and runs all its steps without waiting for the others, as a worker's concurrent jobs
   do; its rate covers everything (submits, claims, all six steps), with the database's
   and the benchmark's own CPU per document. Then the issue's targets at
   the final size (>= 4,000 vectors/s for both steps, within 3x of the COPY) with met or
   not met, and the writers they were measured with. ``--profile``: one document's chunk
   INSERT broken down on the final table (bench/_chunk_profile.py).
3. **search** at the final size: ``--queries`` queries per member size (typical
   members: spread over 20 of them), each through ``PostgresDocumentRepository.search``
   in vector mode (the product's call, threshold 0.3, 10 chunks), timed from the client;
   p50, p95, p99 and recall@10 against an exact answer computed in numpy from the same
   vectors with the same threshold; and the CPU time the PostgreSQL backend spent per
   query (from /proc: a figure other work on a shared machine does not inflate as much
   as it inflates the wall-clock latencies). Every search carries a three-word question
   of the chunks' vocabulary (the product always sends the question: it is marked in
   each returned chunk's highlight, in every mode). Then the same in hybrid and keyword
   mode (no recall: there is no exact keyword answer to compare with); which indexes of
   the chunks the searches scanned; and the hybrid targets (p95 < 15 ms typical, < 50 ms
   for a member of 10,000 chunks) with met or not met.

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

from adapters.postgres.connection import connect, create_pool, vector_schema
from adapters.postgres.documents import PostgresDocumentRepository
from adapters.postgres.migrations import migrate, migrations_source
from bench._chunk_profile import profile_chunk_insert
from bench._db import database, drop_schema
from bench._ingestion import (
    DEFAULT_WRITERS,
    add_writers_argument,
    close_writers,
    free_running,
    free_running_line,
    ingest,
    open_writers,
    print_ingestion,
    target_line,
)
from bench._texts import CorpusTexts, SyntheticTexts, texts_of
from bench._vectors import EmbeddingSpace, Matrix, exact_top
from domain.hybrid import SearchMode
from domain.uploads import blob_key_for

MODEL = "text-embedding-3-small"
THRESHOLD = 0.3
LIMIT = 10
LEASE = timedelta(seconds=60)
VECTORS_TABLE_MIGRATION = 6  # the migration --migration times
Texts = CorpusTexts | SyntheticTexts
# the targets of issue 19, part 2 (part 3's: bench/_ingestion.py)
HYBRID_TYPICAL_TARGET = 15.0  # ms, p95
HYBRID_HEAVY_TARGET = 50.0  # ms, p95, a member of 10,000 chunks


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
    text: str = "corpus"
    profile: bool = False
    until: int | None = None  # apply only the migrations before this one
    gin: str = ""  # storage parameters for the member GIN index, e.g. "fastupdate = off"
    #: Words of the chunks' vocabulary each question's expansion adds (the lay-terms
    #: glossary's booklet words: a question in a member's own words gets ~5-10).
    booklet_words: int = 0
    #: Documents written at once by the ingestion (the worker's jobs at once).
    writers: int = DEFAULT_WRITERS
    #: who computes the chunks' tsvectors in the chunk step: "worker" or "database"
    keyword_index: str = "worker"


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


def verdict(met: bool) -> str:
    return "met" if met else "not met"


# -- filling the table by COPY ----------------------------------------------------------


class Filler:
    """Adds members to the tables by COPY; keeps the vectors of the members it is told
    to. ``vectors_in_chunks``: the layout before migration 0006 (the vector in the
    chunk's row) instead of ``chunk_embeddings``."""

    def __init__(self, conn: asyncpg.Connection, schema: str, space: EmbeddingSpace,
                 texts: Texts, vectors_in_chunks: bool = False) -> None:
        self._conn, self._schema, self._space, self._texts = conn, schema, space, texts
        self._rng = np.random.default_rng(17)
        self._vectors_in_chunks = vectors_in_chunks
        self.rows = 0
        self._documents = 0  # each document's text is its own

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
            texts = self._texts.document(self._documents, len(vectors))
            self._documents += 1
            for ordinal, (vector, (text, tokens)) in enumerate(zip(vectors, texts,
                                                                   strict=True)):
                chunk_id = uuid.uuid5(document_id, str(ordinal))
                chunks.append((chunk_id, document_id, member.user_id, ordinal, text, tokens))
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


# -- search -----------------------------------------------------------------------------


def _backend_cpu(pid: int) -> float:
    """CPU seconds a PostgreSQL backend on this machine has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def search(repository: PostgresDocumentRepository, pool: asyncpg.Pool,
                 space: EmbeddingSpace, texts: Texts, members: list[Member], queries: int,
                 label: str, mode: SearchMode = SearchMode.VECTOR,
                 booklet_words: int = 0) -> float:
    """Client-timed searches; recall@10 against the exact vector answer (vector mode).
    Returns the p95 in milliseconds."""
    latencies: list[float] = []
    recalls: list[float] = []
    per_member = max(1, queries // len(members))
    pid = await pool.fetchval("SELECT pg_backend_pid()")  # the pool's one connection
    server_cpu = _backend_cpu(pid)
    for member in members:
        vectors = np.vstack(member.documents)
        for query in space.queries(member.number, vectors, per_member, seed=3):
            text = texts.question(len(latencies))  # the product always sends the question
            # the lay-terms glossary's booklet words, when the bench is asked for them
            expansion = (texts.question(len(latencies) + 1_000_000, booklet_words)
                         if booklet_words else "")
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
    return percentile(ms, 95)


async def explain(pool: asyncpg.Pool, repository: PostgresDocumentRepository,
                  space: EmbeddingSpace, texts: Texts, member: Member,
                  mode: SearchMode) -> None:
    """The plan PostgreSQL runs for one of the member's queries, with its timings."""
    query = space.queries(member.number, np.vstack(member.documents), 2, seed=5)[1]
    sql, arguments = repository.search_statement(
        member.user_id, Vector(query.tolist()), MODEL, THRESHOLD, LIMIT, text=texts.question(0),
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
    texts = texts_of(options.text)
    conn = await connect(dsn)
    await _migrate(conn, schema, options)
    pool = await create_pool(dsn, schema, min_size=1, max_size=1)
    try:
        await _register(conn)
        filler = Filler(conn, schema, space, texts)
        writers = await open_writers(dsn, schema, options.writers, options.dimensions,
                                     _register, options.keyword_index)
        print(f"ingestion ({options.writers} writer{'s' if options.writers > 1 else ''} at "
              "once, each one document after another, 285 chunks per statement, as the "
              f"worker writes them; {texts.kind} text; tsvectors computed by the "
              f"{options.keyword_index}):")
        try:
            r = await ingest(writers, conn, schema, space.documents(900_000, options.ingest),
                             texts, 900_000, 0)
            print_ingestion(r)
            batches = np.array_split(np.arange(len(members)), options.steps)
            for step, batch in enumerate(batches):
                began = time.perf_counter()
                await filler.add([members[i] for i in batch], keep)
                took = time.perf_counter() - began
                for table in ("document_chunks", "chunk_embeddings"):
                    await conn.execute(f'VACUUM ANALYZE "{schema}".{table}')
                print(f"  (filled to {filler.rows:,} chunks by COPY in {took:.0f} s)",
                      flush=True)
                r = await ingest(writers, conn, schema,
                                 space.documents(900_001 + step, options.ingest), texts,
                                 900_001 + step, filler.rows)
                print_ingestion(r)
                free = await free_running(writers, space.documents(900_101 + step,
                                                                    options.ingest),
                                          texts, 900_101 + step)
                print(free_running_line(free), flush=True)
        finally:
            await close_writers(writers)
        print(target_line(r), flush=True)
        if options.profile:
            await profile_chunk_insert(conn, schema, texts.document(1, 285),
                                       sampled[-1].user_id, texts.question(0))
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
        scans = await _index_scans(conn, schema)
        p95: dict[tuple[str, SearchMode], float] = {}
        for mode in options.modes:
            await search(repository, pool, space, texts, [warm], 20,
                         "(warm-up, not counted)", mode)
            for chosen, label in sizes:
                p95[label, mode] = await search(repository, pool, space, texts, chosen,
                                                options.queries, f"{label}, {mode}", mode,
                                                options.booklet_words)
        used = {name: n - scans.get(name, 0)
                for name, n in (await _index_scans(conn, schema)).items()}
        print("  index scans of document_chunks during the searches: "
              + ", ".join(f"{name} {n:,}" for name, n in sorted(used.items())), flush=True)
        if SearchMode.HYBRID in options.modes:
            typical = p95[sizes[0][1], SearchMode.HYBRID]
            heavy = p95[sizes[-1][1], SearchMode.HYBRID]
            print(f"  target at {filler.rows:,} chunks: hybrid p95 typical {typical:.1f} ms "
                  f"(target < {HYBRID_TYPICAL_TARGET:g} ms: "
                  f"{verdict(typical < HYBRID_TYPICAL_TARGET)}); {options.heavy:,} chunks "
                  f"{heavy:.1f} ms (target < {HYBRID_HEAVY_TARGET:g} ms for 10,000 chunks: "
                  f"{verdict(heavy < HYBRID_HEAVY_TARGET)})", flush=True)
        if options.explain:
            for member in (sampled[-1], members[0]):
                for mode in options.modes:
                    await explain(pool, repository, space, texts, member, mode)
    finally:
        await pool.close()
        await conn.close()
        await drop_schema(dsn, schema)


async def _migrate(conn: asyncpg.Connection, schema: str, options: Options) -> None:
    """Every migration (or those before ``--until``), then ``--gin`` on the member GIN."""
    if options.until is None:
        await migrate(conn, schema, options.dimensions)
    else:
        before = Path(tempfile.mkdtemp(prefix="navigator-bench-migrations-"))
        try:
            for path in migrations_source().glob("*.sql"):
                if int(path.name[:4]) < options.until:
                    shutil.copy(path, before / path.name)
            await migrate(conn, schema, options.dimensions, before)
        finally:
            shutil.rmtree(before, ignore_errors=True)
    if options.gin:
        await conn.execute(
            f'ALTER INDEX "{schema}".document_chunks_member_text_search SET ({options.gin})')
    indexes = await conn.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 "
        "AND tablename = 'document_chunks' ORDER BY indexname", schema)
    triggers = await conn.fetch(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal "
        "ORDER BY tgname", f'"{schema}".document_chunks')
    options_of = await conn.fetchval(
        "SELECT reloptions::text FROM pg_class WHERE oid = $1::regclass",
        f'"{schema}".document_chunks_member_text_search')
    print(f"schema: migrations {'all' if options.until is None else f'before {options.until:04d}'}"
          f"; document_chunks indexes {', '.join(r['indexname'] for r in indexes)}; "
          f"triggers {', '.join(r['tgname'] for r in triggers)}; member GIN options "
          f"{options_of or 'default'}", flush=True)


async def _index_scans(conn: asyncpg.Connection, schema: str) -> dict[str, int]:
    await conn.execute("SELECT pg_stat_force_next_flush()")
    rows = await conn.fetch(
        "SELECT indexrelname, idx_scan FROM pg_stat_user_indexes "
        "WHERE schemaname = $1 AND relname = 'document_chunks'", schema)
    return {r["indexrelname"]: r["idx_scan"] for r in rows}


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
        filler = Filler(conn, schema, space, texts_of(options.text), vectors_in_chunks=True)
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
    parser.add_argument("--text", choices=("corpus", "synthetic"), default="corpus",
                        help="chunk text: the product's chunks of the corpus (default) or "
                             "the earlier synthetic words (bench/_texts.py)")
    parser.add_argument("--profile", action="store_true",
                        help="after ingestion, break one document's chunk INSERT down "
                             "(tsvector, each index, each trigger; bench/_chunk_profile.py)")
    parser.add_argument("--until", type=int, default=None,
                        help="apply only the migrations numbered below this one")
    parser.add_argument("--gin", default="",
                        help="storage parameters for the member GIN index, e.g. "
                             "'fastupdate = off' or 'gin_pending_list_limit = 16384'")
    parser.add_argument("--booklet-words", type=int, default=0,
                        help="words each question's lay-terms expansion adds (default 0)")
    add_writers_argument(parser)
    parser.add_argument("--keyword-index", choices=("worker", "database"), default="worker",
                        help="who computes the chunks' tsvectors in the chunk step: the "
                             "worker (default, WORKER_INDEXES_KEYWORDS=true) or the "
                             "database (migration 0014's trigger)")
    parser.add_argument("--dsn", default=None)
    a = parser.parse_args(argv)
    modes = tuple(SearchMode(m.strip()) for m in a.modes.split(",") if m.strip())
    return Options(a.chunks, a.steps, a.heavy, a.mid, a.typical, a.queries, a.ingest,
                   a.dimensions, a.migration, a.explain, a.dsn, modes, a.text, a.profile,
                   a.until, a.gin, a.booklet_words, a.writers, a.keyword_index)



def main(argv: list[str] | None = None) -> None:
    options = parse_args(argv)
    with database(options.dsn) as dsn:
        asyncio.run(run(options, dsn))


if __name__ == "__main__":
    main()
