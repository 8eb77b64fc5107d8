import { sqlClient, type Sql } from '../shared/db.ts';
import type { Env } from './env.ts';

/** The control-plane database. */
export function controlSql(env: Pick<Env, 'CONTROL_DATABASE_URL' | 'NEON_FETCH_ENDPOINT'>): Sql {
  return sqlClient(env.CONTROL_DATABASE_URL, env);
}
