"""Benchmark: the storage and index candidates for a heavy member's search, side by side.

Run from the repository root (numpy comes with the ``bench`` extra)::

    .venv/bin/python -m bench.vector_candidates [--heavy 10000] [--others 20000]
        [--queries 100] [--dimensions 1536] [--only NAME ...] [--dsn postgresql://...]

One member of ``--heavy`` chunks and ``--others`` chunks of members of 330, the
clustered vectors of bench/_vectors.py, documents in shuffled order, loaded by COPY
into one table per candidate (chunk text ~1,900 characters, like the real rows).
Every candidate answers the same ``--queries`` queries of the heavy member (threshold
0.3, 10 chunks) with one statement; p50/p95 of the statement (client-timed, sent on
one connection) and recall@10 against the exact answer computed in numpy.

Candidates:

- ``toast``: ``vector`` with its default storage (6 KB values go to TOAST), the
  member btree, exact sort: what the planner did with the shipped schema.
- ``main``: the same with ``STORAGE MAIN`` (vectors stay in their rows).
- ``halfvec``, ``halfvec-main``: 2-byte floats (3 KB per vector), TOAST or in-row.
- ``partitioned``: hash-partitioned by member into 16 partitions, ``vector`` in
  TOAST, btree per partition, exact sort.
- ``bq-N``: ``STORAGE MAIN`` plus a stored ``binary_quantize`` column in the member
  index; rank the member's chunks by Hamming distance from the index, re-rank the best
  N exactly (the statement adapters/postgres/documents.py runs, minus the job join).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import numpy as np
from pgvector import HalfVector, Vector

from adapters.postgres.connection import connect
from bench._db import database
from bench._texts import synthetic_chunk
from bench._vectors import EmbeddingSpace, Matrix, exact_top
from bench.search import _register, percentile

THRESHOLD = 0.3
LIMIT = 10
USER = "member-heavy"

_EXACT = """
SELECT id FROM (
    SELECT id, embedding <=> $2 AS distance FROM {table}
    WHERE user_id = $1 AND model = 'm' OFFSET 0
) c WHERE 1 - distance >= $3 ORDER BY distance LIMIT $4
"""
_BQ = """
WITH candidates AS MATERIALIZED (
    SELECT id FROM {table} WHERE user_id = $1 AND model = 'm'
    ORDER BY bits <~> (SELECT binary_quantize($2::vector)) LIMIT {n}
)
SELECT c.id FROM candidates k CROSS JOIN LATERAL (
    SELECT t.id, t.embedding <=> $2 AS distance FROM {table} t WHERE t.id = k.id OFFSET 0
) c WHERE 1 - c.distance >= $3 ORDER BY c.distance LIMIT $4
"""


def _candidates(dimensions: int) -> dict[str, tuple[str, str, str]]:
    """name -> (columns, index, table suffix)."""
    d = dimensions
    btree = "CREATE INDEX ON {table} (user_id, model)"
    return {
        "toast": (f"embedding vector({d})", btree, ""),
        "main": (f"embedding vector({d}) STORAGE MAIN", btree, ""),
        "halfvec": (f"embedding halfvec({d})", btree, ""),
        "halfvec-main": (f"embedding halfvec({d}) STORAGE MAIN", btree, ""),
        "partitioned": (f"embedding vector({d})", btree, " PARTITION BY HASH (user_id)"),
        "bq": (
            f"embedding vector({d}) STORAGE MAIN, bits bit({d}) GENERATED ALWAYS AS "
            f"(binary_quantize(embedding)::bit({d})) STORED",
            "CREATE INDEX ON {table} (user_id, model) INCLUDE (id, bits)", "",
        ),
    }


async def load(conn: asyncpg.Connection, name: str, spec: tuple[str, str, str],
               rows: list[tuple[Any, ...]]) -> float:
    columns, index, partitioning = spec
    table = f'"t_{name.replace("-", "_")}"'
    await conn.execute(f"DROP TABLE IF EXISTS {table}")
    await conn.execute(f"CREATE TABLE {table} (id uuid NOT NULL, user_id text NOT NULL, "
                       f"model text NOT NULL, text text NOT NULL, {columns}){partitioning}")
    if partitioning:
        for r in range(16):
            await conn.execute(f'CREATE TABLE "t_{name}_{r}" PARTITION OF {table} '
                               f"FOR VALUES WITH (MODULUS 16, REMAINDER {r})")
    began = time.perf_counter()
    await conn.copy_records_to_table(table.strip('"'), records=rows,
                                     columns=["id", "user_id", "model", "text", "embedding"])
    await conn.execute(index.format(table=table))
    await conn.execute(f"CREATE INDEX ON {table} (id)")  # the re-rank's lookups
    took = time.perf_counter() - began
    await conn.execute(f"VACUUM ANALYZE {table}")
    return took


async def measure(conn: asyncpg.Connection, sql: str, queries: Matrix, ids: list[uuid.UUID],
                  vectors: Matrix, convert: Callable[[Any], Any]) -> tuple[float, float, float]:
    latencies, recalls = [], []
    for query in queries[:5]:  # the statement prepared, the table in cache
        await conn.fetch(sql, USER, convert(query), THRESHOLD, LIMIT)
    for query in queries:
        began = time.perf_counter()
        rows = await conn.fetch(sql, USER, convert(query), THRESHOLD, LIMIT)
        latencies.append((time.perf_counter() - began) * 1000)
        exact = {ids[i] for i in exact_top(vectors, query, THRESHOLD, LIMIT)}
        found = {r["id"] for r in rows}
        recalls.append(len(exact & found) / len(exact) if exact else float(not found))
    return percentile(latencies, 50), percentile(latencies, 95), statistics.fmean(recalls)


async def run(args: argparse.Namespace, dsn: str) -> None:
    space = EmbeddingSpace(args.dimensions)
    heavy = np.vstack(space.documents(0, args.heavy))
    heavy_ids = [uuid.uuid4() for _ in range(len(heavy))]
    rng = np.random.default_rng(3)
    documents: list[list[tuple[Any, ...]]] = []
    for start in range(0, len(heavy), 285):
        documents.append([(heavy_ids[i], USER, "m", synthetic_chunk(rng), heavy[i])
                          for i in range(start, min(start + 285, len(heavy)))])
    for member in range(1, args.others // 330 + 1):
        for vectors in space.documents(member, 330):
            documents.append([(uuid.uuid4(), f"member-{member}", "m", synthetic_chunk(rng), v)
                              for v in vectors])
    rows = [row for i in rng.permutation(len(documents)) for row in documents[i]]
    queries = space.queries(0, heavy, args.queries, seed=4)

    conn = await connect(dsn)
    await _register(conn)
    version = await conn.fetchval("SHOW server_version")
    print(f"PostgreSQL {version}; {len(rows):,} rows of {args.dimensions} dimensions, "
          f"heavy member {args.heavy:,} chunks, {args.queries} queries, threshold "
          f"{THRESHOLD}, {LIMIT} chunks")
    try:
        for name, spec in _candidates(args.dimensions).items():
            if args.only and name not in args.only:
                continue
            half = name.startswith("halfvec")
            loaded = await load(conn, name, spec,
                                [(*r[:4], HalfVector(r[4]) if half else Vector(r[4]))
                                 for r in rows])
            size = await conn.fetchval(
                "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c "
                "WHERE c.relname LIKE $1 AND c.relkind IN ('r', 'p')",
                f"t_{name.replace('-', '_')}%")
            table = f'"t_{name.replace("-", "_")}"'
            convert: Callable[[Any], Any] = HalfVector if half else Vector
            sqls = ([(name, _EXACT.format(table=table))] if name != "bq" else
                    [(f"bq-{n}", _BQ.format(table=table, n=n)) for n in (500, 1000, 2000)])
            for label, sql in sqls:
                p50, p95, recall = await measure(conn, sql, queries, heavy_ids, heavy, convert)
                print(f"  {label:<13} p50 {p50:6.1f}  p95 {p95:6.1f} ms   recall@10 "
                      f"{recall:.4f}   load+index {len(rows) / loaded:6,.0f} rows/s   "
                      f"{size}", flush=True)
            await conn.execute(f"DROP TABLE {table}")
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.vector_candidates",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--heavy", type=int, default=10_000)
    parser.add_argument("--others", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--dimensions", type=int, default=1536)
    parser.add_argument("--only", nargs="*", help="measure only these candidates")
    parser.add_argument("--dsn", default=None)
    args = parser.parse_args(argv)
    with database(args.dsn) as dsn:
        asyncio.run(run(args, dsn))


if __name__ == "__main__":
    main()
