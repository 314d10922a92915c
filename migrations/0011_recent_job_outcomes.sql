-- The queue's figures (/metrics, `navigator status`) count the failures, retries and
-- completions of the last minutes from job_events on every read: this index holds
-- only those rows, by time, so the read touches the window's outcomes and nothing
-- else, however long the history grows. The predicate is the statement's own
-- (adapters/postgres/queue.sql, `queue_figures`), as the planner needs it to be.
CREATE INDEX job_events_recent_outcomes
    ON {schema}.job_events (at)
    WHERE to_status IN ('failed', 'complete') OR detail LIKE 'will retry: %';
