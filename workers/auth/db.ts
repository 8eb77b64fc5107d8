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
 * Runs statements in one transaction on the app database as its owner (DbOwner entrypoint). The
 * auth tables come from the bootstrap migrations; apps created before a migration shipped are
 * upgraded by the control Worker before they are served (status `migrating`).
 * @throws ApiError with the §1.4 code DbOwner mapped (APP_NOT_READY, EXTERNAL_DB_ERROR, …)
 */
export async function runAuthSql(env: Pick<Env, 'DB_OWNER'>, appId: string, statements: SqlStatement[]): Promise<SqlResult[]> {
  return unwrap(await env.DB_OWNER.execute(appId, statements));
}

/** Runs one statement and returns its rows. */
export async function authRows<T = Record<string, unknown>>(env: Pick<Env, 'DB_OWNER'>, appId: string, query: string, params: unknown[] = []): Promise<T[]> {
  const [result] = await runAuthSql(env, appId, [{ query, params }]);
  return (result?.rows ?? []) as T[];
}
