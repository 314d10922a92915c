-- The queue's figures (/metrics, `navigator status`; adapters/postgres/queue.sql,
-- `queue_figures`) are read every few seconds by every API process: each part of the
-- read gets an index that holds only the rows it reads, so its cost follows the jobs
-- in flight and the last minutes' events, not the whole history.

-- The failures, retries and completions of the last minutes, by time. The predicate
-- is the statement's own, as the planner needs it to be.
CREATE INDEX job_events_recent_outcomes
    ON {schema}.job_events (at)
    WHERE to_status IN ('failed', 'complete') OR detail LIKE 'will retry: %';

-- The jobs not complete, by status, with what the figures read of them (the
-- complete ones are counted from upload_jobs_complete_by_member, 0005).
CREATE INDEX upload_jobs_not_complete
    ON {schema}.upload_jobs (status) INCLUDE (available_at, lease_owner, lease_expires_at)
    WHERE status <> 'complete';
