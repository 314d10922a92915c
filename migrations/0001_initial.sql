-- The upload pipeline's tables: documents, their jobs, the jobs' history, chunks
-- with their vectors, and the workers' heartbeats.
--
-- Migrations are plain SQL applied in order by `navigator migrate`
-- (adapters/postgres/migrations.py). Before running a file the runner replaces two
-- placeholders, and nothing else:
--   {schema}            the schema from DATABASE_SCHEMA, as a quoted identifier
--   {vector_dimension}  RAG_VECTOR_DIMENSION (the embedder's vector size)
-- The runner creates the schema, the `vector` extension and its own record of
-- applied files (schema_migrations) first, and runs each file in one transaction
-- under an advisory lock. Never edit an applied file: add a new one (the runner
-- refuses to run when an applied file's checksum changed).

CREATE TABLE {schema}.documents (
    document_id uuid PRIMARY KEY,
    user_id     text        NOT NULL CHECK (user_id <> ''),
    filename    text        NOT NULL CHECK (filename <> ''),
    media_type  text        NOT NULL,
    size_bytes  bigint      NOT NULL CHECK (size_bytes > 0),
    sha256      char(64)    NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    blob_key    text        NOT NULL,
    created_at  timestamptz NOT NULL,
    -- the parser's output: {"parser": "...", "pages": [{"number": 1, "markdown": "..."}]}
    parsed      jsonb,
    -- a member's second upload of the same bytes is the same document
    CONSTRAINT documents_one_per_member_and_content UNIQUE (user_id, sha256),
    -- lets jobs and chunks prove they belong to the document's owner
    CONSTRAINT documents_owner UNIQUE (document_id, user_id)
);

CREATE INDEX documents_by_member_newest_first
    ON {schema}.documents (user_id, created_at DESC, document_id DESC);

CREATE TABLE {schema}.upload_jobs (
    job_id           uuid PRIMARY KEY,
    document_id      uuid        NOT NULL UNIQUE,
    user_id          text        NOT NULL,
    status           text        NOT NULL CHECK (status IN (
        'uploaded', 'parsing', 'parsed', 'parse_validated', 'chunking', 'chunks_stored',
        'embedding_queued', 'embedding_in_progress', 'embeddings_stored', 'complete',
        'failed')),
    attempts         integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    priority         integer     NOT NULL DEFAULT 100,
    available_at     timestamptz NOT NULL,
    last_error       text,
    failed_stage     text,
    lease_owner      text,
    lease_expires_at timestamptz,
    fencing_token    bigint      NOT NULL DEFAULT 0 CHECK (fencing_token >= 0),
    parser_job_id    text,
    embedding_tokens bigint      NOT NULL DEFAULT 0 CHECK (embedding_tokens >= 0),
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    CONSTRAINT upload_jobs_document FOREIGN KEY (document_id, user_id)
        REFERENCES {schema}.documents (document_id, user_id) ON DELETE CASCADE,
    -- a lease has both an owner and an expiry, or neither
    CONSTRAINT upload_jobs_lease_whole CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL)),
    -- nobody holds a finished job
    CONSTRAINT upload_jobs_terminal_not_held
        CHECK (status NOT IN ('complete', 'failed') OR lease_owner IS NULL),
    -- a dead-lettered job says where it stopped
    CONSTRAINT upload_jobs_failed_has_stage CHECK (status <> 'failed' OR failed_stage IS NOT NULL)
);

-- Serves the claim: ready jobs in (priority, available_at, job_id) order. The
-- statuses are the claim-from statuses of the state machine (domain/status.py).
CREATE INDEX upload_jobs_ready
    ON {schema}.upload_jobs (priority, available_at, job_id)
    WHERE status IN ('uploaded', 'parsed', 'parse_validated', 'chunks_stored',
                     'embedding_queued', 'embeddings_stored')
      AND lease_owner IS NULL;

-- Serves the rescue of expired leases.
CREATE INDEX upload_jobs_leases
    ON {schema}.upload_jobs (lease_expires_at)
    WHERE lease_owner IS NOT NULL;

CREATE TABLE {schema}.job_events (
    id          bigserial PRIMARY KEY,
    job_id      uuid        NOT NULL REFERENCES {schema}.upload_jobs (job_id) ON DELETE CASCADE,
    from_status text CHECK (from_status IN (
        'uploaded', 'parsing', 'parsed', 'parse_validated', 'chunking', 'chunks_stored',
        'embedding_queued', 'embedding_in_progress', 'embeddings_stored', 'complete',
        'failed')),
    to_status   text        NOT NULL CHECK (to_status IN (
        'uploaded', 'parsing', 'parsed', 'parse_validated', 'chunking', 'chunks_stored',
        'embedding_queued', 'embedding_in_progress', 'embeddings_stored', 'complete',
        'failed')),
    at          timestamptz NOT NULL,
    attempt     integer     NOT NULL CHECK (attempt >= 1),
    worker      text,
    detail      text        NOT NULL DEFAULT ''
);

CREATE INDEX job_events_history ON {schema}.job_events (job_id, id);

CREATE TABLE {schema}.document_chunks (
    chunk_id        uuid PRIMARY KEY,
    document_id     uuid    NOT NULL,
    user_id         text    NOT NULL,
    ordinal         integer NOT NULL CHECK (ordinal >= 0),
    text            text    NOT NULL,
    token_count     integer NOT NULL CHECK (token_count >= 0),
    heading_path    text[]  NOT NULL DEFAULT '{}',
    page            integer CHECK (page >= 1),
    char_start      integer NOT NULL DEFAULT 0 CHECK (char_start >= 0),
    char_end        integer NOT NULL DEFAULT 0,
    chunker         text    NOT NULL DEFAULT '',
    embedding       vector({vector_dimension}),
    embedding_model text,
    CONSTRAINT document_chunks_order UNIQUE (document_id, ordinal),
    CONSTRAINT document_chunks_document FOREIGN KEY (document_id, user_id)
        REFERENCES {schema}.documents (document_id, user_id) ON DELETE CASCADE,
    CONSTRAINT document_chunks_span CHECK (char_end >= char_start),
    -- a vector always says which model made it
    CONSTRAINT document_chunks_vector_has_model
        CHECK ((embedding IS NULL) = (embedding_model IS NULL))
);

CREATE INDEX document_chunks_by_member ON {schema}.document_chunks (user_id, embedding_model);

CREATE INDEX document_chunks_embedding
    ON {schema}.document_chunks USING hnsw (embedding vector_cosine_ops);

CREATE TABLE {schema}.workers (
    worker_id    text PRIMARY KEY,
    hostname     text        NOT NULL,
    pid          integer     NOT NULL,
    version      text        NOT NULL DEFAULT '',
    started_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL
);
