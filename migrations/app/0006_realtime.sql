-- Realtime change capture (API.md §9, DESIGN.md "Realtime"), in schema `realtime` (created empty by
-- 0001_bootstrap). What each role may do:
--   butterbase_service  reads realtime.changes / tables / state and the id sequence (the RealtimeHub
--                       polls as service), and calls enable_table / disable_table (configure routes).
--   butterbase_anon/user may only call realtime.visible (the hub evaluates SELECT policies as them).
-- The capture trigger and the table functions are SECURITY DEFINER (owned by the database owner), so
-- writers need no privilege on realtime.changes and the realtime Worker needs no owner access: the
-- owner-only DDL (CREATE TRIGGER on an app table) happens inside enable_table, which only ever installs
-- or drops `trg_realtime_{table}` on an existing table of `public`.
REVOKE ALL ON SCHEMA realtime FROM PUBLIC
--> statement-breakpoint
GRANT USAGE ON SCHEMA realtime TO butterbase_anon, butterbase_user, butterbase_service
--> statement-breakpoint
-- One row per captured row change. `id` comes from a sequence, so ids are unique and increase in
-- allocation order, but transactions commit in any order: readers never trust `id > cursor` alone
-- (workers/realtime/services/change-feed.ts reads behind a snapshot-safe watermark). `xid` is the
-- writing transaction (pg_current_xact_id()), so a reader can tell which in-flight transactions a
-- change belongs to once they commit.
CREATE TABLE realtime.changes (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  xid xid8 NOT NULL,
  table_name text NOT NULL,
  op text NOT NULL CHECK (op IN ('INSERT', 'UPDATE', 'DELETE')),
  record jsonb,
  old_record jsonb,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
)
--> statement-breakpoint
CREATE INDEX changes_created_at_idx ON realtime.changes (created_at)
--> statement-breakpoint
-- The tables realtime is configured for (API.md §9 GET /realtime/config). A row outlives a dropped
-- table on purpose: enabled + no trigger is the drift the config route reports.
CREATE TABLE realtime.tables (
  table_name text PRIMARY KEY,
  events text[] NOT NULL DEFAULT ARRAY['INSERT', 'UPDATE', 'DELETE'],
  enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
)
--> statement-breakpoint
-- One row: how long changes are kept, and the highest id pruned so far (a resume cursor below it
-- has lost changes: the hub answers RESUME_GAP).
CREATE TABLE realtime.state (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  retention interval NOT NULL DEFAULT interval '24 hours',
  pruned_through bigint NOT NULL DEFAULT 0
)
--> statement-breakpoint
INSERT INTO realtime.state DEFAULT VALUES ON CONFLICT DO NOTHING
--> statement-breakpoint
GRANT SELECT ON realtime.changes, realtime.tables, realtime.state TO butterbase_service
--> statement-breakpoint
GRANT SELECT ON SEQUENCE realtime.changes_id_seq TO butterbase_service
--> statement-breakpoint
-- Deletes changes older than the retention window that were written before `p_now`, at most
-- `p_limit` per call, oldest first, and records the highest id removed. Only one caller prunes at a
-- time (others return 0 at once), and rows another transaction holds are skipped, so it never waits.
-- Returns the number of changes deleted.
CREATE FUNCTION realtime.prune(p_now timestamptz DEFAULT now(), p_limit integer DEFAULT 10000) RETURNS integer
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_cutoff timestamptz;
  v_max bigint;
  v_count integer;
BEGIN
  IF NOT pg_try_advisory_xact_lock(4206006) THEN
    RETURN 0;
  END IF;
  SELECT p_now - retention INTO v_cutoff FROM realtime.state;
  WITH doomed AS (
    SELECT id FROM realtime.changes WHERE created_at < v_cutoff ORDER BY id LIMIT p_limit FOR UPDATE SKIP LOCKED
  ), gone AS (
    DELETE FROM realtime.changes c USING doomed WHERE c.id = doomed.id RETURNING c.id
  )
  SELECT max(id), count(*) INTO v_max, v_count FROM gone;
  IF v_max IS NOT NULL THEN
    UPDATE realtime.state SET pruned_through = GREATEST(pruned_through, v_max);
  END IF;
  RETURN v_count;
END
$$
--> statement-breakpoint
-- The capture trigger (AFTER ROW on every realtime-enabled table): one change per row, with the full
-- row images. The writer's transaction id is read before the change id is drawn, so any transaction
-- that holds a change id already had its id when the sequence handed that change id out. Every
-- 1000th change also prunes expired changes, so the table stays bounded whoever writes.
CREATE FUNCTION realtime.capture() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_xid xid8 := pg_current_xact_id();
  v_id bigint;
BEGIN
  INSERT INTO realtime.changes (xid, table_name, op, record, old_record)
  VALUES (
    v_xid, TG_TABLE_NAME, TG_OP,
    CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END,
    CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END
  )
  RETURNING id INTO v_id;
  IF v_id % 1000 = 0 THEN
    PERFORM realtime.prune(now(), 10000);
  END IF;
  RETURN NULL;
END
$$
--> statement-breakpoint
-- The trigger name for a table, truncated to Postgres's 63-byte identifier limit the way CREATE TRIGGER
-- would truncate it (names are ASCII: the schema DSL allows ^[a-z_][a-z0-9_]*$).
CREATE FUNCTION realtime.trigger_name(p_table text) RETURNS text
  LANGUAGE sql IMMUTABLE AS $$ SELECT left('trg_realtime_' || p_table, 63) $$
--> statement-breakpoint
-- Installs (or repairs) `trg_realtime_{table}` on public.{table} and marks the table enabled.
-- Errors: 42P01 when the table does not exist, 55000 when it has no primary key.
CREATE FUNCTION realtime.enable_table(p_table text) RETURNS void
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_rel oid;
BEGIN
  SELECT c.oid INTO v_rel FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = 'public' AND c.relname = p_table AND c.relkind IN ('r', 'p');
  IF v_rel IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '42P01', MESSAGE = format('relation "%s" does not exist', p_table);
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_index WHERE indrelid = v_rel AND indisprimary) THEN
    RAISE EXCEPTION USING ERRCODE = '55000', MESSAGE = format('table "%s" has no primary key', p_table);
  END IF;
  EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON public.%I FOR EACH ROW EXECUTE FUNCTION realtime.capture()',
    realtime.trigger_name(p_table), p_table);
  INSERT INTO realtime.tables AS t (table_name) VALUES (p_table)
  ON CONFLICT (table_name) DO UPDATE SET enabled = true, updated_at = CASE WHEN t.enabled THEN t.updated_at ELSE now() END;
END
$$
--> statement-breakpoint
-- Drops `trg_realtime_{table}` (when the table still exists) and marks the table disabled.
-- Returns false when realtime was never configured for the table.
CREATE FUNCTION realtime.disable_table(p_table text) RETURNS boolean
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM realtime.tables WHERE table_name = p_table) THEN
    RETURN false;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public' AND c.relname = p_table AND c.relkind IN ('r', 'p')) THEN
    EXECUTE format('DROP TRIGGER IF EXISTS %I ON public.%I', realtime.trigger_name(p_table), p_table);
  END IF;
  UPDATE realtime.tables SET enabled = false, updated_at = now() WHERE table_name = p_table AND enabled;
  RETURN true;
END
$$
--> statement-breakpoint
-- Which row images of `p_table` each user may SELECT, evaluated as the calling role (SECURITY INVOKER:
-- the hub calls it in a DbGateway session of role anon or user). `p_images` is a JSON array of row
-- images (the new row of an INSERT/UPDATE, the old row of a DELETE); `p_users` lists the end users to
-- evaluate for (`request.jwt.claim.sub` is set to each in turn and restored after; NULL = keep the
-- session's claims, for anon). Returns (user_id, idx) for every image (1-based idx) the user may see.
--
-- The table's SELECT policies that apply to the role (FOR SELECT or ALL, TO the role or PUBLIC) are
-- read from pg_policy and combined as Postgres does: permissive ones ORed (none: nothing is visible),
-- restrictive ones ANDed; then evaluated over jsonb_populate_record(NULL::public.t, image) aliased as
-- the table, so the expressions resolve their columns against the image and run their subqueries
-- under the role's own privileges and policies. No RLS on the table: every image is visible. No
-- SELECT privilege: none is. search_path is pinned, so pg_get_expr qualifies every name it prints.
CREATE FUNCTION realtime.visible(p_table text, p_images jsonb, p_users text[]) RETURNS TABLE (user_id text, idx integer)
  LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_rel oid;
  v_rls boolean;
  v_permissive text;
  v_restrictive text;
  v_predicate text;
  v_query text;
  v_user text;
  v_sub text := current_setting('request.jwt.claim.sub', true);
  v_claims text := current_setting('request.jwt.claims', true);
BEGIN
  SELECT c.oid, c.relrowsecurity INTO v_rel, v_rls FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = 'public' AND c.relname = p_table AND c.relkind IN ('r', 'p');
  IF v_rel IS NULL OR NOT has_table_privilege(v_rel, 'SELECT') THEN
    RETURN;
  END IF;
  IF v_rls THEN
    SELECT string_agg('(' || pg_get_expr(p.polqual, p.polrelid) || ')', ' OR ') FILTER (WHERE p.polpermissive),
           string_agg('(' || pg_get_expr(p.polqual, p.polrelid) || ')', ' AND ') FILTER (WHERE NOT p.polpermissive)
      INTO v_permissive, v_restrictive
      FROM pg_policy p
     WHERE p.polrelid = v_rel AND p.polcmd IN ('r', '*') AND p.polqual IS NOT NULL
       AND (0::oid = ANY (p.polroles)
            OR EXISTS (SELECT 1 FROM unnest(p.polroles) r(oid) WHERE r.oid <> 0 AND pg_has_role(current_user, r.oid, 'MEMBER')));
    v_predicate := format('(%s) AND (%s)', coalesce(v_permissive, 'false'), coalesce(v_restrictive, 'true'));
  ELSE
    v_predicate := 'true';
  END IF;
  v_query := format(
    'SELECT $2, e.__rt_idx::integer FROM jsonb_array_elements($1) WITH ORDINALITY AS e(__rt_image, __rt_idx) '
    'CROSS JOIN LATERAL jsonb_populate_record(NULL::public.%I, e.__rt_image) AS %I WHERE %s',
    p_table, p_table, v_predicate);
  FOREACH v_user IN ARRAY p_users LOOP
    IF v_user IS NOT NULL THEN
      PERFORM set_config('request.jwt.claim.sub', v_user, true);
      PERFORM set_config('request.jwt.claims', json_build_object('sub', v_user, 'role', current_user)::text, true);
    END IF;
    RETURN QUERY EXECUTE v_query USING p_images, v_user;
  END LOOP;
  PERFORM set_config('request.jwt.claim.sub', coalesce(v_sub, ''), true);
  PERFORM set_config('request.jwt.claims', coalesce(v_claims, ''), true);
END
$$
--> statement-breakpoint
REVOKE ALL ON FUNCTION realtime.prune(timestamptz, integer), realtime.capture(), realtime.trigger_name(text),
  realtime.enable_table(text), realtime.disable_table(text), realtime.visible(text, jsonb, text[]) FROM PUBLIC
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION realtime.enable_table(text), realtime.disable_table(text), realtime.trigger_name(text),
  realtime.prune(timestamptz, integer) TO butterbase_service
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION realtime.visible(text, jsonb, text[]) TO butterbase_anon, butterbase_user, butterbase_service
