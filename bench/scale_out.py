"""Benchmark: the worker fleet scaled out: the same documents drained by 1, 2 and 4
``navigator worker`` processes.

Run from the repository root::

    .venv/bin/python -m bench.scale_out [--docs 200] [--workers 1,2,4] [--big-every 10]
                                        [--concurrency 4] [--runs 1]

The documents are copies of the corpus's PDFs (``$NAVIGATOR_CORPUS_DIR``), each made
distinct by a PDF comment added after its end, so the member's dedupe keeps every
one: one in every ``--big-every`` is the 232-page Evidence of Coverage
(``scan_classic_hmo.pdf``), the others the one-page policy
(``simulated_insurance_document.pdf``), the mix of a member's file cabinet (many
one-page notices, now and then a booklet). They belong to 20 members in turn.

For each fleet size, on the embedded PostgreSQL server (started once), in a fresh
migrated schema: start that many ``navigator worker`` processes (the local parser,
the hashing embedder at 1,536 dimensions, ``WORKER_CONCURRENCY=--concurrency``
each), wait until all are registered and idle, then submit every document through
the upload use case (file, document, job and notice in one transaction, as the API
does) and wait until every job is complete. The time runs from the first
submission to the last job's ``complete`` event. It prints documents/s, pages/s,
and the CPU seconds the workers and PostgreSQL spent per document, then the
speed-up over one worker. A failed job stops the benchmark.

``--docs 20`` makes a quick run (two booklets). Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs

from adapters.postgres.connection import connect
from adapters.postgres.embedded import EmbeddedPostgres
from bench._cpu import postmaster_of, process_tree_cpu
from bench._db import drop_schema, fresh_schema
from domain.model import Submission
from domain.status import JobStatus
from entrypoints.container import Container, build_container, running
from entrypoints.settings import load_settings
from tests.corpus import corpus_bytes
from tests.e2e.conftest import navigator_command

BIG, SMALL = "scan_classic_hmo.pdf", "simulated_insurance_document.pdf"
MEMBERS = 20
DIMENSIONS = 1536
SECRET = "bench-scale-out-" + "3a" * 22


@attrs.frozen
class Drain:
    workers: int
    documents: int
    pages: int
    seconds: float
    cpu_workers: float
    cpu_postgres: float

    @property
    def documents_per_second(self) -> float:
        return self.documents / self.seconds

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds


def documents(count: int, big_every: int) -> list[tuple[str, str, bytes]]:
    """(member, file name, bytes) of every document, each with bytes of its own."""
    sources = {name: corpus_bytes(name) for name in (BIG, SMALL)}
    made = []
    for number in range(count):
        name = BIG if big_every and number % big_every == 0 else SMALL
        data = sources[name] + f"\n%navigator-bench copy {number}\n".encode()
        made.append((f"bench-member-{number % MEMBERS:02d}", f"{number:03d}-{name}", data))
    return made


@contextmanager
def worker_fleet(size: int, env: dict[str, str], logs: Path) -> Iterator[list[int]]:
    """``size`` ``navigator worker`` processes; yields their pids, stops them after."""
    processes = []
    try:
        for number in range(size):
            with (logs / f"worker-{number}.log").open("wb") as out:
                processes.append(subprocess.Popen([*navigator_command(), "worker"], env=env,
                                                  stdout=out, stderr=subprocess.STDOUT))
        yield [p.pid for p in processes]
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def drain(dsn: str, postmaster: int, size: int, docs: list[tuple[str, str, bytes]],
                concurrency: int, work: Path) -> Drain:
    schema = await fresh_schema(dsn, DIMENSIONS)
    base = {key: value for key, value in os.environ.items()
            if not key.startswith(("DATABASE_", "SUPABASE_", "FILE_STORE", "S3_", "NAVIGATOR_",
                                   "OPENAI_", "ANTHROPIC_", "LLAMAPARSE_", "OTEL_", "WORKER_"))}
    env = {**base, "DATABASE_URL": dsn, "DATABASE_SCHEMA": schema,
           "NAVIGATOR_HOME": str(work / "home"), "SUPABASE_JWT_SECRET": SECRET,
           "RAG_VECTOR_DIMENSION": str(DIMENSIONS), "WORKER_CONCURRENCY": str(concurrency),
           "LOG_LEVEL": "WARNING", "WORKER_LOG_LEVEL": "WARNING"}
    settings = load_settings(env)
    container = build_container(settings, dsn)
    try:
        async with running(container):
            with worker_fleet(size, env, work) as pids:
                registry = container.worker_registry()
                deadline = time.monotonic() + 180
                while len(await registry.live(timedelta(minutes=5))) < size:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{size} workers did not register:\n{_tails(work)}")
                    await asyncio.sleep(0.2)
                cpu_before = sum(process_tree_cpu(pid) for pid in pids)
                pg_before = process_tree_cpu(postmaster)
                began = datetime.now(UTC)
                submit = container.submit_upload()
                submitted = [await submit(member, name, data) for member, name, data in docs]
                submit_seconds = (datetime.now(UTC) - began).total_seconds()
                queue = container.job_queue()
                while True:
                    counts = await queue.counts()
                    if counts[JobStatus.FAILED]:
                        raise RuntimeError(f"{counts[JobStatus.FAILED]} jobs failed:\n"
                                           f"{_tails(work)}")
                    if counts[JobStatus.COMPLETE] == len(docs):
                        break
                    await asyncio.sleep(0.25)
                cpu_workers = sum(process_tree_cpu(pid) for pid in pids) - cpu_before
                cpu_postgres = process_tree_cpu(postmaster) - pg_before
            finished = await _last_completion(dsn, schema)
            pages = await _pages(container, submitted)
    finally:
        await drop_schema(dsn, schema)
    seconds = (finished - began).total_seconds()
    print(f"  {size} worker(s): submitted in {submit_seconds:.1f} s, drained in {seconds:.1f} s",
          file=sys.stderr, flush=True)
    return Drain(size, len(docs), pages, seconds, cpu_workers, cpu_postgres)


def _tails(logs: Path) -> str:
    return "\n".join(log.read_text()[-2000:] for log in sorted(logs.glob("*.log")))


async def _last_completion(dsn: str, schema: str) -> datetime:
    conn = await connect(dsn)
    try:
        found: datetime = await conn.fetchval(
            f'SELECT max(at) FROM "{schema}".job_events WHERE to_status = \'complete\'')
        return found
    finally:
        await conn.close()


async def _pages(container: Container, submitted: list[Submission]) -> int:
    """Pages of every document (the copies of one source parse alike: counted once)."""
    documents = container.documents()
    per_source: dict[str, int] = {}
    total = 0
    for submission in submitted:
        document = submission.document
        source = document.filename.split("-", 1)[1]
        if source not in per_source:
            per_source[source] = len((await documents.parsed(document.document_id)).pages)
        total += per_source[source]
    return total


async def main_async(args: argparse.Namespace) -> int:
    docs = documents(args.docs, args.big_every)
    with tempfile.TemporaryDirectory(prefix="navigator-bench-scale-out-") as tmp:
        work = Path(tmp)
        print("starting the embedded PostgreSQL server ...", file=sys.stderr, flush=True)
        server = EmbeddedPostgres(work / "pgdata")
        dsn = server.start()
        try:
            postmaster = postmaster_of(work / "pgdata")
            results: dict[int, list[Drain]] = {size: [] for size in args.workers}
            for run in range(args.runs):
                for size in args.workers:
                    logs = work / f"run-{run}-workers-{size}"
                    logs.mkdir()
                    results[size].append(
                        await drain(dsn, postmaster, size, docs, args.concurrency, logs))
        finally:
            server.stop()
    pages = results[args.workers[0]][0].pages
    print(f"\n{args.docs} documents ({pages:,} pages; one in {args.big_every} the 232-page "
          f"booklet), {MEMBERS} members, WORKER_CONCURRENCY={args.concurrency} per "
          f"process, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at the end; "
          f"median of {args.runs} run(s):")
    print("  workers  documents/s  pages/s  speed-up  CPU s/doc: workers  postgres")
    first = statistics.median(d.documents_per_second for d in results[args.workers[0]])
    for size, drains in results.items():
        per_second = statistics.median(d.documents_per_second for d in drains)
        print(f"  {size:7d}  {per_second:11.2f}  "
              f"{statistics.median(d.pages_per_second for d in drains):7.1f}  "
              f"{per_second / first:7.2f}x  "
              f"{statistics.median(d.cpu_workers / d.documents for d in drains):17.3f}  "
              f"{statistics.median(d.cpu_postgres / d.documents for d in drains):8.3f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale_out", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=200, help="documents (default 200)")
    parser.add_argument("--workers", default="1,2,4",
                        help="fleet sizes, comma-separated (default 1,2,4)")
    parser.add_argument("--big-every", type=int, default=10,
                        help="one document in this many is the 232-page booklet (default "
                             "10; 0 for none)")
    parser.add_argument("--concurrency", type=int, default=4,
                        help="WORKER_CONCURRENCY of each process (default 4)")
    parser.add_argument("--runs", type=int, default=1, help="runs of every size (default 1)")
    args = parser.parse_args(argv)
    try:
        args.workers = [int(n) for n in args.workers.split(",") if n.strip()]
    except ValueError:
        parser.error("--workers takes sizes like 1,2,4")
    if not args.workers or min(args.workers) < 1 or args.docs < 1 or args.runs < 1 \
            or args.big_every < 0 or args.concurrency < 1:
        parser.error("--docs, --runs, --concurrency and every size must be at least 1")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
