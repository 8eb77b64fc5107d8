import type { RateLimiter } from '../../durable-objects/rate-limiter.ts';
import type { AuthHookRpc, DbOwnerRpc } from '../shared/contracts.ts';
import type { DbEnv } from '../shared/db.ts';

/** Bindings of the auth Worker (workers/auth/wrangler.toml; secrets via `wrangler secret put`). */
export interface Env extends DbEnv {
  /** Control-plane database: apps (jwt_config, auth_config), signing keys, audit logs (secret). */
  CONTROL_DATABASE_URL: string;
  /** 32 random bytes, base64: seals the per-app private signing keys (AES-GCM). Secret. */
  PLATFORM_MASTER_KEY: string;
  /** The owner entrypoint of DbGateway: the only path to app databases (auth tables run as the owner). */
  DB_OWNER: Fetcher & DbOwnerRpc;
  /** Per-IP auth limits (`auth:{app}:{route}:{ip or IPv6 /56}`), the router's RateLimiter class. */
  RATE_LIMITER: DurableObjectNamespace<RateLimiter>;
  /** The functions Worker: runs the app's post-auth hook after signup and sign-ins (fire-and-forget). */
  FUNCTIONS?: Fetcher & AuthHookRpc;
  /** `dev` (dev outbox + console, local default) or `resend` (Resend's HTTP API). */
  MAIL_PROVIDER?: string;
  /** Resend API key (secret) and sender, e.g. `Acme <auth@acme.dev>`. */
  MAIL_API_KEY?: string;
  MAIL_FROM?: string;
  /** Overrides of the per-IP limits, e.g. `signup=50,login=100` (route names as in services/rate-limit.ts). */
  AUTH_RATE_LIMITS?: string;
  /** The limit window in seconds (default 900 = 15 min, API.md §6). */
  AUTH_RATE_LIMIT_WINDOW_SECONDS?: string;
  /**
   * Local runs and tests only (never in wrangler.toml): moves every built-in OAuth provider's endpoints
   * onto `{base}/{provider}/…` so a local mock answers for them (services/oauth-catalogue.ts); honoured on
   * loopback hosts only.
   */
  OAUTH_TEST_PROVIDER_BASE_URL?: string;
  /** `true` in local runs and tests only: custom providers may use plain-http endpoints (a mock on loopback). */
  OAUTH_ALLOW_INSECURE_PROVIDERS?: string;
}
