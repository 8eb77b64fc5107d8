/**
 * Edge SSR on the app host (API.md §10.3): an SSR deployment's manifest names its worker; each request
 * whose path `_routes.json` sends to the worker runs it through the {@link SsrRunner} with an `ASSETS`
 * binding (the hosting Worker's `SsrAssets` entrypoint serving the deployment's files with the
 * static serving rules of serve.ts), the env vars snapshotted at build, `nodejs_compat`, the egress
 * policy of functions as its only network, and 30 s of wall time per request (then 504). Other paths
 * are served from the assets directly, as Pages does.
 */
import { decryptSecret } from '../../shared/crypto.ts';
import { internalHeaders } from '../../shared/principal.ts';
import type { Env } from '../env.ts';
import { invokesWorker } from './ssr-bundle.ts';
import { LoaderSsrRunner, type SsrRunner, type SsrWorkerSource } from './ssr-runner.ts';
import { serveSite } from './serve.ts';
import { workerModuleKey, type SiteManifest, type WorkerManifest } from './site-keys.ts';

/** Wall time an SSR request may take (API.md §10.3: 30 s), ms. */
export const ssrRequestTimeoutMs = 30_000;

/** Props of the per-deployment entrypoints (`SsrAssets`, `SsrOutbound`). */
export interface SsrProps {
  appId: string;
  deploymentId: string;
}

/** The typed `ctx.exports` of the hosting Worker (loopback entrypoint stubs with props). */
export interface HostingExports {
  SsrAssets(options: { props: SsrProps }): Fetcher;
  SsrOutbound(options: { props: SsrProps }): Fetcher;
}

/** The hosting Worker's execution context with its `exports` (enable_ctx_exports is the default). */
export type HostingExecutionContext = ExecutionContext & { exports: HostingExports };

let runner: SsrRunner | undefined;

/**
 * The runner of this deployment: the Worker Loader (local and tests). The Workers-for-Platforms
 * runner of production is not built yet (see services/ssr-runner.ts); it is chosen here once it is.
 */
export function ssrRunner(env: Pick<Env, 'LOADER'>): SsrRunner {
  runner ??= new LoaderSsrRunner(env.LOADER);
  return runner;
}

/** What the runner needs to start `worker` of deployment `deploymentId` (read lazily from R2). */
export function workerSource(env: Env, ctx: HostingExecutionContext, appId: string, deploymentId: string, worker: WorkerManifest): SsrWorkerSource {
  const props = { appId, deploymentId };
  return {
    deploymentId,
    mainModule: worker.mainModule,
    modules: async () => {
      const entries = await Promise.all(Object.entries(worker.modules).map(async ([name, type]) => {
        const object = await env.SITES.get(workerModuleKey(appId, deploymentId, name));
        if (!object) throw new Error(`the worker module ${name} of deployment ${deploymentId} is missing`);
        const module: WorkerLoaderModule = type === 'data' || type === 'wasm'
          ? { [type]: await object.arrayBuffer() }
          : { [type]: await object.text() };
        return [name, module] as const;
      }));
      return Object.fromEntries(entries);
    },
    vars: async () => Object.fromEntries(await Promise.all(Object.entries(worker.env).map(async ([key, sealed]) => [key, await decryptSecret(sealed, env.PLATFORM_MASTER_KEY)] as const))),
    assets: ctx.exports.SsrAssets({ props }),
    outbound: ctx.exports.SsrOutbound({ props }),
  };
}

/**
 * Answers one app-host request of an SSR deployment: the worker for paths `_routes.json` gives it,
 * the assets otherwise. The platform's internal headers are removed before user code sees the request.
 */
export async function serveSsr(env: Env, ctx: HostingExecutionContext, request: Request, appId: string, manifest: SiteManifest & { worker: WorkerManifest }): Promise<Response> {
  const url = new URL(request.url);
  if (!invokesWorker(manifest.worker.routes, url.pathname)) return serveSite(env, request, appId, manifest);
  const headers = new Headers(request.headers);
  for (const name of [...headers.keys()]) if (name.startsWith('x-bb-')) headers.delete(name);
  const forwarded = new Request(request, { headers });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<Response>((resolve) => {
    timer = setTimeout(() => resolve(new Response(`The server-side render took longer than ${ssrRequestTimeoutMs / 1000} s.`, {
      status: 504, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
    })), ssrRequestTimeoutMs);
  });
  try {
    return await Promise.race([ssrRunner(env).fetch(workerSource(env, ctx, appId, manifest.deploymentId, manifest.worker), forwarded), timeout]);
  } catch (error) {
    console.error(`[hosting] ssr ${appId}/${manifest.deploymentId} ${url.pathname} failed: ${String(error)}`);
    return new Response('The server-side render failed.', { status: 502, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' } });
  } finally {
    clearTimeout(timer);
  }
}
