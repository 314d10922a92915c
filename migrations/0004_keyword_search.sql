-- Keyword search: each chunk keeps its text as a tsvector (PostgreSQL's `english`
-- configuration: lowercased, stemmed, stop words left out) with a GIN index, so
-- search can find a member's passages by the words of a question as well as by
-- its meaning (adapters/postgres/documents.py fuses the two).
--
-- A stored generated column: PostgreSQL computes it for every row, the rows that
-- exist when this runs included (adding it rewrites the table once, under a lock
-- that holds writes and searches on the chunks until it is done), and for every
-- chunk written afterwards, so no writer can forget it. The configuration is
-- named explicitly, which makes the expression immutable and independent of the
-- server's default_text_search_config.

ALTER TABLE {schema}.document_chunks
    ADD COLUMN text_search tsvector
        GENERATED ALWAYS AS (to_tsvector('english'::regconfig, text)) STORED;

CREATE INDEX document_chunks_text_search
    ON {schema}.document_chunks USING gin (text_search);
