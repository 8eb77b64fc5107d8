/**
 * One runner interface, two implementations (DESIGN.md "User code"): locally and in tests the
 * Worker Loader (`[[worker_loaders]]`), in production a Workers for Platforms dispatch namespace.
 * Loaded code is keyed by the immutable version id (the loader's isolate id; the dispatch script's
 * name), so a redeploy (a new version id) is served from the very next call and an old version is
 * never served after it.
 */
import { defaultSubRequests } from '../../shared/dispatch-namespace.ts';
import { consoleHeader, contextHeader, mainModule, outcomeHeader, runtimeModule, sessionHeaderName, setupModule } from './guest.ts';
import type { HostProps, OutboundProps } from './invoke.ts';
import { sessionGraceMs, signSession } from '../../shared/function-session.ts';

/** One console line of an invocation (API.md §8.1 `consoleLogs`). */
export interface ConsoleLine {
  level: string;
  message: string;
  /** ms since the epoch */
  timestamp: number;
}

/** What a run gives back: the handler's Response, or the error it threw; console lines either way. */
export interface RunOutcome {
  response: Response | null;
  logs: ConsoleLine[];
  error: { message: string; stack: string | null } | null;
}

/** The JSON half of what reaches user code per call (the ctx of API.md §8.3, minus capabilities). */
export interface GuestContext {
  env: Record<string, string>;
  user: { id: string } | null;
  caller: { type: string; keyId: string | null; scope: string | null; userId: string | null };
  app: Record<string, unknown>;
  request: Record<string, unknown>;
}

/** A deployed version as the runner loads it. */
export interface LoadableVersion {
  versionId: string;
  /** Fetches the stripped module source (called only when the version is not loaded yet). */
  code: () => Promise<string>;
  /** The function's wall-clock limit (ms); the dispatch runner derives its CPU limit and token lifetime from it. */
  timeoutMs: number;
  /** The egress policy entrypoint bound to this app and function (the loader's `globalOutbound`). */
  outbound: () => Fetcher;
  /** The same binding as outbound-Worker parameters (Workers for Platforms). */
  outboundParams: OutboundProps;
}

/** The ctx capability of one invocation: what it is fixed to, and (loader) a FunctionHost stub with those props. */
export interface HostCapability {
  props: HostProps;
  stub: () => Fetcher;
}

/** Runs a deployed function version once. */
export interface FunctionRunner {
  /**
   * Calls the version's handler with `request` and the ctx built from `context` + `host` (the
   * invocation's capability). Never throws for errors of user code (they come back in the outcome);
   * throws when the runtime itself fails (e.g. the version's script does not exist).
   */
  run(version: LoadableVersion, request: Request, context: GuestContext, host: HostCapability): Promise<RunOutcome>;
}

interface GuestEntrypoint {
  run(request: Request): Promise<RunOutcome>;
}

/** The local/test runner: one loaded Worker per version id. */
export class LoaderRunner implements FunctionRunner {
  constructor(private readonly loader: WorkerLoader) {}

  /** See {@link FunctionRunner.run}. */
  async run(version: LoadableVersion, request: Request, context: GuestContext, host: HostCapability): Promise<RunOutcome> {
    const worker = this.loader.get(version.versionId, async () => ({
      compatibilityDate: '2026-04-01',
      compatibilityFlags: ['nodejs_compat'],
      mainModule: 'main.js',
      modules: { 'main.js': mainModule, 'runtime.js': runtimeModule, 'setup.js': setupModule, 'user.js': await version.code() },
      globalOutbound: version.outbound(),
      env: {},
    }));
    const guest = worker.getEntrypoint(undefined, { props: { ...context, host: host.stub() } }) as unknown as GuestEntrypoint;
    return guest.run(request);
  }
}

/** Per-invocation limits of a dispatch-namespace call (Workers for Platforms custom limits). */
export interface DispatchLimits {
  /** CPU time, ms: the function's timeout, at most {@link maxCpuMs}. */
  cpuMs: number;
  /** Subrequests per invocation: fetch calls, and the service-binding calls behind ctx.db / ctx.invoke. */
  subRequests: number;
}

/** The most CPU time one invocation may use (ms), whatever its `timeoutMs`. */
export const maxCpuMs = 30_000;

/** Subrequests per invocation unless the deployment sets WFP_SUBREQUEST_LIMIT (shared with Edge SSR). */
export { defaultSubRequests };

/** The limits of one call of a version. */
export function dispatchLimits(version: Pick<LoadableVersion, 'timeoutMs'>, subRequests: number): DispatchLimits {
  return { cpuMs: Math.min(version.timeoutMs, maxCpuMs), subRequests };
}

function toBase64Url(text: string): string {
  let binary = '';
  for (const b of new TextEncoder().encode(text)) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): string {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
  return new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

const consoleLinesOf = (value: unknown): ConsoleLine[] => (Array.isArray(value) ? value.filter((l): l is ConsoleLine => typeof l?.message === 'string') : []);

/**
 * The production runner: each version is a script of the dispatch namespace named by its version id
 * (uploaded at deploy, services/dispatch-namespace.ts). Per call: `DISPATCHER.get(versionId, {},
 * { limits: { cpuMs, subRequests }, outbound: { appId, functionName } })` and one `fetch` carrying
 * the request, the JSON context and a signed session token (services/session.ts, guest.ts
 * `dispatch.js`), which the script's service binding to FunctionSession presents on every ctx call.
 * The context travels in a request header (base64url JSON), so it shares the platform's 128 KB
 * request-header budget with the caller's headers: an app whose env values approach that fails with
 * 502 EXTERNAL_NETWORK_ERROR.
 */
export class WfpRunner implements FunctionRunner {
  constructor(
    private readonly dispatcher: DispatchNamespace,
    private readonly masterKey: string,
    private readonly subRequests: number = defaultSubRequests,
  ) {}

  /** See {@link FunctionRunner.run}. @throws Error (e.g. "Worker not found") when the namespace has no such script. */
  async run(version: LoadableVersion, request: Request, context: GuestContext, host: HostCapability): Promise<RunOutcome> {
    const token = await signSession(host.props, version.timeoutMs + sessionGraceMs, this.masterKey);
    const headers = new Headers(request.headers);
    headers.set(sessionHeaderName, token);
    headers.set(contextHeader, toBase64Url(JSON.stringify(context)));
    const script = this.dispatcher.get(version.versionId, {}, {
      limits: dispatchLimits(version, this.subRequests),
      outbound: { ...version.outboundParams },
    });
    const response = await script.fetch(new Request(request, { headers }));
    if (response.headers.get(outcomeHeader) === 'error') {
      const body = await response.json() as { error?: { message?: string; stack?: string | null }; logs?: unknown };
      return { response: null, logs: consoleLinesOf(body.logs), error: { message: String(body.error?.message ?? 'unknown error'), stack: body.error?.stack ?? null } };
    }
    let logs: ConsoleLine[] = [];
    const encoded = response.headers.get(consoleHeader);
    if (encoded) {
      try {
        logs = consoleLinesOf(JSON.parse(fromBase64Url(encoded)));
      } catch {
        /* a response without readable console lines still is the function's answer */
      }
    }
    if (response.webSocket) return { response, logs, error: null };
    const out = new Response(response.body, response);
    out.headers.delete(consoleHeader);
    return { response: out, logs, error: null };
  }
}
