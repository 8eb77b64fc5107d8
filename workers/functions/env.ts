import type { DbGatewayRpc } from '../shared/contracts.ts';
import type { DbEnv } from '../shared/db.ts';

/** Bindings of the functions Worker (workers/functions/wrangler.toml; secrets via `wrangler secret put`). */
export interface Env extends DbEnv {
  /** Control-plane database: function records, versions, invocation logs, cron claims (secret). */
  CONTROL_DATABASE_URL: string;
  /** Base64 of 32 bytes: env vars and webhook secrets are AES-GCM sealed under it (secret). */
  PLATFORM_MASTER_KEY: string;
  /** Caller-scoped database sessions; user code gets `userSession`s only (the SQL guard applies). */
  DB_GATEWAY: Fetcher & DbGatewayRpc;
  /** The Worker Loader (local and tests): runs each deployed version as its own isolate. */
  LOADER: WorkerLoader;
  /** The router: calls from user code to BUTTERBASE_API_URL go here internally (no public egress). */
  ROUTER?: Fetcher;
  /** The platform's public API base URL (`BUTTERBASE_API_URL` in functions). */
  PUBLIC_API_URL: string;
  /** Extra hostnames user code may never reach, comma-separated (the database endpoint and the like). */
  EGRESS_DENY_HOSTS?: string;
}
