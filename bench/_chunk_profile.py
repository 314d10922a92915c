"""Where one document's chunk INSERT spends the server's time (``bench.search --profile``).

The chunk step writes a document's chunks in one INSERT (adapters/postgres/queue.sql,
``finish_with_chunks``). Here the same rows are INSERTed into the benchmark's filled
``document_chunks`` under ``EXPLAIN (ANALYZE, BUFFERS)``, each time in a transaction
rolled back afterwards (the table does not grow), and the backend's CPU time for the
statement is taken (``/proc/PID/schedstat``, so waiting for a core on a shared machine
does not count), median of ``runs``; triggers' times are EXPLAIN's own (wall):

- the INSERT as the schema has it (every index, every trigger);
- the same with each index but the primary key and the (document, ordinal) key dropped
  in the savepoint: the difference is that index's maintenance;
- each trigger's own time, as EXPLAIN reports it;
- ``to_tsvector('english', …)`` of the same texts alone (what migration 0014's trigger
  computes for the rows here, written without a tsvector);
- the same rows into a table with the chunks' columns and nothing else (the heap and
  the TOAST of the texts alone);
- after the full INSERT, ``gin_clean_pending_list`` of the member GIN index: what
  merging this document's pending entries into the tree costs whoever flushes; and
  another member's keyword match (``member``, ``words``) before and after that merge:
  what a search pays to read one document's unmerged entries.

Each GIN's pending list is emptied before each run, so every run starts alike.
"""

from __future__ import annotations

import json
import statistics
import uuid
from typing import Any

import asyncpg

from bench._cpu import run_seconds

_COLUMNS = "document_id, user_id, chunk_id, ordinal, text, token_count"
_SELECT = ("SELECT $1::uuid, 'member-profile', gen_random_uuid(), n::int - 1, t, k "
           "FROM unnest($2::text[], $3::int[]) WITH ORDINALITY AS u(t, k, n)")
_KEYS = ("document_chunks_pkey", "document_chunks_order")


async def profile_chunk_insert(conn: asyncpg.Connection, schema: str,
                               chunks: list[tuple[str, int]], member: str, words: str,
                               runs: int = 11) -> None:
    s = f'"{schema}"'
    texts = [t for t, _ in chunks]
    tokens = [k for _, k in chunks]
    gins = [r["indexname"] for r in await conn.fetch(
        "SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = "
        "'document_chunks' AND indexdef LIKE '%USING gin%'", schema)]
    indexes = [r["indexname"] for r in await conn.fetch(
        "SELECT indexname FROM pg_indexes WHERE schemaname = $1 "
        "AND tablename = 'document_chunks' ORDER BY indexname", schema)]
    insert = f"INSERT INTO {s}.document_chunks ({_COLUMNS}) {_SELECT}"
    results: dict[str, list[float]] = {}
    triggers: dict[str, list[float]] = {}
    merge: list[float] = []
    pending: list[float] = []
    merged: list[float] = []
    # another member's keyword match, as search asks it: it reads the whole pending list
    search = (f"SELECT count(*) FROM {s}.document_chunks WHERE user_id = $1 "
              "AND text_search @@ plainto_tsquery('english', $2)")
    question = (member, words)

    pid = await conn.fetchval("SELECT pg_backend_pid()")

    async def explain(sql: str, *args: Any) -> dict[str, Any]:
        """The plan, with "Execution Time" replaced by the backend's CPU time (ms) for
        the whole statement: what waiting for a core on a shared machine does not
        inflate; "Wall Time" keeps the server's own timing."""
        began = run_seconds(pid)
        plan = await conn.fetchval(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", *args)
        took = run_seconds(pid) - began
        parsed: dict[str, Any] = (json.loads(plan) if isinstance(plan, str) else plan)[0]
        parsed["Wall Time"] = parsed["Execution Time"]
        parsed["Execution Time"] = took * 1000
        return parsed

    async def flush() -> None:
        for gin in gins:
            await conn.execute(f"SELECT gin_clean_pending_list('{s}.{gin}'::regclass)")

    for _ in range(runs):
        for label, drop in [("as the schema has it", None)] + [
                (f"without {name}", name) for name in indexes if name not in _KEYS]:
            await flush()
            tr = conn.transaction()
            await tr.start()
            try:
                document_id = await _document(conn, s)
                if drop:
                    await conn.execute(f"DROP INDEX {s}.{drop}")
                plan = await explain(insert, document_id, texts, tokens)
                results.setdefault(label, []).append(plan["Execution Time"])
                if drop is None:
                    for t in plan.get("Triggers", []):
                        triggers.setdefault(t["Trigger Name"], []).append(t["Time"])
                    pending.append((await explain(search, *question))["Execution Time"])
                    for gin in gins:
                        plan = await explain(
                            f"SELECT gin_clean_pending_list('{s}.{gin}'::regclass)")
                        merge.append(plan["Execution Time"])
                    merged.append((await explain(search, *question))["Execution Time"])
            finally:
                await tr.rollback()
        plan = await explain("SELECT sum(length(to_tsvector('english'::regconfig, t))) "
                             "FROM unnest($1::text[]) AS t", texts)
        results.setdefault("to_tsvector of the texts alone", []).append(plan["Execution Time"])
        tr = conn.transaction()
        await tr.start()
        try:
            await conn.execute(
                "CREATE TEMPORARY TABLE profile_heap (document_id uuid, user_id text, "
                "chunk_id uuid, ordinal int, text text, token_count int)")
            plan = await explain(f"INSERT INTO profile_heap ({_COLUMNS}) {_SELECT}",
                                 uuid.uuid4(), texts, tokens)
            results.setdefault("the rows alone (no index, trigger, tsvector; "
                               "a temporary table)", []).append(plan["Execution Time"])
        finally:
            await tr.rollback()
    full = statistics.median(results["as the schema has it"])
    print(f"  chunk INSERT profile, one document of {len(chunks)} chunks "
          f"({sum(len(t) for t in texts) / len(texts):,.0f} characters each on average), "
          f"the backend's CPU time, median of {runs}:", flush=True)
    least = min(results["as the schema has it"])
    for label, times in results.items():
        median = statistics.median(times)
        extra = (f" (the index: {full - median:5.1f} ms; by the minima "
                 f"{least - min(times):5.1f} ms)") if label.startswith("without") else ""
        print(f"    {label:<62} {median:7.1f} ms (min {min(times):6.1f}){extra}", flush=True)
    for name, times in triggers.items():
        print(f"    trigger {name:<54} {statistics.median(times):7.1f} ms", flush=True)
    if merge:
        print(f"    {'merging its pending GIN entries (gin_clean_pending_list)':<62} "
              f"{statistics.median(merge):7.1f} ms", flush=True)
        print(f"    a member's keyword match with those entries pending / merged: "
              f"{statistics.median(pending):5.2f} / {statistics.median(merged):5.2f} ms",
              flush=True)


async def _document(conn: asyncpg.Connection, s: str) -> uuid.UUID:
    document_id = uuid.uuid4()
    await conn.execute(
        f"INSERT INTO {s}.documents (document_id, user_id, filename, media_type, size_bytes, "
        "sha256, blob_key, created_at) VALUES ($1, 'member-profile', 'policy.pdf', "
        "'application/pdf', 1000, $2, 'key', now())",
        document_id, uuid.uuid4().hex * 2)
    return document_id
