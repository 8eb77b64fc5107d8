/**
 * The one list of the platform's Workers (DESIGN.md "Request flow"). Everything that needs to know
 * which Workers exist reads it: the router's binding types, the service bindings the router gets,
 * the dev platform (`npm run dev`, tests, benchmarks), the deploy script and the build tests.
 * Adding a Worker is one entry here plus its folder `workers/<name>/` with `index.ts`, `env.ts` and
 * `wrangler.toml`.
 */

/** What the dev platform knows when it configures a Worker for a local run. */
export interface LocalSettings {
  /** The embedded database endpoint (`http://127.0.0.1:<port>/sql`), Neon's `fetchEndpoint`. */
  fetchEndpoint: string;
  /** Control-plane database connection string. */
  controlDatabaseUrl: string;
  /** Server maintenance database (CREATE DATABASE) connection string. */
  adminDatabaseUrl: string;
  /** App database connection string with `{db}` for the app id. */
  appDatabaseUrlTemplate: string;
  /** The platform master key (base64 of 32 bytes). */
  masterKey: string;
  /** The router's base URL, e.g. `http://127.0.0.1:8787`. */
  publicUrl: string;
  /** The router's port (app hosts are `{subdomain}.localhost:{port}`). */
  port: number;
  /** The local S3 endpoint's key pair (generated per state folder, like the service key). */
  s3AccessKeyId: string;
  s3SecretAccessKey: string;
}

/** A connection-string template with its user replaced by the authenticator role of user SQL. */
function authenticatorTemplate(template: string): string {
  return template.replace(/^(postgres(?:ql)?:\/\/)[^:@/]*/, '$1butterbase_authenticator');
}

/** One Worker of the platform. */
export interface WorkerSpec {
  /** Short name: the folder under `workers/` and the key used by scripts and tests. */
  readonly name: string;
  /** The deployed script name (`name` in its wrangler.toml). */
  readonly script: string;
  /** Its wrangler config, relative to the repository root. */
  readonly config: string;
  /** The router's service binding to it, when the router forwards requests there. */
  readonly routerBinding?: string;
  /** Named RPC entrypoints it exports for other Workers' service bindings. */
  readonly entrypoints?: readonly string[];
  /** True when it takes part in the platform's minute tick (the router's scheduled handler calls `tick`). */
  readonly scheduled?: boolean;
  /** Vars (and secrets) it needs for a local run, on top of its wrangler.toml `[vars]`. */
  readonly localVars?: (local: LocalSettings) => Record<string, string>;
}

/** Every Worker; the router (the platform's only public entry, the primary under `wrangler dev`) first. */
export const workerRegistry = [
  {
    name: 'router',
    script: 'butterbase-router',
    config: 'wrangler.toml',
    localVars: () => ({ APPS_DOMAIN: 'localhost' }),
  },
  {
    name: 'data',
    script: 'butterbase-data',
    config: 'workers/data/wrangler.toml',
    routerBinding: 'DATA',
    entrypoints: ['DbGateway', 'DbOwner'],
    localVars: (local) => ({
      NEON_FETCH_ENDPOINT: local.fetchEndpoint,
      APP_DATABASE_URL_TEMPLATE: local.appDatabaseUrlTemplate,
      // The embedded endpoint also accepts the authenticator login (embedded-db/server.ts).
      APP_DATABASE_AUTHENTICATOR_URL_TEMPLATE: authenticatorTemplate(local.appDatabaseUrlTemplate),
    }),
  },
  {
    name: 'control',
    script: 'butterbase-control',
    config: 'workers/control/wrangler.toml',
    routerBinding: 'CONTROL',
    scheduled: true,
    localVars: (local) => ({
      NEON_FETCH_ENDPOINT: local.fetchEndpoint,
      CONTROL_DATABASE_URL: local.controlDatabaseUrl,
      DATABASE_ADMIN_URL: local.adminDatabaseUrl,
      PLATFORM_MASTER_KEY: local.masterKey,
      PROVISIONER: 'local',
      APP_URL_TEMPLATE: `http://{subdomain}.localhost:${local.port}`,
    }),
  },
  {
    name: 'auth',
    script: 'butterbase-auth',
    config: 'workers/auth/wrangler.toml',
    routerBinding: 'AUTH',
    localVars: (local) => ({
      NEON_FETCH_ENDPOINT: local.fetchEndpoint,
      CONTROL_DATABASE_URL: local.controlDatabaseUrl,
      PLATFORM_MASTER_KEY: local.masterKey,
      MAIL_PROVIDER: 'dev',
      // Local runs only: custom OAuth providers on loopback (a local oauth2-mock-server) over plain http.
      OAUTH_ALLOW_INSECURE_PROVIDERS: 'true',
    }),
  },
  {
    name: 'storage',
    script: 'butterbase-storage',
    config: 'workers/storage/wrangler.toml',
    routerBinding: 'STORAGE',
    entrypoints: ['Presigner'],
    scheduled: true,
    localVars: (local) => ({
      NEON_FETCH_ENDPOINT: local.fetchEndpoint,
      CONTROL_DATABASE_URL: local.controlDatabaseUrl,
      S3_ENDPOINT: `${local.publicUrl}/s3`,
      S3_ACCESS_KEY_ID: local.s3AccessKeyId,
      S3_SECRET_ACCESS_KEY: local.s3SecretAccessKey,
      S3_LOCAL_ENDPOINT: 'true',
    }),
  },
  {
    name: 'mcp',
    script: 'butterbase-mcp',
    config: 'workers/mcp/wrangler.toml',
    routerBinding: 'MCP',
  },
  {
    name: 'functions',
    script: 'butterbase-functions',
    config: 'workers/functions/wrangler.toml',
    routerBinding: 'FUNCTIONS',
    scheduled: true,
    localVars: (local) => ({
      NEON_FETCH_ENDPOINT: local.fetchEndpoint,
      CONTROL_DATABASE_URL: local.controlDatabaseUrl,
      PLATFORM_MASTER_KEY: local.masterKey,
      PUBLIC_API_URL: local.publicUrl,
      // wrangler dev runs this Worker as one isolate: forgetting a written record is enough.
      FUNCTION_CACHE_ONE_ISOLATE: 'true',
    }),
  },
  {
    // Production only in effect: the dispatch namespace's outbound Worker (egress policy of user code).
    name: 'functions-outbound',
    script: 'butterbase-functions-outbound',
    config: 'workers/functions-outbound/wrangler.toml',
    localVars: (local) => ({ PUBLIC_API_URL: local.publicUrl }),
  },
  {
    name: 'realtime',
    script: 'butterbase-realtime',
    config: 'workers/realtime/wrangler.toml',
    routerBinding: 'REALTIME',
  },
  {
    name: 'hosting',
    script: 'butterbase-hosting',
    config: 'workers/hosting/wrangler.toml',
    routerBinding: 'HOSTING',
    entrypoints: ['DoInvoker'],
    localVars: (local) => ({
      NEON_FETCH_ENDPOINT: local.fetchEndpoint,
      CONTROL_DATABASE_URL: local.controlDatabaseUrl,
      PLATFORM_MASTER_KEY: local.masterKey,
      APP_URL_TEMPLATE: `http://{subdomain}.localhost:${local.port}`,
      PUBLIC_API_URL: local.publicUrl,
    }),
  },
] as const satisfies readonly WorkerSpec[];

type Registry = typeof workerRegistry;

/** A Worker's short name (`router`, `control`, …). */
export type WorkerName = Registry[number]['name'];

/** The router's service binding names, one per Worker it forwards to (`CONTROL`, `DATA`, …). */
export type RouterTarget = Extract<Registry[number], { routerBinding: string }>['routerBinding'];

/** The entry named `name`. @throws Error for a name that is not registered. */
export function workerSpec(name: string): WorkerSpec {
  const spec = (workerRegistry as readonly WorkerSpec[]).find((w) => w.name === name);
  if (!spec) throw new Error(`unknown Worker "${name}" (workers/registry.ts lists: ${workerRegistry.map((w) => w.name).join(', ')})`);
  return spec;
}

/** The Workers the router forwards to, with their binding names. */
export function routerTargets(): { binding: RouterTarget; script: string; name: WorkerName }[] {
  return (workerRegistry as readonly WorkerSpec[])
    .filter((w): w is WorkerSpec & { routerBinding: RouterTarget } => w.routerBinding !== undefined)
    .map((w) => ({ binding: w.routerBinding, script: w.script, name: w.name as WorkerName }));
}

/** The Workers that take part in the minute tick (see {@link WorkerSpec.scheduled}). */
export function scheduledWorkers(): { binding: RouterTarget; name: WorkerName }[] {
  return routerTargets().filter((t) => workerSpec(t.name).scheduled === true).map(({ binding, name }) => ({ binding, name }));
}
