/**
 * Database access for the auth Worker: the control-plane database (apps, signing keys, audit log)
 * and the app's own database through DbGateway as `owner` (the `auth` schema is invisible to the
 * three app roles).
 */
import type { SqlResult, SqlStatement } from '../shared/contracts.ts';
import { unwrap } from '../shared/rpc.ts';
import type { Env } from './env.ts';

/** The control-plane database (drizzle), behind the error boundary of workers/shared/control-db.ts. */
export { controlDb } from '../shared/control-db.ts';

/**
 * Runs statements in one transaction on the app database as `owner`.
 * An app provisioned before the auth tables existed gets its pending bootstrap migrations applied
 * once (42P01 → VALIDATION_TABLE_NOT_FOUND), then the batch is retried.
 * @throws ApiError with the §1.4 code DbGateway mapped (APP_NOT_READY, EXTERNAL_DB_ERROR, …)
 */
export async function runAuthSql(env: Pick<Env, 'DB_GATEWAY'>, appId: string, statements: SqlStatement[]): Promise<SqlResult[]> {
  const result = await env.DB_GATEWAY.execute({ appId, role: 'owner' }, statements);
  if (!result.ok && result.error.code === 'VALIDATION_TABLE_NOT_FOUND') {
    const upgraded = unwrap(await env.DB_GATEWAY.bootstrap(appId));
    if (upgraded.applied.length > 0) return unwrap(await env.DB_GATEWAY.execute({ appId, role: 'owner' }, statements));
  }
  return unwrap(result);
}

/** Runs one statement and returns its rows. */
export async function authRows<T = Record<string, unknown>>(env: Pick<Env, 'DB_GATEWAY'>, appId: string, query: string, params: unknown[] = []): Promise<T[]> {
  const [result] = await runAuthSql(env, appId, [{ query, params }]);
  return (result?.rows ?? []) as T[];
}
