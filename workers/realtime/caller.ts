/**
 * Who a realtime request comes from (API.md §9, §1.2), from the router's principal and app gate.
 */
import { requireServiceKey } from '../shared/owner.ts';
import type { Context } from 'hono';
import type { AppGate, DbCaller, DbSessionRpc, SqlStatement } from '../shared/contracts.ts';
import { ApiError } from '../shared/errors.ts';
import { appGateOf, clientIp, principalOf, requestId } from '../shared/http.ts';
import { keyCoversApp, type Principal } from '../shared/principal.ts';
import { unwrap } from '../shared/rpc.ts';
import type { Env } from './env.ts';
import type { ServiceExecute } from './services/config.ts';
import type { AuditEntry } from '../shared/audit.ts';

export type RealtimeContext = Context<{ Bindings: Env }>;

function requireApp(appId: string, app: AppGate | null): AppGate {
  if (!app || app.id !== appId) throw new ApiError('APP_NOT_FOUND', `App ${appId} not found.`);
  if (app.provisioningStatus !== 'ready' && app.provisioningStatus !== 'migrating') {
    throw new ApiError('APP_NOT_READY', `App ${appId} is ${app.provisioningStatus}; its database is not ready.`, { headers: { 'retry-after': '5' } });
  }
  return app;
}

/**
 * The role a socket runs as: service key of the app → service (every change), end-user token of
 * this app → user (RLS), none or the anon key → anon (refused when access_mode = authenticated).
 * @throws ApiError APP_NOT_FOUND, APP_NOT_READY, the router's credential code, AUTH_INVALID_END_USER_JWT
 *   (a token of another app), AUTH_REQUIRED (anon on an authenticated-only app).
 */
export function socketCaller(appId: string, principal: Principal, gate: AppGate | null): DbCaller {
  const app = requireApp(appId, gate);
  switch (principal.kind) {
    case 'invalid':
      throw new ApiError(principal.code, principal.message);
    case 'service_key':
      if (principal.accountId !== app.accountId || !keyCoversApp(principal, appId)) throw new ApiError('APP_NOT_FOUND', `App ${appId} not found.`);
      return { appId, role: 'service', userId: null };
    case 'end_user':
      if (principal.appId !== appId) throw new ApiError('AUTH_INVALID_END_USER_JWT', 'The access token was issued for a different app.');
      return { appId, role: 'user', userId: principal.userId };
    case 'anonymous':
      if (app.accessMode === 'authenticated') {
        throw new ApiError('AUTH_REQUIRED', 'This app requires authentication. Anonymous access is disabled.', {
          remediation: 'Sign the user in and connect with ?token=<access token>.',
        });
      }
      return { appId, role: 'anon', userId: null };
  }
}

/**
 * The owner of the app (config routes): a service key that covers it.
 * @throws ApiError AUTH_REQUIRED (none), the router's credential code, AUTH_INSUFFICIENT_PERMISSIONS
 *   (an end-user token), APP_NOT_FOUND, APP_NOT_READY.
 */
export function requireOwner(c: RealtimeContext): { appId: string; principal: Principal } {
  const appId = c.req.param('app')!;
  const principal = requireServiceKey(principalOf(c), {
    endUser: 'Only app owners can configure realtime; use a service key (bb_sk_…), not an end-user token.',
  });
  const app = requireApp(appId, appGateOf(c));
  if (principal.accountId !== app.accountId || !keyCoversApp(principal, appId)) throw new ApiError('APP_NOT_FOUND', `App ${appId} not found.`);
  return { appId, principal };
}

/** Statements in one transaction as the app's service role (a DbGateway session). */
export function serviceExecutor(env: Pick<Env, 'DB_GATEWAY'>, appId: string): ServiceExecute {
  return async (statements: SqlStatement[], options) => {
    const session: DbSessionRpc = env.DB_GATEWAY.session({ appId, role: 'service', userId: null });
    return unwrap(await session.execute(statements, { readOnly: options?.readOnly === true }));
  };
}

/** Runs a config change and records it in the audit log (success or failure) without delaying the answer. */
export async function audited<T>(
  c: RealtimeContext,
  target: Pick<AuditEntry, 'appId' | 'eventType' | 'action' | 'resourceType' | 'resourceId'> & { data?: Record<string, unknown> },
  work: () => Promise<T>,
): Promise<T> {
  const tool = c.req.header('x-butterbase-mcp-tool');
  const entry: AuditEntry = {
    ...target,
    category: 'admin',
    actor: principalOf(c),
    ipAddress: clientIp(c),
    userAgent: c.req.header('user-agent') ?? null,
    correlationId: requestId(c),
    eventData: { ...target.data, ...(tool ? { tool } : {}), via: tool ? 'mcp' : 'rest' },
  };
  const record = (extra: Partial<AuditEntry>) =>
    c.executionCtx.waitUntil(c.env.CONTROL.recordAudit({ ...entry, ...extra }).then(() => undefined, (error: unknown) => console.error(`[realtime] audit failed: ${String(error)}`)));
  try {
    const result = await work();
    record({});
    return result;
  } catch (error) {
    const apiError = error instanceof ApiError ? error : null;
    record({ success: false, errorMessage: apiError?.message ?? 'An unexpected error occurred.', eventData: { ...entry.eventData, error_code: apiError?.code ?? 'INTERNAL_ERROR' } });
    throw error;
  }
}
