-- Each chunk's vector moves to a narrow table of its own, written by one INSERT.
--
-- Until now the embed step UPDATEd the row the chunk step had inserted: a second
-- version of a ~6.3 KB row (text, tsvector, vector) that could not stay on its page,
-- so every index of the chunks got a new entry again, the GIN index of keyword search
-- included (~30 WAL records and ~22 KB of WAL per vector), and a dead row was left
-- for vacuum. Measured: ~450 ms of server time for a document's 285 vectors, 5x
-- slower than a plain COPY of the same rows (docs/BENCHMARKS.md, "Vector search").
-- In their own table, a vector is one heap row, one primary-key entry and one entry
-- in the member index that search reads; the chunk's text, its tsvector and the GIN
-- index are written once, by the chunk step.
--
-- - chunk_id references the chunk: a vector for an unknown chunk is refused, and a
--   chunk's vector goes with it (a deleted document, a re-chunked document's stale
--   chunks). The chunk step also deletes the vector of a chunk whose content it
--   changes (adapters/postgres/job_queue.py).
-- - document_id and user_id are copies of the chunk's, so search filters a member's
--   vectors and their documents from the member index alone;
--   adapters/postgres/invariants.py checks that they match.
-- - bits: the binary quantization of migration 0005, now of this table's vector.
--
-- An expand step (docs/OPERATIONS.md, "Migrations: expand, then contract"): during a
-- rolling deploy the previous release still reads and writes the vector columns of
-- document_chunks, so they, their check and their index stay. This release never
-- reads or writes them (they are nullable, so its chunk inserts leave them NULL).
-- While the previous release's worker still embeds by UPDATEing document_chunks, a
-- trigger copies each such vector into chunk_embeddings, so a document it finishes
-- during the deploy is searchable by the new release too. The next release's
-- contract step drops the trigger, its function, the index and the three columns.
-- (This file first shipped with those drops in it; databases that applied that text
-- are accepted: SUPERSEDED in adapters/postgres/migrations.py.)
--
-- On a populated table: every vector is copied once (INSERT ... SELECT) and the member
-- index is built after the copy; the chunks table is not rewritten. The old columns'
-- bytes stay until the contract step, and after it until the rows are rewritten:
-- `VACUUM FULL document_chunks` in a maintenance window gives them back.
-- Measured: see docs/BENCHMARKS.md, "Migration 0006".

CREATE TABLE {schema}.chunk_embeddings (
    chunk_id    uuid PRIMARY KEY
        REFERENCES {schema}.document_chunks (chunk_id) ON DELETE CASCADE,
    document_id uuid NOT NULL,
    user_id     text NOT NULL,
    model       text NOT NULL CHECK (model <> ''),
    embedding   vector({vector_dimension}) NOT NULL,
    bits        bit({vector_dimension})
        GENERATED ALWAYS AS (binary_quantize(embedding)::bit({vector_dimension})) STORED
);

-- in the row, not in TOAST (why: migration 0005)
ALTER TABLE {schema}.chunk_embeddings ALTER COLUMN embedding SET STORAGE MAIN;

INSERT INTO {schema}.chunk_embeddings (chunk_id, document_id, user_id, model, embedding)
SELECT chunk_id, document_id, user_id, embedding_model, embedding
FROM {schema}.document_chunks
WHERE embedding IS NOT NULL;

-- Serves search's Hamming shortlist: a member's vectors of one model, with the
-- document (for the completeness filter), the chunk and the bits, from the index alone.
CREATE INDEX chunk_embeddings_member_search
    ON {schema}.chunk_embeddings (user_id, model) INCLUDE (document_id, chunk_id, bits);

-- The previous release's chunk and embed steps, until its last worker stops: mirror the
-- vector it writes (or clears, for a chunk whose text it changed) into chunk_embeddings.
CREATE FUNCTION {schema}.chunk_embeddings_from_old_columns() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.embedding IS NULL THEN
        DELETE FROM {schema}.chunk_embeddings WHERE chunk_id = NEW.chunk_id;
    ELSE
        INSERT INTO {schema}.chunk_embeddings (chunk_id, document_id, user_id, model, embedding)
        VALUES (NEW.chunk_id, NEW.document_id, NEW.user_id, NEW.embedding_model, NEW.embedding)
        ON CONFLICT (chunk_id) DO UPDATE
            SET model = EXCLUDED.model, embedding = EXCLUDED.embedding;
    END IF;
    RETURN NULL;
END
$$;

-- This release's chunk inserts leave the old columns NULL and never update them, so
-- neither trigger fires for its writes.
CREATE TRIGGER chunk_embeddings_from_old_insert
    AFTER INSERT ON {schema}.document_chunks
    FOR EACH ROW WHEN (NEW.embedding IS NOT NULL)
    EXECUTE FUNCTION {schema}.chunk_embeddings_from_old_columns();

CREATE TRIGGER chunk_embeddings_from_old_update
    AFTER UPDATE OF embedding, embedding_model ON {schema}.document_chunks
    FOR EACH ROW WHEN (NEW.embedding IS DISTINCT FROM OLD.embedding
                       OR NEW.embedding_model IS DISTINCT FROM OLD.embedding_model)
    EXECUTE FUNCTION {schema}.chunk_embeddings_from_old_columns();

-- Serves keyword search's statistics over a member's chunks.
CREATE INDEX document_chunks_by_member ON {schema}.document_chunks (user_id);
