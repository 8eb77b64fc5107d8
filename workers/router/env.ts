import type { RateLimiter } from '../../durable-objects/rate-limiter.ts';
import type { RouterTarget } from '../registry.ts';
import type { ControlRpc, HostingRpc, ScheduledRpc } from '../shared/contracts.ts';

/**
 * Bindings of the router Worker (root wrangler.toml): one service binding per Worker the registry
 * says it forwards to (workers/registry.ts; added by the dev platform and the deploy script).
 */
export type Env = { [Target in RouterTarget]: Fetcher & Partial<ScheduledRpc> } & {
  CONTROL: Fetcher & ControlRpc;
  HOSTING: Fetcher & HostingRpc;
  RATE_LIMITER: DurableObjectNamespace<RateLimiter>;
  /** App hosts are `{subdomain}.{APPS_DOMAIN}` (production `butterbase.dev`, locally `localhost`). */
  APPS_DOMAIN?: string;
  /** The app-wide request ceiling as a multiple of the per-principal budget (default 10). */
  RATE_LIMIT_APP_CEILING_FACTOR?: string;
  /** The API's own hostnames (comma-separated, e.g. `api.butterbase.ai`): never looked up as custom domains. */
  API_HOSTNAMES?: string;
  /** `true` only in benchmarks: count binding calls per request into `x-bb-trace` (trace.ts). */
  TRACE_SUBREQUESTS?: string;
};
