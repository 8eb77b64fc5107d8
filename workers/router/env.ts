import type { ControlRpc } from '../shared/contracts.ts';
import type { RateLimiter } from '../../durable-objects/rate-limiter.ts';

/** Bindings of the router Worker (root wrangler.toml). */
export interface Env {
  CONTROL: Fetcher & ControlRpc;
  DATA: Fetcher;
  AUTH: Fetcher;
  MCP: Fetcher;
  RATE_LIMITER: DurableObjectNamespace<RateLimiter>;
}
