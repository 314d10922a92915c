-- Each worker says how long it counts as live after a heartbeat (three of its own
-- heartbeats). Before, whoever asked (`/health`, `/metrics`, `navigator status`,
-- `navigator validate`) judged every worker by its own settings' window: the API's shell
-- knows nothing of a worker's WORKER_LEASE_SECONDS (the blueprint sets it on the worker
-- only), so a worker that beats every 100 s showed as dead for part of each beat.
-- NULL for workers of earlier releases, which are judged as before: by the asker's
-- window. Expand only: earlier releases never read or write it.

ALTER TABLE {schema}.workers
    ADD COLUMN live_seconds double precision
        CONSTRAINT workers_live_seconds_is_a_duration CHECK (live_seconds > 0);
