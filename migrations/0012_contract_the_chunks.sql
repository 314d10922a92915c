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

-- Fail (and let the deploy be retried) rather than queue every search and chunk write
-- behind this step while a long transaction holds the chunks.
SET LOCAL lock_timeout = '5s';

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
