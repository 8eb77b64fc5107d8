import type { DbGatewayRpc, DurableObjectInvokeRpc } from '../shared/contracts.ts';
import type { DbEnv } from '../shared/db.ts';
import type { RecordCacheEnv } from './services/record-cache.ts';

/** Bindings of the functions Worker (workers/functions/wrangler.toml; secrets via `wrangler secret put`). */
export interface Env extends DbEnv, RecordCacheEnv {
  /** Control-plane database: function records, versions, invocation logs, cron claims (secret). */
  CONTROL_DATABASE_URL: string;
  /** Base64 of 32 bytes: env vars and webhook secrets are AES-GCM sealed under it (secret). */
  PLATFORM_MASTER_KEY: string;
  /** Caller-scoped database sessions; user code gets `userSession`s only (the SQL guard applies). */
  DB_GATEWAY: Fetcher & DbGatewayRpc;
  /** The hosting Worker's DoInvoker entrypoint: ctx.invokeDO reaches the app's Durable Object classes through it. */
  DURABLE_OBJECTS: Fetcher & DurableObjectInvokeRpc;
  /** The Worker Loader (local and tests): runs each deployed version as its own isolate. */
  LOADER: WorkerLoader;
  /** The router: calls from user code to BUTTERBASE_API_URL go here internally (no public egress). */
  ROUTER?: Fetcher;
  /** The platform's public API base URL (`BUTTERBASE_API_URL` in functions). */
  PUBLIC_API_URL: string;
  /** Extra hostnames user code may never reach, comma-separated (the database endpoint and the like). */
  EGRESS_DENY_HOSTS?: string;
  /**
   * Production only (Workers for Platforms, `[[dispatch_namespaces]]` binding added by
   * `npm run deploy` when BUTTERBASE_DISPATCH_NAMESPACE is set): user code runs as scripts of this
   * namespace. Bound together with the three settings below, it replaces the Worker Loader.
   */
  DISPATCHER?: DispatchNamespace;
  /** The Cloudflare account that owns the dispatch namespace (var). */
  CLOUDFLARE_ACCOUNT_ID?: string;
  /** The dispatch namespace's name (var; the same as the DISPATCHER binding's `namespace`). */
  DISPATCH_NAMESPACE?: string;
  /** API token with "Workers Scripts: Edit" on the account: uploads and deletes user scripts (secret). */
  CLOUDFLARE_API_TOKEN?: string;
  /** Cloudflare API base (default https://api.cloudflare.com/client/v4; tests point it at a local fake). */
  CLOUDFLARE_API_URL?: string;
  /** This Worker's script name, which uploaded scripts bind to (default `butterbase-functions`). */
  FUNCTIONS_SCRIPT_NAME?: string;
  /** Subrequests allowed per invocation on Workers for Platforms (default 200). */
  WFP_SUBREQUEST_LIMIT?: string;
}
