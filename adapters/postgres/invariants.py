"""What must always hold between the pipeline's tables, checked with plain SQL.

Every rule is a count of rows that break it (0 means it holds) plus a few of their
ids, so an operator can look at them. Most rules are also guarded by foreign keys
and checks in the schema; running them proves nobody dropped or bypassed those
(a restore, a hand-made fix, a migration gone wrong).

The file store's table ``document_files`` (the PostgreSQL file store) may not exist
in a schema: the rule on stored bytes is then reported as not applicable, found
with ``to_regclass`` so the same query works before and after that table arrives.
"""

from __future__ import annotations

import asyncpg
import attrs

from adapters.postgres.connection import quote_schema
from adapters.postgres.errors import translates_outages

FILES_TABLE = "document_files"
EXAMPLES = 3


@attrs.frozen
class Invariant:
    """One rule, how many rows break it, and up to three of them (ids only)."""

    rule: str
    violations: int
    examples: tuple[str, ...] = ()
    applicable: bool = True

    @property
    def holds(self) -> bool:
        return self.violations == 0


_RULES: tuple[tuple[str, str], ...] = (
    ("no job without its document",
     "SELECT j.job_id::text AS id FROM {s}.upload_jobs j "
     "WHERE NOT EXISTS (SELECT 1 FROM {s}.documents d WHERE d.document_id = j.document_id)"),
    ("no document without its job",
     "SELECT d.document_id::text AS id FROM {s}.documents d "
     "WHERE NOT EXISTS (SELECT 1 FROM {s}.upload_jobs j WHERE j.document_id = d.document_id)"),
    ("no history without its job",
     "SELECT e.id::text AS id FROM {s}.job_events e "
     "WHERE NOT EXISTS (SELECT 1 FROM {s}.upload_jobs j WHERE j.job_id = e.job_id)"),
    ("no chunk without its job",
     "SELECT c.chunk_id::text AS id FROM {s}.document_chunks c "
     "WHERE NOT EXISTS (SELECT 1 FROM {s}.upload_jobs j WHERE j.document_id = c.document_id)"),
    ("no vector without its model",
     "SELECT e.chunk_id::text AS id FROM {s}.chunk_embeddings e WHERE e.model = ''"),
    ("no vector filed under another document or member than its chunk's",
     "SELECT e.chunk_id::text AS id FROM {s}.chunk_embeddings e "
     "JOIN {s}.document_chunks c ON c.chunk_id = e.chunk_id "
     "WHERE (e.document_id, e.user_id) IS DISTINCT FROM (c.document_id, c.user_id)"),
    ("no complete document with a chunk left unembedded",
     "SELECT c.chunk_id::text AS id FROM {s}.document_chunks c "
     "JOIN {s}.upload_jobs j ON j.document_id = c.document_id "
     "WHERE j.status = 'complete' "
     "AND NOT EXISTS (SELECT 1 FROM {s}.chunk_embeddings e WHERE e.chunk_id = c.chunk_id)"),
)

_FILES_RULE = "no bytes without a document"
_FILES_SQL = (
    "SELECT f.document_id::text AS id FROM {s}.document_files f "
    "WHERE NOT EXISTS (SELECT 1 FROM {s}.documents d WHERE d.document_id = f.document_id)"
)


@translates_outages
class PostgresInvariants:
    """Checks the rules on one schema over a connection (or pool) it is given."""

    def __init__(self, conn: asyncpg.Connection | asyncpg.Pool, schema: str) -> None:
        self._conn = conn
        self._schema = schema
        self._s = quote_schema(schema)

    async def check(self) -> list[Invariant]:
        results = [await self._count(rule, sql) for rule, sql in _RULES]
        if await self._has_files_table():
            results.append(await self._count(_FILES_RULE, _FILES_SQL))
        else:
            results.append(Invariant(_FILES_RULE, 0, applicable=False))
        return results

    async def _count(self, rule: str, sql: str) -> Invariant:
        query = sql.replace("{s}", self._s)
        row = await self._conn.fetchrow(
            f"SELECT count(*) AS n, (array_agg(id ORDER BY id))[1:{EXAMPLES}] AS ids "
            f"FROM ({query}) AS broken"
        )
        assert row is not None
        return Invariant(rule, int(row["n"]), tuple(row["ids"] or ()))

    async def _has_files_table(self) -> bool:
        found = await self._conn.fetchval(
            "SELECT to_regclass($1) IS NOT NULL", f"{self._s}.{FILES_TABLE}"
        )
        return bool(found)


@translates_outages
class PostgresCanaryRows:
    """What ``navigator validate``'s canaries left in a schema, and the last-resort
    removal of them by SQL: documents of the validation member whose file name
    carries the canaries' prefix (nothing else, even if the member were real)."""

    def __init__(self, conn: asyncpg.Connection | asyncpg.Pool, schema: str) -> None:
        self._conn = conn
        self._s = quote_schema(schema)

    async def rows_of_document(self, document_id: str, job_id: str) -> dict[str, int]:
        """Rows still there for one document: by table, only those not zero."""
        s = self._s
        by_document = {
            "documents": f"SELECT count(*) FROM {s}.documents WHERE document_id = $1::uuid",
            "upload_jobs": f"SELECT count(*) FROM {s}.upload_jobs WHERE document_id = $1::uuid",
            "document_chunks": f"SELECT count(*) FROM {s}.document_chunks "
                               "WHERE document_id = $1::uuid",
        }
        if await self._has_files_table():
            by_document[FILES_TABLE] = (f"SELECT count(*) FROM {s}.{FILES_TABLE} "
                                        "WHERE document_id = $1::uuid")
        counts = {table: int(await self._conn.fetchval(sql, document_id))
                  for table, sql in by_document.items()}
        counts["job_events"] = int(await self._conn.fetchval(
            f"SELECT count(*) FROM {s}.job_events WHERE job_id = $1::uuid", job_id))
        return {table: n for table, n in counts.items() if n}

    async def canaries_of_member(self, member: str, prefix: str) -> int:
        """How many documents of ``member`` have a file name starting with ``prefix``."""
        return int(await self._conn.fetchval(
            f"SELECT count(*) FROM {self._s}.documents "
            "WHERE user_id = $1 AND starts_with(filename, $2)", member, prefix))

    async def delete_canaries(self, member: str, prefix: str) -> int:
        """Delete the documents of ``member`` whose file name starts with ``prefix``;
        jobs, history, chunks and stored bytes go with them (their foreign keys
        cascade). Returns how many documents."""
        deleted = await self._conn.fetch(
            f"DELETE FROM {self._s}.documents "
            "WHERE user_id = $1 AND starts_with(filename, $2) RETURNING document_id",
            member, prefix)
        return len(deleted)

    async def _has_files_table(self) -> bool:
        return bool(await self._conn.fetchval(
            "SELECT to_regclass($1) IS NOT NULL", f"{self._s}.{FILES_TABLE}"))
