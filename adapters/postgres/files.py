"""Uploaded files in PostgreSQL: the default file store (``FILE_STORE=postgres``).

The bytes live in ``document_files``, in parts of at most 1 MiB (one row each),
beside the document they belong to and removed with it (``ON DELETE CASCADE``).
``PostgresJobQueue.submit`` writes them in the transaction that records the
document, its job and the wake-up notice (the first part in the statement that
inserts the document, the rest with ``write_parts``), so an upload is all there or
not at all. A worker on any machine reads them back by the document's
``blob_key``.

``put`` exists for moving files in (``navigator migrate``): it replaces the parts
of the document that has the key, in one transaction, and refuses a key no
document has (the store never keeps bytes without a document).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

import asyncpg

from adapters.blob_keys import check_blob_key
from adapters.postgres.connection import DEFAULT_SCHEMA, quote_schema
from adapters.postgres.errors import committing, translates_outages, translating
from adapters.postgres.named_sql import queue_statements
from domain.errors import NotFound
from domain.file_moves import StoredDocument
from domain.files import PART_BYTES, UploadedFile


async def write_file(conn: asyncpg.Connection, schema: str, document_id: UUID,
                     file: UploadedFile) -> int:
    """Write the file's parts for ``document_id`` on ``conn`` (inside the caller's
    transaction); returns the number of bytes written. One part is in memory at a
    time."""
    return await write_parts(conn, schema, document_id, file.parts(PART_BYTES))


async def write_parts(conn: asyncpg.Connection, schema: str, document_id: UUID,
                      parts: AsyncIterator[bytes], first: int = 0) -> int:
    """Write ``parts`` as the parts numbered from ``first`` on (the caller may have
    written the ones before with the document); returns the number of bytes written."""
    # A plain execute, not conn.prepare(): behind a transaction-mode pooler
    # (DATABASE_POOLER_MODE) named prepared statements must not be left on a server
    # connection that another client gets next.
    sql = (f"INSERT INTO {quote_schema(schema)}.document_files (document_id, part, data) "
           "VALUES ($1, $2, $3)")
    written = 0
    number = first
    async for part in parts:
        await conn.execute(sql, document_id, number, part)
        written += len(part)
        number += 1
    return written


@translates_outages
class PostgresBlobStore:
    """``BlobStore`` in PostgreSQL, in the schema of the queue and the documents."""

    kept_with_jobs = True

    def __init__(self, pool: asyncpg.Pool, schema: str = DEFAULT_SCHEMA) -> None:
        self._pool = pool
        self._schema = schema
        self._s = quote_schema(schema)
        self._sql = queue_statements(schema)

    async def put(self, key: str, file: UploadedFile) -> None:
        check_blob_key(key)
        async with self._pool.acquire() as conn, committing(conn, "the file"):
            document_id = await conn.fetchval(
                f"SELECT document_id FROM {self._s}.documents WHERE blob_key = $1 FOR UPDATE",
                key,
            )
            if document_id is None:
                raise NotFound(f"no document has the file key {key!r}: a file is stored "
                               "with its document")
            await conn.execute(f"DELETE FROM {self._s}.document_files WHERE document_id = $1",
                               document_id)
            await write_file(conn, self._schema, document_id, file)

    async def get(self, key: str) -> bytes:
        check_blob_key(key)
        rows = await self._pool.fetch(
            f"SELECT f.data FROM {self._s}.document_files f "
            f"JOIN {self._s}.documents d ON d.document_id = f.document_id "
            "WHERE d.blob_key = $1 ORDER BY f.part",
            key,
        )
        if not rows:
            raise NotFound(f"no stored file {key!r}")
        return b"".join(row["data"] for row in rows)

    async def read(self, key: str, start: int = 0, end: int | None = None
                   ) -> AsyncIterator[bytes]:
        """The parts that hold bytes ``start`` to ``end``, each cut to the range in the
        database (``substring`` of a part stored EXTERNAL reads only that slice), one
        part in memory at a time."""
        parts = await self._part_sizes(key)
        if not parts:
            raise NotFound(f"no stored file {key!r}")
        offset = 0
        for document_id, part, size in parts:
            low = max(start, offset)
            high = size + offset if end is None else min(end, size + offset)
            if low < high:
                yield await self._slice(document_id, part, low - offset + 1, high - low)
            offset += size

    @translating
    async def _part_sizes(self, key: str) -> list[tuple[UUID, int, int]]:
        check_blob_key(key)
        rows = await self._pool.fetch(self._sql["file_part_sizes"], key)
        return [(row["document_id"], row["part"], row["size"]) for row in rows]

    @translating
    async def _slice(self, document_id: UUID, part: int, first: int, length: int) -> bytes:
        data = await self._pool.fetchval(self._sql["file_part_slice"], document_id, part,
                                         first, length)
        if data is None:  # the document was deleted while its file was being read
            raise NotFound(f"the file of document {document_id} is gone")
        return bytes(data)

    async def delete(self, key: str) -> None:
        check_blob_key(key)
        await self._pool.execute(
            f"DELETE FROM {self._s}.document_files f USING {self._s}.documents d "
            "WHERE d.document_id = f.document_id AND d.blob_key = $1",
            key,
        )


@translating
async def stored_documents(pool: asyncpg.Pool, schema: str) -> list[StoredDocument]:
    """Every document's file key and hash, oldest first (for moving files in)."""
    rows = await pool.fetch(
        f"SELECT blob_key, sha256 FROM {quote_schema(schema)}.documents "
        "ORDER BY created_at, document_id"
    )
    return [StoredDocument(row["blob_key"], row["sha256"]) for row in rows]
