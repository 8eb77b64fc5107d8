/**
 * Direct control-plane access for test setup only (e.g. a second account, which has no public
 * sign-up route), over the same Neon protocol the Workers use.
 */
import { neon, neonConfig } from '@neondatabase/serverless';
import { inject } from 'vitest';
import { mintServiceKey } from '../../workers/shared/keys.ts';

/** A query function on the shared test platform's control database. */
export function controlDb() {
  neonConfig.fetchEndpoint = `${inject('dbUrl')}/sql`;
  return neon(inject('controlConnection'));
}

/** A query function on one app's database (owner connection; for assertions only). */
export function appDb(appId: string) {
  neonConfig.fetchEndpoint = `${inject('dbUrl')}/sql`;
  return neon(inject('appConnectionTemplate').replace('{db}', appId));
}

/** Creates another account with an account-wide service key; returns the plaintext key. */
export async function createOtherAccount(label: string): Promise<{ accountId: string; key: string }> {
  const sql = controlDb();
  const [account] = await sql.query('INSERT INTO accounts (email, name) VALUES ($1, $2) RETURNING id', [
    `${label}-${crypto.randomUUID()}@example.test`,
    label,
  ]);
  const minted = await mintServiceKey();
  await sql.query(
    `INSERT INTO api_keys (account_id, name, key_prefix, key_hash, key_scope, scopes) VALUES ($1, $2, $3, $4, 'account', ARRAY['*'])`,
    [account!.id, label, minted.prefix, minted.hash],
  );
  return { accountId: String(account!.id), key: minted.plaintext };
}

/**
 * Raises one app's request budget (an operator setting with no API) for test files that make more
 * than the default 100 requests a minute against a single app.
 */
export async function raiseRateLimit(appId: string, perMinute = 1_000): Promise<void> {
  await controlDb().query('UPDATE apps SET rate_limit_per_minute = $2 WHERE id = $1', [appId, perMinute]);
}
