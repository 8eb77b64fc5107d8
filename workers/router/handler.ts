/**
 * The router Worker: the one public entry. Assigns the request id, classifies the whole URL (app
 * hosts by Host, the API host by path), resolves the caller and the app in one control RPC, answers
 * CORS, enforces the request budget (per principal and per app, decided in the isolate), the pause gate and the write gate of apps
 * being upgraded, then forwards to the concern Worker over a service binding (DESIGN.md "Request
 * flow"). Its scheduled handler is the platform's minute tick.
 */
import { ApiError, toApiError } from '../shared/errors.ts';
import { encodeAppGate, errorResponse, logApiError } from '../shared/http.ts';
import { encodePrincipal, internalHeaders, keyCoversApp, type Principal } from '../shared/principal.ts';
import { unwrap } from '../shared/rpc.ts';
import { isWebSocketUpgrade, websocketRefusal } from '../shared/websocket.ts';
import type { AppGate, GateResult } from '../shared/contracts.ts';
import { scheduledWorkers, type RouterTarget } from '../registry.ts';
import { budgetKeys, budgetWindowMs, RequestBudget, type BudgetStore } from './budget.ts';
import { corsHeaders, preflightHeaders, type CorsSettings } from './cors.ts';
import { GateReuse, mayChangeGates, readMethods } from './gate-reuse.ts';
import { classify, customHostCandidate, type RouteDecision } from './routes.ts';
import type { Env } from './env.ts';
import { SubrequestTrace, traceHeader, tracedEnv, traceOf } from './trace.ts';

const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;
const version = '0.1.0';
/** This isolate's request counters (workers/router/budget.ts). */
const budget = new RequestBudget();
/** This isolate's recent gate answers (workers/router/gate-reuse.ts). */
const gates = new GateReuse();

/** An app's CORS config as the router applies it (API.md §2 PATCH config/cors). */
interface AppCors {
  origins: readonly string[];
  settings: CorsSettings;
}

export default {
  /**
   * Every request to the platform. With the var `TRACE_SUBREQUESTS=true`, a request carrying the
   * `x-bb-trace` header gets its binding calls counted (trace.ts).
   */
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    let response: Response;
    if (env.TRACE_SUBREQUESTS !== 'true' || !request.headers.has(traceHeader)) response = await handle(request, env, ctx);
    else {
      const trace = new SubrequestTrace();
      response = trace.annotate(await handle(request, tracedEnv(env, trace, ['RATE_LIMITER']), ctx));
    }
    await drainUnreadBody(request);
    return response;
  },

  /**
   * The platform's minute tick (root wrangler.toml `[triggers]`; locally the dev platform drives it):
   * calls `tick` on every Worker the registry marks `scheduled`, all at once. A Worker that fails is
   * logged; the others still run.
   */
  async scheduled(controller: ScheduledController, env: Env): Promise<void> {
    const input = { cron: controller.cron, scheduledTimeMs: controller.scheduledTime };
    const outcomes = await Promise.allSettled(scheduledWorkers().map(async ({ binding, name }) => {
      const tick = env[binding].tick;
      if (!tick) throw new Error(`${name} has no tick RPC`);
      return { name, result: await env[binding].tick!(input) };
    }));
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') console.error(`[tick] ${String(outcome.reason)}`);
      else if (!outcome.value.result.ok) console.error(`[tick] ${outcome.value.name}: ${outcome.value.result.error.code} ${outcome.value.result.error.message}`);
    }
  },
} satisfies ExportedHandler<Env>;

/** The router's request handling (see the module comment); `fetch` adds tracing around it. */
async function handle(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const incoming = request.headers.get(internalHeaders.requestId);
  const id = incoming && requestIdPattern.test(incoming) ? incoming : crypto.randomUUID();
  const origin = request.headers.get('origin');
  const url = new URL(request.url);
  let decision = classify(url, request.headers.get('host'), { appsDomain: env.APPS_DOMAIN ?? '' });
  // null on platform routes (any origin, never credentials); the app's CORS config elsewhere.
  let cors: AppCors | null = null;
  let extraHeaders: Record<string, string> = {};
  try {
    const host = request.headers.get('host');
    if (decision.kind !== 'app_host' && customHostCandidate(host, { appsDomain: env.APPS_DOMAIN ?? '', apiHostnames: (env.API_HOSTNAMES ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean) })) {
      const resolved = unwrap(await env.HOSTING.resolveHostname(host!));
      if (resolved.subdomain) decision = { kind: 'app_host', subdomain: resolved.subdomain };
    }
    if (decision.kind === 'health') return finish(await health(env, decision.ready), id, origin, null, {});
    if (decision.kind === 'app_host') return finish(await appHost(env, request, decision.subdomain, id), id, null, null, {});
    // Presigned URLs carry their own SigV4 authorisation and CORS; no caller or app gate applies.
    if (decision.kind === 'object_store') return finish(await objectStore(env, decision.target, request, id), id, null, null, {});
    if (decision.kind === 'not_found') {
      throw new ApiError('RESOURCE_NOT_FOUND', `No route for ${request.method} ${url.pathname}.`, {
        remediation: 'Check the path against the API reference (butterbase_docs topic "rest").',
      });
    }
    const gate = await resolveGate(env, decision.appId, bearerOf(request, url));
    const app = gate.app;
    if (decision.family !== 'platform' && app) cors = { origins: app.allowedOrigins, settings: app.cors };
    if (request.method === 'OPTIONS' && request.headers.has('access-control-request-method')) {
      return finish(new Response(null, { status: 204, headers: preflightHeaders(request.headers.get('access-control-request-headers'), cors?.settings) }), id, origin, cors, {});
    }
    if (decision.family === 'app') {
      if (!app || !callerMaySeeApp(gate.principal, app)) throw appNotFound(decision.appId);
      extraHeaders = takeBudget(env, ctx, app, gate.principal, request.headers.get('cf-connecting-ip'));
    }
    // /auth/* judges credentials itself; so does /mcp, whose 401 must carry WWW-Authenticate (API.md §13),
    // and functions, where a bad bearer on /fn is an anonymous caller (API.md §8.2).
    const judgesOwnCredentials = decision.family === 'auth' || (decision.kind === 'forward' && (decision.target === 'MCP' || decision.target === 'FUNCTIONS'));
    if (gate.principal.kind === 'invalid' && !judgesOwnCredentials) {
      throw new ApiError(gate.principal.code, gate.principal.message);
    }
    if (decision.dataPlane && app?.paused) {
      throw new ApiError('APP_PAUSED', `App ${app.id} is paused.`, {
        details: { paused_reason: app.pausedReason },
        headers: { 'retry-after': '60' },
      });
    }
    if (decision.dataPlane && app && app.provisioningStatus !== 'ready' && app.provisioningStatus !== 'migrating') {
      throw new ApiError('APP_NOT_READY', `App ${app.id} is not ready (provisioning status: ${app.provisioningStatus}).`, {
        details: { provisioning_status: app.provisioningStatus },
        headers: { 'retry-after': '5' },
      });
    }
    if (decision.dataPlane && app?.provisioningStatus === 'migrating' && !readMethods.has(request.method)) {
      throw new ApiError('APP_MIGRATING', `App ${app.id} is being upgraded; writes resume in a few seconds (reads work meanwhile).`, {
        details: { provisioning_status: app.provisioningStatus },
        headers: { 'retry-after': '5' },
      });
    }
    if (decision.kind === 'unavailable') {
      throw new ApiError('FEATURE_NOT_AVAILABLE', `The ${decision.feature} API is not available on this deployment yet.`);
    }
    let response: Response;
    try {
      response = await forward(env, decision, request, id, gate.principal, app);
    } finally {
      if (mayChangeGates(decision.target, request.method)) gates.clear();
    }
    return finish(response, id, origin, cors, extraHeaders);
  } catch (error) {
    // A WebSocket client cannot read an HTTP error: it gets the error as a message and a close code.
    if (isWebSocketUpgrade(request)) {
      const apiError = toApiError(error);
      logApiError(apiError, id);
      return websocketRefusal(apiError);
    }
    return finish(errorResponse(error, id), id, origin, cors, extraHeaders);
  }
}


/**
 * The caller and the app of a request to the API host: a remembered answer while it may be reused
 * (gate-reuse.ts), else the control Worker's `resolveGate` (API.md §1.2).
 * @throws ApiError as `resolveGate` raises it (EXTERNAL_DB_ERROR when the control database is down).
 */
async function resolveGate(env: Env, appId: string | null, bearer: string | null): Promise<GateResult> {
  const remembered = gates.get(appId, bearer);
  if (remembered) return remembered;
  const gate = unwrap(await env.CONTROL.resolveGate({ appId, bearer }));
  gates.put(appId, bearer, gate);
  return gate;
}

/**
 * A request to an app host (`{subdomain}.{apps domain}`): the app is resolved by subdomain and the
 * request goes to the hosting Worker (static site, `/_do/…`) with the app, the caller and the
 * subdomain in internal headers. An unknown subdomain answers a 404 page saying no app lives there.
 * On `/_do/…` a `?token=` stands for the bearer (browsers cannot set headers on a WebSocket or an
 * EventSource); it is resolved here and removed before the request goes on.
 */
async function appHost(env: Env, request: Request, subdomain: string, id: string): Promise<Response> {
  const url = new URL(request.url);
  const objectRoute = url.pathname.startsWith('/_do/');
  const bearer = bearerOf(request) ?? (objectRoute ? url.searchParams.get('token') || null : null);
  const gate = unwrap(await env.CONTROL.resolveGate({ appId: null, subdomain, bearer }));
  if (!gate.app) return htmlPage(404, 'No app here', `No app is served at ${subdomain}.${env.APPS_DOMAIN ?? ''}.`);
  const headers = new Headers(request.headers);
  for (const name of [...headers.keys()]) if (name.startsWith('x-bb-')) headers.delete(name);
  headers.set(internalHeaders.requestId, id);
  headers.set(internalHeaders.principal, encodePrincipal(gate.principal));
  headers.set(internalHeaders.clientIp, request.headers.get('cf-connecting-ip') ?? 'unknown');
  headers.set(internalHeaders.app, encodeAppGate(gate.app));
  headers.set(internalHeaders.appHost, subdomain);
  if (objectRoute && url.searchParams.has('token')) {
    url.searchParams.delete('token');
    return env.HOSTING.fetch(await onward(request, headers, url));
  }
  return env.HOSTING.fetch(await onward(request, headers));
}

/** Forwards a request to the local S3-compatible endpoint with only the request id added. */
function objectStore(env: Env, target: RouterTarget, request: Request, id: string): Promise<Response> {
  const headers = new Headers(request.headers);
  for (const name of [...headers.keys()]) if (name.startsWith('x-bb-')) headers.delete(name);
  headers.set(internalHeaders.requestId, id);
  return env[target].fetch(new Request(request, { headers }));
}

function htmlPage(status: number, title: string, text: string): Response {
  const escape = (value: string) => value.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head><body><h1>${escape(title)}</h1><p>${escape(text)}</p></body></html>`;
  return new Response(body, { status, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' } });
}

/**
 * The bearer token: `Authorization: Bearer …`, or for a WebSocket upgrade without that header the
 * `?token=` query parameter (browsers cannot set headers on a WebSocket, API.md §9).
 */
function bearerOf(request: Request, url?: URL): string | null {
  const header = request.headers.get('authorization');
  if (!header) return url && isWebSocketUpgrade(request) ? url.searchParams.get('token') || null : null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}

/** Service keys see only their account's apps (and app-scoped keys only their app); others get 404. */
function callerMaySeeApp(principal: Principal, app: AppGate): boolean {
  if (principal.kind !== 'service_key') return true;
  return principal.accountId === app.accountId && keyCoversApp(principal, app.id);
}

function appNotFound(appId: string | null): ApiError {
  return new ApiError('APP_NOT_FOUND', `App ${appId ?? ''} not found.`);
}

/** The RateLimiter objects where isolates reconcile their counts (`budget:{key}`). */
function budgetStore(env: Env): BudgetStore {
  return {
    add: (key, delta) => {
      // Only ever handed to waitUntil (budget.ts): never on the request path.
      traceOf(env)?.count('RATE_LIMITER.add', true);
      return env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(`budget:${key}`)).add(delta, budgetWindowMs / 1000);
    },
  };
}

/**
 * Counts the request against its principal's budget and the app's ceiling (API.md §1.5, decided in
 * this isolate — no Durable Object on the request path). Out: the `x-ratelimit-*` headers. Over
 * budget → 429 QUOTA_RATE_LIMIT with Retry-After.
 */
function takeBudget(env: Env, ctx: ExecutionContext, app: AppGate, principal: Principal, clientIp: string | null): Record<string, string> {
  const factor = Number(env.RATE_LIMIT_APP_CEILING_FACTOR ?? 10);
  const keys = budgetKeys(app.id, principal, clientIp, app.rateLimitPerMinute, Number.isFinite(factor) && factor >= 1 ? factor : 10);
  const decision = budget.take(keys, Date.now(), budgetStore(env), (work) => ctx.waitUntil(work));
  const headers = {
    'x-ratelimit-limit': String(decision.limit),
    'x-ratelimit-remaining': String(decision.remaining),
    'x-ratelimit-reset': String(decision.resetSeconds),
  };
  if (!decision.allowed) {
    const whose = decision.scope === 'app' ? `app ${app.id} (all callers together)` : `this caller on app ${app.id}`;
    throw new ApiError('QUOTA_RATE_LIMIT', `Rate limit of ${decision.limit} requests per minute exceeded for ${whose}.`, {
      details: { limit: decision.limit, window_seconds: budgetWindowMs / 1000, retry_after_seconds: decision.resetSeconds, scope: decision.scope },
      headers: { ...headers, 'retry-after': String(decision.resetSeconds) },
    });
  }
  return headers;
}

async function forward(
  env: Env,
  decision: Extract<RouteDecision, { kind: 'forward' }>,
  request: Request,
  id: string,
  principal: Principal,
  app: AppGate | null,
): Promise<Response> {
  const headers = new Headers(request.headers);
  for (const name of [...headers.keys()]) if (name.startsWith('x-bb-')) headers.delete(name);
  headers.set(internalHeaders.requestId, id);
  headers.set(internalHeaders.principal, encodedOnce(principal, encodePrincipal));
  headers.set(internalHeaders.clientIp, request.headers.get('cf-connecting-ip') ?? 'unknown');
  if (app) headers.set(internalHeaders.app, encodedOnce(app, encodeAppGate));
  // The query-string token has been resolved into the principal; it goes no further (logs, user code).
  const url = new URL(request.url);
  if (isWebSocketUpgrade(request) && url.searchParams.has('token')) {
    url.searchParams.delete('token');
    return env[decision.target].fetch(new Request(url, { method: request.method, headers }));
  }
  return env[decision.target].fetch(await onward(request, headers));
}

/** Internal header values by the gate object they encode (a reused gate answer is the same object). */
const encodedHeaders = new WeakMap<object, string>();

/**
 * `encode(value)`, computed once per object: a gate answer the router reuses (gate-reuse.ts) hands
 * every request the same principal and app objects, which nothing changes after `resolveGate`.
 */
function encodedOnce<T extends object>(value: T, encode: (value: T) => string): string {
  let encoded = encodedHeaders.get(value);
  if (encoded === undefined) {
    encoded = encode(value);
    encodedHeaders.set(value, encoded);
  }
  return encoded;
}

/** Bodies up to this many bytes (by Content-Length) are read before forwarding (see {@link onward}). */
const bufferedBodyBytes = 1024 * 1024;

/** True when `request` has a body of known length up to {@link bufferedBodyBytes} not read yet. */
function smallUnreadBody(request: Request): boolean {
  const length = Number(request.headers.get('content-length') ?? NaN);
  return request.body !== null && !request.bodyUsed && Number.isInteger(length) && length >= 0 && length <= bufferedBodyBytes;
}

/**
 * Reads to the end a small request body nothing read — the router answered on its own (404, 401, 429,
 * 503 APP_PAUSED, a validation error…) — for the reason {@link onward} gives: an unread body makes the
 * runtime close the client's keep-alive connection, and under `wrangler dev` the proxy loses the next
 * request sent on it (whoever sent it). A body that cannot be read any more is left alone.
 */
async function drainUnreadBody(request: Request): Promise<void> {
  if (!smallUnreadBody(request)) return;
  await request.arrayBuffer().catch(() => undefined);
}

/**
 * The request to send on: `request` with `headers` (and `url`). A body of known length up to
 * {@link bufferedBodyBytes} is read first, so the client's connection is always read to the end even
 * when the Worker behind ignores the body: an unread body makes the runtime close a keep-alive
 * connection, which under `wrangler dev` loses the next request on it (cloudflare/workers-sdk#14641;
 * measured: 10 of 3,000 POSTs to a function that does not read its body, 0 of 6,000 when it does).
 * Larger or unknown-length bodies stream through unchanged.
 */
async function onward(request: Request, headers: Headers, url: URL | string = request.url): Promise<Request> {
  const small = smallUnreadBody(request);
  const body = small ? await request.arrayBuffer() : request.body;
  // `duplex` is what Node's fetch (the in-process test harness) needs for a streamed body; workerd ignores it.
  return new Request(url, { method: request.method, headers, body, redirect: request.redirect, ...(small ? {} : { duplex: 'half' }) } as RequestInit);
}

async function health(env: Env, ready: boolean): Promise<Response> {
  if (!ready) return Response.json({ status: 'ok', service: 'butterbase', version });
  const ping = await env.CONTROL.ping();
  if (!ping.ok) {
    return Response.json({ status: 'unavailable', database: { ok: false, error: ping.error.message } }, { status: 503 });
  }
  return Response.json({ status: 'ready', database: { ok: true, latency_ms: ping.value.databaseMs } });
}

/** Adds request id, CORS and budget headers; WebSocket upgrades pass through untouched. */
function finish(
  response: Response,
  id: string,
  origin: string | null,
  cors: AppCors | null,
  extra: Record<string, string>,
): Response {
  if (response.webSocket) return response;
  const out = new Response(response.body, response);
  out.headers.set(internalHeaders.requestId, id);
  for (const [name, value] of Object.entries({ ...extra, ...corsHeaders(origin, cors?.origins ?? null, cors?.settings) })) out.headers.set(name, value);
  return out;
}
