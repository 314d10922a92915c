-- A job showing a working status (parsing, chunking, embedding_in_progress) is being
-- worked on, so it must have a lease: without one it could be neither claimed nor
-- rescued and would wait for ever. This makes such a row impossible, including by
-- hand-written SQL. And a failed job names a step the pipeline has.

ALTER TABLE {schema}.upload_jobs
    ADD CONSTRAINT upload_jobs_working_is_held
        CHECK (status NOT IN ('parsing', 'chunking', 'embedding_in_progress')
               OR lease_owner IS NOT NULL),
    ADD CONSTRAINT upload_jobs_failed_stage_is_a_step
        CHECK (failed_stage IS NULL
               OR failed_stage IN ('parse', 'validate', 'chunk', 'queue', 'embed', 'finalize'));
