/**
 * Production user code (DESIGN.md "User code"): each deployed function version is uploaded as its own
 * script to a Workers for Platforms dispatch namespace through the Cloudflare API, named by its
 * immutable version id, and deleted when its function is deleted (or its app: the hosting Worker's
 * app purge, workers/hosting/services/app-purge.ts). The upload client and settings are
 * shared with Edge SSR (workers/shared/dispatch-namespace.ts); what a version uploads is here.
 */
import { namespaceConfig, userScriptCompatibility, type NamespaceConfig, type ScriptUpload } from '../../shared/dispatch-namespace.ts';
import type { Env } from '../env.ts';
import { dispatchModule, setupModule, runtimeModule } from './guest.ts';

export { cloudflareApiBase, deleteScripts, uploadForm, uploadScript, userScriptCompatibility, type ScriptUpload } from '../../shared/dispatch-namespace.ts';

/** The binding name, in each uploaded script, of the functions Worker's `FunctionSession` entrypoint. */
export const hostBindingName = 'BUTTERBASE_HOST';

/** Where and how this deployment uploads user code (all set, or Workers for Platforms is off). */
export interface DispatchConfig extends NamespaceConfig {
  /** The functions Worker's own script name (the uploaded scripts' service binding points at it). */
  hostScript: string;
}

/**
 * The deployment's Workers for Platforms settings, or null when it runs user code in the Worker Loader.
 * On when `DISPATCHER` is bound and CLOUDFLARE_ACCOUNT_ID, DISPATCH_NAMESPACE and CLOUDFLARE_API_TOKEN
 * are set (API base: CLOUDFLARE_API_URL). @throws ApiError INTERNAL_ERROR when DISPATCHER is
 * bound but a setting is missing (a half-configured deployment must not silently run user code elsewhere)
 */
export function dispatchConfig(env: Env): DispatchConfig | null {
  const config = namespaceConfig(env, env.CLOUDFLARE_API_URL, 'Functions');
  return config && { ...config, hostScript: env.FUNCTIONS_SCRIPT_NAME ?? 'butterbase-functions' };
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
