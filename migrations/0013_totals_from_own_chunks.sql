-- The chunk totals triggers of 0008 recounted the documents a chunk statement touched
-- with a hash join over every chunk of every member (the planner takes a transition
-- table for 200 documents and chooses a sequential scan): ~11 ms at 20,000 chunks and
-- 87 ms at 100,000, growing with the table, in every chunk step. The function is
-- replaced by one that recounts from the touched documents' range of the (document,
-- ordinal) index (`= ANY` of them). Same rows, same results, nothing taken away (an
-- expand step): the previous release's chunk writes fire it too and are only faster
-- for it. Measured: docs/BENCHMARKS.md, "Ingestion at 4,000 vectors/s".

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
