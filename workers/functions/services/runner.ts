/**
 * One runner interface, two implementations (DESIGN.md "User code"): locally and in tests the
 * Worker Loader (`[[worker_loaders]]`), in production a Workers for Platforms dispatch namespace.
 * Loaded code is keyed by the immutable version id, so a redeploy (a new version id) is served from
 * the very next call and an old version is never served after it.
 */
import { mainModule, setupModule } from './guest.ts';

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
  /** Where the loaded code's outbound fetches go (the egress policy, bound to this app and function). */
  outbound: Fetcher;
}

/** Runs a deployed function version once. */
export interface FunctionRunner {
  /**
   * Calls the version's handler with `request` and the ctx built from `context` + `host` (the
   * FunctionHost capability stub). Never throws for errors of user code (they come back in the
   * outcome); throws when the runtime itself fails.
   */
  run(version: LoadableVersion, request: Request, context: GuestContext, host: Fetcher): Promise<RunOutcome>;
}

interface GuestEntrypoint {
  run(request: Request): Promise<RunOutcome>;
}

/** The local/test runner: one loaded Worker per version id. */
export class LoaderRunner implements FunctionRunner {
  constructor(private readonly loader: WorkerLoader) {}

  /** See {@link FunctionRunner.run}. */
  async run(version: LoadableVersion, request: Request, context: GuestContext, host: Fetcher): Promise<RunOutcome> {
    const worker = this.loader.get(version.versionId, async () => ({
      compatibilityDate: '2026-04-01',
      compatibilityFlags: ['nodejs_compat'],
      mainModule: 'main.js',
      modules: { 'main.js': mainModule, 'setup.js': setupModule, 'user.js': await version.code() },
      globalOutbound: version.outbound,
      env: {},
    }));
    const guest = worker.getEntrypoint(undefined, { props: { ...context, host } }) as unknown as GuestEntrypoint;
    return guest.run(request);
  }
}
