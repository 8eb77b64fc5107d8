/**
 * Node-side access to the control-plane database for the dev, migrate and deploy scripts, over the
 * same Neon protocol the Workers use (the embedded endpoint locally, Neon in production).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { neon, neonConfig } from '@neondatabase/serverless';
import { and, eq, isNull, sql } from 'drizzle-orm';
import pRetry, { AbortError } from 'p-retry';
import { controlDb, type ControlDb } from '../../workers/shared/control-db.ts';
import { accounts, apiKeys } from '../../workers/shared/control-schema.ts';
import { sha256Hex } from '../../workers/shared/crypto.ts';
import { mintServiceKey, type MintedServiceKey } from '../../workers/shared/keys.ts';
import { migrate, type MigrateResult, type RunBatch } from '../../workers/shared/migrator.ts';

/** Points the Neon driver at a local endpoint (`http://127.0.0.1:port/sql`); no-op when undefined. */
export function useFetchEndpoint(endpoint: string | undefined): void {
  if (endpoint) neonConfig.fetchEndpoint = endpoint;
}

/** A transaction-batch runner over one connection string. */
export function batchRunner(connectionString: string): RunBatch {
  const sql = neon(connectionString);
  return async (statements) => {
    const results = await sql.transaction(statements.map((s) => sql.query(s.query, s.params)));
    return results as Record<string, unknown>[][];
  };
}

/**
 * Creates a database through the endpoint's maintenance connection; an existing one is fine.
 * Network failures are retried a few times: after a restart on the same port, a pooled keep-alive
 * socket to the previous endpoint can fail the first request.
 */
export async function ensureDatabase(adminConnectionString: string, database: string): Promise<boolean> {
  return pRetry(
    async () => {
      try {
        await neon(adminConnectionString).query(`CREATE DATABASE ${database}`);
        return true;
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === '42P04') return false;
        if (code) throw new AbortError(error as Error);
        throw error;
      }
    },
    { retries: 3, minTimeout: 100, maxTimeout: 500 },
  );
}

/** Applies `migrations/control/*.sql` in order (ledger `public.control_migrations`). */
export async function migrateControlPlane(connectionString: string, migrationsDir: string): Promise<MigrateResult> {
  const dir = join(migrationsDir, 'control');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const migrations = await Promise.all(
    files.map(async (f) => ({ name: f.replace(/\.sql$/, ''), sql: await readFile(join(dir, f), 'utf8') })),
  );
  return migrate(batchRunner(connectionString), 'public.control_migrations', migrations);
}

/** drizzle over the control plane at `connectionString` (the Workers' client, errors mapped alike). */
export function controlDbAt(connectionString: string): ControlDb {
  return controlDb({ CONTROL_DATABASE_URL: connectionString });
}

/** True when `key` is an unrevoked service key of account `accountId`. */
export async function isLiveKey(connectionString: string, accountId: string, key: string): Promise<boolean> {
  const rows = await controlDbAt(connectionString)
    .select({ id: apiKeys.id })
    .from(apiKeys)
    .where(and(eq(apiKeys.account_id, accountId), eq(apiKeys.key_hash, await sha256Hex(key)), isNull(apiKeys.revoked_at)));
  return rows.length > 0;
}

/**
 * The local developer account (`local@localhost`, created if missing) and a new account-wide key
 * `bootstrap` for it.
 * @returns the account id and the minted key (its plaintext is shown once)
 */
export async function createBootstrapKey(connectionString: string): Promise<{ accountId: string; minted: MintedServiceKey }> {
  const db = controlDbAt(connectionString);
  const [account] = await db.insert(accounts)
    .values({ email: 'local@localhost', name: 'Local developer' })
    .onConflictDoUpdate({ target: accounts.email, set: { name: sql`excluded.name` } })
    .returning({ id: accounts.id });
  const minted = await mintServiceKey();
  await db.insert(apiKeys).values({
    account_id: account!.id, name: 'bootstrap', key_prefix: minted.prefix, key_hash: minted.hash, key_scope: 'account', scopes: ['*'],
  });
  return { accountId: account!.id, minted };
}
