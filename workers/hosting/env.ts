import type { UserObjectHost } from '../../durable-objects/user-object-host.ts';
import type { DbEnv } from '../shared/db.ts';

/** Bindings of the hosting Worker (workers/hosting/wrangler.toml; secrets via `wrangler secret put`). */
export interface Env extends DbEnv {
  /** Deployment zips and site files (see the key layout in services/site-keys.ts). */
  SITES: R2Bucket;
  /** Worker Loader: runs each user Durable Object class as a facet of UserObjectHost, and each Edge SSR deployment. */
  LOADER: WorkerLoader;
  /** Host objects of user Durable Objects, one per `{app_id}:{name}:{instance}`. */
  USER_OBJECTS: DurableObjectNamespace<UserObjectHost>;
  /** Control-plane database: deployments, sites, env, custom domains, DO classes (secret). */
  CONTROL_DATABASE_URL: string;
  /** Platform master key (base64 of 32 bytes): signs upload URLs and seals env values (secret). */
  PLATFORM_MASTER_KEY: string;
  /** Site URL of an app with `{subdomain}`, e.g. `https://{subdomain}.butterbase.dev`. */
  APP_URL_TEMPLATE: string;
  /** Where custom domains CNAME to (default `butterbase.dev`). */
  CNAME_TARGET?: string;
  /**
   * `local` (default): hostnames are active once added; `cloudflare`: Cloudflare for SaaS custom
   * hostnames on CLOUDFLARE_ZONE_ID with CLOUDFLARE_API_TOKEN (services/custom-hostnames.ts).
   */
  CUSTOM_DOMAIN_PROVIDER?: string;
  /** Cloudflare API base (default https://api.cloudflare.com/client/v4). */
  CLOUDFLARE_API_URL?: string;
  /** Cloudflare API token with SSL and Certificates edit on the SaaS zone (secret). */
  CLOUDFLARE_API_TOKEN?: string;
  /** The Cloudflare for SaaS zone custom hostnames are added to. */
  CLOUDFLARE_ZONE_ID?: string;
  /** READY deployments kept per app for rollback (default 3). */
  KEEP_READY_DEPLOYMENTS?: string;
  /** The router: Edge SSR bundles' calls to PUBLIC_API_URL go here internally (no public egress). */
  ROUTER?: Fetcher;
  /** The platform's public API base URL (what an SSR bundle's `BUTTERBASE_URL` should be). */
  PUBLIC_API_URL: string;
  /** Extra hostnames SSR bundles may never reach, comma-separated (as for functions). */
  EGRESS_DENY_HOSTS?: string;
}
