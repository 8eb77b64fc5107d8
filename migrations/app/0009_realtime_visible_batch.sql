-- realtime.visible, one statement for all users of a batch when it can be (issue 10's 1,000-subscriber
-- latency): 0006's version runs the policy query once per end user with that user's claims set — a
-- dynamic statement planned per user, which at 100 distinct users costs the app database tens of ms per
-- change. When the table's SELECT predicate reads the end user only through current_user_id() — the
-- policies `/rls` writes (user isolation, public read) and any made of columns, constants, operators and
-- a few pure built-ins — the predicate is evaluated for every (user, image) pair in one query, with
-- current_user_id() replaced by the pair's user id (exactly what the function would have returned under
-- that user's claims: NULLIF(sub, '')). Anything else — another function call (it might read the claims
-- itself), a subquery (another table's policies read them too), current_setting, a quoted identifier
-- before a parenthesis — takes 0006's per-user path, so the answer never depends on which path ran.
-- True when a SELECT predicate reads the end user only through current_user_id(): once string literals
-- are set aside, it has no subquery, no current_setting/set_config, no quoted name before a parenthesis,
-- no current_user_id inside a literal, and every other call is a keyword or a pure built-in.
CREATE OR REPLACE FUNCTION realtime.batchable_predicate(p_predicate text) RETURNS boolean
  LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_scan text := regexp_replace(p_predicate, '''([^'']|'''')*''', '''''', 'g');
  v_call text[];
BEGIN
  -- current_user_id inside a string literal: visible()'s text replacement would change the literal.
  IF length(p_predicate) - length(replace(p_predicate, 'current_user_id', '')) <> length(v_scan) - length(replace(v_scan, 'current_user_id', '')) THEN
    RETURN false;
  END IF;
  v_scan := regexp_replace(v_scan, '(public\.)?current_user_id\(\)', 'NULL', 'g');
  IF v_scan ~* '\mselect\M' OR v_scan ~ '"\s*\(' OR v_scan ~* 'current_setting|set_config' THEN
    RETURN false;
  END IF;
  FOR v_call IN SELECT regexp_matches(v_scan, '([A-Za-z_][A-Za-z0-9_$.]*)\s*\(', 'g') LOOP
    IF lower(v_call[1]) NOT IN ('and', 'or', 'not', 'in', 'any', 'all', 'array', 'row', 'coalesce', 'nullif', 'lower', 'upper', 'btrim', 'length') THEN
      RETURN false;
    END IF;
  END LOOP;
  RETURN true;
END
$$
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION realtime.batchable_predicate(text) TO butterbase_anon, butterbase_user, butterbase_service
--> statement-breakpoint
CREATE OR REPLACE FUNCTION realtime.visible(p_table text, p_images jsonb, p_users text[]) RETURNS TABLE (user_id text, idx integer)
  LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_rel oid;
  v_rls boolean;
  v_permissive text;
  v_restrictive text;
  v_predicate text;
  v_fast boolean;
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

  -- The one-statement path: only end users (no NULL: anon runs with the session's own claims).
  v_fast := cardinality(p_users) > 0 AND array_position(p_users, NULL) IS NULL AND realtime.batchable_predicate(v_predicate);
  IF v_fast THEN
    v_query := format(
      'SELECT __rt_users.__rt_uid, e.__rt_idx::integer FROM unnest($2::text[]) AS __rt_users(__rt_uid) '
      'CROSS JOIN jsonb_array_elements($1) WITH ORDINALITY AS e(__rt_image, __rt_idx) '
      'CROSS JOIN LATERAL jsonb_populate_record(NULL::public.%I, e.__rt_image) AS %I WHERE %s',
      p_table, p_table,
      regexp_replace(v_predicate, '(public\.)?current_user_id\(\)', 'NULLIF(__rt_users.__rt_uid, '''')', 'g'));
    RETURN QUERY EXECUTE v_query USING p_images, p_users;
    RETURN;
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
