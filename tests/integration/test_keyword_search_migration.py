"""Migration 0004 makes the chunks already stored searchable by keyword."""

from __future__ import annotations

import hashlib
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from adapters.postgres.migrations import migrate, migrations_source

pytestmark = pytest.mark.postgres

KEYWORD_SEARCH = 4


def migrations_until(tmp_path: Path, version: int | None) -> Path:
    target = tmp_path / f"migrations-{version}"
    target.mkdir()
    for path in sorted(migrations_source().glob("*.sql")):
        if version is None or int(path.name[:4]) < version:
            shutil.copy(path, target / path.name)
    return target


async def test_chunks_stored_before_the_migration_are_found_by_their_words(
    conn: asyncpg.Connection, tmp_path: Path
) -> None:
    schema = f"mig_{uuid.uuid4().hex[:12]}"
    try:
        await migrate(conn, schema, 8, migrations_until(tmp_path, KEYWORD_SEARCH))
        document_id, now = uuid.uuid4(), datetime.now(UTC)
        await conn.execute(
            f'INSERT INTO "{schema}".documents (document_id, user_id, filename, media_type, '
            "size_bytes, sha256, blob_key, created_at) VALUES ($1, 'member-maria', "
            "'policy.pdf', 'application/pdf', 10, $2, 'key', $3)",
            document_id, hashlib.sha256(b"policy").hexdigest(), now,
        )
        await conn.execute(
            f'INSERT INTO "{schema}".document_chunks (chunk_id, document_id, user_id, '
            "ordinal, text, token_count) VALUES ($1, $2, 'member-maria', 0, "
            "'Member Services: call 1-800-559-3500 for appeals.', 12)",
            uuid.uuid4(), document_id,
        )

        applied = await migrate(conn, schema, 8, migrations_until(tmp_path, None))

        assert any(name.startswith("0004_") for name in applied)
        found = await conn.fetchval(
            f'SELECT count(*) FROM "{schema}".document_chunks '
            "WHERE text_search @@ websearch_to_tsquery('english', 'appealing member service')"
        )
        assert found == 1
        index = await conn.fetchval(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = $1 "
            "AND indexname = 'document_chunks_member_text_search'", schema,
        )
        assert "USING gin (user_id, text_search)" in index  # migration 0008: member first
        await conn.execute(  # and a chunk written afterwards gets its words too
            f'INSERT INTO "{schema}".document_chunks (chunk_id, document_id, user_id, '
            "ordinal, text, token_count) VALUES ($1, $2, 'member-maria', 1, "
            "'Hearing aids cost $550 per aid.', 8)",
            uuid.uuid4(), document_id,
        )
        assert await conn.fetchval(
            f'SELECT ordinal FROM "{schema}".document_chunks '
            "WHERE text_search @@ websearch_to_tsquery('english', 'hearing aid')"
        ) == 1
    finally:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
