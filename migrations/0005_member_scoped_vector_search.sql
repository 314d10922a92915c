-- Vector search is always scoped to one member's chunks, so it is served by an index on
-- the member, not by one global ANN index over everybody's vectors.
--
-- 1. The global HNSW index goes. Searches for members below ~10,000 chunks never used
--    it (the planner takes the member's btree and sorts exactly), and every write paid
--    for it: ~40x slower ingestion (docs/BENCHMARKS.md, "Vector search").
-- 2. The vector stays in the row (STORAGE MAIN) instead of going to TOAST: 1,536
--    float4 are ~6 KB, above the 2 KB TOAST threshold, so by default each vector read
--    was an index lookup plus four chunk reads in the TOAST table; that, not the
--    arithmetic, made a 10,000-chunk exact scan slow. MAIN still moves a vector out
--    of line as a last resort, so rows that cannot fit a page (2,000 dimensions and a
--    long row) are still stored.
-- 3. A stored 1-bit-per-dimension copy of each vector (pgvector's binary_quantize;
--    192 bytes at 1,536 dimensions) sits in the member index, so search can rank all
--    of a heavy member's chunks by Hamming distance from the index alone and re-rank
--    the best 2,000 exactly (adapters/postgres/documents.py). A member with at most
--    2,000 chunks is therefore ranked exactly.
--
-- On a populated table: ADD COLUMN ... STORED rewrites the table once under an ACCESS
-- EXCLUSIVE lock (searches and uploads wait); the rewrite also brings every existing
-- vector back into its row under the new storage. Measured: 48 s for 100,000 chunks on a
-- busy 2-core machine, so ~8 min per million chunks (docs/BENCHMARKS.md, extrapolated);
-- plan a maintenance window for large tables.

DROP INDEX IF EXISTS {schema}.document_chunks_embedding;  -- IF EXISTS: an operator may have dropped it already

ALTER TABLE {schema}.document_chunks ALTER COLUMN embedding SET STORAGE MAIN;

ALTER TABLE {schema}.document_chunks
    ADD COLUMN embedding_bits bit({vector_dimension})
        GENERATED ALWAYS AS (binary_quantize(embedding)::bit({vector_dimension})) STORED;

-- Serves search: a member's chunks of one model, with what the first ranking needs
-- (document for the completeness filter, chunk id for the re-rank, the bits), so it
-- reads no table rows for chunks it does not keep.
CREATE INDEX document_chunks_member_search
    ON {schema}.document_chunks (user_id, embedding_model)
    INCLUDE (document_id, chunk_id, embedding_bits);

DROP INDEX {schema}.document_chunks_by_member;

-- Serves search's "complete documents only" filter from the member's side, so it never
-- reads every member's jobs.
CREATE INDEX upload_jobs_complete_by_member
    ON {schema}.upload_jobs (user_id, document_id) WHERE status = 'complete';
