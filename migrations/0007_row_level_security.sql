-- Row-level security on every table, and nothing for Supabase's API roles.
--
-- On Supabase the schema is one `Exposed schemas` setting away from the Data API
-- (PostgREST), which reaches tables as the roles `anon` (no user) and `authenticated`
-- (any signed-in user, not only the member whose rows they are). This release gives
-- those roles nothing, and turns row-level security on for every table, without a
-- policy for them: even after an operator grants them SELECT (as Supabase's guide to
-- exposing a schema says to), they read no rows.
--
-- Who still reads and writes rows:
-- - the owner of the tables (the role `navigator migrate` runs as): an owner is not
--   subject to its tables' row security unless it is FORCEd, and it is not forced
--   here, so deployments whose services run as the owner keep working unchanged;
-- - a service role given DML with `navigator grant-service-role ROLE`, through the
--   permissive policy `navigator_service` that command adds to every table for it
--   (adapters/postgres/roles.py; `navigator migrate` adds it to later tables);
-- - superusers and roles with BYPASSRLS (Supabase's `service_role`), as always.
--
-- Every table of the schema, whatever migration made it, schema_migrations included.
-- A later migration that adds a table must enable row security on it too
-- (tests/integration/test_row_level_security.py fails otherwise).
--
-- ENABLE ROW LEVEL SECURITY takes a brief ACCESS EXCLUSIVE lock on each table and
-- rewrites nothing.

DO $$
DECLARE
    t record;
BEGIN
    FOR t IN
        SELECT c.relname
        FROM pg_class c
        WHERE c.relnamespace = '{schema}'::regnamespace
          AND c.relkind IN ('r', 'p')
          AND NOT c.relrowsecurity
    LOOP
        EXECUTE format('ALTER TABLE {schema}.%I ENABLE ROW LEVEL SECURITY', t.relname);
    END LOOP;
END
$$;

-- Supabase's API roles exist only on Supabase (and in projects that copy its roles):
-- on plain PostgreSQL there is nothing to take back.
DO $$
DECLARE
    api_role text;
BEGIN
    FOREACH api_role IN ARRAY ARRAY['anon', 'authenticated'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = api_role) THEN
            EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM %I', api_role);
            EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM %I', api_role);
            EXECUTE format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {schema} FROM %I', api_role);
            EXECUTE format('REVOKE ALL ON SCHEMA {schema} FROM %I', api_role);
        END IF;
    END LOOP;
END
$$;
