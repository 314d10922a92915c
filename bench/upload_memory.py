"""Benchmark: the API's peak memory while it takes a 50 MiB upload, on each file store.

Run from the repository root::

    .venv/bin/python -m bench.upload_memory [--runs 3] [--mib 50] [--stores postgres,s3]

For each store a real ``navigator api`` process is started (the embedded PostgreSQL
server, a fresh migrated schema; for ``s3`` a moto S3 server on 127.0.0.1 in this
process), warmed up with one small upload, and then sent ``--mib`` MiB as one
multipart upload streamed from a file on disk. The file is a PDF header followed
by random (incompressible) bytes, so the type check reads only its first bytes.

Before each big upload the API's peak resident set is reset (``/proc/PID/clear_refs``)
and its resident set read; after it, the peak (``VmHWM``). The figure is the growth
of the peak over the resident set before the upload, i.e. what taking this one
upload cost the process, as a multiple of the file's size. Linux only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import httpx

from bench._db import database, drop_schema, fresh_schema
from domain.units import MIB
from entrypoints.tokens import mint_token
from tests.e2e.conftest import navigator_command, wait_for
from tests.fakes.s3_server import RunningS3Server, new_bucket_name
from tests.ports import free_port

SECRET = "bench-upload-memory-" + "5e" * 20


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def _make_file(path: Path, mib: int) -> None:
    with path.open("wb") as out:
        head = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
        out.write(head)
        remaining = mib * MIB - len(head)
        while remaining:
            block = os.urandom(min(remaining, MIB))
            out.write(block)
            remaining -= len(block)


@contextmanager
def api_process(env: dict[str, str], workdir: Path) -> Iterator[tuple[int, str]]:
    port = free_port()
    log = workdir / "api.log"
    with log.open("wb") as out:
        process = subprocess.Popen([*navigator_command(), "api"], cwd=workdir, stdout=out,
                                   stderr=subprocess.STDOUT,
                                   env={**env, "SERVICE_HOST": "127.0.0.1",
                                        "SERVICE_PORT": str(port)})
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return httpx.get(url + "/health", timeout=2).status_code in (200, 503)
        except httpx.HTTPError:
            return False

    try:
        wait_for(answers, "the API to start", 60, logs=lambda: log.read_text())
        yield process.pid, url
    finally:
        process.terminate()
        process.wait(timeout=30)


def upload(url: str, path: Path, name: str, member: str) -> tuple[int, float]:
    headers = {"Authorization": f"Bearer {mint_token(SECRET, member)}"}
    started = time.perf_counter()
    with path.open("rb") as fh:
        response = httpx.post(url + "/api/v1/documents", headers=headers, timeout=300,
                              files={"file": (name, fh, "application/pdf")})
    return response.status_code, time.perf_counter() - started


def measure(store: str, dsn: str, big: Path, small: Path, runs: int, workdir: Path,
            s3_env: dict[str, str]) -> list[tuple[float, float]]:
    schema = asyncio.run(fresh_schema(dsn, 1536))
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DATABASE_", "FILE_STORE", "S3_", "NAVIGATOR_"))}
    env.update({"DATABASE_URL": dsn, "DATABASE_SCHEMA": schema, "SUPABASE_JWT_SECRET": SECRET,
                "NAVIGATOR_HOME": str(workdir / f"home-{store}"), "LOG_LEVEL": "WARNING",
                "UPLOAD_MAX_BYTES": str(big.stat().st_size), **s3_env})
    results = []
    try:
        with api_process(env, workdir) as (pid, url):
            code, _ = upload(url, small, "warm-up.pdf", "member-warm-up")
            assert code == 202, code
            for run in range(runs):
                _reset_peak(pid)
                before = _status_kib(pid, "VmRSS")
                code, seconds = upload(url, big, f"big-{run}.pdf", f"member-{uuid.uuid4()}")
                assert code == 202, code
                peak = _status_kib(pid, "VmHWM")
                growth = (peak - before) * 1024 / big.stat().st_size
                results.append((growth, seconds))
                print(f"{store:8} run {run + 1}: RSS before {before / 1024:6.1f} MiB, "
                      f"peak {peak / 1024:6.1f} MiB, growth {growth:.2f}x the file, "
                      f"{seconds:.2f} s", flush=True)
    finally:
        asyncio.run(drop_schema(dsn, schema))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mib", type=int, default=50)
    parser.add_argument("--stores", default="postgres,s3")
    parser.add_argument("--dsn", help="use this PostgreSQL instead of an embedded one")
    args = parser.parse_args()
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    with tempfile.TemporaryDirectory(prefix="navigator-bench-upload-") as tmp:
        workdir = Path(tmp)
        big, small = workdir / "big.pdf", workdir / "small.pdf"
        _make_file(big, args.mib)
        small.write_bytes(b"%PDF-1.7\n" + os.urandom(4096))
        summary = {}
        s3 = RunningS3Server() if "s3" in stores else nullcontext()
        with database(args.dsn) as dsn, s3 as server:
            for store in stores:
                s3_env: dict[str, str] = {}
                if store == "s3":
                    assert server is not None
                    bucket = new_bucket_name()
                    s3_env = server.settings(bucket)
                    asyncio.run(_create_bucket(s3_env))
                summary[store] = measure(store, dsn, big, small, args.runs, workdir, s3_env)
        print(f"\n{args.runs} runs, {args.mib} MiB upload (the first run also pays for "
              "heap the later ones reuse, so the worst run is the figure to hold):")
        for store, results in summary.items():
            worst = max(r[0] for r in results)
            seconds = statistics.median(r[1] for r in results)
            print(f"  {store:8} worst peak growth {worst:.2f}x the file "
                  f"({worst * args.mib:.1f} MiB); median {seconds:.2f} s per upload")


async def _create_bucket(env: dict[str, str]) -> None:
    from adapters.s3_blobs import S3BlobStore

    store = S3BlobStore(env["S3_BUCKET"], endpoint_url=env["S3_ENDPOINT_URL"],
                        region=env["S3_REGION"], access_key_id=env["S3_ACCESS_KEY_ID"],
                        secret_access_key=env["S3_SECRET_ACCESS_KEY"])
    try:
        await store.create_bucket()
    finally:
        await store.aclose()


if __name__ == "__main__":
    main()
