-- step: contract
-- What document_chunks kept for releases before 0006 and 0008, which no release that
-- can still run against this schema reads or writes: this one, and the one before it
-- (the release that shipped 0011), during a rolling deploy or after a rollback.
--
-- 1. The vector columns of document_chunks and what kept them in step (0005, 0006): the
--    vectors live in chunk_embeddings since 0006; neither release names the columns,
--    their index or the trigger (docs/OPERATIONS.md, "Migrations: expand, then
--    contract"). Their triggers' condition is checked for every chunk a chunk step writes,
--    only to find the old column empty.
-- 2. The global GIN index of keyword search (0004) and the member btree (0006): since
--    0008 the member GIN index (user_id, text_search) answers every keyword search,
--    both releases'. No statement names either index; but while they existed the
--    planner often ANDed the two instead (at 100,000 chunks, for every keyword search
--    measured); without them it reads the member GIN index, for less server time.
--    Every chunk write maintained both (the global one holds an entry per distinct word
--    of each chunk).
--    Measured: docs/BENCHMARKS.md, "Ingestion at 4,000 vectors/s".
--
-- IF EXISTS: a database that applied the first text of 0006 never had the triggers and
-- has already lost the columns. DROP COLUMN only marks the columns dropped; their bytes
-- leave the rows when the rows are rewritten (`VACUUM FULL document_chunks` in a
-- maintenance window). Dropping an index or a trigger takes a short exclusive lock on
-- the chunks and does no work proportional to the table.

DROP TRIGGER IF EXISTS chunk_embeddings_from_old_insert ON {schema}.document_chunks;
DROP TRIGGER IF EXISTS chunk_embeddings_from_old_update ON {schema}.document_chunks;
DROP FUNCTION IF EXISTS {schema}.chunk_embeddings_from_old_columns();
DROP INDEX IF EXISTS {schema}.document_chunks_member_search;
ALTER TABLE {schema}.document_chunks
    DROP COLUMN IF EXISTS embedding_bits,
    DROP COLUMN IF EXISTS embedding,
    DROP COLUMN IF EXISTS embedding_model;

DROP INDEX IF EXISTS {schema}.document_chunks_text_search;
DROP INDEX IF EXISTS {schema}.document_chunks_by_member;

-- 3. Not a removal, but the chunk writes' other cost found in the same profile, and this
--    round's only migration: the totals trigger of 0008 recounted the touched documents
--    with a hash join over every chunk of every member (the planner takes a transition
--    table for 200 documents and chooses a sequential scan), ~11 ms at 20,000 chunks,
--    growing with the table, in every chunk step. Its function is replaced by one that
--    recounts from the documents' range of the (document, ordinal) index (`= ANY` of the
--    touched documents). Same rows, same results, nothing taken away: the previous
--    release's chunk writes fire it too and are only faster for it.
CREATE OR REPLACE FUNCTION {schema}.document_chunk_totals_recount() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    touched uuid[];
BEGIN
    SELECT array_agg(DISTINCT document_id) INTO touched FROM changed;
    IF touched IS NULL THEN
        RETURN NULL;
    END IF;
    WITH counted AS (
        SELECT c.document_id, min(c.user_id) AS user_id, count(*) AS chunks,
               sum(c.token_count) AS tokens
        FROM {schema}.document_chunks c
        WHERE c.document_id = ANY (touched)
        GROUP BY c.document_id
    ), gone AS (
        DELETE FROM {schema}.document_chunk_totals t
        WHERE t.document_id = ANY (touched)
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
