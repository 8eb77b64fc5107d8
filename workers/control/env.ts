import type { AppPurgeMessage, DbOwnerRpc, StoragePurgeMessage } from '../shared/contracts.ts';
import type { DbEnv } from '../shared/db.ts';

/** Bindings of the control Worker (workers/control/wrangler.toml; secrets via `wrangler secret put`). */
export interface Env extends DbEnv {
  /** Control-plane database, e.g. `postgresql://…/butterbase_control` (secret). */
  CONTROL_DATABASE_URL: string;
  /** `local` (CREATE DATABASE through DATABASE_ADMIN_URL) or `neon` (Neon API). */
  PROVISIONER: 'local' | 'neon';
  /** Local provisioner: a connection to the server's maintenance database. */
  DATABASE_ADMIN_URL?: string;
  /** Neon provisioner: API base (default https://console.neon.tech/api/v2), key, project, branch, owner role. */
  NEON_API_URL?: string;
  NEON_API_KEY?: string;
  NEON_PROJECT_ID?: string;
  NEON_BRANCH_ID?: string;
  NEON_DATABASE_OWNER?: string;
  /** 32 random bytes, base64: seals signing keys and env values (AES-GCM). Secret. */
  PLATFORM_MASTER_KEY: string;
  /** Public API base URL, e.g. https://api.butterbase.ai (default: the request's origin). */
  PUBLIC_API_URL?: string;
  /** An app's frontend URL, e.g. `https://{subdomain}.butterbase.dev`. */
  APP_URL_TEMPLATE: string;
  /** Comma-separated regions apps may choose, and the default. */
  REGIONS: string;
  DEFAULT_REGION: string;
  /** Per-app request budget per minute unless the app overrides it (API.md §1.5 default 100). */
  RATE_LIMIT_PER_MINUTE: string;
  /** Seconds a provisioning attempt holds its lease before a crashed attempt may be resumed (default 120). */
  PROVISIONING_LEASE_SECONDS?: string;
  /** How long an isolate may reuse app rows and signing keys for non-service-key callers (default 1000; 0 = off). */
  GATE_CACHE_TTL_MS?: string;
  /** The owner entrypoint of DbGateway (DDL, bootstrap, upgrades). */
  DB_OWNER: Fetcher & DbOwnerRpc;
  /** The storage Worker's purge queue: a deleted app's objects are removed from the bucket. */
  STORAGE_PURGE?: Queue<StoragePurgeMessage>;
  /** The hosting Worker's purge queue: a deleted app's site files, Durable Object storage and dispatch scripts are removed. */
  APP_PURGE?: Queue<AppPurgeMessage>;
}
