/**
 * Production user code (DESIGN.md "User code"): scripts of a Workers for Platforms dispatch namespace,
 * uploaded and deleted through the Cloudflare API. Used by the functions Worker (one script per
 * function version) and the hosting Worker (one script per Edge SSR deployment, and one per app for
 * its Durable Object classes, {@link doScriptName}). Functions and SSR name their scripts by an
 * immutable id, so an upload never changes what an existing name runs; the Durable Object script is
 * replaced in place (its objects' storage lives with the script's classes). The purge of a
 * deleted app (workers/hosting/services/app-purge.ts) deletes both kinds of the app's scripts.
 *
 * API (Cloudflare API v4, "Upload Worker Module" for dispatch namespaces):
 *   PUT    {base}/accounts/{account_id}/workers/dispatch/namespaces/{namespace}/scripts/{script_name}
 *          multipart/form-data: a `metadata` part (JSON: main_module, compatibility_date,
 *          compatibility_flags, bindings, tags, and for Durable Object classes migrations) and one part per module, named by its file name, with
 *          the content type of its module type (the types wrangler's upload form uses: ES module
 *          `application/javascript+module`, CommonJS `application/javascript`, `application/wasm`,
 *          `text/plain`, `application/octet-stream`).
 *   DELETE {base}/accounts/{account_id}/workers/dispatch/namespaces/{namespace}/scripts/{script_name}
 * Answers are the v4 envelope `{ success, errors: [{ code, message }], messages, result }`.
 */
import { ApiError } from './errors.ts';

/** The Cloudflare API base when no override is set. */
export const cloudflareApiBase = 'https://api.cloudflare.com/client/v4';

/** The compatibility settings of uploaded scripts (the same as the Worker Loader's isolates). */
export const userScriptCompatibility = { compatibility_date: '2026-04-01', compatibility_flags: ['nodejs_compat'] } as const;

/**
 * Subrequests per invocation unless the deployment sets WFP_SUBREQUEST_LIMIT: room for a few hundred
 * ctx.db queries or asset reads, far below the account's own per-request ceiling.
 */
export const defaultSubRequests = 200;

/** Where and how a Worker uploads user code (all set, or Workers for Platforms is off). */
export interface NamespaceConfig {
  apiBase: string;
  accountId: string;
  namespace: string;
  apiToken: string;
}

/** The settings a Worker running user code on Workers for Platforms declares in its Env. */
export interface DispatchEnv {
  /** The `[[dispatch_namespaces]]` binding (added by `npm run deploy` when BUTTERBASE_DISPATCH_NAMESPACE is set). */
  DISPATCHER?: DispatchNamespace;
  /** The Cloudflare account that owns the dispatch namespace (var). */
  CLOUDFLARE_ACCOUNT_ID?: string;
  /** The dispatch namespace's name (var; the same as the DISPATCHER binding's `namespace`). */
  DISPATCH_NAMESPACE?: string;
  /** API token with "Workers Scripts: Edit" on the account (secret). */
  CLOUDFLARE_API_TOKEN?: string;
  /** Subrequests allowed per invocation (default {@link defaultSubRequests}). */
  WFP_SUBREQUEST_LIMIT?: string;
}

/**
 * The Worker's Workers for Platforms settings, or null when it runs user code in the Worker Loader.
 * On when `DISPATCHER` is bound and CLOUDFLARE_ACCOUNT_ID, DISPATCH_NAMESPACE and CLOUDFLARE_API_TOKEN
 * are set. In: the Env, its API base override (undefined → {@link cloudflareApiBase}), and what runs
 * there (`Functions`, `Edge SSR`) for the error message.
 * @throws ApiError INTERNAL_ERROR when DISPATCHER is bound but a setting is missing (a
 *   half-configured deployment must not silently run user code elsewhere)
 */
export function namespaceConfig(env: DispatchEnv, apiBase: string | undefined, what: string): NamespaceConfig | null {
  if (!env.DISPATCHER) return null;
  const missing = (['CLOUDFLARE_ACCOUNT_ID', 'DISPATCH_NAMESPACE', 'CLOUDFLARE_API_TOKEN'] as const).filter((k) => !env[k]);
  if (missing.length > 0) {
    throw new ApiError('INTERNAL_ERROR', `${what} ${what.endsWith('s') ? 'are' : 'is'} misconfigured on this deployment.`, { internal: `DISPATCHER is bound but ${missing.join(', ')} is not set` });
  }
  return {
    apiBase: (apiBase ?? cloudflareApiBase).replace(/\/$/, ''),
    accountId: env.CLOUDFLARE_ACCOUNT_ID!,
    namespace: env.DISPATCH_NAMESPACE!,
    apiToken: env.CLOUDFLARE_API_TOKEN!,
  };
}

/**
 * The dispatch script of an app's user Durable Object classes (one per app, all its classes:
 * workers/hosting/services/do-script.ts). App ids are `app_` + [0-9a-z], a valid script name.
 */
export function doScriptName(appId: string): string {
  return `do-${appId}`;
}

/** Subrequests per invocation: WFP_SUBREQUEST_LIMIT when it is a positive integer, else {@link defaultSubRequests}. */
export function subRequestLimit(env: Pick<DispatchEnv, 'WFP_SUBREQUEST_LIMIT'>): number {
  const limit = Number(env.WFP_SUBREQUEST_LIMIT);
  return Number.isInteger(limit) && limit > 0 ? limit : defaultSubRequests;
}

/** A module's type in an upload (the Worker Loader's names: `js` is an ES module). */
export type ScriptModuleType = 'js' | 'cjs' | 'text' | 'data' | 'wasm';

/** The part content type of each module type (wrangler's `moduleTypeMimeType`). */
export const moduleContentTypes: Record<ScriptModuleType, string> = {
  js: 'application/javascript+module',
  cjs: 'application/javascript',
  text: 'text/plain',
  data: 'application/octet-stream',
  wasm: 'application/wasm',
};

/** One module of an upload: an ES module source, or a typed module (`{ type, content }`). */
export type ScriptModule = string | { type: ScriptModuleType; content: string | Uint8Array };

/** A binding in the upload metadata (the subset the platform uploads). */
export type ScriptBinding =
  | { type: 'service'; name: string; service: string; entrypoint: string; props?: Record<string, string> }
  | { type: 'plain_text'; name: string; text: string }
  | { type: 'secret_text'; name: string; text: string }
  /** A Durable Object namespace of a class the script itself exports (no `script_name`). */
  | { type: 'durable_object_namespace'; name: string; class_name: string };

/**
 * One step of Durable Object migrations (Cloudflare API "Upload Worker Module", `MigrationStep`):
 * classes that get a new SQLite-backed namespace, classes whose namespace (and every object's
 * storage) is deleted, and namespaces moved to a new class name (storage kept).
 * Source: https://developers.cloudflare.com/durable-objects/reference/durable-objects-migrations/
 */
export interface ScriptMigrationStep {
  new_sqlite_classes?: string[];
  deleted_classes?: string[];
  renamed_classes?: { from: string; to: string }[];
}

/**
 * The `migrations` of an upload (Cloudflare API `MultipleStepMigrations`): `old_tag` must equal the
 * script's current migration tag (omitted for a script that has none) or the API refuses the
 * upload; `new_tag` becomes its tag; `steps` apply in order.
 * Source: https://developers.cloudflare.com/api (Workers for Platforms › Scripts › Upload Worker Module)
 */
export interface ScriptMigrations {
  old_tag?: string;
  new_tag: string;
  steps: ScriptMigrationStep[];
}

/** One script upload: the metadata part and the module parts (file name → module). */
export interface ScriptUpload {
  metadata: {
    main_module: string;
    compatibility_date: string;
    compatibility_flags: readonly string[];
    bindings: ScriptBinding[];
    tags: string[];
    /** Durable Object migrations (scripts that export Durable Object classes). */
    migrations?: ScriptMigrations;
  };
  modules: Record<string, ScriptModule>;
}

/** The multipart body of an upload (metadata first, then each module as a file of its type). */
export function uploadForm(upload: ScriptUpload): FormData {
  const form = new FormData();
  form.set('metadata', new Blob([JSON.stringify(upload.metadata)], { type: 'application/json' }), 'metadata.json');
  for (const [name, module] of Object.entries(upload.modules)) {
    const { type, content } = typeof module === 'string' ? { type: 'js' as const, content: module } : module;
    form.set(name, new Blob([typeof content === 'string' ? content : (content as Uint8Array<ArrayBuffer>)], { type: moduleContentTypes[type] }), name);
  }
  return form;
}

function scriptUrl(config: NamespaceConfig, scriptName: string): string {
  const path = ['accounts', config.accountId, 'workers', 'dispatch', 'namespaces', config.namespace, 'scripts', scriptName].map(encodeURIComponent).join('/');
  return `${config.apiBase}/${path}`;
}

/** The error messages of a v4 envelope, or the raw text when the body is not one. */
async function apiMessage(response: Response): Promise<string> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { errors?: { code?: number; message?: string }[] };
    const messages = (body.errors ?? []).map((e) => (e.code ? `${e.message} (code ${e.code})` : String(e.message)));
    if (messages.length > 0) return messages.join('; ');
  } catch {
    /* not JSON */
  }
  return text.slice(0, 500) || `HTTP ${response.status}`;
}

/**
 * Uploads (creates or replaces) the script `scriptName` in the dispatch namespace. `what` names the
 * upload in messages (`function`, `Edge SSR deployment`).
 * @throws ApiError EXTERNAL_NETWORK_ERROR (502) with the Cloudflare API's message when the API
 *   cannot be reached or answers anything but success (`details.upstream_status`)
 */
export async function uploadScript(config: NamespaceConfig, scriptName: string, upload: ScriptUpload, what = 'function'): Promise<void> {
  let response: Response;
  try {
    response = await fetch(scriptUrl(config, scriptName), {
      method: 'PUT',
      headers: { authorization: `Bearer ${config.apiToken}` },
      body: uploadForm(upload),
    });
  } catch (error) {
    throw new ApiError('EXTERNAL_NETWORK_ERROR', `The Cloudflare API could not be reached to upload the ${what}: ${(error as Error).message}`, {
      remediation: 'Retry the deploy shortly; nothing was changed.',
    });
  }
  if (!response.ok) {
    const message = await apiMessage(response);
    throw new ApiError('EXTERNAL_NETWORK_ERROR', `The Cloudflare API refused the ${what} upload (HTTP ${response.status}): ${message}`, {
      remediation: 'Nothing was changed: the previous version (if any) is still served. Retry shortly; if it persists the platform operator must check the dispatch namespace settings.',
      details: { upstream_status: response.status },
    });
  }
  await response.body?.cancel();
}

/**
 * Deletes the script `scriptName` from the dispatch namespace; `force` (`?force=true`) deletes it
 * even though it has Durable Object classes, their objects and storage with it (without it the API
 * refuses such a script). Out: true when it is gone (deleted, or a 404: already gone), false when
 * the API refused or could not be reached — logged (prefixed `[{log}]`), never thrown.
 * Source: Cloudflare API "Delete Worker" (query parameter `force`).
 */
export async function deleteScript(config: NamespaceConfig, scriptName: string, log = 'functions', force = false): Promise<boolean> {
  try {
    const response = await fetch(`${scriptUrl(config, scriptName)}${force ? '?force=true' : ''}`, { method: 'DELETE', headers: { authorization: `Bearer ${config.apiToken}` } });
    if (response.ok || response.status === 404) {
      await response.body?.cancel();
      return true;
    }
    console.error(`[${log}] deleting dispatch script ${scriptName} failed: HTTP ${response.status} ${await apiMessage(response)}`);
  } catch (error) {
    console.error(`[${log}] deleting dispatch script ${scriptName} failed: ${String(error)}`);
  }
  return false;
}

/**
 * Deletes scripts from the dispatch namespace, best effort ({@link deleteScript}, one at a time):
 * a leftover script is never served, since callers dispatch only to current ids. Out: how many are gone.
 */
export async function deleteScripts(config: NamespaceConfig, scriptNames: readonly string[], log = 'functions'): Promise<number> {
  let deleted = 0;
  for (const name of scriptNames) if (await deleteScript(config, name, log)) deleted++;
  return deleted;
}
