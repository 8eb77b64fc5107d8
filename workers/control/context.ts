/**
 * Per-request helpers for control routes: the calling key, the app it addresses, and auditing.
 */
import type { Context } from 'hono';
import type { ErrorCode } from '../shared/errors.ts';
import { toApiError } from '../shared/errors.ts';
import { clientIp, principalOf, requestId } from '../shared/http.ts';
import { requireServiceKey } from './authz.ts';
import type { Env } from './env.ts';
import { recordAudit, type AuditEntry } from './services/audit.ts';
import { loadOwnedApp, type AppContext, type AppRow } from './services/apps.ts';

export type ControlContext = Context<{ Bindings: Env }>;

/** The header an MCP client's tool name arrives in (informational, recorded in audit event data). */
export const mcpToolHeader = 'x-butterbase-mcp-tool';

/** Builds the AppContext for a request; requires a service key. */
export function appContext(c: ControlContext): AppContext {
  const caller = requireServiceKey(principalOf(c));
  return { env: c.env, ctx: c.executionCtx as ExecutionContext, caller, apiBase: c.env.PUBLIC_API_URL || new URL(c.req.url).origin };
}

/** Loads the app named by `:app` that the caller may manage. @throws ApiError APP_NOT_FOUND */
export async function ownedApp(c: ControlContext): Promise<{ context: AppContext; app: AppRow }> {
  const context = appContext(c);
  return { context, app: await loadOwnedApp(c.env, context.caller, c.req.param('app')!) };
}

/** What an audited change is. */
export type AuditTarget = Pick<AuditEntry, 'appId' | 'eventType' | 'action' | 'resourceType' | 'resourceId'> & { data?: Record<string, unknown> };

/**
 * Runs a change and writes its audit entry (success or failure, with the error code) afterwards,
 * without delaying the response. The MCP tool name, when present, goes into event_data.tool.
 * A change refused with APP_NOT_FOUND is recorded against no app: the app is not the caller's, and
 * its owner's log must not show (or be filled with) other accounts' attempts.
 */
export async function audited<T>(c: ControlContext, target: AuditTarget, work: () => Promise<T>): Promise<T> {
  const tool = c.req.header(mcpToolHeader);
  const base = {
    appId: target.appId,
    category: 'admin' as const,
    eventType: target.eventType,
    action: target.action,
    resourceType: target.resourceType,
    resourceId: target.resourceId,
    actor: principalOf(c),
    ipAddress: clientIp(c),
    userAgent: c.req.header('user-agent') ?? null,
    correlationId: requestId(c),
  };
  const eventData = { ...target.data, ...(tool ? { tool } : {}), via: tool ? 'mcp' : 'rest' };
  try {
    const result = await work();
    c.executionCtx.waitUntil(recordAudit(c.env, { ...base, eventData }));
    return result;
  } catch (error) {
    const apiError = toApiError(error);
    const code: ErrorCode = apiError.code;
    const appId = code === 'APP_NOT_FOUND' ? null : base.appId;
    c.executionCtx.waitUntil(recordAudit(c.env, { ...base, appId, eventData: { ...eventData, error_code: code }, success: false, errorMessage: apiError.message }));
    throw error;
  }
}
