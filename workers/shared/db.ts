/**
 * Postgres over Neon's SQL-over-HTTP protocol (`@neondatabase/serverless`). In production the
 * driver talks to Neon; locally and in tests `NEON_FETCH_ENDPOINT` points it at the embedded
 * endpoint (`embedded-db/`), which speaks the same protocol.
 */
import { neon, neonConfig, type NeonQueryFunction } from '@neondatabase/serverless';

/** The bindings a database client needs. */
export interface DbEnv {
  /** `http://127.0.0.1:<port>/sql` locally; unset in production (Neon's own endpoint). */
  NEON_FETCH_ENDPOINT?: string;
}

export type Sql = NeonQueryFunction<false, false>;
export type Row = Record<string, unknown>;

const clients = new Map<string, Sql>();

/**
 * Returns a (cached) query function for a connection string.
 * Source: Neon serverless driver docs, "neon() HTTP queries" and `neonConfig.fetchEndpoint`.
 */
export function sqlClient(connectionString: string, env: DbEnv): Sql {
  if (env.NEON_FETCH_ENDPOINT) {
    neonConfig.fetchEndpoint = env.NEON_FETCH_ENDPOINT;
    neonConfig.disableWarningInBrowsers = true;
  }
  let client = clients.get(connectionString);
  if (!client) {
    client = neon(connectionString);
    clients.set(connectionString, client);
  }
  return client;
}

/** Replaces `{db}` in a connection-string template with a database name. */
export function connectionStringFor(template: string, database: string): string {
  if (!template.includes('{db}')) throw new Error('database URL template must contain {db}');
  return template.replace('{db}', database);
}
