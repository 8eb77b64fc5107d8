/**
 * Production user code (DESIGN.md "User code"): each deployed function version is uploaded as its own
 * script to a Workers for Platforms dispatch namespace through the Cloudflare API, named by its
 * immutable version id, and deleted when its function is deleted.
 *
 * API (Cloudflare API v4, "Upload Worker Module" for dispatch namespaces):
 *   PUT    {base}/accounts/{account_id}/workers/dispatch/namespaces/{namespace}/scripts/{script_name}
 *          multipart/form-data: a `metadata` part (JSON: main_module, compatibility_date,
 *          compatibility_flags, bindings, tags) and one part per module, named by its file name,
 *          `application/javascript+module` (the shape wrangler's upload form uses).
 *   DELETE {base}/accounts/{account_id}/workers/dispatch/namespaces/{namespace}/scripts/{script_name}
 * Answers are the v4 envelope `{ success, errors: [{ code, message }], messages, result }`.
 */
import { ApiError } from '../../shared/errors.ts';
import type { Env } from '../env.ts';
import { dispatchModule, setupModule, runtimeModule } from './guest.ts';

/** The Cloudflare API base when `CLOUDFLARE_API_BASE_URL` is not set. */
export const cloudflareApiBase = 'https://api.cloudflare.com/client/v4';

/** The binding name, in each uploaded script, of the functions Worker's `FunctionSession` entrypoint. */
export const hostBindingName = 'BUTTERBASE_HOST';

/** Where and how this deployment uploads user code (all set, or Workers for Platforms is off). */
export interface DispatchConfig {
  apiBase: string;
  accountId: string;
  namespace: string;
  apiToken: string;
  /** The functions Worker's own script name (the uploaded scripts' service binding points at it). */
  hostScript: string;
}

/**
 * The deployment's Workers for Platforms settings, or null when it runs user code in the Worker Loader.
 * On when `DISPATCHER` is bound and CLOUDFLARE_ACCOUNT_ID, DISPATCH_NAMESPACE and CLOUDFLARE_API_TOKEN
 * are set. @throws ApiError INTERNAL_ERROR when DISPATCHER is bound but a setting is missing (a
 * half-configured deployment must not silently run user code elsewhere)
 */
export function dispatchConfig(env: Env): DispatchConfig | null {
  if (!env.DISPATCHER) return null;
  const missing = (['CLOUDFLARE_ACCOUNT_ID', 'DISPATCH_NAMESPACE', 'CLOUDFLARE_API_TOKEN'] as const).filter((k) => !env[k]);
  if (missing.length > 0) {
    throw new ApiError('INTERNAL_ERROR', 'Functions are misconfigured on this deployment.', { internal: `DISPATCHER is bound but ${missing.join(', ')} is not set` });
  }
  return {
    apiBase: (env.CLOUDFLARE_API_BASE_URL ?? cloudflareApiBase).replace(/\/$/, ''),
    accountId: env.CLOUDFLARE_ACCOUNT_ID!,
    namespace: env.DISPATCH_NAMESPACE!,
    apiToken: env.CLOUDFLARE_API_TOKEN!,
    hostScript: env.FUNCTIONS_SCRIPT_NAME ?? 'butterbase-functions',
  };
}

/** The compatibility settings of uploaded scripts (the same as the loader's isolates). */
export const userScriptCompatibility = { compatibility_date: '2026-04-01', compatibility_flags: ['nodejs_compat'] } as const;

/** One script upload: the metadata part and the module parts (file name → source). */
export interface ScriptUpload {
  metadata: {
    main_module: string;
    compatibility_date: string;
    compatibility_flags: readonly string[];
    bindings: { type: 'service'; name: string; service: string; entrypoint: string }[];
    tags: string[];
  };
  modules: Record<string, string>;
}

/**
 * What one version uploads: the dispatch entry module, the shared runtime and setup modules, and the
 * user's stripped module; one binding, a service binding to this Worker's `FunctionSession` entrypoint.
 * Tags name the app and function (for operators and bulk clean-up). No secret is uploaded: env and
 * capabilities arrive per call.
 */
export function versionUpload(config: DispatchConfig, compiled: string, tags: { appId: string; functionName: string }): ScriptUpload {
  return {
    metadata: {
      main_module: 'dispatch.js',
      ...userScriptCompatibility,
      bindings: [{ type: 'service', name: hostBindingName, service: config.hostScript, entrypoint: 'FunctionSession' }],
      tags: [tags.appId, `${tags.appId}-${tags.functionName}`],
    },
    modules: { 'dispatch.js': dispatchModule, 'runtime.js': runtimeModule, 'setup.js': setupModule, 'user.js': compiled },
  };
}

/** The multipart body of an upload (metadata first, then each module as an ES module file). */
export function uploadForm(upload: ScriptUpload): FormData {
  const form = new FormData();
  form.set('metadata', new Blob([JSON.stringify(upload.metadata)], { type: 'application/json' }), 'metadata.json');
  for (const [name, source] of Object.entries(upload.modules)) {
    form.set(name, new Blob([source], { type: 'application/javascript+module' }), name);
  }
  return form;
}

function scriptUrl(config: DispatchConfig, scriptName: string): string {
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
 * Uploads (creates or replaces) the script `scriptName` in the dispatch namespace.
 * @throws ApiError EXTERNAL_NETWORK_ERROR (502) with the Cloudflare API's message when the API
 *   cannot be reached or answers anything but success
 */
export async function uploadScript(config: DispatchConfig, scriptName: string, upload: ScriptUpload): Promise<void> {
  let response: Response;
  try {
    response = await fetch(scriptUrl(config, scriptName), {
      method: 'PUT',
      headers: { authorization: `Bearer ${config.apiToken}` },
      body: uploadForm(upload),
    });
  } catch (error) {
    throw new ApiError('EXTERNAL_NETWORK_ERROR', `The Cloudflare API could not be reached to upload the function: ${(error as Error).message}`, {
      remediation: 'Retry the deploy shortly; nothing was changed.',
    });
  }
  if (!response.ok) {
    const message = await apiMessage(response);
    throw new ApiError('EXTERNAL_NETWORK_ERROR', `The Cloudflare API refused the function upload (HTTP ${response.status}): ${message}`, {
      remediation: 'Nothing was changed: the previous version (if any) is still served. Retry shortly; if it persists the platform operator must check the dispatch namespace settings.',
      details: { upstream_status: response.status },
    });
  }
  await response.body?.cancel();
}

/**
 * Deletes scripts from the dispatch namespace, best effort: a failure is logged, never thrown
 * (a leftover script is never served: invocation uses the function's current version only).
 * A 404 (already gone) counts as deleted. Out: how many were deleted.
 */
export async function deleteScripts(config: DispatchConfig, scriptNames: readonly string[]): Promise<number> {
  let deleted = 0;
  for (const name of scriptNames) {
    try {
      const response = await fetch(scriptUrl(config, name), { method: 'DELETE', headers: { authorization: `Bearer ${config.apiToken}` } });
      if (response.ok || response.status === 404) {
        deleted++;
        await response.body?.cancel();
      } else {
        console.error(`[functions] deleting dispatch script ${name} failed: HTTP ${response.status} ${await apiMessage(response)}`);
      }
    } catch (error) {
      console.error(`[functions] deleting dispatch script ${name} failed: ${String(error)}`);
    }
  }
  return deleted;
}
