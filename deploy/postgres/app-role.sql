-- Least privilege for the hub on PostgreSQL. Run as the database owner after `hub migrate`
-- (and again after each migration that adds tables):
--   psql -v ON_ERROR_STOP=1 -d hub -f deploy/postgres/app-role.sql
-- then point the hub at the app role: HUB_DATABASE_URL=postgresql+asyncpg://hub_app:…@host/hub
-- (set its password with ALTER ROLE hub_app PASSWORD '…'). Migrations keep running as the
-- owner. The case timeline and the audit log are append-only for the app role: it may
-- INSERT and SELECT them, never UPDATE, DELETE or TRUNCATE them.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hub_app') THEN
    CREATE ROLE hub_app LOGIN;
  END IF;
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO hub_app', current_database());
END
$$;

GRANT USAGE ON SCHEMA public TO hub_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO hub_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO hub_app;
REVOKE UPDATE, DELETE, TRUNCATE ON case_events, audit_log FROM hub_app;
REVOKE ALL ON alembic_version FROM hub_app;
GRANT SELECT ON alembic_version TO hub_app;
