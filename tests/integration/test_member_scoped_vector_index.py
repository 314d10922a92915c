"""Migrations 0005 and 0006 on a real PostgreSQL: writes maintain no ANN index, vectors
live in their rows (of ``chunk_embeddings`` since 0006), and a table that already
holds vectors keeps every one of them.
"""

from __future__ import annotations

import math
import shutil
import uuid
from pathlib import Path

import asyncpg
import pytest

from adapters.postgres.connection import create_pool
from adapters.postgres.documents import PostgresDocumentRepository
from adapters.postgres.migrations import migrate, migrations_source

pytestmark = pytest.mark.postgres

MEMBER_SCOPED = 5  # the migration under test
DIMENSIONS = 1536  # the production size: 6 KB per vector, above the 2 KB TOAST threshold
MODEL = "text-embedding-3-small"


def _migrations_before(directory: Path, version: int) -> None:
    """Copy only the migration files older than ``version`` into ``directory``."""
    directory.mkdir()
    for path in migrations_source().glob("*.sql"):
        if int(path.name[:4]) < version:
            shutil.copy(path, directory / path.name)


def _direction(n: int) -> list[float]:
    """A unit vector leaning on dimension ``n``, with every dimension non-zero."""
    values = [0.01 * math.sin(i + n) for i in range(DIMENSIONS)]
    values[n] = 1.0
    norm = math.sqrt(sum(v * v for v in values))
    return [v / norm for v in values]


async def _complete_document(conn: asyncpg.Connection, schema: str, member: str,
                             texts: list[str]) -> None:
    """A complete document whose chunks hold their vectors, as before migration 0006."""
    s = f'"{schema}"'
    document_id = uuid.uuid4()
    await conn.execute(
        f"INSERT INTO {s}.documents VALUES ($1, $2, 'plan.pdf', 'application/pdf', 10, $3, "
        "'k', now())",
        document_id, member, uuid.uuid4().hex * 2,
    )
    await conn.execute(
        f"INSERT INTO {s}.upload_jobs (job_id, document_id, user_id, status, available_at, "
        "created_at, updated_at) VALUES ($1, $2, $3, 'complete', now(), now(), now())",
        uuid.uuid4(), document_id, member,
    )
    for ordinal, text in enumerate(texts):
        await conn.execute(
            f"INSERT INTO {s}.document_chunks (chunk_id, document_id, user_id, ordinal, text, "
            "token_count, embedding, embedding_model) "
            "VALUES ($1, $2, $3, $4, $5, 3, $6::text::vector, $7)",
            uuid.uuid4(), document_id, member, ordinal, text,
            "[" + ",".join(map(str, _direction(ordinal))) + "]", MODEL,
        )


async def _member_with_vectors(conn: asyncpg.Connection, schema: str, member: str,
                               chunks: dict[str, list[float]]) -> None:
    s = f'"{schema}"'
    document_id = uuid.uuid4()
    await conn.execute(
        f"INSERT INTO {s}.documents VALUES ($1, $2, 'plan.pdf', 'application/pdf', 10, $3, "
        "'k', now())",
        document_id, member, uuid.uuid4().hex * 2,
    )
    await conn.execute(
        f"INSERT INTO {s}.upload_jobs (job_id, document_id, user_id, status, available_at, "
        "created_at, updated_at) VALUES ($1, $2, $3, 'complete', now(), now(), now())",
        uuid.uuid4(), document_id, member,
    )
    for ordinal, (text, vector) in enumerate(chunks.items()):
        await _chunk_with_vector(conn, schema, document_id, member, ordinal, text, vector)


async def _chunk_with_vector(conn: asyncpg.Connection, schema: str, document_id: uuid.UUID,
                             member: str, ordinal: int, text: str, vector: list[float]) -> None:
    """A chunk and its vector as the current schema stores them."""
    s, chunk_id = f'"{schema}"', uuid.uuid4()
    await conn.execute(
        f"INSERT INTO {s}.document_chunks (chunk_id, document_id, user_id, ordinal, text, "
        "token_count) VALUES ($1, $2, $3, $4, $5, 3)",
        chunk_id, document_id, member, ordinal, text,
    )
    await conn.execute(
        f"INSERT INTO {s}.chunk_embeddings (chunk_id, document_id, user_id, model, embedding) "
        "VALUES ($1, $2, $3, $4, $5::text::vector)",
        chunk_id, document_id, member, MODEL, "[" + ",".join(map(str, vector)) + "]",
    )


# Eight dimensions. The query's signs are +++++++-; "copay" points the query's way in
# cosine but has the opposite sign in 7 of 8 dimensions, so binary quantization ranks
# it last; the other two share the query's signs but point away from it.
_QUERY = [1.0] * 7 + [-0.1]
_ADVERSARIAL = {
    "copay": [3.0] + [-0.01] * 6 + [0.01],
    "deductible": [0.01] * 7 + [5.0],
    "coinsurance": [0.01] * 7 + [1.0],
}


async def test_a_member_within_the_rerank_count_is_ranked_exactly_whatever_the_bits_say(
    conn: asyncpg.Connection, pg_pool: asyncpg.Pool, pg_schema: str
) -> None:
    await _member_with_vectors(conn, pg_schema, "member-maria", _ADVERSARIAL)
    repository = PostgresDocumentRepository(pg_pool, pg_schema, rerank_candidates=3)

    hits = await repository.search("member-maria", _QUERY, MODEL, -1.0, 1)

    assert [h.chunk.text for h in hits] == ["copay"]


async def test_beyond_the_rerank_count_a_chunk_the_bits_rank_last_can_be_missed(
    conn: asyncpg.Connection, pg_pool: asyncpg.Pool, pg_schema: str
) -> None:
    """The price of the re-rank (recall@10 measured by bench/search.py), pinned so a
    change to it is seen."""
    await _member_with_vectors(conn, pg_schema, "member-maria", _ADVERSARIAL)
    repository = PostgresDocumentRepository(pg_pool, pg_schema, rerank_candidates=2)

    hits = await repository.search("member-maria", _QUERY, MODEL, -1.0, 2)

    assert sorted(h.chunk.text for h in hits) == ["coinsurance", "deductible"]


async def _out_of_line(conn: asyncpg.Connection, schema: str,
                       table: str = "chunk_embeddings") -> int:
    """How many stored vectors live in the TOAST table rather than in their row."""
    return int(await conn.fetchval(
        f'SELECT count(*) FROM "{schema}".{table} '
        "WHERE pg_column_toast_chunk_id(embedding) IS NOT NULL"
    ))


async def _index_methods(conn: asyncpg.Connection, schema: str, table: str) -> dict[str, str]:
    return {
        r["relname"]: r["amname"]
        for r in await conn.fetch(
            "SELECT i.relname, a.amname FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace JOIN pg_am a ON a.oid = i.relam "
            "WHERE n.nspname = $1 AND t.relname = $2",
            schema, table,
        )
    }


async def test_chunk_writes_maintain_no_ann_index_only_the_member_index(
    conn: asyncpg.Connection, pg_schema: str
) -> None:
    chunks = await _index_methods(conn, pg_schema, "document_chunks")
    # b-trees, and the GIN index of keyword search (0004; by member since 0008): no
    # approximate vector index
    assert set(chunks.values()) == {"btree", "gin"}
    assert chunks["document_chunks_member_text_search"] == "gin"
    vectors = await _index_methods(conn, pg_schema, "chunk_embeddings")
    assert set(vectors.values()) == {"btree"}
    definition = await conn.fetchval(
        "SELECT pg_get_indexdef(c.oid) FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE n.nspname = $1 "
        "AND c.relname = 'chunk_embeddings_member_search'",
        pg_schema,
    )
    assert "(user_id, model) INCLUDE (document_id, chunk_id, bits)" in definition


async def test_a_populated_table_keeps_every_vector_and_brings_them_into_their_rows(
    postgres_dsn: str, conn: asyncpg.Connection, blank_schema: str, tmp_path: Path
) -> None:
    before = tmp_path / "before"
    _migrations_before(before, MEMBER_SCOPED)
    await migrate(conn, blank_schema, DIMENSIONS, before)
    texts = ["deductible", "copay", "coinsurance", "out-of-pocket maximum"]
    await _complete_document(conn, blank_schema, "member-maria", texts)
    await _complete_document(conn, blank_schema, "member-jamal", ["jamal's deductible"])
    await conn.execute(  # a chunk still waiting for its vector
        f'INSERT INTO "{blank_schema}".document_chunks (chunk_id, document_id, user_id, '
        "ordinal, text, token_count) SELECT $1, document_id, user_id, 99, 'waiting', 1 "
        f'FROM "{blank_schema}".documents WHERE user_id = \'member-jamal\'',
        uuid.uuid4(),
    )
    stored = await conn.fetch(
        f'SELECT chunk_id, document_id, user_id, embedding::text AS v '
        f'FROM "{blank_schema}".document_chunks WHERE embedding IS NOT NULL'
    )
    assert await _out_of_line(conn, blank_schema, "document_chunks") == len(stored)

    applied = await migrate(conn, blank_schema, DIMENSIONS)

    assert [name[:4] for name in applied] == sorted(
        p.name[:4] for p in migrations_source().glob("*.sql") if int(p.name[:4]) >= MEMBER_SCOPED
    )
    after = await conn.fetch(
        f'SELECT chunk_id, document_id, user_id, embedding::text AS v, model, '
        f"bits = binary_quantize(embedding)::bit({DIMENSIONS}) AS bits_match "
        f'FROM "{blank_schema}".chunk_embeddings'
    )
    assert ({(r["chunk_id"], r["document_id"], r["user_id"], r["v"]) for r in after}
            == {(r["chunk_id"], r["document_id"], r["user_id"], r["v"]) for r in stored})
    assert all(r["bits_match"] and r["model"] == MODEL for r in after)
    assert await _out_of_line(conn, blank_schema) == 0
    left = await conn.fetchval(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = $1 "
        "AND table_name = 'document_chunks' AND column_name LIKE 'embedding%'", blank_schema)
    assert left == 0  # 0006 only expanded; the contract step (0012) dropped the old columns

    pool = await create_pool(postgres_dsn, blank_schema, min_size=1, max_size=1)
    try:
        hits = await PostgresDocumentRepository(pool, blank_schema).search(
            "member-maria", _direction(2), MODEL, 0.0, 3
        )
    finally:
        await pool.close()
    assert hits[0].chunk.text == "coinsurance"
    assert len(hits) == 3
    assert all(h.chunk.user_id == "member-maria" for h in hits)


async def test_vectors_written_after_the_migration_stay_in_their_rows(
    conn: asyncpg.Connection, blank_schema: str
) -> None:
    await migrate(conn, blank_schema, DIMENSIONS)

    await _member_with_vectors(conn, blank_schema, "member-maria",
                               {"deductible": _direction(0), "copay": _direction(1)})

    assert await conn.fetchval(f'SELECT count(*) FROM "{blank_schema}".chunk_embeddings') == 2
    assert await _out_of_line(conn, blank_schema) == 0
