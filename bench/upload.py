"""Benchmark: uploads per second through ``navigator up``, the worker draining meanwhile.

Run from the repository root::

    .venv/bin/python -m bench.upload [--runs 3] [--uploads 2000] [--members 20]
                                     [--concurrency 16] [--profile FILE]

What it does: starts ``navigator up`` on the embedded default (PostgreSQL in a
temporary home, the PostgreSQL file store, the local parser and the hashing
embedder; the API and one worker in one process) and waits for ``/health``. Each run
then sends ``--uploads`` small distinct text files (about 1.5 KiB each, a few
hundred words of a summary of benefits with a line that makes each one unique)
spread round-robin over ``--members`` members, ``--concurrency`` requests in flight
at once, from this process over HTTP on 127.0.0.1. The worker processes the files
as they arrive, on the same cores, as it does in the issue's measurement.

Every answer must be 202 (a new document); anything else stops the benchmark. The
figures per run: uploads per second (from the first request to the last answer),
and the latency of each request (p50, p95, p99, max). Then the medians of the runs.
A run of 20 uploads, one per member, warms the server first and is not counted.

Each run starts with the queue empty and ends when the worker has completed every
job (read from the API's ``/metrics``). The CPU each party spent is read from
``/proc``: ``navigator up`` with the processes under it (the parser's children),
PostgreSQL's postmaster with its backends, and this client; per upload, while the
uploads ran and until the queue was drained (each upload's whole cost, the
worker's processing included).

``--profile FILE`` runs ``navigator up`` under cProfile and writes its profile to
FILE when it stops (``python -m pstats FILE``); the figures are then slower than
without it. ``--pauses`` records, inside ``navigator up``, every garbage collection
and every event-loop callback that held the loop for 1 ms or more (named by the task
it ran: an upload's request, the worker's steps, the HTTP parsing...), and prints,
for the uploads' time only, how long they held the loop: where a slow request waited.
Nothing leaves the machine.

The targets (issue 19: at least 200 uploads/s with a p99 under 100 ms, at
concurrency 16) are printed with the medians, and whether the run met them. The client
shares the cores with the server (as the issue's measurement did), so the figure is a
floor for the server alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs
import httpx

from bench._cpu import cpu_of, postmaster_of, process_tree_cpu
from entrypoints.tokens import mint_token
from tests.e2e.conftest import navigator_command, wait_for
from tests.ports import free_port

SECRET = "bench-upload-" + "7c" * 24
BOUNDARY = "navigator-bench-boundary-5f1c0e"
_PARAGRAPH = (
    "Summary of Benefits and Coverage. This plan pays for covered services after you "
    "meet the annual deductible of $1,500 for one person or $3,000 for a family. "
    "A primary care visit costs a $25 copay; a specialist visit costs $50. Emergency "
    "room care costs $300 per visit, waived if you are admitted. Generic drugs cost "
    "$10 at a network pharmacy. The out-of-pocket maximum is $6,000 per person. "
)


@attrs.frozen
class Processes:
    """Where the CPU goes: the ``navigator up`` process (API and worker), the processes
    under it (the worker's parser children, one per document, and their fork server),
    the PostgreSQL server (the postmaster and every backend), and this client."""

    server: int
    postmaster: int

    def cpu(self) -> dict[str, float]:
        client = os.times()
        alone = cpu_of(self.server)
        return {"navigator up": alone,
                "its parser processes":
                    process_tree_cpu(self.server, pruned=self.postmaster) - alone,
                "postgres": process_tree_cpu(self.postmaster),
                "client": client.user + client.system}


@attrs.frozen
class RunResult:
    uploads: int
    seconds: float
    latencies: list[float]
    cpu: dict[str, float]  # CPU seconds by who spent them while the uploads ran
    cpu_drained: dict[str, float]  # ... from the first upload until the queue was empty
    drain_seconds: float  # from the last answer until the worker had completed every job
    window: tuple[float, float] = (0.0, 0.0)  # monotonic first request, last answer

    @property
    def per_second(self) -> float:
        return self.uploads / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def file_body(run: int, number: int) -> bytes:
    """A small text file, distinct from every other one of the benchmark."""
    unique = f"Member plan document {run}-{number}: group number G{run:03d}{number:06d}.\n\n"
    return (unique + _PARAGRAPH * 4).encode()


def multipart(name: str, data: bytes) -> bytes:
    """The body of a ``multipart/form-data`` request with the file in the field ``file``."""
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{name}\"\r\nContent-Type: text/plain\r\n\r\n").encode()
    return head + data + f"\r\n--{BOUNDARY}--\r\n".encode()


async def send_all(url: str, bodies: list[tuple[str, bytes]], concurrency: int,
                   processes: Processes) -> RunResult:
    """Send every (member, body) with ``concurrency`` requests in flight."""
    tokens = {member: mint_token(SECRET, member) for member, _ in bodies}
    latencies: list[float] = []
    queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    for item in bodies:
        queue.put_nowait(item)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        async def sender() -> None:
            while not queue.empty():
                member, body = queue.get_nowait()
                headers = {"Authorization": f"Bearer {tokens[member]}",
                           "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
                began = time.perf_counter()
                response = await client.post("/api/v1/documents", content=body,
                                             headers=headers)
                latencies.append(time.perf_counter() - began)
                if response.status_code != 202:
                    raise RuntimeError(f"upload answered {response.status_code}: "
                                       f"{response.text[:300]}")

        await drained(client)  # what came before is not this run's work
        cpu_before = processes.cpu()
        began, began_at = time.perf_counter(), time.monotonic()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        seconds, ended_at = time.perf_counter() - began, time.monotonic()
        cpu_uploads = processes.cpu()
        await drained(client)
        drain = time.perf_counter() - began - seconds
        cpu_all = processes.cpu()
    return RunResult(len(bodies), seconds, latencies,
                     {who: spent - cpu_before[who] for who, spent in cpu_uploads.items()},
                     {who: spent - cpu_before[who] for who, spent in cpu_all.items()}, drain,
                     (began_at, ended_at))


_COMPLETE = 'navigator_jobs{status="complete"}'
_ALL_JOBS = "navigator_jobs{"


#: How long the worker may take to drain the queue after a run before the benchmark
#: gives up.
DRAIN_SECONDS = 900


async def drained(client: httpx.AsyncClient) -> None:
    """Wait until the worker has completed every job (read from ``/metrics``, where the
    API counts jobs by status from the database)."""
    deadline = time.monotonic() + DRAIN_SECONDS
    while True:
        text = (await client.get("/metrics")).text
        counts = {line.split()[0]: float(line.split()[1]) for line in text.splitlines()
                  if line.startswith(_ALL_JOBS)}
        if _COMPLETE not in counts:
            raise RuntimeError("the API's /metrics has no navigator_jobs by status")
        if counts[_COMPLETE] == sum(counts.values()):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the worker did not drain the queue in {DRAIN_SECONDS} s: "
                               f"{counts}")
        await asyncio.sleep(0.5)


def bodies_for(run: int, uploads: int, members: int) -> list[tuple[str, bytes]]:
    return [(f"bench-member-{run}-{n % members:02d}",
             multipart(f"plan-{run}-{n}.txt", file_body(run, n))) for n in range(uploads)]


#: The issue's targets, at ``TARGET_CONCURRENCY`` requests in flight.
TARGET_PER_SECOND = 200.0
TARGET_P99_SECONDS = 0.100
TARGET_CONCURRENCY = 16

#: ``navigator up`` under cProfile, timed by CPU (not wall) time, so that waiting for a
#: core on a busy machine is not counted as time spent in a function.
_PROFILED = """
import cProfile, sys, time
from entrypoints.cli.main import main
profile = cProfile.Profile(time.process_time)
profile.enable()
try:
    main(["up"])
finally:
    profile.disable()
    profile.dump_stats({path!r})
"""

#: ``navigator up`` with every garbage collection and every event-loop callback of 1 ms
#: or more recorded (monotonic time, what, seconds), written as JSON when it stops.
_PAUSES = """
import asyncio, asyncio.events, gc, json, time
from entrypoints.cli.main import main
events, started = [], {{}}
def on_gc(phase, info):
    if phase == "start":
        started["gc"] = time.perf_counter()
    else:
        took = time.perf_counter() - started.pop("gc", time.perf_counter())
        events.append((time.monotonic(), "gc" + str(info["generation"]), took))
gc.callbacks.append(on_gc)
run = asyncio.events.Handle._run
def timed(handle):
    began = time.perf_counter()
    run(handle)
    took = time.perf_counter() - began
    if took >= 0.001:
        callback = handle._callback
        owner = getattr(callback, "__self__", None)
        if isinstance(owner, asyncio.Task):
            name = "task " + getattr(owner.get_coro(), "__qualname__", "?")
        else:
            name = getattr(callback, "__qualname__", type(callback).__name__)
        events.append((time.monotonic(), name, took))
asyncio.events.Handle._run = timed
try:
    main(["up"])
finally:
    with open({path!r}, "w") as out:
        json.dump(events, out)
"""


@contextmanager
def navigator_up(home: Path, profile: Path | None, pauses: Path | None = None
                 ) -> Iterator[tuple[str, Processes]]:
    """``navigator up`` on the embedded default in ``home``; yields its URL and its
    processes."""
    port = free_port()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DATABASE_", "SUPABASE_", "FILE_STORE", "S3_", "NAVIGATOR_",
                                  "OPENAI_", "ANTHROPIC_", "LLAMAPARSE_", "OTEL_"))}
    env.update({"NAVIGATOR_HOME": str(home), "SUPABASE_JWT_SECRET": SECRET,
                "SERVICE_HOST": "127.0.0.1", "SERVICE_PORT": str(port),
                "LOG_LEVEL": "WARNING", "WORKER_LOG_LEVEL": "WARNING"})
    command = [*navigator_command(), "up"]
    if profile is not None:
        command = [sys.executable, "-c", _PROFILED.format(path=str(profile))]
    elif pauses is not None:
        command = [sys.executable, "-c", _PAUSES.format(path=str(pauses))]
    log = home.parent / "navigator-up.log"
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   env=env)

    def healthy() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"navigator up stopped:\n{log.read_text()[-3000:]}")
        try:
            return httpx.get(url + "/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(healthy, "navigator up to answer /health", 180, interval=0.25,
                 logs=log.read_text)
        postmaster = postmaster_of(home / "pgdata")
        yield url, Processes(process.pid, postmaster)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _cpu_line(cpu: dict[str, float], uploads: int) -> str:
    return "  ".join(f"{who} {_ms(spent / uploads).strip()}" for who, spent in cpu.items())


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:6.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.upload", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="how many runs (default 3)")
    parser.add_argument("--uploads", type=int, default=2000, help="uploads per run (2000)")
    parser.add_argument("--members", type=int, default=20, help="members (default 20)")
    parser.add_argument("--concurrency", type=int, default=16,
                        help="requests in flight at once (default 16)")
    parser.add_argument("--profile", type=Path,
                        help="run navigator up under cProfile and write its profile here")
    parser.add_argument("--pauses", action="store_true",
                        help="record garbage collections and event-loop callbacks of 1 ms "
                             "or more in navigator up, and say how long they held the loop")
    args = parser.parse_args(argv)
    if min(args.runs, args.uploads, args.members, args.concurrency) < 1:
        parser.error("--runs, --uploads, --members and --concurrency must be at least 1")
    if args.profile is not None and args.pauses:
        parser.error("--profile and --pauses each instrument navigator up: use one")
    with tempfile.TemporaryDirectory(prefix="navigator-bench-upload-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        pauses = Path(tmp) / "pauses.json" if args.pauses else None
        print("starting navigator up (embedded PostgreSQL) ...", file=sys.stderr, flush=True)
        with navigator_up(home, args.profile, pauses) as (url, processes):
            asyncio.run(send_all(url, bodies_for(0, args.members, args.members),
                                 args.members, processes))
            results = []
            for run in range(1, args.runs + 1):
                result = asyncio.run(send_all(url, bodies_for(run, args.uploads, args.members),
                                              args.concurrency, processes))
                results.append(result)
                print(f"run {run}: {result.per_second:6.1f} uploads/s  [ms] "
                      f"p50 {_ms(result.percentile(50))}  p95 {_ms(result.percentile(95))}  "
                      f"p99 {_ms(result.percentile(99))}  max {_ms(max(result.latencies))}  "
                      f"[CPU ms per upload, while uploading | until drained] "
                      f"{_cpu_line(result.cpu, result.uploads)} | "
                      f"{_cpu_line(result.cpu_drained, result.uploads)}  "
                      f"(drained {result.drain_seconds:.1f} s after the last upload; "
                      f"load {os.getloadavg()[0]:.1f})", flush=True)
        if pauses is not None:  # written when navigator up stopped
            print()
            print(pause_report(json.loads(pauses.read_text()), results))
    print()
    print(f"{args.uploads} uploads of ~{len(file_body(1, 1))} bytes over {args.members} "
          f"members, concurrency {args.concurrency}, worker draining; "
          f"median of {len(results)} runs:")
    print("\n".join(target_lines(results, args.concurrency)))
    cores = os.cpu_count() or 1
    for label, pick in (("while uploading", lambda r: r.cpu),
                        ("until drained (each upload's whole cost)", lambda r: r.cpu_drained)):
        per_upload = {who: statistics.median(pick(r)[who] / r.uploads for r in results)
                      for who in results[0].cpu}
        total = sum(per_upload.values())
        print(f"  CPU ms per upload, {label}: {_cpu_line(per_upload, 1)}, all {_ms(total)}: "
              f"at most {cores / total:.0f} uploads/s on {cores} idle cores")
    return 0


def target_lines(results: list[RunResult], concurrency: int) -> list[str]:
    """The medians of the runs, with the targets and whether the medians met them."""
    rate = statistics.median(r.per_second for r in results)
    p50, p95, p99 = (statistics.median(r.percentile(p) for r in results) for p in (50, 95, 99))

    def verdict(met: bool) -> str:
        return "met" if met else "not met"

    rate_met, p99_met = rate >= TARGET_PER_SECOND, p99 < TARGET_P99_SECONDS
    lines = [
        f"  uploads/s {rate:6.1f}     (target >= {TARGET_PER_SECOND:.0f}/s: "
        f"{verdict(rate_met)})",
        f"  p50       {_ms(p50)} ms",
        f"  p95       {_ms(p95)} ms",
        f"  p99       {_ms(p99)} ms  (target < {TARGET_P99_SECONDS * 1000:.0f} ms: "
        f"{verdict(p99_met)})",
    ]
    at = "" if concurrency == TARGET_CONCURRENCY else \
        f" (but the targets are for concurrency {TARGET_CONCURRENCY}, this was {concurrency})"
    lines.append(f"  targets: {verdict(rate_met and p99_met)}{at}")
    return lines


def pause_report(events: list[tuple[float, str, float]], results: list[RunResult]) -> str:
    """How long garbage collections and long event-loop callbacks held ``navigator up``'s
    loop while the uploads ran (the runs' windows only), by what held it."""
    seconds = sum(end - begin for begin, end in (r.window for r in results))
    uploads = sum(r.uploads for r in results)
    inside = [(what, took) for at, what, took in events
              if any(begin <= at <= end for begin, end in (r.window for r in results))]
    by_what: dict[str, list[float]] = {}
    for what, took in inside:
        by_what.setdefault(what, []).append(took)
    lines = [f"what held navigator up's event loop while the {uploads} uploads ran "
             f"({seconds:.1f} s; callbacks of 1 ms or more, and every collection):",
             f"  {'what':<58} {'count':>6} {'per upload':>10} {'total ms':>9} "
             f"{'p99 ms':>7} {'max ms':>7}"]
    for what, took in sorted(by_what.items(), key=lambda item: -sum(item[1])):
        ordered = sorted(took)
        p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
        lines.append(f"  {what[:58]:<58} {len(took):6d} {len(took) / uploads:10.3f} "
                     f"{sum(took) * 1000:9.1f} {p99 * 1000:7.2f} {max(took) * 1000:7.2f}")
    long = [took for what, took in inside if not what.startswith("gc")]
    for limit in (0.005, 0.010, 0.020, 0.050):
        lines.append(f"  callbacks holding the loop >= {limit * 1000:.0f} ms: "
                     f"{sum(t >= limit for t in long)}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
