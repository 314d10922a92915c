-- Keyword search reads what the member's question matches, not everything the member owns
-- and not everybody's matches (docs/BENCHMARKS.md, "Hybrid search and ingestion at 100k
-- and 300k chunks").
--
-- 1. The GIN index of keyword search gains the member as its first column (btree_gin):
--    `user_id = $1 AND text_search @@ 'word'` is answered from the member's entries of the
--    index, intersected with the word's, so a search no longer finds every member's chunks
--    holding a common word and then throws away all but the member's (the global index),
--    nor reads every tsvector the member owns (the member btree). An expand step: the
--    global GIN index of 0004 and the member btree of 0006 stay until the next release's
--    contract step drops them (docs/OPERATIONS.md, "The next contract step"); until then a
--    chunk write maintains both GIN indexes.
-- 2. Each document's chunk count and token total are kept in `document_chunk_totals`,
--    by statement-level triggers on `document_chunks`: whatever writes chunks (this
--    release's chunk step, the previous release's during a rolling deploy, an operator)
--    keeps them right. BM25's statistics over a member's chunks are then a sum over the
--    member's complete documents (tens of rows) instead of a read of every chunk.
--
-- btree_gin ships with PostgreSQL (contrib) and is a trusted extension (a role with CREATE
-- on the database may create it; Supabase lists it). It is created beside pgvector (in
-- `extensions` on Supabase), never in the application's schema, which a `DROP SCHEMA`
-- would take with it. Its operator classes are the default ones for their types, so the
-- index below finds them whatever the search path.
--
-- On a populated table: the index is built once and the totals are computed once from
-- the chunks; writes to the chunks wait for the whole migration (the index build's lock
-- also keeps any chunk write from slipping between the totals' backfill and their
-- triggers); searches do not wait. Measured: docs/BENCHMARKS.md.

DO $$
DECLARE
    home text;
BEGIN
    -- the extension is the database's, shared by every schema: one creator at a time
    PERFORM pg_advisory_xact_lock(7953768612243006324);  -- "navivect", as for pgvector
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'btree_gin') THEN
        SELECT n.nspname INTO home
        FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname = 'vector';
        BEGIN
            EXECUTE format('CREATE EXTENSION btree_gin SCHEMA %I', coalesce(home, 'public'));
        EXCEPTION WHEN insufficient_privilege OR undefined_file THEN
            RAISE EXCEPTION 'cannot create the btree_gin extension: %', SQLERRM
                USING HINT = 'Ask the database owner to run CREATE EXTENSION btree_gin '
                             '(it ships with PostgreSQL) in the schema of pgvector';
        END;
    END IF;
END
$$;

CREATE INDEX document_chunks_member_text_search
    ON {schema}.document_chunks USING gin (user_id, text_search);

CREATE TABLE {schema}.document_chunk_totals (
    document_id uuid PRIMARY KEY
        REFERENCES {schema}.documents (document_id) ON DELETE CASCADE,
    user_id     text   NOT NULL,
    chunks      bigint NOT NULL CHECK (chunks > 0),
    tokens      bigint NOT NULL CHECK (tokens >= 0)
);

ALTER TABLE {schema}.document_chunk_totals ENABLE ROW LEVEL SECURITY;

INSERT INTO {schema}.document_chunk_totals (document_id, user_id, chunks, tokens)
SELECT document_id, min(user_id), count(*), sum(token_count)
FROM {schema}.document_chunks
GROUP BY document_id;

-- The documents a chunk statement touched get their totals counted again from their
-- chunks (an index range of one document's chunks), or lose them when none is left.
CREATE FUNCTION {schema}.document_chunk_totals_recount() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    WITH touched AS (
        SELECT DISTINCT document_id FROM changed
    ), counted AS (
        SELECT c.document_id, min(c.user_id) AS user_id, count(*) AS chunks,
               sum(c.token_count) AS tokens
        FROM {schema}.document_chunks c
        WHERE c.document_id IN (SELECT document_id FROM touched)
        GROUP BY c.document_id
    ), gone AS (
        DELETE FROM {schema}.document_chunk_totals t
        WHERE t.document_id IN (SELECT document_id FROM touched)
          AND t.document_id NOT IN (SELECT document_id FROM counted)
    )
    INSERT INTO {schema}.document_chunk_totals AS t (document_id, user_id, chunks, tokens)
    SELECT c.document_id, c.user_id, c.chunks, c.tokens
    FROM counted c
    WHERE EXISTS (SELECT FROM {schema}.documents d WHERE d.document_id = c.document_id)
    ON CONFLICT (document_id) DO UPDATE
        SET user_id = EXCLUDED.user_id, chunks = EXCLUDED.chunks, tokens = EXCLUDED.tokens
        WHERE (t.chunks, t.tokens) IS DISTINCT FROM (EXCLUDED.chunks, EXCLUDED.tokens);
    RETURN NULL;
END
$$;

CREATE TRIGGER document_chunk_totals_after_insert
    AFTER INSERT ON {schema}.document_chunks
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.document_chunk_totals_recount();

CREATE TRIGGER document_chunk_totals_after_update
    AFTER UPDATE ON {schema}.document_chunks
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.document_chunk_totals_recount();

CREATE TRIGGER document_chunk_totals_after_delete
    AFTER DELETE ON {schema}.document_chunks
    REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.document_chunk_totals_recount();
