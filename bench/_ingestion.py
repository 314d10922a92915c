"""Ingestion through the worker's own write path, ``writers`` documents at once
(``bench.search``), and a COPY of the same rows at the same concurrency.

The worker runs up to ``WORKER_CONCURRENCY`` jobs at once, each step on a pooled
connection of its own. Here ``writers`` writers do the same: each has its own
``PostgresJobQueue`` over a pool of one connection (so that each step's database CPU is
read from the one backend that ran it, ``/proc/PID/schedstat``) and writes one document
after another. They go in rounds: in each round every writer submits and claims a
document, then all of them run each step of their jobs at once (``finish_step``: the
chunk step inserts a document's 285 chunks in one statement, the embed step its 285
vectors in one statement), then each COPYs its document's rows (from a connection of its
own, all at once, into shared tables with the columns and storage of
``chunk_embeddings`` and ``document_chunks`` but no index, key, check or trigger: once
without a tsvector (the COPY parses no text), once with the tsvector a worker computes
(migration 0014: what the chunk step now writes, parsed as a tsvector literal), once
computing it in the database (a generated column, as the chunks had before 0014)), so
that the steps and the COPYs see the same load. ``keyword_index``: ``worker`` (the
default, as a worker with ``WORKER_INDEXES_KEYWORDS=true``) or ``database``. A step's
time is the wall time from the moment all writers start it until
the last one has finished: the writers wait for each other at every step (the worker's
jobs do not), which costs the steps a little idle time when one writer straggles, and
lines up every chunk step at once (the worker's jobs would mix chunk and embed steps).
With one writer this is the one worker, one document after another, of before.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import io
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import timedelta
from typing import Any, Protocol

import asyncpg
import attrs

from adapters.clock import SystemClock
from adapters.postgres.connection import connect, create_pool
from adapters.postgres.job_queue import PostgresJobQueue
from adapters.postgres.tsvector import english_tsvector
from bench._cpu import run_seconds
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
from entrypoints.settings.worker import WorkerSettings

MODEL = "text-embedding-3-small"
LEASE = timedelta(seconds=60)
CHUNKS_PER_DOCUMENT = 285
# the targets of issue 19, part 3
INGEST_TARGET = 4_000  # vectors/s, chunk and embed steps together
COPY_TARGET = 3.0  # at most this many times the time of a COPY of the same rows
#: The worker's default ``WORKER_CONCURRENCY``: the writers ``--writers`` defaults to.
DEFAULT_WRITERS: int = WorkerSettings.model_fields["worker_concurrency"].default
VECTOR_COLUMNS = ["chunk_id", "document_id", "user_id", "model", "embedding"]
CHUNK_COLUMNS = ["chunk_id", "document_id", "user_id", "ordinal", "text", "token_count"]


class Texts(Protocol):
    """The chunks' texts (bench/_texts.py): document ``number``'s ``chunks`` texts, each
    with its token count."""

    def document(self, number: int, chunks: int) -> list[tuple[str, int]]: ...


class Vectors(Protocol):
    """One document's vectors, a row per chunk (a numpy matrix, from bench/_vectors.py)."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Any]: ...


def writers_argument(value: str) -> int:
    """``--writers``: a whole number of at least 1."""
    try:
        count = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a whole number of writers, at least 1 (got {value!r})") from None
    if count < 1:
        raise argparse.ArgumentTypeError(
            f"must be at least 1: the ingestion needs a writer (got {count})")
    return count


def add_writers_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--writers", type=writers_argument, default=DEFAULT_WRITERS,
        help="documents the ingestion writes at once, each on a connection of its own "
             "(default: the worker's default WORKER_CONCURRENCY, "
             f"{DEFAULT_WRITERS}); 1: one worker, one document after another")


@attrs.frozen
class Ingestion:
    table_rows: int
    vectors: int
    embed_seconds: float
    chunk_seconds: float
    copy_vectors_seconds: float
    copy_chunks_seconds: float
    copy_chunks_tsvector_seconds: float  # the same rows into a table computing the tsvector
    #: the same rows with the tsvectors a worker computes (what the chunk step writes)
    copy_chunks_supplied_seconds: float = 0.0
    # the same, as the database backends' CPU seconds (waiting for a core not counted),
    # summed over the writers' backends
    chunk_cpu: float = 0.0
    embed_cpu: float = 0.0
    copy_vectors_cpu: float = 0.0
    copy_chunks_cpu: float = 0.0
    copy_chunks_tsvector_cpu: float = 0.0
    copy_chunks_supplied_cpu: float = 0.0
    writers: int = 1
    #: wall time of every round's submits, claims and steps (all of them, not only the
    #: chunk and embed steps), the COPYs left out
    job_seconds: float = 0.0
    documents: int = 0
    #: the benchmark process's CPU seconds in the chunk and the embed steps (the
    #: worker's side of the statements; it shares the machine's cores with PostgreSQL)
    chunk_client_cpu: float = 0.0
    embed_client_cpu: float = 0.0

    @property
    def both(self) -> float:
        """Vectors/s of the chunk and embed steps together (``writers`` at once)."""
        return self.vectors / (self.embed_seconds + self.chunk_seconds)

    @property
    def copy_ratio(self) -> float:
        """The steps' time over a COPY of their rows into tables with no index, key,
        check or generated column (the COPY parses no text)."""
        return (self.embed_seconds + self.chunk_seconds) / (
            self.copy_vectors_seconds + self.copy_chunks_seconds)

    @property
    def copy_supplied_ratio(self) -> float:
        """The same, against a COPY of the same rows with the worker's tsvectors: the
        rows the steps write."""
        return (self.embed_seconds + self.chunk_seconds) / (
            self.copy_vectors_seconds + self.copy_chunks_supplied_seconds)

    @property
    def copy_tsvector_ratio(self) -> float:
        """The same, against a COPY into tables that compute the chunks' tsvector."""
        return (self.embed_seconds + self.chunk_seconds) / (
            self.copy_vectors_seconds + self.copy_chunks_tsvector_seconds)


@attrs.frozen
class Writer:
    """One writer: its job queue over a pool of one connection, and a connection for its
    COPYs, with the backends' process ids their CPU is read from."""

    queue: PostgresJobQueue
    pool: asyncpg.Pool
    step_backend: int
    copy: asyncpg.Connection
    copy_backend: int


async def open_writers(dsn: str, schema: str, count: int, dimensions: int,
                       register: Callable[[asyncpg.Connection], Awaitable[None]],
                       keyword_index: str = "worker") -> list[Writer]:
    """``count`` writers; ``register`` readies a plain connection for binary COPY of
    vectors; ``keyword_index``: who computes the chunks' tsvectors, ``worker`` or
    ``database``."""
    if count < 1:
        raise ValueError(f"writers must be at least 1, got {count}")
    writers: list[Writer] = []
    try:
        for _ in range(count):
            pool = await create_pool(dsn, schema, min_size=1, max_size=1)
            copy = await connect(dsn)
            writers.append(Writer(
                PostgresJobQueue(pool, SystemClock(), schema, vector_dimension=dimensions,
                                 worker_indexes_keywords=keyword_index == "worker"),
                pool, await pool.fetchval("SELECT pg_backend_pid()"), copy,
                await copy.fetchval("SELECT pg_backend_pid()")))
            await register(copy)
    except BaseException:
        await close_writers(writers)
        raise
    return writers


async def close_writers(writers: Sequence[Writer]) -> None:
    for writer in writers:
        await writer.pool.close()
        await writer.copy.close()


@attrs.define
class _Timed:
    """Wall seconds, database CPU seconds and the benchmark process's own CPU seconds
    (the worker's side: building and encoding the statements) of one kind of work,
    summed over rounds."""

    seconds: float = 0.0
    cpu: float = 0.0
    client: float = 0.0

    async def run(self, backends: Sequence[int], work: Sequence[Awaitable[object]]
                  ) -> list[object]:
        """``work`` all at once; its wall time, and the CPU of ``backends``."""
        before = [run_seconds(pid) for pid in backends]
        began, began_client = time.perf_counter(), time.process_time()
        results = await asyncio.gather(*work)
        self.seconds += time.perf_counter() - began
        self.client += time.process_time() - began_client
        self.cpu += sum(run_seconds(pid) - b for pid, b in zip(backends, before, strict=True))
        return list(results)


def _chunks_for(lease: Lease, written: list[tuple[str, int]]) -> tuple[Chunk, ...]:
    job = lease.job
    return tuple(
        Chunk(uuid.uuid5(job.document_id, str(i)), job.document_id, job.user_id, i, text,
              tokens, ("Benefits",), 1 + i, 0, len(text), "bench")
        for i, (text, tokens) in enumerate(written))


def _floats(row: Any) -> list[float]:
    """A vector as a list (a numpy row's ``tolist``, the fastest way out of numpy)."""
    return row.tolist() if hasattr(row, "tolist") else list(row)


def _output(status: JobStatus, chunks: tuple[Chunk, ...], vectors: Vectors) -> StepOutput:
    if status is JobStatus.PARSING:
        return StepOutput(parsed=ParsedDocument([ParsedPage(1, "# Policy")], "bench"))
    if status is JobStatus.CHUNKING:
        return StepOutput(chunks=chunks)
    if status is JobStatus.EMBEDDING_IN_PROGRESS:
        return StepOutput(vectors=tuple(
            ChunkVector(c.chunk_id, _floats(v), MODEL) for c, v in zip(chunks, vectors,
                                                                      strict=True)
        ), embedding_tokens=sum(c.token_count for c in chunks))
    return StepOutput()


#: How often a writer claims again when its claim found nothing (see ``_start``).
CLAIM_ATTEMPTS = 100


async def _start(writer: Writer, user: str) -> Lease:
    """Submit a document and claim a job: with writers claiming at once, it may be
    another writer's document; its steps are written for whichever was claimed.

    There is a job for every writer, but one claim can still find none: a claim sees
    only jobs available at its own ``now``, so while another writer's claim holds this
    writer's job (``SKIP LOCKED``), a job submitted after this claim's ``now`` is not
    yet visible to it. Claiming again, with a new ``now``, finds the one left."""
    clock = SystemClock()
    document_id = uuid.uuid4()
    sha = hashlib.sha256(document_id.bytes).hexdigest()
    document = Document(document_id, user, "policy.pdf", MediaType.PDF, 1000, sha,
                        blob_key_for(user, document_id), clock.now())
    await writer.queue.submit(document, Job.new(uuid.uuid4(), document_id, user, clock.now()))
    for _ in range(CLAIM_ATTEMPTS):
        leases = await writer.queue.claim("bench-ingest", 1, LEASE)
        if leases:
            return leases[0]
        await asyncio.sleep(0.001)
    raise RuntimeError(f"a writer claimed no job in {CLAIM_ATTEMPTS} attempts although "
                       "every writer had submitted one")


async def ingest(writers: Sequence[Writer], conn: asyncpg.Connection, schema: str,
                 documents: Sequence[Vectors], texts: Texts, member: int,
                 table_rows: int) -> Ingestion:
    """``documents`` (each one's vectors) through the worker's write path,
    ``len(writers)`` documents at once, then the same rows by COPY, as many at once."""
    user = f"ingest-{member:06d}"
    chunk, embed, other = _Timed(), _Timed(), _Timed()
    jobs = 0.0  # wall seconds of the rounds' submits, claims and steps
    copies = {"vectors": _Timed(), "chunks": _Timed(), "tsvector": _Timed(),
              "supplied": _Timed()}
    plain = {"vectors": await plain_table(conn, schema, "chunk_embeddings"),
             "chunks": await plain_table(conn, schema, "document_chunks"),
             "tsvector": await plain_table(conn, schema, "document_chunks", tsvector=True),
             "supplied": await plain_table(conn, schema, "document_chunks", suffix="supplied")}
    for first in range(0, len(documents), len(writers)):
        batch = documents[first:first + len(writers)]
        active = writers[:len(batch)]
        began = time.perf_counter()
        started = await asyncio.gather(*(_start(w, user) for w in active))
        chunks = [_chunks_for(lease, texts.document(member * 1000 + first + n, len(v)))
                  for n, (lease, v) in enumerate(zip(started, batch, strict=True))]
        leases: list[Lease | None] = list(started)
        while any(lease is not None for lease in leases):
            statuses = {lease.job.status if lease else None for lease in leases}
            if len(statuses) != 1:
                raise RuntimeError(f"the writers' jobs fell out of step: {statuses}")
            status = next(iter(statuses))
            assert status is not None
            timed = (chunk if status is JobStatus.CHUNKING
                     else embed if status is JobStatus.EMBEDDING_IN_PROGRESS else other)
            moved = await timed.run([w.step_backend for w in active], [
                w.queue.finish_step(lease, _output(status, c, v), LEASE)
                for w, lease, c, v in zip(active, leases, chunks, batch, strict=True)
                if lease is not None])
            leases = [m if isinstance(m, Lease) else None for m in moved]
        jobs += time.perf_counter() - began
        # each round's rows are COPYed right after its steps, so both see the same load
        backends = [w.copy_backend for w in active]
        await copies["vectors"].run(backends, [
            _copy(w.copy, schema, plain["vectors"], [
                (c.chunk_id, c.document_id, c.user_id, MODEL, vector)
                for c, vector in zip(cs, v, strict=True)], VECTOR_COLUMNS)
            for w, cs, v in zip(active, chunks, batch, strict=True)])
        for kind in ("chunks", "tsvector"):
            await copies[kind].run(backends, [
                _copy(w.copy, schema, plain[kind], [
                    (c.chunk_id, c.document_id, c.user_id, c.ordinal, c.text, c.token_count)
                    for c in cs], CHUNK_COLUMNS)
                for w, cs in zip(active, chunks, strict=True)])
        # the worker's tsvectors, computed before the COPY's time starts; as CSV, which
        # asyncpg's binary COPY has no tsvector encoder for
        await copies["supplied"].run(backends, [
            _copy_csv(w.copy, schema, plain["supplied"], _csv([
                (c.chunk_id, c.document_id, c.user_id, c.ordinal, c.text, c.token_count,
                 english_tsvector(c.text)) for c in cs]), [*CHUNK_COLUMNS, "text_search"])
            for w, cs in zip(active, chunks, strict=True)])
    for table in plain.values():
        await conn.execute(f'DROP TABLE "{schema}".{table}')
    return Ingestion(
        table_rows, sum(len(v) for v in documents), embed.seconds, chunk.seconds,
        copies["vectors"].seconds, copies["chunks"].seconds, copies["tsvector"].seconds,
        copies["supplied"].seconds,
        chunk.cpu, embed.cpu, copies["vectors"].cpu, copies["chunks"].cpu,
        copies["tsvector"].cpu, copies["supplied"].cpu, writers=len(writers), job_seconds=jobs,
        documents=len(documents), chunk_client_cpu=chunk.client,
        embed_client_cpu=embed.client)


@attrs.frozen
class FreeRun:
    """The write path with each writer on its own (:func:`free_running`)."""

    writers: int
    documents: int
    vectors: int
    seconds: float  # wall, from the first submit to the last document complete
    database_cpu: float  # the writers' backends
    client_cpu: float  # the benchmark process (the worker's side)

    @property
    def rate(self) -> float:
        return self.vectors / self.seconds


async def free_running(writers: Sequence[Writer], documents: Sequence[Vectors],
                       texts: Texts, member: int) -> FreeRun:
    """``documents`` through the worker's write path, each writer on its own: it takes
    the next document, submits it, claims a job and runs every step of it, then takes
    the next, without waiting for the others, as a worker's ``WORKER_CONCURRENCY`` jobs
    do (so one writer's chunk step meets another's embed step or its tsvectors being
    computed). Its wall time covers everything: submits, claims and all six steps."""
    user = f"ingest-{member:06d}"
    pending = iter(enumerate(documents))

    async def write(writer: Writer) -> None:
        for number, vectors in pending:  # shared: each document is taken once
            lease: Lease | None = await _start(writer, user)
            assert lease is not None
            chunks = _chunks_for(lease, texts.document(member * 1000 + number, len(vectors)))
            while lease is not None:
                moved = await writer.queue.finish_step(
                    lease, _output(lease.job.status, chunks, vectors), LEASE)
                lease = moved if isinstance(moved, Lease) else None

    backends = [w.step_backend for w in writers]
    before = [run_seconds(pid) for pid in backends]
    began, began_client = time.perf_counter(), time.process_time()
    await asyncio.gather(*(write(w) for w in writers))
    seconds = time.perf_counter() - began
    client = time.process_time() - began_client
    cpu = sum(run_seconds(pid) - b for pid, b in zip(backends, before, strict=True))
    return FreeRun(len(writers), len(documents), sum(len(v) for v in documents), seconds,
                   cpu, client)


def free_running_line(run: FreeRun) -> str:
    per = 1000 / (run.vectors / CHUNKS_PER_DOCUMENT)  # ms per document of 285 chunks
    return (f"    each writer on its own ({run.writers} at once, {run.documents} documents): "
            f"{run.rate:7,.0f} vectors/s (all vectors / wall time of everything: submits, "
            f"claims, every step); per document: database CPU {run.database_cpu * per:5.1f} "
            f"ms, the benchmark's own CPU {run.client_cpu * per:5.1f} ms; cores busy "
            f"{(run.database_cpu + run.client_cpu) / run.seconds:4.2f} "
            f"(target >= {INGEST_TARGET:,}: {verdict(run.rate >= INGEST_TARGET)})")


async def plain_table(conn: asyncpg.Connection, schema: str, like: str,
                      tsvector: bool = False, suffix: str = "") -> str:
    """A table with ``like``'s columns and storage but no index, key, check, trigger or
    generated column: the floor the worker's write of the same rows is measured against.
    With ``tsvector`` (``document_chunks`` only), ``text_search`` is generated from the
    text, as before migration 0014 (computed as the rows are COPYed)."""
    table = f"plain_{like}" + ("_tsvector" if tsvector else "") + (f"_{suffix}" if suffix else "")
    await conn.execute(f'DROP TABLE IF EXISTS "{schema}".{table}')
    await conn.execute(
        f'CREATE TABLE "{schema}".{table} (LIKE "{schema}".{like} '
        "INCLUDING DEFAULTS INCLUDING STORAGE)")
    if tsvector:
        await conn.execute(
            f'ALTER TABLE "{schema}".{table} DROP COLUMN text_search, ADD COLUMN text_search '
            "tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, text)) STORED")
        return table
    generated = await conn.fetch(
        "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass "
        "AND attgenerated <> '' AND NOT attisdropped", f'"{schema}".{like}')
    for row in generated:  # LIKE without INCLUDING GENERATED: a plain column; not written
        await conn.execute(f'ALTER TABLE "{schema}".{table} DROP COLUMN {row["attname"]}')
    return table


async def _copy(conn: asyncpg.Connection, schema: str, table: str,
                rows: list[tuple[object, ...]], columns: list[str]) -> None:
    """One document's rows in one COPY, as a step writes them at once."""
    await conn.copy_records_to_table(table, schema_name=schema, records=rows, columns=columns)


def _csv(rows: list[tuple[object, ...]]) -> bytes:
    """Rows as CSV (None is NULL), made before the COPY's time starts."""
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


async def _copy_csv(conn: asyncpg.Connection, schema: str, table: str, data: bytes,
                    columns: list[str]) -> None:
    """One document's rows in one COPY of CSV."""
    await conn.copy_to_table(table, schema_name=schema, source=io.BytesIO(data),
                             columns=columns, format="csv")


def ingestion_lines(result: Ingestion) -> list[str]:
    embed = result.vectors / result.embed_seconds
    chunk = result.vectors / result.chunk_seconds
    copy_vectors = result.vectors / result.copy_vectors_seconds
    copy_both = result.vectors / (result.copy_vectors_seconds + result.copy_chunks_seconds)
    copy_supplied = result.vectors / (result.copy_vectors_seconds
                                      + result.copy_chunks_supplied_seconds)
    copy_tsvector = result.vectors / (result.copy_vectors_seconds
                                      + result.copy_chunks_tsvector_seconds)
    per = 1000 / (result.vectors / CHUNKS_PER_DOCUMENT)  # ms per document of 285 chunks
    steps = result.chunk_cpu + result.embed_cpu
    lines = [
        f"  table {result.table_rows:>9,} chunks: chunk step {chunk:7,.0f} vectors/s, "
        f"embed step {embed:7,.0f} /s (COPY of its rows {copy_vectors:7,.0f} /s, "
        f"{copy_vectors / embed:4.2f}x); chunk+embed steps {result.both:7,.0f} /s, "
        f"COPY of their rows {copy_both:7,.0f} /s ({result.copy_ratio:4.2f}x), "
        f"with the worker's tsvector {copy_supplied:7,.0f} /s "
        f"({result.copy_supplied_ratio:4.2f}x), "
        f"with the tsvector computed {copy_tsvector:7,.0f} /s "
        f"({result.copy_tsvector_ratio:4.2f}x)",
        f"    database CPU per document: chunk step {result.chunk_cpu * per:6.1f} ms, "
        f"embed step {result.embed_cpu * per:6.1f} ms; COPY of the vectors "
        f"{result.copy_vectors_cpu * per:5.1f} ms, of the chunks "
        f"{result.copy_chunks_cpu * per:5.1f} ms, with the worker's tsvector "
        f"{result.copy_chunks_supplied_cpu * per:5.1f} ms, computing the tsvector "
        f"{result.copy_chunks_tsvector_cpu * per:5.1f} ms; steps / COPY "
        f"{steps / (result.copy_vectors_cpu + result.copy_chunks_cpu):4.2f}x, with the "
        f"tsvector {steps / (result.copy_vectors_cpu + result.copy_chunks_tsvector_cpu):4.2f}x",
    ]
    if result.job_seconds:
        lines.append(
            f"    overall, {result.writers} writer{'s' if result.writers > 1 else ''} "
            f"at once, {result.documents} documents: {result.vectors / result.job_seconds:7,.0f}"
            f" vectors/s (all vectors / wall time of the whole ingestion: submits, claims, "
            f"every step; the COPYs of the comparison left out); database cores busy in "
            f"the chunk steps "
            f"{result.chunk_cpu / result.chunk_seconds:4.2f}, in the embed steps "
            f"{result.embed_cpu / result.embed_seconds:4.2f}; the benchmark's own CPU "
            f"(the worker's side) per document: chunk step "
            f"{result.chunk_client_cpu * per:5.1f} ms, embed step "
            f"{result.embed_client_cpu * per:5.1f} ms")
    return lines


def print_ingestion(result: Ingestion) -> None:
    for line in ingestion_lines(result):
        print(line, flush=True)


def verdict(met: bool) -> str:
    return "met" if met else "not met"


def target_line(result: Ingestion) -> str:
    """Issue 19 part 3, from the figures of the last (largest) table size."""
    return (f"  target at {result.table_rows:,} chunks, {result.writers} writer"
            f"{'s' if result.writers > 1 else ''} at once: chunk+embed {result.both:,.0f} "
            f"vectors/s (target >= {INGEST_TARGET:,}: {verdict(result.both >= INGEST_TARGET)}); "
            f"{result.copy_ratio:.2f}x a COPY without the tsvector "
            f"(target <= {COPY_TARGET:g}x: {verdict(result.copy_ratio <= COPY_TARGET)}), "
            f"{result.copy_supplied_ratio:.2f}x a COPY with the worker's tsvector "
            f"({verdict(result.copy_supplied_ratio <= COPY_TARGET)}), "
            f"{result.copy_tsvector_ratio:.2f}x a COPY computing it "
            f"({verdict(result.copy_tsvector_ratio <= COPY_TARGET)}), "
            f"{result.writers} COPY{'s' if result.writers > 1 else ''} at once")

