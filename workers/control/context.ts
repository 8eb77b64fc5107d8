/**
 * Per-request helpers for control routes: the calling key, the app it addresses, the request body,
 * and auditing.
 */
import type { Context } from 'hono';
import type { z } from 'zod';
import { storableText } from '../shared/audit.ts';
import { toApiError } from '../shared/errors.ts';
import { clientIp, principalOf, requestId } from '../shared/http.ts';
import { clientHeaders } from '../shared/principal.ts';
import { parseJsonText, parseWith } from '../shared/validation.ts';
import { requireServiceKey } from './authz.ts';
import type { Env } from './env.ts';
import { recordAudit, type AuditEntry } from './services/audit.ts';
import { loadOwnedApp, type AppContext, type AppRow } from './services/apps.ts';

export type ControlContext = Context<{ Bindings: Env }>;

/** The header an MCP client's tool name arrives in (informational, recorded in audit event data). */
export const mcpToolHeader = clientHeaders.mcpTool;

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

/**
 * Reads and validates the JSON body. The text is kept by Hono (`c.req.text()` caches it), so the
 * audit entry of a refused change can still show what was sent.
 * @throws ApiError VALIDATION_* (see parseJsonText and parseWith)
 */
export async function jsonBody<S extends z.ZodType>(c: ControlContext, schema: S): Promise<z.output<S>> {
  return parseWith(schema, parseJsonText(await c.req.text()), 'body');
}

/** What an audited change is. The work may fill in what it learns from the body (`resourceId`, `data`, `appId`). */
export type AuditTarget = Pick<AuditEntry, 'appId' | 'eventType' | 'action' | 'resourceType' | 'resourceId'> & { data?: Record<string, unknown> };

/** Options of {@link audited}. */
export interface AuditOptions {
  /**
   * What a refused request's body contributes to its entry when the work never described it (the body
   * did not validate). Default: the body text, made storable and cut at 2 000 characters. Routes whose
   * bodies hold secrets pass a function that keeps only harmless facts (e.g. the env var names).
   */
  refusedBody?: (text: string) => Record<string, unknown>;
}

/** Most of a refused body's text kept in its audit entry (characters). */
const refusedBodyChars = 2_000;

function defaultRefusedBody(text: string): Record<string, unknown> {
  return text.trim() === '' ? {} : { request_body: storableText(text, refusedBodyChars) };
}

/**
 * Runs a change and writes its audit entry (success or failure, with the error code) afterwards,
 * without delaying the response. The work gets the target and may complete it once the body is
 * parsed; a change refused before that (bad body, e.g. text holding U+0000) is still recorded, with
 * what was sent ({@link AuditOptions.refusedBody}), so no attempt vanishes from the log. The MCP tool
 * name, when present, goes into event_data.tool. A change refused with APP_NOT_FOUND is recorded
 * against no app: the app is not the caller's, and its owner's log must not show (or be filled with)
 * other accounts' attempts.
 */
export async function audited<T>(c: ControlContext, target: AuditTarget, work: (target: AuditTarget) => Promise<T>, options: AuditOptions = {}): Promise<T> {
  try {
    const result = await work(target);
    c.executionCtx.waitUntil(recordAudit(c.env, { ...entryOf(c, target, true), eventData: { ...target.data, ...via(c) } }));
    return result;
  } catch (error) {
    await recordFailure(c, target, error, options);
    throw error;
  }
}

/**
 * Parses a request whose change is audited elsewhere (or not at all, e.g. a dry run): a parse that
 * fails is recorded as a refused `target` ({@link audited}'s failure entry); a parse that succeeds
 * records nothing.
 * @throws whatever `parse` throws
 */
export async function auditedParse<T>(c: ControlContext, target: AuditTarget, parse: () => Promise<T>, options: AuditOptions = {}): Promise<T> {
  try {
    return await parse();
  } catch (error) {
    await recordFailure(c, target, error, options);
    throw error;
  }
}

function via(c: ControlContext): Record<string, unknown> {
  const tool = c.req.header(mcpToolHeader);
  return { ...(tool ? { tool } : {}), via: tool ? 'mcp' : 'rest' };
}

function entryOf(c: ControlContext, target: AuditTarget, success: boolean): Omit<AuditEntry, 'eventData'> {
  return {
    appId: target.appId,
    category: 'admin',
    eventType: target.eventType,
    action: target.action,
    resourceType: target.resourceType,
    resourceId: target.resourceId,
    actor: principalOf(c),
    ipAddress: clientIp(c),
    userAgent: c.req.header('user-agent') ?? null,
    correlationId: requestId(c),
    success,
  };
}

async function recordFailure(c: ControlContext, target: AuditTarget, error: unknown, options: AuditOptions): Promise<void> {
  const apiError = toApiError(error);
  const described = target.data ?? (options.refusedBody ?? defaultRefusedBody)(await c.req.text().catch(() => ''));
  c.executionCtx.waitUntil(recordAudit(c.env, {
    ...entryOf(c, target, false),
    appId: apiError.code === 'APP_NOT_FOUND' ? null : target.appId,
    eventData: { ...described, ...via(c), error_code: apiError.code },
    errorMessage: apiError.message,
  }));
}
