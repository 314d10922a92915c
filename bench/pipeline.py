"""Benchmark: the 232-page ``scan_classic_hmo.pdf`` from upload to complete.

Run from the repository root::

    .venv/bin/python -m bench.pipeline [--runs 3] [--dimensions 1536] [--file PATH]

What one run does, on the embedded PostgreSQL server (a temporary data directory,
started once for all runs), in a fresh schema per run, with the local parser and
the hashing embedder at ``--dimensions`` (1536 by default, the production size):

1. **upload**: ``POST /api/v1/documents`` through the real FastAPI app (in
   process, over an ASGI transport: multipart parsing, SHA-256, content sniffing,
   the blob written to disk, document + job + notice in one transaction);
2. **wake+claim**: the worker service (``navigator worker``'s, idle and
   listening) is woken by the upload's NOTIFY and claims the job; this figure is
   what is left of the total once the other steps are counted (notice, claim);
3. the worker's steps, each committed on its own: **parse** (pdfium, off the
   event loop), **validate**, **chunk**, **queue**, **embed** (vectors written
   to pgvector's HNSW index), **finalize**. The total ends when the worker
   leaves the job complete.

It prints every run, then the median of the runs for the whole and for each step.
Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import attrs
import httpx

from bench._db import database, drop_schema, fresh_schema
from domain.model import Job
from entrypoints.api.app import create_app
from entrypoints.container import build_container, running
from entrypoints.settings import load_settings
from entrypoints.tokens import mint_token

REPO = Path(__file__).resolve().parents[1]
DEFAULT_FILE = REPO.parent / "shared" / "corpus" / "scan_classic_hmo.pdf"
STEPS = ("upload", "wake+claim", "parse", "validate", "chunk", "queue", "embed", "finalize")
SECRET = "bench-secret-" + "0" * 40


@attrs.define
class Timings:
    steps: dict[str, float] = attrs.Factory(dict)
    total: float = 0.0
    chunks: int = 0
    pages: int = 0


async def one_run(dsn: str, home: Path, data: bytes, filename: str, dimensions: int) -> Timings:
    schema = await fresh_schema(dsn, dimensions)
    settings = load_settings({
        "DATABASE_URL": dsn, "DATABASE_SCHEMA": schema, "NAVIGATOR_HOME": str(home),
        "RAG_VECTOR_DIMENSION": str(dimensions), "SUPABASE_JWT_SECRET": SECRET,
        "WORKER_CONCURRENCY": "1",
    })
    container = build_container(settings, dsn)
    timings = Timings()
    try:
        async with running(container):
            app = create_app(container)
            transport = httpx.ASGITransport(app=app)
            headers = {"Authorization": f"Bearer {mint_token(SECRET, 'bench-member')}"}
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                def observe(step: str, seconds: float, outcome: str) -> None:
                    if outcome != "ok":
                        raise RuntimeError(f"step {step} ended with {outcome}")
                    timings.steps[str(step)] = seconds

                done = asyncio.Event()
                left: list[Job | None] = []

                def job_left(job: Job | None) -> None:
                    left.append(job)
                    done.set()

                worker = container.worker_service()
                worker.worker.process = attrs.evolve(container.process_job(), on_step=observe)
                worker.worker.on_job_left = job_left
                stop = asyncio.Event()
                working = asyncio.create_task(worker.run(stop))
                await asyncio.sleep(0.2)  # listening, idle: the upload's notice wakes it

                began = time.perf_counter()
                response = await client.post("/api/v1/documents", headers=headers,
                                             files={"file": (filename, data)})
                response.raise_for_status()
                timings.steps["upload"] = time.perf_counter() - began
                await asyncio.wait_for(done.wait(), timeout=120)
                timings.total = time.perf_counter() - began
                stop.set()
                await working
                job = left[0]
                if job is None or job.status != "complete":
                    reason = None if job is None else job.last_error
                    raise RuntimeError(f"the job did not complete: {reason}")
                timings.steps["wake+claim"] = timings.total - sum(timings.steps.values())
                document_id = job.document_id
                timings.chunks = len(await container.documents().chunks(document_id))
                timings.pages = len((await container.documents().parsed(document_id)).pages)
    finally:
        await drop_schema(dsn, schema)
    return timings


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.0f} ms"


async def main_async(args: argparse.Namespace) -> int:
    data = args.file.read_bytes()
    homes = Path(tempfile.mkdtemp(prefix="navigator-bench-homes-"))
    print("starting the embedded PostgreSQL server ...", file=sys.stderr)
    with database(None) as dsn:
        runs: list[Timings] = []
        for number in range(1, args.runs + 1):
            home = homes / f"home-{number}"
            timings = await one_run(dsn, home, data, args.file.name, args.dimensions)
            runs.append(timings)
            steps = "  ".join(f"{s} {timings.steps.get(s, 0) * 1000:.0f}" for s in STEPS)
            print(f"run {number}: {timings.total:6.2f} s upload→complete "
                  f"({timings.pages} pages, {timings.chunks} chunks)  [ms] {steps}")
        print()
        print(f"{args.file.name}: {len(data):,} bytes, {runs[0].pages} pages, "
              f"{runs[0].chunks} chunks, {args.dimensions}-dimension hashing vectors")
        print(f"median of {len(runs)} runs, upload to complete: "
              f"{statistics.median(r.total for r in runs):.2f} s")
        for step in STEPS:
            print(f"  {step:<11}{_ms(statistics.median(r.steps.get(step, 0.0) for r in runs))}")
    shutil.rmtree(homes, ignore_errors=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="how many runs (default 3)")
    parser.add_argument("--dimensions", type=int, default=1536,
                        help="vector size of the hashing embedder (default 1536)")
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE,
                        help="the document to process (default: the 232-page EOC)")
    args = parser.parse_args(argv)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
