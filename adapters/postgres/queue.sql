-- The job queue's statements, by name. adapters/postgres/named_sql.py loads them and
-- puts the schema's quoted name where {schema} stands; nothing else is substituted.
--
-- Every write is one statement in autocommit. A write that moves a job is a
-- compare-and-set: it updates the row only if the row still is exactly the job the
-- domain decided from (all the columns a transition may change), and, for a worker,
-- only while its lease is alive. It always answers with one row: `written` true and
-- the job as stored, or `written` false and the row as the statement found it (all
-- NULL when the job is gone), so a refused write says why without a second query.
--
-- The moves share their first 29 arguments:
--   $1        job_id
--   $2-$12    the job as the domain decided it: status, attempts, available_at,
--             last_error, failed_stage, lease_owner, lease_expires_at, fencing_token,
--             parser_job_id, embedding_tokens, updated_at
--   $13-$23   the same columns as the domain found them (the compare of the CAS)
--   $24-$29   the events that record the move, one array per column: from_status,
--             to_status, at, attempt, worker, detail
-- A worker's write adds its lease: $30 worker, $31 fencing token, $32 now.


-- name: claim
-- Lease up to $4 ready jobs to worker $1 at $2 until $3, oldest first, skipping rows
-- another claim holds; each step's claim-from status becomes its working status (a
-- step without one keeps its status) and a "started" event records the move. The
-- two CASEs are the domain's table (domain/status.py STEPS, Job.claim); a unit test
-- holds them to it.
WITH picked AS (
    SELECT job_id, status FROM {schema}.upload_jobs
    WHERE status IN ('uploaded', 'parsed', 'parse_validated', 'chunks_stored',
                     'embedding_queued', 'embeddings_stored')
      AND lease_owner IS NULL AND available_at <= $2
    ORDER BY priority, available_at, job_id
    LIMIT $4
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE {schema}.upload_jobs j
    SET status = CASE p.status
            WHEN 'uploaded' THEN 'parsing'
            WHEN 'parse_validated' THEN 'chunking'
            WHEN 'embedding_queued' THEN 'embedding_in_progress'
            ELSE p.status
        END,
        lease_owner = $1, lease_expires_at = $3,
        fencing_token = j.fencing_token + 1, updated_at = $2
    FROM picked p
    WHERE j.job_id = p.job_id
    RETURNING j.*, p.status AS claimed_from
), started AS (
    INSERT INTO {schema}.job_events (job_id, from_status, to_status, at, attempt, worker, detail)
    SELECT job_id, claimed_from, status, $2, attempts + 1, $1,
        CASE claimed_from
            WHEN 'uploaded' THEN 'parse started'
            WHEN 'parse_validated' THEN 'chunk started'
            WHEN 'embedding_queued' THEN 'embed started'
        END
    FROM claimed WHERE status <> claimed_from
    ORDER BY priority, available_at, job_id
)
SELECT * FROM claimed ORDER BY priority, available_at, job_id;


-- name: move_held
-- A worker's move that leaves nothing else behind: a heartbeat, a hosted parser's job
-- id, a step finished with no artefacts, a retry, a failure, a release.
WITH found AS (
    SELECT * FROM {schema}.upload_jobs WHERE job_id = $1
), fenced AS (
    UPDATE {schema}.upload_jobs
    SET status = $2, attempts = $3, available_at = $4, last_error = $5, failed_stage = $6,
        lease_owner = $7, lease_expires_at = $8, fencing_token = $9, parser_job_id = $10,
        embedding_tokens = $11, updated_at = $12
    WHERE job_id = $1
      AND status IS NOT DISTINCT FROM $13 AND attempts IS NOT DISTINCT FROM $14
      AND available_at IS NOT DISTINCT FROM $15 AND last_error IS NOT DISTINCT FROM $16
      AND failed_stage IS NOT DISTINCT FROM $17 AND lease_owner IS NOT DISTINCT FROM $18
      AND lease_expires_at IS NOT DISTINCT FROM $19
      AND fencing_token IS NOT DISTINCT FROM $20 AND parser_job_id IS NOT DISTINCT FROM $21
      AND embedding_tokens IS NOT DISTINCT FROM $22 AND updated_at IS NOT DISTINCT FROM $23
      AND lease_owner = $30 AND fencing_token = $31 AND lease_expires_at > $32
    RETURNING *
), events AS (
    INSERT INTO {schema}.job_events (job_id, from_status, to_status, at, attempt, worker, detail)
    SELECT f.job_id, e.from_status, e.to_status, e.at, e.attempt, e.worker, e.detail
    FROM fenced f CROSS JOIN unnest($24::text[], $25::text[], $26::timestamptz[], $27::int[],
                                    $28::text[], $29::text[]) WITH ORDINALITY
        AS e(from_status, to_status, at, attempt, worker, detail, n)
    ORDER BY e.n
)
SELECT true AS written, f.*, false AS unknown_chunks FROM fenced f
UNION ALL
SELECT false, c.*, false FROM (VALUES (1)) AS one LEFT JOIN found c ON true
WHERE NOT EXISTS (SELECT FROM fenced);


-- name: finish_with_parsed
-- A worker finishes the parse step: the move, and the parsed pages ($33, jsonb) on the
-- document, both or neither.
WITH found AS (
    SELECT * FROM {schema}.upload_jobs WHERE job_id = $1
), fenced AS (
    UPDATE {schema}.upload_jobs
    SET status = $2, attempts = $3, available_at = $4, last_error = $5, failed_stage = $6,
        lease_owner = $7, lease_expires_at = $8, fencing_token = $9, parser_job_id = $10,
        embedding_tokens = $11, updated_at = $12
    WHERE job_id = $1
      AND status IS NOT DISTINCT FROM $13 AND attempts IS NOT DISTINCT FROM $14
      AND available_at IS NOT DISTINCT FROM $15 AND last_error IS NOT DISTINCT FROM $16
      AND failed_stage IS NOT DISTINCT FROM $17 AND lease_owner IS NOT DISTINCT FROM $18
      AND lease_expires_at IS NOT DISTINCT FROM $19
      AND fencing_token IS NOT DISTINCT FROM $20 AND parser_job_id IS NOT DISTINCT FROM $21
      AND embedding_tokens IS NOT DISTINCT FROM $22 AND updated_at IS NOT DISTINCT FROM $23
      AND lease_owner = $30 AND fencing_token = $31 AND lease_expires_at > $32
    RETURNING *
), events AS (
    INSERT INTO {schema}.job_events (job_id, from_status, to_status, at, attempt, worker, detail)
    SELECT f.job_id, e.from_status, e.to_status, e.at, e.attempt, e.worker, e.detail
    FROM fenced f CROSS JOIN unnest($24::text[], $25::text[], $26::timestamptz[], $27::int[],
                                    $28::text[], $29::text[]) WITH ORDINALITY
        AS e(from_status, to_status, at, attempt, worker, detail, n)
    ORDER BY e.n
), parsed AS (
    UPDATE {schema}.documents d SET parsed = $33::jsonb
    FROM fenced f WHERE d.document_id = f.document_id
)
SELECT true AS written, f.*, false AS unknown_chunks FROM fenced f
UNION ALL
SELECT false, c.*, false FROM (VALUES (1)) AS one LEFT JOIN found c ON true
WHERE NOT EXISTS (SELECT FROM fenced);


-- name: finish_with_chunks
-- A worker finishes the chunk step: the move, and the document's chunks, one array per
-- column ($33 chunk_id, $34 ordinal, $35 text, $36 token_count, $37 heading_path as
-- JSON text, $38 page, $39 char_start, $40 char_end, $41 chunker, $42 text_search as
-- tsvector text, NULL where the worker leaves it to the database's trigger, migration
-- 0014). Chunks past the new last ordinal go. A chunk whose content is unchanged is
-- left alone (its vector still fits it); a changed one is rewritten, and its vector
-- goes, as does a removed chunk's: the vector table's key refuses to outlive the chunk
-- it was made for (its tsvector too: docs/OPERATIONS.md has the query that re-indexes
-- one that differs from PostgreSQL's).
WITH found AS (
    SELECT * FROM {schema}.upload_jobs WHERE job_id = $1
), fenced AS (
    UPDATE {schema}.upload_jobs
    SET status = $2, attempts = $3, available_at = $4, last_error = $5, failed_stage = $6,
        lease_owner = $7, lease_expires_at = $8, fencing_token = $9, parser_job_id = $10,
        embedding_tokens = $11, updated_at = $12
    WHERE job_id = $1
      AND status IS NOT DISTINCT FROM $13 AND attempts IS NOT DISTINCT FROM $14
      AND available_at IS NOT DISTINCT FROM $15 AND last_error IS NOT DISTINCT FROM $16
      AND failed_stage IS NOT DISTINCT FROM $17 AND lease_owner IS NOT DISTINCT FROM $18
      AND lease_expires_at IS NOT DISTINCT FROM $19
      AND fencing_token IS NOT DISTINCT FROM $20 AND parser_job_id IS NOT DISTINCT FROM $21
      AND embedding_tokens IS NOT DISTINCT FROM $22 AND updated_at IS NOT DISTINCT FROM $23
      AND lease_owner = $30 AND fencing_token = $31 AND lease_expires_at > $32
    RETURNING *
), events AS (
    INSERT INTO {schema}.job_events (job_id, from_status, to_status, at, attempt, worker, detail)
    SELECT f.job_id, e.from_status, e.to_status, e.at, e.attempt, e.worker, e.detail
    FROM fenced f CROSS JOIN unnest($24::text[], $25::text[], $26::timestamptz[], $27::int[],
                                    $28::text[], $29::text[]) WITH ORDINALITY
        AS e(from_status, to_status, at, attempt, worker, detail, n)
    ORDER BY e.n
), stale_chunks AS (
    DELETE FROM {schema}.document_chunks c USING fenced f
    WHERE c.document_id = f.document_id AND NOT (c.ordinal = ANY($34::int[]))
), chunks AS (
    INSERT INTO {schema}.document_chunks AS c
        (document_id, user_id, chunk_id, ordinal, text, token_count, heading_path, page,
         char_start, char_end, chunker, text_search)
    SELECT f.document_id, f.user_id, u.chunk_id, u.ordinal, u.text, u.token_count,
           ARRAY(SELECT jsonb_array_elements_text(u.heading_path::jsonb)), u.page,
           u.char_start, u.char_end, u.chunker, u.text_search::tsvector
    FROM fenced f CROSS JOIN unnest($33::uuid[], $34::int[], $35::text[], $36::int[],
                                    $37::text[], $38::int[], $39::int[], $40::int[],
                                    $41::text[], $42::text[])
        AS u(chunk_id, ordinal, text, token_count, heading_path, page, char_start,
             char_end, chunker, text_search)
    ON CONFLICT (document_id, ordinal) DO UPDATE
    SET chunk_id = EXCLUDED.chunk_id, text = EXCLUDED.text,
        token_count = EXCLUDED.token_count, heading_path = EXCLUDED.heading_path,
        page = EXCLUDED.page, char_start = EXCLUDED.char_start,
        char_end = EXCLUDED.char_end, chunker = EXCLUDED.chunker,
        text_search = EXCLUDED.text_search
    WHERE NOT (c.chunk_id IS NOT DISTINCT FROM EXCLUDED.chunk_id
               AND c.text IS NOT DISTINCT FROM EXCLUDED.text
               AND c.token_count IS NOT DISTINCT FROM EXCLUDED.token_count
               AND c.heading_path IS NOT DISTINCT FROM EXCLUDED.heading_path
               AND c.page IS NOT DISTINCT FROM EXCLUDED.page
               AND c.char_start IS NOT DISTINCT FROM EXCLUDED.char_start
               AND c.char_end IS NOT DISTINCT FROM EXCLUDED.char_end
               AND c.chunker IS NOT DISTINCT FROM EXCLUDED.chunker)
    RETURNING c.chunk_id
), stale_vectors AS (
    -- the chunks as they were before this statement, found by the document's key
    DELETE FROM {schema}.chunk_embeddings e
    USING fenced f, {schema}.document_chunks c
    WHERE c.document_id = f.document_id AND e.chunk_id = c.chunk_id
      AND (NOT (c.chunk_id = ANY($33::uuid[])) OR c.chunk_id IN (SELECT chunk_id FROM chunks))
)
SELECT true AS written, f.*, false AS unknown_chunks FROM fenced f
UNION ALL
SELECT false, c.*, false FROM (VALUES (1)) AS one LEFT JOIN found c ON true
WHERE NOT EXISTS (SELECT FROM fenced);


-- name: finish_with_vectors
-- A worker finishes the embed step: the move, and one vector per chunk ($33 chunk ids,
-- each once; $34 vectors; $35 models), written over any earlier one. Nothing is
-- written unless every chunk named is one of the document's; a refusal says so in
-- `unknown_chunks`.
WITH found AS (
    SELECT * FROM {schema}.upload_jobs WHERE job_id = $1
), known AS (
    SELECT count(*) AS n FROM {schema}.document_chunks
    WHERE document_id = (SELECT document_id FROM found) AND chunk_id = ANY($33::uuid[])
), fenced AS (
    UPDATE {schema}.upload_jobs
    SET status = $2, attempts = $3, available_at = $4, last_error = $5, failed_stage = $6,
        lease_owner = $7, lease_expires_at = $8, fencing_token = $9, parser_job_id = $10,
        embedding_tokens = $11, updated_at = $12
    WHERE job_id = $1
      AND status IS NOT DISTINCT FROM $13 AND attempts IS NOT DISTINCT FROM $14
      AND available_at IS NOT DISTINCT FROM $15 AND last_error IS NOT DISTINCT FROM $16
      AND failed_stage IS NOT DISTINCT FROM $17 AND lease_owner IS NOT DISTINCT FROM $18
      AND lease_expires_at IS NOT DISTINCT FROM $19
      AND fencing_token IS NOT DISTINCT FROM $20 AND parser_job_id IS NOT DISTINCT FROM $21
      AND embedding_tokens IS NOT DISTINCT FROM $22 AND updated_at IS NOT DISTINCT FROM $23
      AND lease_owner = $30 AND fencing_token = $31 AND lease_expires_at > $32
      AND (SELECT n FROM known) = cardinality($33::uuid[])
    RETURNING *
), events AS (
    INSERT INTO {schema}.job_events (job_id, from_status, to_status, at, attempt, worker, detail)
    SELECT f.job_id, e.from_status, e.to_status, e.at, e.attempt, e.worker, e.detail
    FROM fenced f CROSS JOIN unnest($24::text[], $25::text[], $26::timestamptz[], $27::int[],
                                    $28::text[], $29::text[]) WITH ORDINALITY
        AS e(from_status, to_status, at, attempt, worker, detail, n)
    ORDER BY e.n
), vectors AS (
    INSERT INTO {schema}.chunk_embeddings AS e (chunk_id, document_id, user_id, model, embedding)
    SELECT u.chunk_id, f.document_id, f.user_id, u.model, u.embedding
    FROM fenced f, unnest($33::uuid[], $34::vector[], $35::text[]) AS u(chunk_id, embedding, model)
    ON CONFLICT (chunk_id) DO UPDATE SET model = EXCLUDED.model, embedding = EXCLUDED.embedding
)
SELECT true AS written, f.*, false AS unknown_chunks FROM fenced f
UNION ALL
SELECT false, c.*, (SELECT n FROM known) <> cardinality($33::uuid[])
FROM (VALUES (1)) AS one LEFT JOIN found c ON true
WHERE NOT EXISTS (SELECT FROM fenced);


-- name: rescue
-- Any worker takes back a job whose lease expired: a move with no lease of its own, so
-- of two workers racing for one job exactly one writes.
WITH found AS (
    SELECT * FROM {schema}.upload_jobs WHERE job_id = $1
), fenced AS (
    UPDATE {schema}.upload_jobs
    SET status = $2, attempts = $3, available_at = $4, last_error = $5, failed_stage = $6,
        lease_owner = $7, lease_expires_at = $8, fencing_token = $9, parser_job_id = $10,
        embedding_tokens = $11, updated_at = $12
    WHERE job_id = $1
      AND status IS NOT DISTINCT FROM $13 AND attempts IS NOT DISTINCT FROM $14
      AND available_at IS NOT DISTINCT FROM $15 AND last_error IS NOT DISTINCT FROM $16
      AND failed_stage IS NOT DISTINCT FROM $17 AND lease_owner IS NOT DISTINCT FROM $18
      AND lease_expires_at IS NOT DISTINCT FROM $19
      AND fencing_token IS NOT DISTINCT FROM $20 AND parser_job_id IS NOT DISTINCT FROM $21
      AND embedding_tokens IS NOT DISTINCT FROM $22 AND updated_at IS NOT DISTINCT FROM $23
    RETURNING *
), events AS (
    INSERT INTO {schema}.job_events (job_id, from_status, to_status, at, attempt, worker, detail)
    SELECT f.job_id, e.from_status, e.to_status, e.at, e.attempt, e.worker, e.detail
    FROM fenced f CROSS JOIN unnest($24::text[], $25::text[], $26::timestamptz[], $27::int[],
                                    $28::text[], $29::text[]) WITH ORDINALITY
        AS e(from_status, to_status, at, attempt, worker, detail, n)
    ORDER BY e.n
)
SELECT true AS written, f.*, false AS unknown_chunks FROM fenced f
UNION ALL
SELECT false, c.*, false FROM (VALUES (1)) AS one LEFT JOIN found c ON true
WHERE NOT EXISTS (SELECT FROM fenced);


-- name: requeue
-- A member or an operator sends a failed job back: a move with no lease, announced on
-- channel $30 once written.
WITH found AS (
    SELECT * FROM {schema}.upload_jobs WHERE job_id = $1
), fenced AS (
    UPDATE {schema}.upload_jobs
    SET status = $2, attempts = $3, available_at = $4, last_error = $5, failed_stage = $6,
        lease_owner = $7, lease_expires_at = $8, fencing_token = $9, parser_job_id = $10,
        embedding_tokens = $11, updated_at = $12
    WHERE job_id = $1
      AND status IS NOT DISTINCT FROM $13 AND attempts IS NOT DISTINCT FROM $14
      AND available_at IS NOT DISTINCT FROM $15 AND last_error IS NOT DISTINCT FROM $16
      AND failed_stage IS NOT DISTINCT FROM $17 AND lease_owner IS NOT DISTINCT FROM $18
      AND lease_expires_at IS NOT DISTINCT FROM $19
      AND fencing_token IS NOT DISTINCT FROM $20 AND parser_job_id IS NOT DISTINCT FROM $21
      AND embedding_tokens IS NOT DISTINCT FROM $22 AND updated_at IS NOT DISTINCT FROM $23
    RETURNING *
), events AS (
    INSERT INTO {schema}.job_events (job_id, from_status, to_status, at, attempt, worker, detail)
    SELECT f.job_id, e.from_status, e.to_status, e.at, e.attempt, e.worker, e.detail
    FROM fenced f CROSS JOIN unnest($24::text[], $25::text[], $26::timestamptz[], $27::int[],
                                    $28::text[], $29::text[]) WITH ORDINALITY
        AS e(from_status, to_status, at, attempt, worker, detail, n)
    ORDER BY e.n
)
SELECT true AS written, f.*, false AS unknown_chunks, pg_notify($30, f.job_id::text) AS notified
FROM fenced f
UNION ALL
SELECT false, c.*, false, NULL FROM (VALUES (1)) AS one LEFT JOIN found c ON true
WHERE NOT EXISTS (SELECT FROM fenced);


-- name: submit
-- A new upload: the document ($1-$8), its job ($9 job_id, $10 user_id, $11 priority,
-- $12 created_at, $13-$23 the columns a transition may change, in the order above),
-- the job's first event ($24 to_status, $25 at, $26 attempt, $27 detail), the
-- notice on channel $28, the file's first part ($29; NULL when the file is not
-- kept here) and the trace the upload started in ($30). It answers with what the member stored before this upload (`n`
-- documents, `bytes`), for the quota: run after lock_member_uploads, it sees every
-- upload of the member committed before it, and the caller rolls back if the quota
-- says no. The member's same bytes stored already: nothing is written and no row
-- comes back.
WITH usage AS (
    SELECT count(*) AS n, coalesce(sum(size_bytes), 0) AS bytes
    FROM {schema}.documents WHERE user_id = $2
), doc AS (
    INSERT INTO {schema}.documents (document_id, user_id, filename, media_type, size_bytes,
                                    sha256, blob_key, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
    ON CONFLICT (user_id, sha256) DO NOTHING
    RETURNING document_id
), job AS (
    INSERT INTO {schema}.upload_jobs (job_id, document_id, user_id, priority, created_at,
                                      status, attempts, available_at, last_error,
                                      failed_stage, lease_owner, lease_expires_at,
                                      fencing_token, parser_job_id, embedding_tokens,
                                      updated_at, trace_context)
    SELECT $9, doc.document_id, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
           $22, $23, $30
    FROM doc
    RETURNING job_id
), first_event AS (
    INSERT INTO {schema}.job_events (job_id, from_status, to_status, at, attempt, worker, detail)
    SELECT job_id, NULL, $24, $25, $26, NULL, $27 FROM job
), first_part AS (
    INSERT INTO {schema}.document_files (document_id, part, data)
    SELECT document_id, 0, $29::bytea FROM doc WHERE $29::bytea IS NOT NULL
)
SELECT pg_notify($28, job.job_id::text), usage.n, usage.bytes FROM job CROSS JOIN usage;


-- name: lock_member_uploads
-- Serialises one member's uploads until the transaction ends ($1 the lock's name for
-- this schema, $2 the member).
SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2));


-- name: document_by_sha256
-- The member's ($1) document with exactly these bytes ($2): the dedupe lookup.
SELECT * FROM {schema}.documents WHERE user_id = $1 AND sha256 = $2;


-- name: usage
-- How many documents and bytes member $1 has stored (for the quota).
SELECT count(*) AS n, coalesce(sum(size_bytes), 0) AS bytes
FROM {schema}.documents WHERE user_id = $1;


-- name: delete_document
-- Member $2's document $1, with its job, history, chunks, vectors and file (the
-- foreign keys cascade), returned as it was.
DELETE FROM {schema}.documents WHERE document_id = $1 AND user_id = $2 RETURNING *;


-- name: job
SELECT * FROM {schema}.upload_jobs WHERE job_id = $1;


-- name: job_for_document
SELECT * FROM {schema}.upload_jobs WHERE document_id = $1;


-- name: history
SELECT * FROM {schema}.job_events WHERE job_id = $1 ORDER BY id;


-- name: counts
SELECT status, count(*) AS n FROM {schema}.upload_jobs GROUP BY status;


-- name: expired_leases
-- Jobs whose lease ran out by $1, the longest expired first: what a rescue looks at.
SELECT * FROM {schema}.upload_jobs
WHERE lease_owner IS NOT NULL AND lease_expires_at <= $1
ORDER BY lease_expires_at, job_id;


-- name: queue_figures
-- What operators watch (/metrics, `navigator status`) of the whole queue, in one round
-- trip: $1 now, $2 the start of the window, $3 how long after its last heartbeat a worker
-- counts as live when it did not say (its own `live_seconds`, migration 0015).
-- One row per figure (kind, status, n, since):
--   jobs      jobs in each status, with, for a claim-from status, the earliest moment
--             one of its unheld jobs became ready to claim (available_at passed;
--             NULL: none ready)
--   past_due  leases of each status that ran out and wait for a rescue
--   failed    failures since $2, by the status the job failed from
--   retried   failed attempts since $2 that will run again, by the status the job went
--             back to (the domain's mark, domain/model.py WILL_RETRY; a unit test holds
--             the text here to it)
--   complete  jobs completed since $2
--   workers   workers seen since $3
-- Every part reads an index that holds only its rows (0011, 0005): the jobs not
-- complete (few, unless failures pile up) from upload_jobs_not_complete, the complete
-- ones counted from upload_jobs_complete_by_member alone (an index-only scan), the
-- window's outcomes from job_events_recent_outcomes.
WITH jobs AS (
    SELECT status, count(*) AS n,
           min(available_at) FILTER (
               WHERE status IN ('uploaded', 'parsed', 'parse_validated', 'chunks_stored',
                                'embedding_queued', 'embeddings_stored')
                 AND lease_owner IS NULL AND available_at <= $1) AS ready_since,
           count(*) FILTER (WHERE lease_expires_at <= $1) AS past_due
    FROM {schema}.upload_jobs
    WHERE status <> 'complete'
    GROUP BY status
    UNION ALL
    SELECT 'complete', count(*), NULL, 0 FROM {schema}.upload_jobs WHERE status = 'complete'
), outcomes AS (
    SELECT to_status, from_status, detail FROM {schema}.job_events
    WHERE at > $2
      AND (to_status IN ('failed', 'complete') OR detail LIKE 'will retry: %')
)
SELECT 'jobs' AS kind, status, n, ready_since AS since FROM jobs
UNION ALL
SELECT 'past_due', status, past_due, NULL FROM jobs WHERE past_due > 0
UNION ALL
SELECT CASE WHEN to_status = 'failed' THEN 'failed'
            WHEN to_status = 'complete' THEN 'complete'
            ELSE 'retried' END,
       CASE WHEN to_status = 'failed' THEN from_status
            WHEN to_status = 'complete' THEN NULL
            ELSE to_status END,
       count(*), NULL
FROM outcomes GROUP BY 1, 2
UNION ALL
SELECT 'workers', NULL, count(*), NULL FROM {schema}.workers w
-- the column read through the row, so that the figures work before 0015 adds it
WHERE last_seen_at >= $1 - coalesce(make_interval(secs => (to_jsonb(w) ->> 'live_seconds')::float8),
                                    $3::interval);

-- name: list_documents
-- Member $1's documents with their jobs, newest first (time, then id), $2 of them after
-- skipping $3, only those whose job's status is one of $4 (NULL: any status). The
-- documents' columns come prefixed `d_` (the job's share their names).
SELECT d.document_id AS d_document_id, d.user_id AS d_user_id, d.filename AS d_filename,
       d.media_type AS d_media_type, d.size_bytes AS d_size_bytes, d.sha256 AS d_sha256,
       d.blob_key AS d_blob_key, d.created_at AS d_created_at, j.*
FROM {schema}.documents d
JOIN {schema}.upload_jobs j ON j.document_id = d.document_id
WHERE d.user_id = $1 AND ($4::text[] IS NULL OR j.status = ANY($4::text[]))
ORDER BY d.created_at DESC, d.document_id DESC
LIMIT $2 OFFSET $3;


-- name: list_documents_after
-- list_documents after a cursor: only documents older, in that order, than the one at
-- $5 (created_at) and $6 (document_id), so uploads made meanwhile never shift a page.
SELECT d.document_id AS d_document_id, d.user_id AS d_user_id, d.filename AS d_filename,
       d.media_type AS d_media_type, d.size_bytes AS d_size_bytes, d.sha256 AS d_sha256,
       d.blob_key AS d_blob_key, d.created_at AS d_created_at, j.*
FROM {schema}.documents d
JOIN {schema}.upload_jobs j ON j.document_id = d.document_id
WHERE d.user_id = $1 AND ($4::text[] IS NULL OR j.status = ANY($4::text[]))
  AND (d.created_at, d.document_id) < ($5::timestamptz, $6::uuid)
ORDER BY d.created_at DESC, d.document_id DESC
LIMIT $2 OFFSET $3;


-- name: unknown_documents
-- Those of the ids $2 that are not member $1's documents, in the order given.
SELECT u.id FROM unnest($2::uuid[]) WITH ORDINALITY AS u(id, n)
WHERE NOT EXISTS (SELECT FROM {schema}.documents d WHERE d.document_id = u.id AND d.user_id = $1)
ORDER BY u.n;


-- name: not_searched
-- Member $1's documents a search by model $2 cannot see (of $3 only; NULL: all), oldest
-- first: not complete, or complete with a vector of another model (`other_model`).
WITH other_model AS MATERIALIZED (
    SELECT DISTINCT document_id FROM {schema}.chunk_embeddings
    WHERE user_id = $1 AND model <> $2
)
SELECT d.document_id, d.filename, j.status,
       d.document_id IN (SELECT document_id FROM other_model) AS other_model
FROM {schema}.documents d
JOIN {schema}.upload_jobs j ON j.document_id = d.document_id
WHERE d.user_id = $1 AND ($3::uuid[] IS NULL OR d.document_id = ANY($3::uuid[]))
  AND (j.status <> 'complete' OR d.document_id IN (SELECT document_id FROM other_model))
ORDER BY d.created_at, d.document_id;


-- name: embedded_by_other_models
-- Every member's complete documents with a vector of another model than $1, oldest
-- first: what `navigator reprocess --stale-model` processes again.
SELECT d.* FROM {schema}.documents d
JOIN {schema}.upload_jobs j ON j.document_id = d.document_id
WHERE j.status = 'complete'
  AND EXISTS (SELECT FROM {schema}.chunk_embeddings e
              WHERE e.document_id = d.document_id AND e.model <> $1)
ORDER BY d.created_at, d.document_id;


-- name: file_part_sizes
-- The parts of the file with key $1, in order, with their sizes (not their bytes).
SELECT f.document_id, f.part, octet_length(f.data) AS size
FROM {schema}.document_files f
JOIN {schema}.documents d ON d.document_id = f.document_id
WHERE d.blob_key = $1
ORDER BY f.part;


-- name: file_part_slice
-- $4 bytes from byte $3 (1 is the first) of part $2 of document $1's file.
SELECT substring(data FROM $3 FOR $4) FROM {schema}.document_files
WHERE document_id = $1 AND part = $2;
