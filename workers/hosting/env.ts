import type { UserObjectHost } from '../../durable-objects/user-object-host.ts';
import type { AppPurgeMessage } from '../shared/contracts.ts';
import type { DbEnv } from '../shared/db.ts';
import type { DispatchEnv } from '../shared/dispatch-namespace.ts';

/**
 * Bindings of the hosting Worker (workers/hosting/wrangler.toml; secrets via `wrangler secret put`).
 * Production Edge SSR (Workers for Platforms, DispatchEnv): DISPATCHER (the `[[dispatch_namespaces]]`
 * binding `npm run deploy` adds when BUTTERBASE_DISPATCH_NAMESPACE is set, outbound Worker
 * butterbase-functions-outbound with parameters appId and deploymentId), the vars
 * CLOUDFLARE_ACCOUNT_ID and DISPATCH_NAMESPACE, the secret CLOUDFLARE_API_TOKEN (Workers Scripts:
 * Edit on the account, plus SSL and Certificates: Edit on the SaaS zone when custom domains use
 * Cloudflare), optional WFP_SUBREQUEST_LIMIT (default 200). The same settings put user Durable Object
 * classes in one script per app (services/do-script.ts). Without DISPATCHER, SSR and Durable Object
 * classes run in LOADER.
 */
export interface Env extends DbEnv, DispatchEnv {
  /** Deployment zips and site files (see the key layout in services/site-keys.ts). */
  SITES: R2Bucket;
  /** Worker Loader: runs each user Durable Object class as a facet of UserObjectHost, and each Edge SSR deployment. */
  LOADER: WorkerLoader;
  /** Host objects of user Durable Objects, one per `{app_id}:{name}:{instance}`. */
  USER_OBJECTS: DurableObjectNamespace<UserObjectHost>;
  /**
   * The functions Worker's FunctionSession entrypoint: user classes reach it as `BUTTERBASE_CTX`, and
   * `butterbase.ctx(...).invoke / invokeDO` call it with the request's session token.
   */
  FUNCTION_SESSION: Fetcher;
  /** Deleted apps' purges (sent by control; this Worker consumes them and sends their continuations). */
  APP_PURGE: Queue<AppPurgeMessage>;
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
  /** Cloudflare API base for custom hostnames and dispatch scripts (default https://api.cloudflare.com/client/v4; tests point it at a local fake). */
  CLOUDFLARE_API_URL?: string;
  /** Cloudflare API token: SSL and Certificates edit on the SaaS zone (custom domains) and/or Workers Scripts edit (Edge SSR on WfP) (secret). */
  CLOUDFLARE_API_TOKEN?: string;
  /** This Worker's script name, which Edge SSR scripts' ASSETS binding points at (default `butterbase-hosting`). */
  HOSTING_SCRIPT_NAME?: string;
  /** The functions Worker's script name: the Durable Object script's BUTTERBASE_CTX binding points at its FunctionSession (default `butterbase-functions`). */
  FUNCTIONS_SCRIPT_NAME?: string;
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
