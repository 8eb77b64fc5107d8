/**
 * `/_do/{name}/{instance}` on the app host (API.md §10.1): HTTP and WebSocket upgrades to one
 * instance of a user class, after the access check. Beyond the reference, whose edge check is
 * shape-only: `authenticated` needs an end-user token of this app that verified (the router verified
 * it, from `Authorization: Bearer` or `?token=`), or a service key of the app; `service_key` needs a
 * service key of the app. The verified user id reaches the class in `x-butterbase-user-id`.
 */
import { eq, sql } from 'drizzle-orm';
import { hostHeaders, instanceName } from '../../../durable-objects/user-object-host.ts';
import { controlDb } from '../../shared/control-db.ts';
import { durableObjectClasses } from '../../shared/control-schema.ts';
import type { AppGate } from '../../shared/contracts.ts';
import { ApiError } from '../../shared/errors.ts';
import { doScriptName } from '../../shared/dispatch-namespace.ts';
import { signSession } from '../../shared/function-session.ts';
import { internalHeaders, keyCoversApp, type Principal } from '../../shared/principal.ts';
import type { Env } from '../env.ts';
import { findClass, type ClassRow } from '../services/do-classes.ts';
import { doCpuMs } from '../services/do-script.ts';
import { ssrDispatchConfig } from '../services/ssr.ts';

/** The header carrying the verified end user's id to the class (any client copy is removed). */
export const userIdHeader = 'x-butterbase-user-id';
/** ctx.invokeDO only: the calling function, `fn:<name>` (any client copy is removed at the edge). */
export const callerHeader = 'x-butterbase-caller';
/** ctx.invokeDO only: the call's depth in the shared ctx.invoke / ctx.invokeDO chain (removed at the edge). */
export const loopDepthHeader = 'x-butterbase-loop-depth';
/**
 * Every request to an instance: the session token `butterbase.ctx(req, env, state)` hands to the
 * functions Worker's FunctionSession for invoke / invokeDO (workers/shared/function-session.ts), fixed
 * to this app, the caller `do:{name}:{instance}`, the request's end user and call depth.
 */
export const sessionHeader = 'x-butterbase-session';
/** How long a class's session token lasts (ms): the request, or a WebSocket's opening minutes. */
export const doSessionTtlMs = 5 * 60_000;

/**
 * Routes a request to a user Durable Object instance.
 * @throws ApiError RESOURCE_NOT_FOUND (no such class or no instance in the path), STATE_PREREQUISITE_MISSING
 *   (no deploy of the class has constructed yet), AUTH_REQUIRED / the router's credential code (401), AUTH_INSUFFICIENT_PERMISSIONS (403)
 */
export async function serveDurableObject(env: Env, ctx: ExecutionContext, request: Request, app: AppGate, principal: Principal): Promise<Response> {
  const url = new URL(request.url);
  const [, , rawName, rawInstance] = url.pathname.split('/');
  let instance: string;
  try {
    instance = decodeURIComponent(rawInstance ?? '');
  } catch {
    instance = '';
  }
  if (!rawName || !instance || instance.length > 256) {
    throw new ApiError('RESOURCE_NOT_FOUND', 'Durable Objects are addressed as /_do/{name}/{instance-id}.');
  }
  const row = await liveClass(env, app.id, rawName);
  const userId = checkAccess(row, app, principal);
  const headers = new Headers(request.headers);
  for (const name of [...headers.keys()]) if (name.startsWith('x-bb-')) headers.delete(name);
  for (const name of [userIdHeader, callerHeader, loopDepthHeader, sessionHeader]) headers.delete(name);
  if (userId) headers.set(userIdHeader, userId);
  return forwardToInstance(env, ctx, app.id, row, instance, new Request(request, { headers }));
}

/**
 * The class `name` of app `appId` that can serve: the edge and ctx.invokeDO (services/do-invoke.ts)
 * both look classes up here. The last deploy that constructed keeps serving when a later one failed.
 * @throws ApiError RESOURCE_NOT_FOUND (no such class in this app), STATE_PREREQUISITE_MISSING (no deploy
 *   of the class has constructed yet: PENDING, BUILDING or ERROR, with the error message)
 */
export async function liveClass(env: Env, appId: string, name: string): Promise<ClassRow & { live_version: number; live_class_name: string }> {
  const row = await findClass(env, appId, name);
  if (!row) throw new ApiError('RESOURCE_NOT_FOUND', `No Durable Object "${name}" is deployed for this app.`, {
    remediation: 'List the app\'s classes (GET /v1/{app_id}/durable-objects) or deploy it first (manage_durable_objects action "deploy").',
  });
  if (row.live_version === null || row.live_class_name === null) {
    throw new ApiError('STATE_PREREQUISITE_MISSING', `The Durable Object "${row.name}" is ${row.status}${row.error_message ? `: ${row.error_message}` : ''}.`, {
      remediation: 'Fix the class and deploy it again (manage_durable_objects action "deploy").',
      details: { name: row.name, status: row.status },
    });
  }
  return row as ClassRow & { live_version: number; live_class_name: string };
}

/**
 * Sends `request` (its headers already cleaned of client copies of platform headers) to instance
 * `instance` of the live class `row`: sets the host headers UserObjectHost reads and the class's
 * session token ({@link sessionHeader}; caller, end user and depth from the request), fetches the host
 * object `{app_id}:{name}:{instance}` (a fetch, never RPC: see user-object-host.ts) — on Workers for
 * Platforms instead the app's script, `DISPATCHER.get('do-{app_id}', {}, { limits: { cpuMs: 30000 } })`,
 * without the host headers (services/do-script.ts) — and counts one request and its wall ms toward the
 * class's usage. Out: the class's Response as-is.
 * @throws Error from the runtime when the instance or the script fails (e.g. "Worker not found")
 */
export async function forwardToInstance(env: Env, ctx: Pick<ExecutionContext, 'waitUntil'>, appId: string, row: ClassRow & { live_version: number; live_class_name: string }, instance: string, request: Request): Promise<Response> {
  const headers = new Headers(request.headers);
  const userId = headers.get(userIdHeader);
  const depth = Number(headers.get(loopDepthHeader) ?? 0);
  headers.set(sessionHeader, await signSession({
    appId,
    functionName: `do:${row.name}`,
    caller: `do:${row.name}:${instance}`,
    role: userId ? 'user' : 'service',
    userId,
    depth: Number.isInteger(depth) && depth >= 0 ? depth : 0,
    requestId: headers.get(internalHeaders.requestId) ?? crypto.randomUUID(),
  }, doSessionTtlMs, env.PLATFORM_MASTER_KEY));
  let stub: Fetcher;
  if (ssrDispatchConfig(env) && env.DISPATCHER) {
    // The app's script routes /_do/{name}/{instance} to its class's namespace (services/do-script.ts).
    stub = env.DISPATCHER.get(doScriptName(appId), {}, { limits: { cpuMs: doCpuMs } });
  } else {
    headers.set(hostHeaders.app, appId);
    headers.set(hostHeaders.name, row.name);
    headers.set(hostHeaders.classId, row.id);
    headers.set(hostHeaders.className, row.live_class_name);
    headers.set(hostHeaders.version, String(row.live_version));
    headers.set(hostHeaders.instance, instance);
    stub = env.USER_OBJECTS.get(env.USER_OBJECTS.idFromName(instanceName(appId, row.name, instance)));
  }
  const startedMs = Date.now();
  const response = await stub.fetch(new Request(request, { headers }));
  const wallMs = Date.now() - startedMs;
  ctx.waitUntil(controlDb(env).update(durableObjectClasses)
    .set({ do_requests: sql`${durableObjectClasses.do_requests} + 1`, do_cpu_ms: sql`${durableObjectClasses.do_cpu_ms} + ${wallMs}` })
    .where(eq(durableObjectClasses.id, row.id))
    .then(() => undefined, (error: unknown) => console.error(`[hosting] usage of ${row.id}: ${String(error)}`)));
  return response;
}

/** The access check of API.md §10.1 with real verification. Out: the end user's id, if any. */
function checkAccess(row: ClassRow, app: AppGate, principal: Principal): string | null {
  if (principal.kind === 'invalid' && row.access_mode !== 'public') throw new ApiError(principal.code, principal.message);
  const serviceKey = principal.kind === 'service_key' && principal.accountId === app.accountId && keyCoversApp(principal, app.id);
  const endUser = principal.kind === 'end_user' && principal.appId === app.id ? principal.userId : null;
  switch (row.access_mode) {
    case 'public':
      return endUser;
    case 'authenticated':
      if (endUser || serviceKey) return endUser;
      if (principal.kind === 'anonymous') {
        throw new ApiError('AUTH_REQUIRED', `The Durable Object "${row.name}" needs a signed-in user.`, {
          remediation: 'Send Authorization: Bearer <end-user access token>, or ?token=<access token> on a WebSocket URL.',
        });
      }
      throw new ApiError('AUTH_INVALID_END_USER_JWT', 'The token was not issued for this app.');
    case 'service_key':
      if (serviceKey) return null;
      if (principal.kind === 'anonymous') throw new ApiError('AUTH_REQUIRED', `The Durable Object "${row.name}" needs a service key (Authorization: Bearer bb_sk_…).`);
      throw new ApiError('AUTH_INSUFFICIENT_PERMISSIONS', `The Durable Object "${row.name}" accepts only a service key of this app.`);
  }
}
