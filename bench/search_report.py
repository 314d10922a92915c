"""Benchmark: what telling a member which documents a search left out costs.

Run from the repository root::

    .venv/bin/python -m bench.search_report [--documents 100] [--chunks 40]
        [--queries 200] [--dimensions 256] [--dsn postgresql://...]

One member with ``--documents`` complete documents of ``--chunks`` passages each
(written through the worker's own write path), plus one still waiting. Each round
times, from the client, the hybrid search the product runs
(``PostgresDocumentRepository.search``) and the ``not_searched`` statement every
search now runs after it, interleaved so both see the same load; then the same with
the search limited to 5 documents (``documents=``, with the ``unknown`` check it
needs). Prints the medians and the ratio of the added statement to the search.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from adapters.postgres.connection import create_pool
from adapters.postgres.documents import PostgresDocumentRepository
from adapters.postgres.job_queue import PostgresJobQueue
from bench._db import database, drop_schema, fresh_schema
from domain.hybrid import SearchMode
from tests.contract.builders import MARIA, process_fully, submit, unit
from tests.fakes.clock import FakeClock

MODEL = "text-embedding-3-small"


async def _median_ms(call: Callable[[], Awaitable[object]], times: list[float]) -> None:
    started = time.perf_counter()
    await call()
    times.append((time.perf_counter() - started) * 1000)


async def run(dsn: str, documents: int, chunks: int, queries: int, dimensions: int) -> None:
    schema = await fresh_schema(dsn, dimensions)
    pool = await create_pool(dsn, schema, min_size=1, max_size=2)
    try:
        clock = FakeClock()
        queue = PostgresJobQueue(pool, clock, schema, vector_dimension=dimensions)
        repository = PostgresDocumentRepository(pool, schema)
        texts = [f"passage {n} about the deductible, copay and coinsurance" for n in
                 range(chunks)]
        for number in range(documents):
            await submit(queue, MARIA, f"document {number}".encode(), clock.now())
            await process_fully(queue, "bench-worker", dimensions, texts, MODEL)
            clock.advance(1)
        await submit(queue, MARIA, b"still waiting", clock.now())
        ids = [d.document_id for d, _ in await repository.list(MARIA, 5)]
        vector = unit(3, dimensions)
        timed = {name: [] for name in ("search", "not_searched", "limited search",
                                       "unknown + limited not_searched")}
        for _ in range(queries):
            await _median_ms(lambda: repository.search(
                MARIA, vector, MODEL, 0.3, 40, text="what is the deductible",
                mode=SearchMode.HYBRID), timed["search"])
            await _median_ms(lambda: repository.not_searched(MARIA, MODEL),
                             timed["not_searched"])
            await _median_ms(lambda: repository.search(
                MARIA, vector, MODEL, 0.3, 40, text="what is the deductible",
                mode=SearchMode.HYBRID, documents=ids), timed["limited search"])

            async def limited_report() -> None:
                await repository.unknown(MARIA, ids)
                await repository.not_searched(MARIA, MODEL, ids)

            await _median_ms(limited_report, timed["unknown + limited not_searched"])
        medians = {name: statistics.median(values) for name, values in timed.items()}
        print(f"{documents} documents x {chunks} passages, {queries} rounds, "
              f"{dimensions} dimensions")
        for name, value in medians.items():
            print(f"  {name:<32} median {value:7.2f} ms")
        print(f"  not_searched / search: {medians['not_searched'] / medians['search']:.2f}")
        print(f"  (unknown + not_searched) / limited search: "
              f"{medians['unknown + limited not_searched'] / medians['limited search']:.2f}")
    finally:
        await pool.close()
        await drop_schema(dsn, schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--chunks", type=int, default=40)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--dimensions", type=int, default=256)
    parser.add_argument("--dsn")
    args = parser.parse_args()
    with database(args.dsn) as dsn:
        asyncio.run(run(dsn, args.documents, args.chunks, args.queries, args.dimensions))


if __name__ == "__main__":
    main()
