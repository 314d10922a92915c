"""An upper bound: what the chunk step's INSERT would cost if the writer supplied each
chunk's tsvector instead of PostgreSQL computing it (``bench.search --tsvector
supplied``). An experiment only: the product's schema and write path are unchanged.

Two twins of the filled ``document_chunks`` are made in the benchmark's schema, with
its columns, defaults, storage and indexes (the keys and the member GIN index) but
neither its triggers nor its foreign key (the same in both, so left out of both):
``twin_generated``, whose ``text_search`` is generated as in migration 0004, and
``twin_supplied``, whose ``text_search`` is a plain column. Both are filled with the
table's rows (the generated twin computes their tsvectors again, the supplied one takes
them as stored), their indexes built after, their GIN pending lists emptied.

Then, for each of ``documents`` documents of 285 chunks (the benchmark's texts, each
document's its own): **before the timed part**, the tsvectors of its texts are computed
once (``to_tsvector('english', text)::text``, by PostgreSQL: exactly what the generated
column stores; a worker would have to compute the same text itself); then the document's
chunks are INSERTed into each twin in one statement (the order alternating from one
document to the next): into the generated twin as the chunk step writes them, into the
supplied twin with the tsvectors passed as literals (``text[]`` cast to ``tsvector``,
which PostgreSQL still parses). Each INSERT commits (the twins grow as the table would;
GIN pending-list merges fall in whichever INSERT overflows the list, alike in both, as
both hold the same lexemes). Measured: wall time, and the backend's CPU time
(``/proc/PID/schedstat``). Finally the twins' tsvectors are compared row by row: the
supplied ones must equal the generated ones, else the comparison is void.
"""

from __future__ import annotations

import statistics
import time
import uuid

import asyncpg
import attrs

from bench._cpu import run_seconds
from bench._ingestion import Texts

CHUNKS_PER_DOCUMENT = 285
_COLUMNS = "document_id, user_id, chunk_id, ordinal, text, token_count"
_ROWS = ("SELECT $1::uuid, $2::text, gen_random_uuid(), n::int - 1, t, k{extra} "
         "FROM unnest($3::text[], $4::int[]{arrays}) WITH ORDINALITY AS u(t, k{names}, n)")
_TSVECTORS = ("SELECT array_agg(to_tsvector('english'::regconfig, t)::text ORDER BY n) "
              "FROM unnest($1::text[]) WITH ORDINALITY AS u(t, n)")


@attrs.frozen
class Supplied:
    documents: int
    generated_seconds: list[float]
    supplied_seconds: list[float]
    generated_cpu: list[float]
    supplied_cpu: list[float]
    differing: int  # rows whose supplied tsvector differs from the generated one
    compared: int
    indexes: int  # each twin's, as document_chunks has them

    def rate(self, seconds: list[float]) -> float:
        return self.documents * CHUNKS_PER_DOCUMENT / sum(seconds)


async def _twin(conn: asyncpg.Connection, schema: str, name: str, generated: bool) -> int:
    """The twin, filled and indexed; returns how many indexes it has."""
    s = f'"{schema}"'
    await conn.execute(f"DROP TABLE IF EXISTS {s}.{name}")
    await conn.execute(
        f"CREATE TABLE {s}.{name} (LIKE {s}.document_chunks INCLUDING ALL "
        f"EXCLUDING INDEXES{'' if generated else ' EXCLUDING GENERATED'})")
    columns = [r["attname"] for r in await conn.fetch(
        "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 "
        "AND NOT attisdropped AND (attgenerated = '' OR NOT $2) ORDER BY attnum",
        f"{s}.document_chunks", generated)]
    listed = ", ".join(columns)
    await conn.execute(f"INSERT INTO {s}.{name} ({listed}) SELECT {listed} "
                       f"FROM {s}.document_chunks")
    for row in await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 "
            "AND tablename = 'document_chunks'", schema):
        definition = row["indexdef"].replace(f"{row['indexname']} ON",
                                             f"{name}_{row['indexname']} ON", 1)
        definition = definition.replace(".document_chunks USING", f".{name} USING", 1)
        await conn.execute(definition)
    await conn.execute(f"VACUUM ANALYZE {s}.{name}")  # also empties its GIN pending list
    return int(await conn.fetchval(
        "SELECT count(*) FROM pg_indexes WHERE schemaname = $1 AND tablename = $2",
        schema, name))


async def compare_supplied_tsvector(conn: asyncpg.Connection, schema: str, texts: Texts,
                                    documents: int, first: int) -> Supplied:
    """``documents`` documents' chunk INSERTs into each twin; the twins dropped after."""
    s = f'"{schema}"'
    twins = {"generated": "twin_generated", "supplied": "twin_supplied"}
    indexes = {await _twin(conn, schema, twins["generated"], generated=True),
               await _twin(conn, schema, twins["supplied"], generated=False)}
    if len(indexes) != 1:
        raise RuntimeError(f"the twins were given different indexes: {indexes}")
    inserts = {
        "generated": f"INSERT INTO {s}.{twins['generated']} ({_COLUMNS}) "
                     + _ROWS.format(extra="", arrays="", names=""),
        "supplied": f"INSERT INTO {s}.{twins['supplied']} ({_COLUMNS}, text_search) "
                    + _ROWS.format(extra=", v::tsvector", arrays=", $5::text[]",
                                   names=", v"),
    }
    pid = await conn.fetchval("SELECT pg_backend_pid()")
    seconds: dict[str, list[float]] = {"generated": [], "supplied": []}
    cpu: dict[str, list[float]] = {"generated": [], "supplied": []}
    try:
        for number in range(documents):
            written = texts.document(first + number, CHUNKS_PER_DOCUMENT)
            chunk_texts = [t for t, _ in written]
            tokens = [k for _, k in written]
            tsvectors = await conn.fetchval(_TSVECTORS, chunk_texts)  # before the timing
            document_id = uuid.uuid4()
            order = ("generated", "supplied") if number % 2 == 0 else ("supplied", "generated")
            for kind in order:
                arguments: list[object] = [document_id, f"member-twin-{number}", chunk_texts,
                                           tokens]
                if kind == "supplied":
                    arguments.append(tsvectors)
                began, began_cpu = time.perf_counter(), run_seconds(pid)
                await conn.execute(inserts[kind], *arguments)
                seconds[kind].append(time.perf_counter() - began)
                cpu[kind].append(run_seconds(pid) - began_cpu)
        compared = await conn.fetchrow(
            f"SELECT count(*) AS compared, count(*) FILTER (WHERE g.text_search "
            f"IS DISTINCT FROM p.text_search) AS differing FROM {s}.{twins['generated']} g "
            f"JOIN {s}.{twins['supplied']} p USING (document_id, ordinal) "
            "WHERE g.user_id LIKE 'member-twin-%'")
    finally:
        for table in twins.values():
            await conn.execute(f"DROP TABLE IF EXISTS {s}.{table}")
    return Supplied(documents, seconds["generated"], seconds["supplied"], cpu["generated"],
                    cpu["supplied"], compared["differing"], compared["compared"],
                    indexes.pop())


def supplied_lines(result: Supplied, chunk_step_cpu_ms: float, embed_step_cpu_ms: float,
                   both: float) -> list[str]:
    """The comparison, and what it bounds: the chunk step's database CPU per document
    (``chunk_step_cpu_ms``, measured by the ingestion at the same size) less what
    supplying the tsvector saved, with the embed step's, as one backend's vectors/s."""
    generated = statistics.median(result.generated_cpu) * 1000
    supplied = statistics.median(result.supplied_cpu) * 1000
    saved = generated - supplied
    bound_now = 1000 * CHUNKS_PER_DOCUMENT / (chunk_step_cpu_ms + embed_step_cpu_ms)
    after = chunk_step_cpu_ms - saved
    bound_supplied = 1000 * CHUNKS_PER_DOCUMENT / (after + embed_step_cpu_ms)
    valid = ("equal to the generated ones" if result.differing == 0 else
             f"DIFFERENT from the generated ones in {result.differing:,} rows: void")
    return [
        f"  the tsvector supplied by the writer (an upper bound; {result.documents} "
        f"documents of {CHUNKS_PER_DOCUMENT} chunks, each into both twins of the table, "
        f"{result.indexes} indexes each, alternating):",
        f"    chunk INSERT, database CPU per document (median): generated {generated:6.1f} "
        f"ms, supplied {supplied:6.1f} ms (saves {saved:5.1f} ms, "
        f"{saved / generated:4.0%}); wall: generated {result.rate(result.generated_seconds):7,.0f}"
        f" vectors/s, supplied {result.rate(result.supplied_seconds):7,.0f} vectors/s "
        f"({result.rate(result.supplied_seconds) / result.rate(result.generated_seconds):4.2f}x)",
        f"    the chunk step at this size {chunk_step_cpu_ms:6.1f} ms of database CPU per "
        f"document -> {after:6.1f} ms supplied; with the embed step's {embed_step_cpu_ms:5.1f} "
        f"ms, one backend's bound {bound_now:7,.0f} -> {bound_supplied:7,.0f} vectors/s "
        f"of database CPU (the steps measured {both:7,.0f} /s wall)",
        f"    supplied tsvectors {valid} ({result.compared:,} rows compared)",
    ]
