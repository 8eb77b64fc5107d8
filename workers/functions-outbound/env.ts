/**
 * Bindings of the functions-outbound Worker (workers/functions-outbound/wrangler.toml), plus the
 * parameters the functions Worker passes per call through `DISPATCHER.get(…, { outbound })`, which
 * Workers for Platforms exposes to the outbound Worker as `env.<parameter>`.
 */
export interface Env {
  /** The platform's public API base URL (`BUTTERBASE_API_URL` in functions): routed to ROUTER. */
  PUBLIC_API_URL: string;
  /** Extra hostnames user code may never reach, comma-separated (the database endpoint and the like). */
  EGRESS_DENY_HOSTS?: string;
  /** The router: calls from user code to PUBLIC_API_URL go here internally. */
  ROUTER?: Fetcher;
  /** Outbound parameter: the calling function's app. */
  appId?: string;
  /** Outbound parameter: the calling function's name. */
  functionName?: string;
}
