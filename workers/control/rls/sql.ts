/**
 * SQL builders for row-level security (API.md §4). Pure: every identifier reaching these functions
 * has been validated against `^[a-z_][a-z0-9_]*$` (policies `^[a-z0-9_]+$`) and is still
 * double-quoted; values travel as parameters. Policy expressions are the one piece of caller text
 * pasted into SQL, and only after rls/expression.ts accepted them (CREATE POLICY takes no parameters).
 * Source: PostgreSQL docs, CREATE POLICY, ALTER TABLE … ROW LEVEL SECURITY, CREATE TRIGGER.
 */
import type { SqlStatement } from '../../shared/contracts.ts';
import { quoteIdent } from '../../shared/sql.ts';

/** Policy commands (CREATE POLICY … FOR). */
export const policyCommands = ['ALL', 'SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const;
export type PolicyCommand = (typeof policyCommands)[number];

/** The wire's policy roles. */
export type PolicyRole = 'anon' | 'user';

/** Database roles of the wire's policy roles; no role means both end-user roles, never service. */
export function rolesFor(role: PolicyRole | undefined): string[] {
  if (role === 'anon') return ['butterbase_anon'];
  if (role === 'user') return ['butterbase_user'];
  return ['butterbase_anon', 'butterbase_user'];
}

/** A role in a `TO` list: the PUBLIC pseudo-role (as pg_policies reports it) stays a keyword. */
function roleSpec(role: string): string {
  return role === 'public' ? 'PUBLIC' : quoteIdent(role);
}

/** Longest Postgres identifier in bytes; longer names are silently truncated, so derived names must fit. */
export const maxIdentifierBytes = 63;

/** Names the platform derives from a table (API.md §4). */
export function derivedNames(table: string) {
  return {
    serviceBypass: `${table}_service_bypass`,
    userIsolation: `${table}_user_isolation`,
    publicReadUser: `${table}_public_read_user`,
    publicReadAnon: `${table}_public_read_anon`,
    trigger: `${table}_set_user_id_trigger`,
    triggerFunction: `${table}_set_user_id`,
  };
}

/** One policy, ready to create. `roles` are database roles; expressions already checked. */
export interface PolicySpec {
  table: string;
  name: string;
  command: PolicyCommand;
  roles: string[];
  restrictive: boolean;
  using: string | null;
  withCheck: string | null;
}

/** `DROP POLICY IF EXISTS` + `CREATE POLICY`: creating twice yields the same policy (idempotent). */
export function createPolicyStatements(spec: PolicySpec): SqlStatement[] {
  const table = quoteIdent(spec.table);
  let create = `CREATE POLICY ${quoteIdent(spec.name)} ON public.${table} AS ${spec.restrictive ? 'RESTRICTIVE' : 'PERMISSIVE'} FOR ${spec.command} TO ${spec.roles.map(roleSpec).join(', ')}`;
  if (spec.using !== null) create += ` USING (${spec.using})`;
  if (spec.withCheck !== null) create += ` WITH CHECK (${spec.withCheck})`;
  return [{ query: `DROP POLICY IF EXISTS ${quoteIdent(spec.name)} ON public.${table}` }, { query: create }];
}

/** ENABLE + FORCE row-level security and (re)create `{t}_service_bypass` for butterbase_service. */
export function enableStatements(table: string): SqlStatement[] {
  const quoted = quoteIdent(table);
  return [
    { query: `ALTER TABLE public.${quoted} ENABLE ROW LEVEL SECURITY` },
    { query: `ALTER TABLE public.${quoted} FORCE ROW LEVEL SECURITY` },
    ...createPolicyStatements({
      table, name: derivedNames(table).serviceBypass, command: 'ALL', roles: ['butterbase_service'], restrictive: false, using: 'true', withCheck: 'true',
    }),
  ];
}

/** How `current_user_id()` (text) is compared with a user column of this type. */
export function currentUserIdAs(columnType: 'uuid' | 'text'): string {
  return columnType === 'uuid' ? 'public.current_user_id()::uuid' : 'public.current_user_id()';
}

/**
 * The auto-populate trigger: BEFORE INSERT, sets the user column to the caller's id for end users.
 * It acts only when DbGateway marked the batch `app.role = 'user'`: service and anon writes keep the
 * value they send (API.md §4), and so do the platform's own owner connections, which set no app.role.
 */
export function userColumnTriggerStatements(table: string, column: string, columnType: 'uuid' | 'text'): SqlStatement[] {
  const names = derivedNames(table);
  const fn = `public.${quoteIdent(names.triggerFunction)}`;
  return [
    {
      query: `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF current_setting('app.role', true) = 'user' THEN
    NEW.${quoteIdent(column)} := ${currentUserIdAs(columnType)};
  END IF;
  RETURN NEW;
END
$fn$`,
    },
    { query: `DROP TRIGGER IF EXISTS ${quoteIdent(names.trigger)} ON public.${quoteIdent(table)}` },
    { query: `CREATE TRIGGER ${quoteIdent(names.trigger)} BEFORE INSERT ON public.${quoteIdent(table)} FOR EACH ROW EXECUTE FUNCTION ${fn}()` },
  ];
}

/** Removes the auto-populate trigger and its function, if present. */
export function dropUserColumnTriggerStatements(table: string): SqlStatement[] {
  const names = derivedNames(table);
  return [
    { query: `DROP TRIGGER IF EXISTS ${quoteIdent(names.trigger)} ON public.${quoteIdent(table)}` },
    { query: `DROP FUNCTION IF EXISTS public.${quoteIdent(names.triggerFunction)}()` },
  ];
}

/** What user isolation installs. */
export interface UserIsolationSpec {
  table: string;
  userColumn: string;
  userColumnType: 'uuid' | 'text';
  publicReadColumn: string | null;
}

/**
 * User isolation (API.md §4 POST /rls): enable + force + service bypass, `{t}_user_isolation`
 * FOR ALL TO butterbase_user, the auto-populate trigger, and with a public-read column the
 * `{t}_public_read_user` / `{t}_public_read_anon` SELECT policies (without one, those are removed).
 */
export function userIsolationStatements(spec: UserIsolationSpec): SqlStatement[] {
  const names = derivedNames(spec.table);
  const owns = `${quoteIdent(spec.userColumn)} = ${currentUserIdAs(spec.userColumnType)}`;
  const statements = [
    ...enableStatements(spec.table),
    ...createPolicyStatements({ table: spec.table, name: names.userIsolation, command: 'ALL', roles: ['butterbase_user'], restrictive: false, using: owns, withCheck: owns }),
    ...userColumnTriggerStatements(spec.table, spec.userColumn, spec.userColumnType),
  ];
  if (spec.publicReadColumn !== null) {
    const published = `${quoteIdent(spec.publicReadColumn)} = true`;
    for (const [name, role] of [[names.publicReadUser, 'butterbase_user'], [names.publicReadAnon, 'butterbase_anon']] as const) {
      statements.push(...createPolicyStatements({ table: spec.table, name, command: 'SELECT', roles: [role], restrictive: false, using: published, withCheck: null }));
    }
  } else {
    // The call describes the isolation wanted now: without a public-read column, rows that an earlier
    // call made publicly readable stop being so (otherwise "make it private" would silently not be).
    statements.push(dropPolicyStatement(spec.table, names.publicReadUser), dropPolicyStatement(spec.table, names.publicReadAnon));
  }
  return statements;
}

/**
 * Plans every command on the table as each role, so Postgres's rewriter expands the table's
 * policies (and those of every table their subqueries read). A policy cycle fails here with
 * SQLSTATE 42P17 and rolls back the batch it ends. `updatableColumn` (a plain column) lets
 * UPDATE be planned; without one UPDATE is skipped.
 */
export function recursionCheckStatements(table: string, roles: string[], updatableColumn: string | null): SqlStatement[] {
  const quoted = `public.${quoteIdent(table)}`;
  const statements: SqlStatement[] = [];
  for (const role of roles) {
    statements.push({ query: `SET LOCAL ROLE ${quoteIdent(role)}` });
    statements.push({ query: `EXPLAIN SELECT * FROM ${quoted}` });
    statements.push({ query: `EXPLAIN INSERT INTO ${quoted} DEFAULT VALUES` });
    if (updatableColumn !== null) {
      statements.push({ query: `EXPLAIN UPDATE ${quoted} SET ${quoteIdent(updatableColumn)} = ${quoteIdent(updatableColumn)}` });
    }
    statements.push({ query: `EXPLAIN DELETE FROM ${quoted}` });
  }
  if (roles.length > 0) statements.push({ query: 'RESET ROLE' });
  return statements;
}

/**
 * Proves one expression against the real table as `role` without creating anything: parse analysis
 * (columns, types, functions) and privilege checks on every table it reads, as that role would.
 */
export function probeStatements(table: string, role: string, expression: string): SqlStatement[] {
  return [
    { query: `SET LOCAL ROLE ${quoteIdent(role)}` },
    { query: `EXPLAIN SELECT 1 FROM public.${quoteIdent(table)} WHERE (${expression})` },
  ];
}

/** Every policy in `public` on tables not starting with `_` (API.md §4 GET /rls), as pg_policies shows them. */
export const listPoliciesQuery = `
SELECT schemaname::text AS schemaname, tablename::text AS tablename, policyname::text AS policyname,
       permissive, roles::text[] AS roles, cmd, qual, with_check
  FROM pg_catalog.pg_policies
 WHERE schemaname = 'public' AND left(tablename, 1) <> '_'
 ORDER BY tablename, policyname`;

/** Tables in `public` (not starting with `_`) with row-level security enabled. */
export const tablesWithRlsQuery = `
SELECT c.relname::text AS name
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relrowsecurity AND left(c.relname, 1) <> '_'
 ORDER BY c.relname`;

/** One table's policies ($1 = table name). */
export const tablePoliciesQuery = `
SELECT policyname::text AS policyname, permissive, roles::text[] AS roles, cmd, qual, with_check
  FROM pg_catalog.pg_policies
 WHERE schemaname = 'public' AND tablename = $1
 ORDER BY policyname`;

/** Drops one policy. */
export function dropPolicyStatement(table: string, policy: string): SqlStatement {
  return { query: `DROP POLICY IF EXISTS ${quoteIdent(policy)} ON public.${quoteIdent(table)}` };
}

/** Drops the named policies and the auto-populate trigger, then turns RLS off (NO FORCE + DISABLE). */
export function disableStatements(table: string, policies: string[]): SqlStatement[] {
  const quoted = `public.${quoteIdent(table)}`;
  return [
    ...policies.map((policy) => dropPolicyStatement(table, policy)),
    ...dropUserColumnTriggerStatements(table),
    { query: `ALTER TABLE ${quoted} NO FORCE ROW LEVEL SECURITY` },
    { query: `ALTER TABLE ${quoted} DISABLE ROW LEVEL SECURITY` },
  ];
}
