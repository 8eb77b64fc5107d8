/**
 * Running Edge SSR bundles (DESIGN.md "User code"): one interface, two implementations chosen by
 * configuration (services/ssr.ts `ssrRunner`), like the functions runner (workers/functions/services/runner.ts):
 * - {@link LoaderSsrRunner} — local and tests: the Worker Loader, one loaded Worker per deployment id.
 * - {@link WfpSsrRunner} — production: Workers for Platforms. The build uploads the bundle as the
 *   dispatch-namespace script named by the deployment id (workers/shared/dispatch-namespace.ts), with
 *   `ASSETS` as a service binding to this Worker's `SsrAssets` entrypoint carrying signed props
 *   (services/ssr-grant.ts), the env vars as secret_text bindings and `nodejs_compat`; each request
 *   is `DISPATCHER.get(deploymentId, {}, { limits, outbound: { appId, deploymentId } })`, its
 *   fetches passing the namespace's outbound Worker (workers/functions-outbound, the same egress
 *   policy as {@link SsrOutbound}'s).
 *
 * A deployment id is immutable (its files never change), so it is the loader's cache key and the
 * script's name: a redeploy or a rollback serves the other id's Worker from the very next request,
 * never a mix.
 */
import { uploadScript, userScriptCompatibility, type NamespaceConfig, type ScriptBinding, type ScriptModule, type ScriptUpload } from '../../shared/dispatch-namespace.ts';
import type { SsrAssetsProps } from './ssr-grant.ts';

/** CPU time one SSR request may use on Workers for Platforms (API.md §10.3: 30 s), ms. */
export const ssrCpuMs = 30_000;

/** The binding name of the deployment's static files (Cloudflare Pages' `env.ASSETS`). */
export const assetsBindingName = 'ASSETS';

/** What a runner needs to start a deployment's worker (called only when it is not loaded yet). */
export interface SsrWorkerSource {
  /** The deployment's app. */
  appId: string;
  /** The deployment id (the immutable key). */
  deploymentId: string;
  /** The user's entry module: `_worker.js` or `_worker.js/index.js`. */
  mainModule: string;
  /** Every module of the worker by name (Worker Loader module objects). */
  modules: () => Promise<Record<string, WorkerLoaderModule>>;
  /** The env vars (plain values) the bundle sees next to `ASSETS`. */
  vars: () => Promise<Record<string, string>>;
  /** The signed props of the `ASSETS` binding (services/ssr-grant.ts). */
  assetsProps: () => Promise<SsrAssetsProps>;
  /** The `ASSETS` binding with those props (Worker Loader: a `ctx.exports.SsrAssets` stub). */
  assets: (props: SsrAssetsProps) => Fetcher;
  /** Where the worker's outbound fetches go (the egress policy; Worker Loader only). */
  outbound: () => Fetcher;
}

/** Runs Edge SSR deployments. */
export interface SsrRunner {
  /**
   * Makes the worker runnable and proves it starts, once, at build (loader: loads it and checks its
   * default export has a `fetch` handler; WfP: uploads it, the API refusing a script whose startup
   * fails). Out: null, or the runtime's / API's error message.
   */
  prepare(source: SsrWorkerSource): Promise<string | null>;
  /** Passes one app-host request to the worker. Errors of user code come back as the runtime's 500; throws when the runtime itself fails. */
  fetch(source: SsrWorkerSource, request: Request): Promise<Response>;
}

/**
 * The platform's own main module around the user's: a fetch pass-through and a probe entrypoint. A
 * bundle without `export default { fetch }` throws while starting, so the Worker Loader's load and the
 * Workers for Platforms upload (the API runs a script's startup and refuses one that throws) both
 * refuse it with that message — it never goes live answering 500s.
 */
const wrapperName = '__butterbase_ssr_main.js';
const setupName = '__butterbase_ssr_setup.js';

/**
 * Evaluated before the user's modules. A Worker Loader isolate has no Cache API storage
 * (`caches.default.match` rejects with "No Cache was configured"), and framework adapters call it on
 * every request (SvelteKit's adapter-cloudflare does). Each cache method is wrapped so that exactly
 * that error becomes a miss (match → undefined, put → stored nowhere): a correct, always-cold cache.
 * Where a real cache exists the calls go to it unchanged.
 */
const setupModule = `
const missing = (error) => error instanceof Error && /No Cache was configured/.test(error.message);
const cold = { match: undefined, matchAll: [], put: undefined, add: undefined, addAll: undefined, delete: false, keys: [] };
const wrap = (cache) => Object.fromEntries(Object.entries(cold).map(([method, none]) => [method, async (...args) => {
  try { return await cache[method](...args); } catch (error) { if (missing(error)) return none; throw error; }
}]));
const real = globalThis.caches;
if (real) {
  const shim = {
    default: wrap(real.default),
    open: async (name) => { try { return wrap(await real.open(name)); } catch (error) { if (missing(error)) return wrap({}); throw error; } },
  };
  Object.defineProperty(globalThis, 'caches', { value: Object.freeze(shim), configurable: true, writable: true });
}
`;

/** The platform's modules around the user's: the setup module and the wrapper main module. */
function platformModules(userMain: string): Record<string, string> {
  return { [setupName]: setupModule, [wrapperName]: wrapperModule(userMain) };
}

function wrapperModule(userMain: string): string {
  return `import { WorkerEntrypoint } from 'cloudflare:workers';
import './${setupName}';
import * as user from ${JSON.stringify(`./${userMain}`)};
const handler = user.default;
if (handler === null || typeof handler !== 'object' || typeof handler.fetch !== 'function') {
  throw new Error('_worker.js has no default export with a fetch(request, env, ctx) handler (export default { fetch(request, env, ctx) { … } })');
}
export default {
  fetch(request, env, ctx) {
    return handler.fetch(request, env, ctx);
  },
};
export class ButterbaseProbe extends WorkerEntrypoint {
  /** Loading the worker is the check (its modules evaluate, the default export has fetch). */
  check() {
    return null;
  }
}
`;
}

interface ProbeEntrypoint {
  check(): Promise<string | null>;
}

/** The local/test runner: one Worker Loader isolate per deployment id (`ssr:{id}`). */
export class LoaderSsrRunner implements SsrRunner {
  constructor(private readonly loader: WorkerLoader) {}

  private worker(source: SsrWorkerSource): WorkerStub {
    return this.loader.get(`ssr:${source.deploymentId}`, async () => {
      const [modules, vars, props] = await Promise.all([source.modules(), source.vars(), source.assetsProps()]);
      const platform = Object.fromEntries(Object.entries(platformModules(source.mainModule)).map(([name, js]) => [name, { js }]));
      return {
        compatibilityDate: userScriptCompatibility.compatibility_date,
        compatibilityFlags: [...userScriptCompatibility.compatibility_flags],
        mainModule: wrapperName,
        modules: { ...modules, ...platform },
        env: { ...vars, [assetsBindingName]: source.assets(props) },
        globalOutbound: source.outbound(),
      };
    });
  }

  /** See {@link SsrRunner.prepare}. */
  async prepare(source: SsrWorkerSource): Promise<string | null> {
    try {
      return await (this.worker(source).getEntrypoint('ButterbaseProbe') as unknown as ProbeEntrypoint).check();
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }

  /** See {@link SsrRunner.fetch}. */
  fetch(source: SsrWorkerSource, request: Request): Promise<Response> {
    return this.worker(source).getEntrypoint().fetch(request);
  }
}

/** Where Edge SSR scripts go, and the hosting Worker's own script name (their ASSETS binding's target). */
export interface SsrDispatchConfig extends NamespaceConfig {
  hostScript: string;
}

/** A Worker Loader module object as an upload module (its one key is its type). */
function scriptModule(module: WorkerLoaderModule): ScriptModule {
  const [type, content] = Object.entries(module)[0] as [string, unknown];
  if (type === 'js' || type === 'cjs' || type === 'text') return { type, content: String(content) };
  if (type === 'data' || type === 'wasm') return { type, content: new Uint8Array(content as ArrayBuffer) };
  throw new Error(`a worker module of type ${type} cannot be uploaded`);
}

/**
 * What a deployment uploads: the user's modules beside the platform's setup and wrapper modules
 * (the same as the loader runs, the wrapper the main module); bindings `ASSETS` (a service binding
 * to `{hostScript}`'s `SsrAssets` entrypoint with the signed props) and each env var as
 * `secret_text` (values are never readable back from the API; a var named ASSETS is shadowed, as in
 * the loader); `nodejs_compat`; tags `{appId}` and `{appId}-ssr` (for operators and bulk clean-up).
 */
export async function ssrUpload(hostScript: string, source: SsrWorkerSource): Promise<ScriptUpload> {
  const [modules, vars, props] = await Promise.all([source.modules(), source.vars(), source.assetsProps()]);
  const bindings: ScriptBinding[] = [
    { type: 'service', name: assetsBindingName, service: hostScript, entrypoint: 'SsrAssets', props: { ...props } },
    ...Object.entries(vars).filter(([name]) => name !== assetsBindingName).map(([name, text]) => ({ type: 'secret_text' as const, name, text })),
  ];
  return {
    metadata: { main_module: wrapperName, ...userScriptCompatibility, bindings, tags: [source.appId, `${source.appId}-ssr`] },
    modules: { ...Object.fromEntries(Object.entries(modules).map(([name, module]) => [name, scriptModule(module)])), ...platformModules(source.mainModule) },
  };
}

/**
 * The production runner: each deployment is the dispatch-namespace script named by its id, uploaded
 * by {@link WfpSsrRunner.prepare} at build; each request dispatches to it with CPU and subrequest
 * limits and the outbound Worker's parameters.
 */
export class WfpSsrRunner implements SsrRunner {
  constructor(
    private readonly dispatcher: DispatchNamespace,
    private readonly config: SsrDispatchConfig,
    private readonly subRequests: number,
  ) {}

  /** See {@link SsrRunner.prepare}: uploads the script; the API's refusal (or unreachability) is the message. */
  async prepare(source: SsrWorkerSource): Promise<string | null> {
    try {
      await uploadScript(this.config, source.deploymentId, await ssrUpload(this.config.hostScript, source), 'Edge SSR deployment');
      return null;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }

  /**
   * See {@link SsrRunner.fetch}: `DISPATCHER.get(deploymentId, {}, { limits: { cpuMs: 30000,
   * subRequests }, outbound: { appId, deploymentId } })`. @throws Error (e.g. "Worker not found")
   * when the namespace has no such script.
   */
  fetch(source: SsrWorkerSource, request: Request): Promise<Response> {
    const script = this.dispatcher.get(source.deploymentId, {}, {
      limits: { cpuMs: ssrCpuMs, subRequests: this.subRequests },
      outbound: { appId: source.appId, deploymentId: source.deploymentId },
    });
    return script.fetch(request);
  }
}
