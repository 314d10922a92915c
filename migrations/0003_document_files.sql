-- Uploaded files kept in PostgreSQL (the default file store, FILE_STORE=postgres), so
-- the API and the workers, on machines of their own, reach them through the one thing
-- they share. A file is stored in parts of at most 1 MiB (one row each), so neither
-- the API nor PostgreSQL ever handles a whole 50 MB file as one value.
--
-- The parts are written in the transaction that records the document, its job and
-- the wake-up notice, and go with the document (ON DELETE CASCADE): an upload is all
-- there or not at all, and there are never bytes without a document.

CREATE TABLE {schema}.document_files (
    document_id uuid    NOT NULL REFERENCES {schema}.documents (document_id) ON DELETE CASCADE,
    part        integer NOT NULL CHECK (part >= 0),
    data        bytea   NOT NULL,
    PRIMARY KEY (document_id, part)
);

-- Documents are mostly PDFs and DOCX, compressed already: store the parts out of
-- line without trying to compress them again.
ALTER TABLE {schema}.document_files ALTER COLUMN data SET STORAGE EXTERNAL;

-- Finds a file by its key (what the workers ask for).
CREATE INDEX documents_by_blob_key ON {schema}.documents (blob_key);
