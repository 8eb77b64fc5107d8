/**
 * The platform's routes in this process (issue 7 item 10): the real router module in front of the
 * control and data Workers' Hono apps, each given the env the dev platform gives it (its wrangler.toml
 * `[vars]` plus the registry's `localVars`), with the service bindings between them injected as
 * plain objects that call the same code the Worker entrypoints call:
 *
 * - router → control: `fetch` is `controlApp.fetch`, `resolveGate` is services/gate.ts;
 * - router → data: `dataApp.fetch`;
 * - control → data's DbOwner: `runAsOwner` / `upgradeApp` of workers/data/execute.ts (the statements
 *   executor of DbGateway), over the same embedded database the black-box platform uses;
 * - data → control: `recordAudit`;
 * - router → hosting: the custom-domain routes and `resolveHostname` (the rest of hosting needs
 *   workerd: R2, the Worker Loader, Durable Objects).
 *
 * The database is real (the integration setup's embedded endpoint, through Neon's HTTP protocol, as
 * in production); what is not here is workerd and the HTTP hops between Workers, so a route scenario
 * costs a few milliseconds. Targets without an in-process app (auth, storage, functions, the rest of
 * hosting, …) answer 501 naming themselves: tests of those stay black-box. The router's RateLimiter Durable Object is
 * an in-memory window with the same `add` contract; the real one is exercised by the black-box tests.
 */
import { readWorkerConfig } from '../../scripts/lib/platform.ts';
import { controlApp } from '../../workers/control/app.ts';
import type { Env as ControlEnv } from '../../workers/control/env.ts';
import { recordAudit } from '../../workers/control/services/audit.ts';
import { resolveGate } from '../../workers/control/services/gate.ts';
import { dataApp } from '../../workers/data/app.ts';
import type { Env as DataEnv } from '../../workers/data/env.ts';
import type { Env as HostingEnv } from '../../workers/hosting/env.ts';
import { customDomainRoutes, resolveCustomHostname } from '../../workers/hosting/routes/custom-domains.ts';
import { onError, onNotFound } from '../../workers/shared/http.ts';
import { Hono } from 'hono';
import { checkStatements, runAsOwner, upgradeApp } from '../../workers/data/execute.ts';
import { routerTargets, workerSpec, type LocalSettings, type WorkerName } from '../../workers/registry.ts';
import router from '../../workers/router/handler.ts';
import type { Env as RouterEnv } from '../../workers/router/env.ts';
import { auditEntry, type AuditEntry } from '../../workers/shared/audit.ts';
import type { GateRequest, SqlStatement } from '../../workers/shared/contracts.ts';
import { rpcResult } from '../../workers/shared/rpc.ts';

/** An ExecutionContext whose `waitUntil` work can be awaited ({@link InProcessPlatform.settle}). */
class TestExecutionContext {
  readonly pending: Promise<unknown>[] = [];
  readonly props = {};
  waitUntil(promise: Promise<unknown>): void {
    this.pending.push(promise.catch((error: unknown) => console.error(`[in-process] waitUntil: ${String(error)}`)));
  }
  passThroughOnException(): void {}
}

/** The in-process platform: `fetch` is the router's, `settle` awaits background work. */
export interface InProcessPlatform {
  /** Base URL requests are made against (only its host matters: the router classifies it). */
  readonly url: string;
  /** Sends a request through the router in this process. `path` is relative to {@link url}. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Resolves when every `waitUntil` of the requests so far has finished (audit writes, provisioning). */
  settle(): Promise<void>;
  /** The control Worker's env, for tests that read what a route wrote. */
  readonly controlEnv: ControlEnv;
  /** The hosting Worker's env (its custom-domain routes run here). */
  readonly hostingEnv: HostingEnv;
}

async function workerEnv(name: WorkerName, local: LocalSettings): Promise<Record<string, string>> {
  const vars = ((await readWorkerConfig(name)).vars ?? {}) as Record<string, string>;
  const spec = workerSpec(name);
  return { ...vars, ...('localVars' in spec && spec.localVars ? spec.localVars(local) : {}) };
}

function unavailable(target: string): Fetcher {
  const answer = () => Response.json({ error: { code: 'FEATURE_NOT_AVAILABLE', message: `${target} is not in-process; test it through the platform.` } }, { status: 501 });
  return { fetch: async () => answer(), connect: () => { throw new Error('not in-process'); } } as unknown as Fetcher;
}

/** An in-memory stand-in for the RateLimiter Durable Object's `add` (a fixed window per key). */
function rateLimiterNamespace(): RouterEnv['RATE_LIMITER'] {
  const windows = new Map<string, { startedAtMs: number; count: number }>();
  return {
    idFromName: (name: string) => name,
    get: (key: string) => ({
      add: async (delta: number, windowSeconds: number) => {
        const now = Date.now();
        let window = windows.get(key);
        if (!window || now - window.startedAtMs >= windowSeconds * 1000) window = { startedAtMs: now, count: 0 };
        window.count += delta;
        windows.set(key, window);
        return window.count;
      },
    }),
  } as unknown as RouterEnv['RATE_LIMITER'];
}

/**
 * Builds the in-process platform over a running platform's database: `local` is what its Workers were
 * configured from (in tests `inject('localSettings')`, in scripts `Platform.local`), and `vars` on top
 * of each Worker's own (as `startPlatform`'s `vars` option gives the real ones). The router's host
 * is `127.0.0.1:{port}` like the black-box platform's, so app hosts classify alike.
 */
export async function inProcessPlatform(local: LocalSettings, vars: Partial<Record<'router' | 'control' | 'data' | 'hosting', Record<string, string>>> = {}): Promise<InProcessPlatform> {
  const contexts: TestExecutionContext[] = [];
  const context = () => {
    const ctx = new TestExecutionContext();
    contexts.push(ctx);
    return ctx as unknown as ExecutionContext;
  };
  const names = ['router', 'control', 'data', 'hosting'] as const;
  const [routerVars, controlVars, dataVars, hostingVars] = (await Promise.all(names.map((name) => workerEnv(name, local))))
    .map((base, i) => ({ ...base, ...vars[names[i]!] }));
  const hostingEnv = { ...hostingVars } as unknown as HostingEnv;
  // The hosting Worker's error handling around the routes that run here.
  const hostingApp = new Hono<{ Bindings: HostingEnv }>().route('/', customDomainRoutes);
  hostingApp.onError(onError);
  hostingApp.notFound(onNotFound);
  const dataEnv = { ...dataVars } as unknown as DataEnv;
  const controlEnv = {
    ...controlVars,
    DB_OWNER: {
      execute: (appId: string, statements: SqlStatement[]) => rpcResult(() => runAsOwner(dataEnv, String(appId), checkStatements(statements))),
      upgrade: (appId: string) => rpcResult(() => upgradeApp(dataEnv, String(appId))),
    },
  } as unknown as ControlEnv;
  Object.assign(dataEnv, {
    CONTROL: {
      recordAudit: (entry: AuditEntry) => rpcResult(async () => {
        await recordAudit(controlEnv, auditEntry.parse(entry));
        return null;
      }),
    },
  });
  const routerEnv = {
    ...routerVars,
    ...Object.fromEntries(routerTargets().map((t) => [t.binding, unavailable(t.binding)])),
    CONTROL: {
      fetch: (request: Request) => controlApp.fetch(request, controlEnv, context()),
      resolveGate: (input: GateRequest) => rpcResult(() => resolveGate(controlEnv, context(), input)),
    },
    DATA: { fetch: (request: Request) => dataApp.fetch(request, dataEnv, context()) },
    HOSTING: {
      fetch: (request: Request) => (/^\/v1\/[^/]+\/custom-domains(\/|$)/.test(new URL(request.url).pathname)
        ? hostingApp.fetch(request, hostingEnv, context())
        : unavailable('HOSTING').fetch(request)),
      resolveHostname: (host: string) => rpcResult(async () => ({ subdomain: await resolveCustomHostname(hostingEnv, host) })),
    },
    RATE_LIMITER: rateLimiterNamespace(),
  } as Record<string, unknown>;
  const base = new URL(local.publicUrl);
  const env = routerEnv as unknown as RouterEnv;
  return {
    url: base.origin,
    controlEnv,
    hostingEnv,
    fetch: (path, init) => {
      const request = new Request(new URL(path, base), init);
      // What a client's HTTP stack sends: the Host header (the router classifies by it).
      if (!request.headers.has('host')) request.headers.set('host', base.host);
      return router.fetch(request, env, context());
    },
    async settle() {
      while (contexts.some((c) => c.pending.length > 0)) {
        const work = contexts.flatMap((c) => c.pending.splice(0));
        await Promise.all(work);
      }
    },
  };
}
