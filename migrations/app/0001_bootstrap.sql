-- Per-app database bootstrap: roles, current_user_id(), extensions, privileges, internal schemas.
-- Runs once per app database, in one transaction, through DbGateway as the database owner.
-- Roles are cluster-wide on Neon and a real Postgres, so two apps may bootstrap at once: a role
-- another transaction just created is fine. The owner must be a member of each role to
-- SET LOCAL ROLE to it (superusers already are).
DO $$
DECLARE
  role_name text;
BEGIN
  FOREACH role_name IN ARRAY ARRAY['butterbase_anon', 'butterbase_user', 'butterbase_service'] LOOP
    BEGIN
      EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
    IF NOT pg_has_role(current_user, role_name, 'MEMBER') THEN
      BEGIN
        EXECUTE format('GRANT %I TO CURRENT_USER', role_name);
      EXCEPTION WHEN OTHERS THEN
        IF NOT pg_has_role(current_user, role_name, 'MEMBER') THEN
          RAISE;
        END IF;
      END;
    END IF;
  END LOOP;
END
$$
--> statement-breakpoint
CREATE EXTENSION IF NOT EXISTS "uuid-ossp"
--> statement-breakpoint
CREATE EXTENSION IF NOT EXISTS pgcrypto
--> statement-breakpoint
-- pgvector is on Neon and PGlite; a plain Postgres without it still gets a working app.
DO $$
BEGIN
  CREATE EXTENSION IF NOT EXISTS vector;
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE 'pgvector is not available: %', SQLERRM;
END
$$
--> statement-breakpoint
-- The end user's id (the access token's sub) for RLS policies; NULL for anonymous and service callers.
CREATE OR REPLACE FUNCTION public.current_user_id() RETURNS text
  LANGUAGE sql STABLE
  AS $$ SELECT NULLIF(current_setting('request.jwt.claim.sub', true), '') $$
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION public.current_user_id() TO butterbase_anon, butterbase_user, butterbase_service
--> statement-breakpoint
REVOKE CREATE ON SCHEMA public FROM PUBLIC
--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO butterbase_anon, butterbase_user, butterbase_service
--> statement-breakpoint
-- Tables the owner creates later (schema apply) are reachable by all three roles; RLS decides rows.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO butterbase_anon, butterbase_user, butterbase_service
--> statement-breakpoint
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO butterbase_anon, butterbase_user, butterbase_service
--> statement-breakpoint
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO butterbase_anon, butterbase_user, butterbase_service
--> statement-breakpoint
-- Platform internals: ledgers and bookkeeping. No grants: the three roles cannot see it.
CREATE SCHEMA IF NOT EXISTS butterbase
--> statement-breakpoint
-- Schema-apply history (API.md §3.2 GET /migrations). id = hash of the applied SQL, so the same
-- change applied twice never forks history.
CREATE TABLE IF NOT EXISTS butterbase.schema_migrations (
  id text PRIMARY KEY,
  name text NOT NULL,
  description text NOT NULL,
  applied_sql text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)
--> statement-breakpoint
-- Tables marked `_seed: true` in the schema DSL.
CREATE TABLE IF NOT EXISTS butterbase.seed_tables (
  table_name text PRIMARY KEY,
  marked_at timestamptz NOT NULL DEFAULT now()
)
--> statement-breakpoint
CREATE SCHEMA IF NOT EXISTS auth
--> statement-breakpoint
CREATE SCHEMA IF NOT EXISTS storage
--> statement-breakpoint
CREATE SCHEMA IF NOT EXISTS realtime
