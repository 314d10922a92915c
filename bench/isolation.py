"""Benchmark: what parsing in a child process under limits costs, against parsing in
the worker's own process.

Run from the repository root::

    .venv/bin/python -m bench.isolation [--runs 9] [--file PATH]

Both parsers read the same file (the 232-page ``scan_classic_hmo.pdf`` by default)
with pdfium, through the ``Parser`` port as the worker calls it:

- **in-process**: ``LocalParser``, pdfium in a thread of this process;
- **isolated**: ``IsolatedLocalParser`` with the default limits (1 GiB, 120 s CPU,
  300 s): a fresh child forked from the warm fork server per file, the file sent
  over a pipe, the pages sent back.

One warm-up parse of each first (imports, pdfium's start-up, the fork server's
start); then the runs alternate between the two, so a change in the machine's load
falls on both. It prints every run, the median of each, and their ratio; then the
fixed cost per file (a one-line text file through each parser).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from pathlib import Path

from adapters.parsers.isolated import IsolatedLocalParser
from adapters.parsers.local import LocalParser
from domain.model import MediaType, ParseRequest
from domain.ports import Parser

REPO = Path(__file__).resolve().parents[1]
DEFAULT_FILE = REPO.parent / "shared" / "corpus" / "scan_classic_hmo.pdf"
TINY = b"Your deductible is $250 a year."


class _NoCheckpoint:
    external_id: str | None = None

    async def save(self, external_id: str) -> None:  # a local parse never saves one
        raise AssertionError(external_id)


async def _timed(parser: Parser, data: bytes, media_type: MediaType = MediaType.PDF
                 ) -> tuple[float, int]:
    request = ParseRequest(uuid.uuid4(), "bench.pdf", media_type, data)
    started = time.perf_counter()
    parsed = await parser.parse(request, _NoCheckpoint())
    return time.perf_counter() - started, len(parsed.pages)


async def main(runs: int, data: bytes, name: str) -> None:
    parsers: dict[str, Parser] = {"in-process": LocalParser(), "isolated": IsolatedLocalParser()}
    times: dict[str, list[float]] = {name: [] for name in parsers}
    warm_up = {name: (await _timed(parser, data))[0] for name, parser in parsers.items()}
    pages = 0
    for run in range(runs):
        order = list(parsers) if run % 2 == 0 else list(reversed(parsers))
        for name in order:
            seconds, pages = await _timed(parsers[name], data)
            times[name].append(seconds)
        print(f"run {run + 1}: " + ", ".join(f"{n} {times[n][-1]:.3f} s" for n in parsers))
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"\n{name}: {len(data):,} bytes, {pages} pages with text, {runs} runs")
    for name in parsers:
        print(f"  {name:<11} median {medians[name]:.3f} s   "
              f"(min {min(times[name]):.3f}, max {max(times[name]):.3f}; "
              f"warm-up {warm_up[name]:.3f} s)")
    ratio = medians["isolated"] / medians["in-process"]
    print(f"  isolated / in-process: {ratio:.3f} ({(ratio - 1) * 100:+.1f} %)")
    fixed = {name: statistics.median([(await _timed(parser, TINY, MediaType.TEXT))[0]
                                      for _ in range(runs)])
             for name, parser in parsers.items()}
    print(f"  fixed cost per file (a one-line text file, median of {runs}): " + ", ".join(
        f"{name} {seconds * 1000:.1f} ms" for name, seconds in fixed.items()))


if __name__ == "__main__":
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--runs", type=int, default=9)
    arguments.add_argument("--file", type=Path, default=DEFAULT_FILE)
    options = arguments.parse_args()
    asyncio.run(main(options.runs, options.file.read_bytes(), options.file.name))
