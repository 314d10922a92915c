-- The trace an upload started in (a W3C traceparent: version, trace id, parent span id,
-- flags), recorded with its job so that the worker's step spans join the request's
-- trace in another process. NULL when the API was not tracing (no exporter set) and
-- for jobs recorded before this release. Expand only: older releases never read it.

ALTER TABLE {schema}.upload_jobs
    ADD COLUMN trace_context text
        CONSTRAINT upload_jobs_trace_context_is_a_traceparent
        CHECK (trace_context ~ '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$');
