/**
 * How statements reach an app database (DESIGN.md "Data"): one Neon HTTP transaction batch per
 * call. A caller batch opens with the switch to role `butterbase_<role>` and the request GUCs
 * (prelude.ts); an owner batch runs as the database owner and is only reachable through the DbOwner
 * entrypoint (control and auth). When someone listens for commits (realtime), a caller batch that
 * may write also reads the row-change counters at its start and end, so the listener learns which
 * tables of `public` it changed without a second round trip.
 *
 * No `cloudflare:workers` import here, so this module also runs in Node (tests, benchmarks).
 */
import { z } from 'zod';
import { appMigrations } from '../../migrations/app/index.ts';
import type { CommitListenerRpc, CommittedWrite, DbCaller, ExecuteOptions, SqlResult, SqlStatement } from '../shared/contracts.ts';
import { connectionStringFor, sqlClient, type DbEnv, type Sql } from '../shared/db.ts';
import { ApiError } from '../shared/errors.ts';
import { migrate } from '../shared/migrator.ts';
import { pgErrorToApiError } from '../shared/pg-errors.ts';
import { appIdPattern, parseWith } from '../shared/validation.ts';
import { rolePrelude } from './prelude.ts';

/** What running statements needs: where app databases are. */
export interface ExecuteEnv extends DbEnv {
  /** App database URL with `{db}` for the database name (= app id). */
  APP_DATABASE_URL_TEMPLATE: string;
  /**
   * The same for the login role of user SQL, `butterbase_authenticator` (app migration 0010): user
   * code's sessions connect with it, so an escaped `RESET ROLE` lands on a role without privileges.
   * Unset: user SQL uses the owner template (the parser guard is then the only layer).
   */
  APP_DATABASE_AUTHENTICATOR_URL_TEMPLATE?: string;
}

/** Receives committed writes (see {@link CommittedWrite}); may be slow, never blocks the caller's answer. */
export type CommitListener = (write: CommittedWrite) => Promise<void> | void;

/**
 * The commit listener of a data Worker environment: the realtime Worker when it is bound, else none.
 * It runs after the answer (`waitUntil`), so a slow listener never delays the caller.
 */
export function commitListener(env: { REALTIME?: CommitListenerRpc }, ctx: Pick<ExecutionContext, 'waitUntil'>): CommitListener | undefined {
  const realtime = env.REALTIME;
  if (!realtime) return undefined;
  return (write) => {
    ctx.waitUntil(realtime.committed(write).catch((error: unknown) => console.error(`[db] realtime notify failed: ${String(error)}`)));
  };
}

/** A DbCaller as checked at the boundary: app id shape, role (never owner), user id for role user. */
export const dbCaller = z.object({
  appId: z.string().regex(appIdPattern, 'must be an app id'),
  role: z.enum(['anon', 'user', 'service']),
  userId: z.string().min(1).max(200).nullable().optional(),
}).strict().refine((c) => c.role !== 'user' || Boolean(c.userId), { message: 'role user needs a userId', path: ['userId'] });

/** A statement list as checked at the boundary. */
export const sqlStatements = z.array(z.object({ query: z.string().min(1), params: z.array(z.unknown()).optional() }).strict()).max(200);

/** The bundled bootstrap version: how many per-app migrations ship (migrations/app/index.ts). */
export const bundledAppVersion = appMigrations.length;

/** Serialises bootstrap upgrades per database (any constant works: the lock is per database). */
const upgradeLockKey = 4_206_001;

/**
 * Row-change counters of the tables in `public` as this backend sees them (`pg_stat_xact_user_tables`).
 * They also hold changes of earlier transactions the backend has not flushed to the shared statistics
 * yet (Postgres flushes at most once a second, between transactions), so a batch reads them at its
 * start and at its end: the difference is exactly what this transaction changed.
 */
const writeCountersQuery = `SELECT COALESCE(json_object_agg(relname, n_tup_ins + n_tup_upd + n_tup_del), '{}'::json) AS counters
  FROM pg_stat_xact_user_tables WHERE schemaname = 'public'`;

/** The tables whose counters grew between two readings of {@link writeCountersQuery}. */
function changedTables(before: SqlResult, after: SqlResult): string[] {
  const start = (before.rows[0]?.counters ?? {}) as Record<string, number>;
  const end = (after.rows[0]?.counters ?? {}) as Record<string, number>;
  return Object.keys(end).filter((table) => Number(end[table]) > Number(start[table] ?? 0)).sort();
}

/** Which login a batch connects with: the database owner, or the authenticator role of user SQL. */
export type DbLogin = 'owner' | 'authenticator';

function appSql(env: ExecuteEnv, appId: string, login: DbLogin = 'owner'): Sql {
  if (!appIdPattern.test(appId)) throw new ApiError('APP_NOT_FOUND', `App ${appId} not found.`);
  const template = login === 'authenticator' ? env.APP_DATABASE_AUTHENTICATOR_URL_TEMPLATE ?? env.APP_DATABASE_URL_TEMPLATE : env.APP_DATABASE_URL_TEMPLATE;
  return sqlClient(connectionStringFor(template, appId), env);
}

interface FullResult {
  rows: Record<string, unknown>[];
  rowCount: number | null;
  fields: { name: string; dataTypeID: number }[];
}

function toSqlResult(result: unknown): SqlResult {
  const full = result as FullResult;
  return { rows: full.rows, rowCount: full.rowCount ?? full.rows.length, fields: full.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })) };
}

async function runBatch(sql: Sql, statements: SqlStatement[], readOnly: boolean): Promise<SqlResult[]> {
  const queries = statements.map((s) => sql.query(s.query, s.params ?? []));
  try {
    const results = await sql.transaction(queries, { fullResults: true, readOnly });
    return results.map(toSqlResult);
  } catch (error) {
    throw pgErrorToApiError(error);
  }
}

/**
 * Runs `statements` in one transaction as `caller` (role anon, user or service). With `onCommit`,
 * the tables the committed batch wrote are reported after it: `writes` names them when the caller
 * knows (reported when a statement touched a row), else two readings of the write counters find them.
 * @returns one SqlResult per statement (rows as objects, rowCount, fields).
 * @throws ApiError with the §1.4 code for the SQLSTATE (see pgErrorToApiError);
 *   AUTH_RLS_REQUIRES_USER_JWT when role `user` comes without a user id.
 */
export async function runAs(
  env: ExecuteEnv,
  caller: DbCaller,
  statements: SqlStatement[],
  options: ExecuteOptions & { onCommit?: CommitListener; writes?: readonly string[]; login?: DbLogin } = {},
): Promise<SqlResult[]> {
  if (caller.role === 'user' && !caller.userId) {
    throw new ApiError('AUTH_RLS_REQUIRES_USER_JWT', 'The user role needs an end-user id.');
  }
  const readOnly = options.readOnly === true;
  // A caller that knows what it writes (the REST API: its table) saves the two counter readings.
  const known = options.writes;
  const watch = !readOnly && options.onCommit !== undefined && known === undefined;
  const counters = watch ? [{ query: writeCountersQuery }] : [];
  const opening = [...rolePrelude(caller), ...counters];
  const batch = [...opening, ...statements, ...counters];
  const results = await runBatch(appSql(env, caller.appId, options.login), batch, readOnly);
  const own = results.slice(opening.length, opening.length + statements.length);
  if (watch) {
    const tables = changedTables(results[opening.length - 1]!, results.at(-1)!);
    if (tables.length > 0) await notify(options.onCommit!, { appId: caller.appId, tables });
  } else if (!readOnly && options.onCommit && known && known.length > 0 && own.some((r) => (r.rowCount ?? 0) > 0)) {
    await notify(options.onCommit, { appId: caller.appId, tables: [...known] });
  }
  return own;
}

async function notify(listener: CommitListener, write: CommittedWrite): Promise<void> {
  try {
    await listener(write);
  } catch (error) {
    console.error(`[db] commit listener failed for ${write.appId}: ${String(error)}`);
  }
}

/**
 * Runs `statements` in one transaction as the app database's owner (DDL, bootstrap, internal schemas).
 * Only the DbOwner entrypoint calls this.
 * @throws ApiError with the §1.4 code for the SQLSTATE; APP_NOT_FOUND for a malformed app id.
 */
export async function runAsOwner(env: ExecuteEnv, appId: string, statements: SqlStatement[]): Promise<SqlResult[]> {
  return runBatch(appSql(env, appId), statements, false);
}

/**
 * Applies the bundled bootstrap migrations an app database lacks (ledger
 * `butterbase.bootstrap_migrations`), each in one transaction behind a per-database advisory lock,
 * so concurrent upgrades of one app wait for each other instead of racing on DDL.
 * @returns the migrations applied now and the bundled version.
 * @throws ApiError with the §1.4 code for the SQLSTATE of a failing migration.
 */
export async function upgradeApp(env: ExecuteEnv, appId: string): Promise<{ applied: string[]; version: number }> {
  const sql = appSql(env, appId);
  const result = await retryOnClusterRoleRace(() => migrate(
    async (statements) => {
      const locked = [{ query: 'SELECT pg_advisory_xact_lock($1)', params: [upgradeLockKey] }, ...statements];
      const rows = await runBatch(sql, locked, false);
      return rows.slice(1).map((r) => r.rows);
    },
    'butterbase.bootstrap_migrations',
    appMigrations,
  ));
  return { applied: result.applied, version: bundledAppVersion };
}

/**
 * Whether `error` is two databases of one cluster racing on a cluster-wide role: roles (the
 * butterbase_* roles, the authenticator) belong to the cluster, not to a database, and the per-database
 * upgrade lock does not serialise two apps bootstrapping at once, so a `CREATE ROLE` behind
 * `IF NOT EXISTS` can still lose (23505 on pg_authid, 42710 duplicate_object), and so can a concurrent
 * `GRANT` (23505 on pg_auth_members, or XX000 "tuple concurrently updated").
 */
export function isClusterRoleRace(error: unknown): boolean {
  if (!(error instanceof ApiError)) return false;
  const details = (error.details ?? {}) as { constraint?: unknown; pg_code?: unknown };
  if (details.pg_code === '42710') return true;
  if (details.pg_code === '23505' && String(details.constraint ?? '').startsWith('pg_auth')) return true;
  return details.pg_code === 'XX000' && /tuple concurrently updated/.test(String(error.internal ?? ''));
}

/**
 * Runs `work` (an upgrade: the whole migration run, whose batches each roll back on failure), and
 * again — up to 3 times in all — when it lost a {@link isClusterRoleRace}: the next run finds the role
 * the other database created. Any other error is thrown at once.
 */
export async function retryOnClusterRoleRace<T>(work: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= attempts || !isClusterRoleRace(error)) throw error;
    }
  }
}

/**
 * Checks the arguments of a caller-scoped batch at the RPC boundary.
 * @throws ApiError VALIDATION_INVALID_SCHEMA / _INVALID_TYPE / _MISSING_FIELD naming the field.
 */
export function checkCaller(caller: unknown): DbCaller {
  return parseWith(dbCaller, caller, 'DbGateway caller');
}

/** @throws ApiError VALIDATION_* naming the field of a malformed statement list. */
export function checkStatements(statements: unknown): SqlStatement[] {
  return parseWith(sqlStatements, statements, 'DbGateway statements');
}

/** A caller-scoped session as plain code (the DbSession RpcTarget delegates to it; tests use it in Node). */
export interface CallerSession {
  caller(): DbCaller;
  execute(statements: unknown, options?: ExecuteOptions): Promise<SqlResult[]>;
}

/**
 * Opens a session fixed to `caller`: the caller is checked once here and kept privately; `execute`
 * reads only its statements and options, so nothing a holder passes can change app, role or user.
 * With `guard` (user code's sessions) every statement list is checked before anything runs.
 * @throws ApiError VALIDATION_* (from `execute` and `caller`) when `caller` is malformed or names role owner;
 *   whatever `guard` raises (VALIDATION_SQL_REFUSED).
 */
export function openSession(
  env: ExecuteEnv,
  caller: unknown,
  onCommit?: CommitListener,
  guard?: (statements: SqlStatement[]) => Promise<void>,
): CallerSession {
  let fixed: DbCaller | ApiError;
  try {
    fixed = checkCaller(caller);
  } catch (error) {
    fixed = error instanceof ApiError ? error : new ApiError('VALIDATION_INVALID_SCHEMA', 'Invalid DbGateway caller.');
  }
  const session = fixed;
  return {
    caller() {
      if (session instanceof ApiError) throw session;
      return { ...session };
    },
    async execute(statements, options) {
      if (session instanceof ApiError) throw session;
      const checked = checkStatements(statements);
      if (guard) await guard(checked);
      // User code's statements (guarded) connect as the authenticator role, everything else as owner.
      return runAs(env, session, checked, { readOnly: options?.readOnly === true, onCommit, login: guard ? 'authenticator' : 'owner' });
    },
  };
}
