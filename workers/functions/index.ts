/**
 * The functions Worker (DESIGN.md "User code", API.md §8): deploy/manage routes, invocation at
 * /v1/{app_id}/fn/{name}, and the entrypoints user code reaches — `FunctionHost` (ctx.db,
 * ctx.idempotency, ctx.invoke, ctx.invokeDO, fixed per invocation by props; Worker Loader), `FunctionSession` (the
 * same, fixed by a signed session token; Workers for Platforms) and `Outbound` (the egress policy of
 * loaded code; in production the functions-outbound Worker applies the same policy).
 */
import { WorkerEntrypoint } from 'cloudflare:workers';
import { maxDurableObjectBodyBytes } from '../shared/contracts.ts';
import type { AuthHookRequest, AuthHookRpc, StorageUploadEvent, UploadTriggerRpc, DbCaller, FunctionEventRequest, FunctionEventResult, FunctionEventRpc, ScheduledRpc, SqlResult, TickInput } from '../shared/contracts.ts';
import { ApiError, type ApiErrorWire } from '../shared/errors.ts';
import { rpcResult, type RpcResult } from '../shared/rpc.ts';
import { functionsApp } from './app.ts';
import type { Env } from './env.ts';
import { egressFetch } from '../shared/egress.ts';
import { invoke, type FunctionsContext, type HostProps, type OutboundProps } from './services/invoke.ts';
import { findLiveFunction, functionNotFound } from './services/records.ts';
import { verifySession } from '../shared/function-session.ts';
import { purgeExpired, runAuthHook, runCron, runEvent, runUploadTriggers } from './services/triggers.ts';

export default class FunctionsWorker extends WorkerEntrypoint<Env> implements ScheduledRpc, FunctionEventRpc, AuthHookRpc, UploadTriggerRpc {
  override fetch(request: Request): Promise<Response> {
    return Promise.resolve(functionsApp.fetch(request, this.env, this.ctx));
  }

  /**
   * See {@link ScheduledRpc.tick}: runs the cron functions due in the tick's minute (each once across
   * ticks) and purges expired webhook keys and old cron claims. Out: `{ cron: {due, ran, failed}, purged }`.
   */
  tick(input: TickInput): Promise<RpcResult<Record<string, unknown>>> {
    return rpcResult(async () => {
      const now = Number.isFinite(input?.scheduledTimeMs) ? input.scheduledTimeMs : Date.now();
      const [cron, purged] = await Promise.all([runCron(this.env, this.ctx as unknown as FunctionsContext, now), purgeExpired(this.env, Date.now())]);
      return { cron, purged };
    });
  }

  /** See {@link FunctionEventRpc.invokeEvent}: the realtime Worker's `event` messages (API.md §9). */
  invokeEvent(input: FunctionEventRequest): Promise<RpcResult<FunctionEventResult>> {
    return rpcResult(() => runEvent(this.env, this.ctx as unknown as FunctionsContext, input));
  }

  /** See {@link AuthHookRpc.runAuthHook}: the auth Worker's post-auth hook (API.md §6). */
  runAuthHook(input: AuthHookRequest): Promise<RpcResult<{ ran: boolean; status: number | null }>> {
    return rpcResult(() => runAuthHook(this.env, this.ctx as unknown as FunctionsContext, input));
  }

  /** See {@link UploadTriggerRpc.runUploadTriggers}: the storage Worker's upload-completed events. */
  runUploadTriggers(event: StorageUploadEvent): Promise<RpcResult<{ ran: number }>> {
    return rpcResult(() => runUploadTriggers(this.env, this.ctx as unknown as FunctionsContext, event));
  }
}

/** An error as user code receives it from a capability: code, message, remediation, details (never Postgres internals). */
function userError<T>(result: RpcResult<T>): RpcResult<T> {
  if (result.ok) return result;
  const { code, message, remediation, details } = result.error;
  return { ok: false, error: { code, message, remediation, details } satisfies ApiErrorWire };
}

/** The most nested ctx.invoke / ctx.invokeDO chain allowed (API.md §8.3: depth > 4 throws; the two share it). */
const maxInvokeDepth = 4;

/** ctx.invokeDO's options (API.md §8.3 `opts`): method (POST), a path after `/_do/{name}/{instance}`, headers. */
export interface InvokeDoOptions {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
}

function tooDeep(what: string): ApiError {
  return new ApiError('STATE_INVALID_TRANSITION', `${what} nested deeper than ${maxInvokeDepth} calls (ctx.invoke and ctx.invokeDO share the limit).`, {
    remediation: 'Flatten the chain of functions calling each other.',
    details: { max_depth: maxInvokeDepth },
  });
}

/**
 * The ctx capabilities of one invocation, fixed to `host` (app, role, user, depth, request): the
 * methods behind ctx.db, ctx.idempotency, ctx.invoke and ctx.invokeDO, shared by {@link FunctionHost} (Worker
 * Loader, props) and {@link FunctionSession} (Workers for Platforms, signed token).
 */
class Capabilities {
  constructor(private readonly env: Env, private readonly ctx: FunctionsContext, private readonly host: HostProps) {}

  async query(sql: string, params: unknown[], as: { role: 'user'; userId: string } | { role: 'anon' } | null): Promise<SqlResult> {
    let caller: DbCaller = { appId: this.host.appId, role: this.host.role, userId: this.host.userId };
    if (as?.role === 'anon') caller = { appId: this.host.appId, role: 'anon', userId: null };
    else if (as?.role === 'user') {
      if (typeof as.userId !== 'string' || as.userId === '') throw new ApiError('VALIDATION_INVALID_TYPE', 'ctx.db.asUser needs a user id.');
      caller = { appId: this.host.appId, role: 'user', userId: as.userId };
    }
    const results = await this.env.DB_GATEWAY.userSession(caller).execute([{ query: String(sql), params: Array.isArray(params) ? params : [] }]);
    if (!results.ok) throw ApiError.fromWire(results.error);
    const [first] = results.value;
    return first ?? { rows: [], rowCount: 0, fields: [] };
  }

  async claim(key: string, options: { scope?: string; ttlSeconds?: number }): Promise<boolean> {
    const scope = options?.scope ?? 'default';
    const ttl = options?.ttlSeconds;
    if (typeof key !== 'string' || key.length === 0 || key.length > 255 || typeof scope !== 'string' || scope.length > 255) {
      throw new ApiError('VALIDATION_INVALID_SCHEMA', 'ctx.idempotency.claim needs a key of 1–255 characters (and a scope of at most 255).');
    }
    if (ttl !== undefined && (!Number.isInteger(ttl) || ttl <= 0)) throw new ApiError('VALIDATION_INVALID_SCHEMA', 'ttlSeconds must be a positive integer.');
    const results = await this.env.DB_GATEWAY.session({ appId: this.host.appId, role: 'service' }).execute([{
      query: `WITH claimed AS (
          INSERT INTO functions._idempotency_keys (scope, key, expires_at)
          VALUES ($1, $2, CASE WHEN $3::int IS NULL THEN NULL ELSE now() + make_interval(secs => $3::int) END)
          ON CONFLICT (scope, key) DO UPDATE SET expires_at = EXCLUDED.expires_at, created_at = now()
            WHERE functions._idempotency_keys.expires_at IS NOT NULL AND functions._idempotency_keys.expires_at < now()
          RETURNING 1)
        SELECT count(*)::int AS claimed FROM claimed`,
      params: [scope, key, ttl ?? null],
    }]);
    if (!results.ok) throw ApiError.fromWire(results.error);
    return Number(results.value[0]?.rows[0]?.claimed ?? 0) > 0;
  }

  async invoke(name: string, body: string | null, options: { method?: string }): Promise<Response> {
    const depth = this.host.depth + 1;
    if (depth > maxInvokeDepth) throw tooDeep('ctx.invoke');
    const found = await findLiveFunction(this.env, this.host.appId, String(name));
    if (!found) throw functionNotFound(String(name));
    const { fn, app } = found;
    const method = (options?.method ?? 'POST').toUpperCase();
    const url = new URL(`/v1/${this.host.appId}/fn/${fn.name}`, this.env.PUBLIC_API_URL);
    const request = new Request(url, {
      method,
      headers: body === null ? {} : { 'content-type': 'application/json' },
      body: method === 'GET' || method === 'HEAD' ? null : body,
    });
    return invoke(this.env, this.ctx, {
      appId: this.host.appId,
      fn,
      request,
      trigger: 'http',
      caller: { type: 'loopback', keyId: null, scope: null, userId: this.host.userId },
      userId: this.host.userId,
      requestId: this.host.requestId,
      ip: null,
      depth,
      app,
    });
  }

  async invokeDO(name: string, instance: string, body: string | null, options: InvokeDoOptions): Promise<Response> {
    const depth = this.host.depth + 1;
    if (depth > maxInvokeDepth) throw tooDeep('ctx.invokeDO');
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body).byteLength : 0;
    if (bytes > maxDurableObjectBodyBytes) {
      throw new ApiError('VALIDATION_INVALID_SCHEMA', `The ctx.invokeDO body is ${bytes} bytes; at most ${maxDurableObjectBodyBytes} are allowed.`, {
        remediation: 'Send at most 1 MiB of JSON; put larger data in storage (or the database) and pass its key.',
        details: { field: 'body', bytes, max_bytes: maxDurableObjectBodyBytes },
      });
    }
    const headers: Record<string, string> = {};
    if (options?.headers !== undefined) {
      if (typeof options.headers !== 'object' || options.headers === null || Array.isArray(options.headers)) {
        throw new ApiError('VALIDATION_INVALID_TYPE', 'ctx.invokeDO options.headers must be an object of header names to strings.');
      }
      for (const [key, value] of Object.entries(options.headers)) headers[key] = String(value);
    }
    const result = await this.env.DURABLE_OBJECTS.invoke({
      appId: this.host.appId,
      name: String(name),
      instance: String(instance ?? ''),
      method: String(options?.method ?? 'POST'),
      path: String(options?.path ?? ''),
      headers,
      body,
      userId: this.host.userId,
      caller: this.host.caller ?? `fn:${this.host.functionName}`,
      depth,
    });
    if (!result.ok) throw ApiError.fromWire(result.error);
    return result.value;
  }
}

/**
 * The capability behind one invocation's ctx in the Worker Loader (loaded code holds a stub of it in
 * its props). Its props ({@link HostProps}) are set by this Worker when it starts the invocation;
 * user code can call its methods but never change app, role or user.
 */
export class FunctionHost extends WorkerEntrypoint<Env, HostProps> {
  private get capabilities(): Capabilities {
    return new Capabilities(this.env, this.ctx as unknown as FunctionsContext, this.ctx.props);
  }

  /**
   * ctx.db.query (API.md §8.3): one statement in one transaction through DbGateway's user session
   * (the SQL guard applies). `as` (from ctx.db.asUser / asAnon) switches to role user (with that id)
   * or anon; nothing can reach service from a user context or owner from anywhere.
   * Out: `{ rows, rowCount, fields }`; errors as §1.4 codes (VALIDATION_SQL_REFUSED, AUTH_RLS_*, …).
   */
  async query(sql: string, params: unknown[], as: { role: 'user'; userId: string } | { role: 'anon' } | null): Promise<RpcResult<SqlResult>> {
    return userError(await rpcResult(() => this.capabilities.query(sql, params, as)));
  }

  /**
   * ctx.idempotency.claim(key, {scope = "default", ttlSeconds?}) (API.md §8.3): true the first time
   * (or after the earlier claim expired), false after. Row in the app database's
   * `functions._idempotency_keys`. @throws (as RpcResult) VALIDATION_INVALID_SCHEMA for a key over 255 chars
   */
  async claim(key: string, options: { scope?: string; ttlSeconds?: number }): Promise<RpcResult<boolean>> {
    return userError(await rpcResult(() => this.capabilities.claim(key, options)));
  }

  /**
   * ctx.invoke(name, body?, {method?}) (API.md §8.3): runs another function of the same app as
   * `loopback`, the user propagating; depth > 4 is refused. Out: the callee's Response.
   * @throws (as RpcResult) RESOURCE_NOT_FOUND, STATE_INVALID_TRANSITION (too deep), FUNCTION_TIMEOUT
   */
  async invoke(name: string, body: string | null, options: { method?: string }): Promise<RpcResult<Response>> {
    return userError(await rpcResult(() => this.capabilities.invoke(name, body, options)));
  }

  /**
   * ctx.invokeDO(class, instanceKey, body?, {method?, path?, headers?}) (API.md §8.3): one request to
   * instance `instance` of the app's Durable Object class `name` (its kebab-case URL name), through the
   * hosting Worker with the `/_do` edge's lookup and usage counting — only this app's classes, access
   * modes not applied (it is the app's own code). Counts one level of the depth shared with ctx.invoke.
   * The class sees `x-butterbase-caller: fn:<name>`, `x-butterbase-loop-depth` and the user's
   * `x-butterbase-user-id`. `body` is JSON text (≤ 1 MiB) or null. Out: the class's Response.
   * @throws (as RpcResult) RESOURCE_NOT_FOUND (no such class in this app), STATE_PREREQUISITE_MISSING
   *   (class not READY: no deploy constructed), STATE_INVALID_TRANSITION (too deep),
   *   VALIDATION_INVALID_SCHEMA (body over 1 MiB, bad instance key / method / path / headers)
   */
  async invokeDO(name: string, instance: string, body: string | null, options: InvokeDoOptions): Promise<RpcResult<Response>> {
    return userError(await rpcResult(() => this.capabilities.invokeDO(name, instance, body, options)));
  }
}

/**
 * The same capabilities for user code running in a Workers for Platforms dispatch namespace, where
 * props cannot be set per call: each uploaded script has one service binding to this entrypoint
 * (`BUTTERBASE_HOST`), and every method takes the invocation's session token first
 * (services/session.ts). The token is verified (HMAC under a key derived from the platform master key,
 * not expired) before anything runs, and its claims — never the caller's arguments — fix app, role,
 * user and depth. @throws (as RpcResult) AUTH_INVALID_TOKEN for a missing, forged, tampered or expired token
 */
export class FunctionSession extends WorkerEntrypoint<Env> {
  private async capabilities(token: unknown): Promise<Capabilities> {
    const { expMs: _expMs, ...host } = await verifySession(token, this.env.PLATFORM_MASTER_KEY);
    return new Capabilities(this.env, this.ctx as unknown as FunctionsContext, host);
  }

  /** See {@link FunctionHost.query}; the token comes first. */
  async query(token: string, sql: string, params: unknown[], as: { role: 'user'; userId: string } | { role: 'anon' } | null): Promise<RpcResult<SqlResult>> {
    return userError(await rpcResult(async () => (await this.capabilities(token)).query(sql, params, as)));
  }

  /** See {@link FunctionHost.claim}; the token comes first. */
  async claim(token: string, key: string, options: { scope?: string; ttlSeconds?: number }): Promise<RpcResult<boolean>> {
    return userError(await rpcResult(async () => (await this.capabilities(token)).claim(key, options)));
  }

  /** See {@link FunctionHost.invoke}; the token comes first. */
  async invoke(token: string, name: string, body: string | null, options: { method?: string }): Promise<RpcResult<Response>> {
    return userError(await rpcResult(async () => (await this.capabilities(token)).invoke(name, body, options)));
  }

  /** See {@link FunctionHost.invokeDO}; the token comes first. */
  async invokeDO(token: string, name: string, instance: string, body: string | null, options: InvokeDoOptions): Promise<RpcResult<Response>> {
    return userError(await rpcResult(async () => (await this.capabilities(token)).invokeDO(name, instance, body, options)));
  }
}

/**
 * The egress policy of user code (the loader's `globalOutbound`): the platform's public API goes to
 * the router internally; private, loopback, link-local and internal hosts are refused with 403; the
 * rest goes out. Each subrequest is logged with the app and function.
 */
export class Outbound extends WorkerEntrypoint<Env, OutboundProps> {
  override fetch(request: Request): Promise<Response> {
    return egressFetch(request, this.env, this.ctx.props);
  }
}

