/**
 * Running a function once (API.md §8.2–8.3): builds ctx (env app < function < BUTTERBASE_*, user,
 * caller, app, request), picks the database role (user when a user id exists, else service), hands
 * the runner the FunctionHost capability and the egress policy, enforces `timeoutMs` (504
 * FUNCTION_TIMEOUT) and logs the invocation with its console lines after the answer.
 */
import type { HostProps } from '../../shared/function-session.ts';
import type { AppRow } from '../../shared/control-schema.ts';
import { decryptSecret } from '../../shared/crypto.ts';
import { ApiError } from '../../shared/errors.ts';
import type { TriggerType } from '../../shared/schemas/functions.ts';
import type { Env } from '../env.ts';
import { loadApp, recordInvocation, versionCode, type FunctionRow } from './records.ts';
import { dispatchConfig } from './dispatch-namespace.ts';
import { subRequestLimit } from '../../shared/dispatch-namespace.ts';
import { LoaderRunner, WfpRunner, type FunctionRunner, type GuestContext, type RunOutcome } from './runner.ts';

/** What started an invocation (its log's `trigger`): a deploy trigger type, or the post-auth hook. */
export type InvocationTrigger = TriggerType | 'auth_hook';

/** ctx.caller (API.md §8.3). */
export interface InvocationCaller {
  type: 'service_key' | 'end_user_jwt' | 'loopback' | 'anonymous';
  keyId: string | null;
  scope: string | null;
  userId: string | null;
}

export type { HostProps } from '../../shared/function-session.ts';

/** Props of the Outbound entrypoint. */
export interface OutboundProps {
  appId: string;
  functionName: string;
}

/** The typed `ctx.exports` of this Worker (loopback entrypoint stubs with props). */
export interface FunctionsExports {
  FunctionHost(options: { props: HostProps }): Fetcher;
  Outbound(options: { props: OutboundProps }): Fetcher;
}

/** The execution context of the functions Worker, with its `exports` (enable_ctx_exports is default). */
export type FunctionsContext = Pick<ExecutionContext, 'waitUntil'> & { exports: FunctionsExports };

/** One invocation request. */
export interface Invocation {
  appId: string;
  fn: FunctionRow;
  /** The request as user code sees it (public URL, forwarded headers). */
  request: Request;
  trigger: InvocationTrigger;
  caller: InvocationCaller;
  /** ctx.user: the caller's or impersonated end user, or null. */
  userId: string | null;
  requestId: string;
  ip: string | null;
  depth?: number;
  /** The app row, when the caller already read it (saves a round trip). */
  app?: AppRow;
}

const plaintextCache = new Map<string, string>();

async function open(sealed: string, masterKey: string): Promise<string> {
  const cached = plaintextCache.get(sealed);
  if (cached !== undefined) return cached;
  const plain = await decryptSecret(sealed, masterKey);
  if (plaintextCache.size > 5000) plaintextCache.clear();
  plaintextCache.set(sealed, plain);
  return plain;
}

async function openAll(sealed: Record<string, string>, masterKey: string): Promise<Record<string, string>> {
  const entries = await Promise.all(Object.entries(sealed).map(async ([key, value]) => [key, await open(value, masterKey)] as const));
  return Object.fromEntries(entries);
}

/** The platform env of a function (API.md §8.3 "Platform env"). */
export function platformEnv(app: AppRow, publicApiUrl: string): Record<string, string> {
  return {
    BUTTERBASE_APP_ID: app.id,
    BUTTERBASE_API_URL: publicApiUrl.replace(/\/$/, ''),
    BUTTERBASE_APP_NAME: app.name,
    BUTTERBASE_REGION: app.region,
    BUTTERBASE_ANON_KEY: app.anon_key,
    BUTTERBASE_SUBDOMAIN: app.subdomain,
  };
}

/** ctx.env: app env < function env < BUTTERBASE_*. */
export async function functionEnv(env: Env, app: AppRow, fn: FunctionRow): Promise<Record<string, string>> {
  const [appEnv, fnEnv] = await Promise.all([openAll(app.env_vars, env.PLATFORM_MASTER_KEY), openAll(fn.env_vars, env.PLATFORM_MASTER_KEY)]);
  return { ...appEnv, ...fnEnv, ...platformEnv(app, env.PUBLIC_API_URL) };
}

function appContext(app: AppRow): Record<string, unknown> {
  return {
    id: app.id,
    name: app.name,
    ownerId: app.account_id,
    region: app.region,
    subdomain: app.subdomain,
    anonKey: app.anon_key,
    allowedOrigins: app.allowed_origins,
    frontend: null,
    auth: { accessTokenTtl: app.jwt_config.accessTokenTtl, refreshTokenTtlDays: app.jwt_config.refreshTokenTtlDays, hookFunction: app.auth_hook_function },
    ai: null,
    billing: null,
    substrateUserId: null,
  };
}

/**
 * The runner of this deployment: the Workers for Platforms dispatch namespace when DISPATCHER is bound
 * and configured (services/dispatch-namespace.ts `dispatchConfig`), else the Worker Loader.
 * @throws ApiError INTERNAL_ERROR when DISPATCHER is bound but its settings are incomplete
 */
export function runnerOf(env: Env): FunctionRunner {
  if (env.DISPATCHER && dispatchConfig(env)) {
    return new WfpRunner(env.DISPATCHER, env.PLATFORM_MASTER_KEY, subRequestLimit(env));
  }
  return new LoaderRunner(env.LOADER);
}

function timeout(ms: number, name: string): { promise: Promise<never>; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ApiError('FUNCTION_TIMEOUT', `Function "${name}" did not answer within ${ms} ms.`, { details: { timeoutMs: ms } })), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/**
 * Runs the function and returns its Response as-is (status, headers, streaming body).
 * @throws ApiError FUNCTION_TIMEOUT (504) past `timeoutMs`; EXTERNAL_NETWORK_ERROR (502) when the
 *   runtime cannot run it; INTERNAL_ERROR when it has no deployed version. A handler that throws is
 *   answered 500 (INTERNAL_ERROR envelope naming the function), logged with its stack.
 */
export async function invoke(env: Env, ctx: FunctionsContext, call: Invocation, runner: FunctionRunner = runnerOf(env)): Promise<Response> {
  const started = performance.now();
  const { fn } = call;
  const versionId = fn.current_version_id;
  if (!versionId) throw new ApiError('INTERNAL_ERROR', `Function "${fn.name}" has no deployed version.`);
  const app = call.app ?? await loadApp(env, call.appId);
  const context: GuestContext = {
    env: await functionEnv(env, app, fn),
    user: call.userId ? { id: call.userId } : null,
    caller: call.caller,
    app: appContext(app),
    request: { id: call.requestId, ip: call.ip, country: null, functionName: fn.name, loopDepth: call.depth ?? 0 },
  };
  const hostProps: HostProps = { appId: call.appId, functionName: fn.name, role: call.userId ? 'user' : 'service', userId: call.userId, depth: call.depth ?? 0, requestId: call.requestId };
  const outboundParams: OutboundProps = { appId: call.appId, functionName: fn.name };
  const limit = timeout(fn.timeout_ms, fn.name);
  const url = new URL(call.request.url);
  const log = (statusCode: number, outcome: Partial<RunOutcome>) => {
    const error = outcome.error ?? null;
    ctx.waitUntil(recordInvocation(env, {
      functionId: fn.id, appId: call.appId, versionId, trigger: call.trigger, method: call.request.method, path: url.pathname + url.search,
      statusCode, durationMs: performance.now() - started, error: error?.message ?? null, stack: error?.stack ?? null, consoleLogs: outcome.logs ?? [],
    }).catch((failure: unknown) => console.error(`[functions] invocation log of ${fn.id} failed: ${String(failure)}`)));
  };
  let outcome: RunOutcome;
  try {
    outcome = await Promise.race([
      runner.run(
        { versionId, code: () => versionCode(env, versionId), timeoutMs: fn.timeout_ms, outbound: () => ctx.exports.Outbound({ props: outboundParams }), outboundParams },
        call.request,
        context,
        { props: hostProps, stub: () => ctx.exports.FunctionHost({ props: hostProps }) },
      ),
      limit.promise,
    ]);
  } catch (error) {
    if (error instanceof ApiError) {
      log(error.status, { error: { message: error.message, stack: null } });
      throw error;
    }
    const failure = new ApiError('EXTERNAL_NETWORK_ERROR', `The function runtime could not run "${fn.name}".`, { internal: String((error as Error)?.stack ?? error) });
    log(502, { error: { message: String((error as Error)?.message ?? error), stack: null } });
    throw failure;
  } finally {
    limit.cancel();
  }
  if (!outcome.response) {
    log(500, outcome);
    const error = new ApiError('INTERNAL_ERROR', `Function "${fn.name}" threw: ${outcome.error?.message ?? 'unknown error'}`, {
      remediation: 'Read the stack in the function logs (GET /v1/{app_id}/functions/{name}/logs?level=error), fix the handler and redeploy.',
      details: { function: fn.name },
    });
    return Response.json(error.toEnvelope(), { status: 500, headers: { 'x-request-id': call.requestId } });
  }
  log(outcome.response.status, outcome);
  return outcome.response;
}
