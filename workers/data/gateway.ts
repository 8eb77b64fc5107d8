/**
 * DbGateway: the only path to an app database (DESIGN.md "Data"). Every call is one Neon HTTP
 * transaction batch: `SET LOCAL ROLE butterbase_<role>`, the request GUCs
 * (`request.jwt.claim.sub`, `request.jwt.claims`, `app.role`), then the caller's statements.
 * `owner` skips the role switch; it is for trusted platform Workers (DDL, bootstrap, auth tables)
 * and is never chosen from an HTTP request.
 */
import { WorkerEntrypoint } from 'cloudflare:workers';
import { z } from 'zod';
import { appMigrations } from '../../migrations/app/index.ts';
import type { DbCaller, DbGatewayRpc, SqlResult, SqlStatement } from '../shared/contracts.ts';
import { connectionStringFor, sqlClient, type Sql } from '../shared/db.ts';
import { ApiError } from '../shared/errors.ts';
import { migrate } from '../shared/migrator.ts';
import { pgErrorToApiError } from '../shared/pg-errors.ts';
import { rpcResult, type RpcResult } from '../shared/rpc.ts';
import { appIdPattern, parseWith } from '../shared/validation.ts';
import type { Env } from './env.ts';
import { rolePrelude } from './prelude.ts';

/** The `caller` argument of {@link DbGateway.execute} (DbCaller), checked at the RPC boundary. */
export const dbCaller = z.object({
  appId: z.string().regex(appIdPattern, 'must be an app id'),
  role: z.enum(['anon', 'user', 'service', 'owner']),
  userId: z.string().min(1).nullable().optional(),
});
/** The `statements` argument of {@link DbGateway.execute} (SqlStatement[]), checked at the RPC boundary. */
export const sqlStatements = z.array(z.object({ query: z.string().min(1), params: z.array(z.unknown()).optional() }));

function appSql(env: Env, appId: string): Sql {
  if (!appIdPattern.test(appId)) throw new ApiError('APP_NOT_FOUND', `App ${appId} not found.`);
  return sqlClient(connectionStringFor(env.APP_DATABASE_URL_TEMPLATE, appId), env);
}

/**
 * Runs `statements` in one transaction as `caller`.
 * @returns one SqlResult per statement (rows as objects, rowCount, fields).
 * @throws ApiError with the §1.4 code for the SQLSTATE (see pgErrorToApiError); AUTH_RLS_REQUIRES_USER_JWT
 *   when role `user` comes without a user id.
 */
export async function runAs(env: Env, caller: DbCaller, statements: SqlStatement[]): Promise<SqlResult[]> {
  if (caller.role === 'user' && !caller.userId) {
    throw new ApiError('AUTH_RLS_REQUIRES_USER_JWT', 'The user role needs an end-user id.');
  }
  const sql = appSql(env, caller.appId);
  const queries = [...rolePrelude(caller), ...statements].map((s) => sql.query(s.query, s.params ?? []));
  let results;
  try {
    results = await sql.transaction(queries, { fullResults: true });
  } catch (error) {
    throw pgErrorToApiError(error);
  }
  return results.slice(queries.length - statements.length).map((r) => {
    const full = r as unknown as { rows: Record<string, unknown>[]; rowCount: number | null; fields: { name: string; dataTypeID: number }[] };
    return { rows: full.rows, rowCount: full.rowCount ?? full.rows.length, fields: full.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })) };
  });
}

/** Applies the bundled bootstrap migrations to an app database (ledger `butterbase.bootstrap_migrations`). */
export async function bootstrapApp(env: Env, appId: string): Promise<{ applied: string[] }> {
  const sql = appSql(env, appId);
  const result = await migrate(
    async (statements) => {
      try {
        const rows = await sql.transaction(statements.map((s) => sql.query(s.query, s.params)));
        return rows as Record<string, unknown>[][];
      } catch (error) {
        throw pgErrorToApiError(error);
      }
    },
    'butterbase.bootstrap_migrations',
    appMigrations,
  );
  return { applied: result.applied };
}

/** The RPC entrypoint other Workers bind to (`entrypoint = "DbGateway"`). */
export class DbGateway extends WorkerEntrypoint<Env> implements DbGatewayRpc {
  /**
   * See {@link DbGatewayRpc.execute}. The arguments are validated first: a malformed caller or
   * statement list → VALIDATION_INVALID_SCHEMA / _INVALID_TYPE / _MISSING_FIELD naming the field.
   */
  execute(caller: DbCaller, statements: SqlStatement[]): Promise<RpcResult<SqlResult[]>> {
    return rpcResult(() => runAs(this.env, parseWith(dbCaller, caller, 'DbGateway caller'), parseWith(sqlStatements, statements, 'DbGateway statements')));
  }

  /** See {@link DbGatewayRpc.bootstrap}. */
  bootstrap(appId: string): Promise<RpcResult<{ applied: string[] }>> {
    return rpcResult(() => bootstrapApp(this.env, appId));
  }
}
