/**
 * Running Edge SSR bundles (DESIGN.md "User code"): one interface, two implementations chosen by
 * configuration, like the functions runner (workers/functions/services/runner.ts):
 * - {@link LoaderSsrRunner} — local and tests: the Worker Loader, one loaded Worker per deployment id.
 * - Production — Workers for Platforms: NOT BUILT HERE. It belongs with the functions runner's WfP
 *   implementation (another piece of work): upload the bundle's modules as a user script named after
 *   the deployment id (bindings: ASSETS → a service binding to this Worker's `SsrAssets` entrypoint
 *   with the deployment's props, the env vars as plain-text bindings; `nodejs_compat`; limits), bind the
 *   dispatch namespace's outbound Worker to the same egress policy ({@link SsrOutbound}'s), and
 *   implement `probe` as "the upload succeeded" and `fetch` as `env.DISPATCHER.get(script).fetch(req)`;
 *   then choose it in {@link ssrRunner} (services/ssr.ts) by configuration.
 *
 * A deployment id is immutable (its files never change), so it is the loader's cache key: a redeploy
 * or a rollback serves the other id's Worker from the very next request, never a mix.
 */

/** What a runner needs to start a deployment's worker (called only when it is not loaded yet). */
export interface SsrWorkerSource {
  /** The deployment id (the immutable key). */
  deploymentId: string;
  /** The user's entry module: `_worker.js` or `_worker.js/index.js`. */
  mainModule: string;
  /** Every module of the worker by name (Worker Loader module objects). */
  modules: () => Promise<Record<string, WorkerLoaderModule>>;
  /** The env vars (plain values) the bundle sees next to `ASSETS`. */
  vars: () => Promise<Record<string, string>>;
  /** The `ASSETS` binding: serves this deployment's static files. */
  assets: Fetcher;
  /** Where the worker's outbound fetches go (the egress policy). */
  outbound: Fetcher;
}

/** Runs Edge SSR deployments. */
export interface SsrRunner {
  /**
   * Loads the worker once to prove it loads (its modules evaluate and the default export has a
   * `fetch` handler). Out: null, or the runtime's error message.
   */
  probe(source: SsrWorkerSource): Promise<string | null>;
  /** Passes one app-host request to the worker. Errors of user code come back as the runtime's 500; throws when the runtime itself fails. */
  fetch(source: SsrWorkerSource, request: Request): Promise<Response>;
}

/** The platform's own main module around the user's: a fetch pass-through and a probe entrypoint. */
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

function wrapperModule(userMain: string): string {
  return `import { WorkerEntrypoint } from 'cloudflare:workers';
import './${setupName}';
import * as user from ${JSON.stringify(`./${userMain}`)};
const handler = user.default;
const usable = handler !== null && typeof handler === 'object' && typeof handler.fetch === 'function';
export default {
  fetch(request, env, ctx) {
    if (!usable) return new Response('_worker.js has no default export with a fetch(request, env, ctx) handler', { status: 500 });
    return handler.fetch(request, env, ctx);
  },
};
export class ButterbaseProbe extends WorkerEntrypoint {
  check() {
    return usable ? null : '_worker.js has no default export with a fetch(request, env, ctx) handler (export default { fetch(request, env, ctx) { … } })';
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
      const [modules, vars] = await Promise.all([source.modules(), source.vars()]);
      return {
        compatibilityDate: '2026-04-01',
        compatibilityFlags: ['nodejs_compat'],
        mainModule: wrapperName,
        modules: { ...modules, [setupName]: { js: setupModule }, [wrapperName]: { js: wrapperModule(source.mainModule) } },
        env: { ...vars, ASSETS: source.assets },
        globalOutbound: source.outbound,
      };
    });
  }

  /** See {@link SsrRunner.probe}. */
  async probe(source: SsrWorkerSource): Promise<string | null> {
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
