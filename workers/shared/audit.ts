/**
 * The audit log writer (API.md §2 audit-logs): shared by every Worker that records changes
 * (control for admin actions and MCP data writes, auth for sign-ins). The table lives in the
 * control-plane database.
 *
 * An entry must land even when the request it records was an attack: every caller-supplied string
 * is made storable first (U+0000 written as the six characters `\u0000`, lone UTF-16 surrogates as
 * U+FFFD, long text cut with a marker), so Postgres never refuses an entry because of what the
 * caller sent.
 */
import { z } from 'zod';
import { auditLogs } from './control-schema.ts';
import type { ControlDb } from './control-db.ts';
import { toApiError } from './errors.ts';
import { principal, type Principal } from './principal.ts';
import { auditActions, auditCategories, type AuditAction, type AuditCategory } from './schemas/enums.ts';
import { appIdPattern } from './validation.ts';

/** One audit entry to write. */
export interface AuditEntry {
  appId: string | null;
  category: AuditCategory;
  eventType: string;
  action: AuditAction;
  resourceType?: string | null;
  resourceId?: string | null;
  actor: Principal | { kind: 'system' };
  eventData?: Record<string, unknown>;
  ipAddress?: string | null;
  userAgent?: string | null;
  success?: boolean;
  errorMessage?: string | null;
  correlationId?: string | null;
}

/**
 * An {@link AuditEntry} as it arrives over RPC (control's `recordAudit`), checked at that boundary.
 * Text is not checked for U+0000 here: the writer makes it storable, so such an entry still lands.
 */
export const auditEntry = z.object({
  appId: z.string().regex(appIdPattern).nullable(),
  category: z.enum(auditCategories),
  eventType: z.string().min(1).max(200),
  action: z.enum(auditActions),
  resourceType: z.string().nullish(),
  resourceId: z.string().nullish(),
  actor: z.union([principal, z.object({ kind: z.literal('system') })]),
  eventData: z.record(z.string(), z.unknown()).optional(),
  ipAddress: z.string().nullish(),
  userAgent: z.string().nullish(),
  success: z.boolean().optional(),
  errorMessage: z.string().nullish(),
  correlationId: z.string().nullish(),
});

/** Longest text kept per column / per string inside event_data (characters). */
const maxTextChars = 2_000;
/** Longest event_data kept, as JSON text (characters); beyond it a preview is stored. */
const maxEventDataChars = 32_000;
/** Deepest nesting kept inside event_data. */
const maxDepth = 16;

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Text Postgres will store as `text` and inside `jsonb`: U+0000 becomes the visible escape `\u0000`,
 * lone surrogates become U+FFFD, and anything beyond `maxChars` is cut with `…[truncated]`.
 */
export function storableText(value: string, maxChars = maxTextChars): string {
  const clean = value.replaceAll('\u0000', '\\u0000').replace(loneSurrogate, '\uFFFD');
  return clean.length > maxChars ? `${clean.slice(0, maxChars)}…[truncated]` : clean;
}

function storableOptional(value: string | null | undefined, maxChars = maxTextChars): string | null {
  return value === null || value === undefined ? null : storableText(value, maxChars);
}

/** A JSON value with every string and key made storable; values JSON cannot hold are dropped. */
function storableValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return storableText(value);
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'boolean' || value === null) return value;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (depth >= maxDepth) return '[nested too deeply]';
  if (Array.isArray(value)) return value.map((item) => storableValue(item, depth + 1) ?? null);
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      const stored = storableValue(child, depth + 1);
      if (stored !== undefined) out[storableText(key, 200)] = stored;
    }
    return out;
  }
  return undefined;
}

/** `event_data` as stored: storable, and at most {@link maxEventDataChars} of JSON. */
export function storableEventData(data: Record<string, unknown> | undefined): Record<string, unknown> {
  const value = (storableValue(data ?? {}, 0) ?? {}) as Record<string, unknown>;
  const text = JSON.stringify(value);
  if (text.length <= maxEventDataChars) return value;
  return { truncated: true, preview: storableText(text, 4_000) };
}

function actorOf(actor: AuditEntry['actor']): { type: string; id: string | null } {
  switch (actor.kind) {
    case 'service_key':
      return { type: 'service_key', id: actor.keyId };
    case 'end_user':
      return { type: 'end_user', id: actor.userId };
    case 'system':
      return { type: 'system', id: null };
    default:
      return { type: 'anonymous', id: null };
  }
}

/**
 * Writes one entry to `audit_logs`. Caller-supplied text is made storable first, so the only way an
 * entry is lost is the control-plane database being down; that failure is logged, never thrown.
 */
export async function writeAudit(db: ControlDb, entry: AuditEntry): Promise<void> {
  const actor = actorOf(entry.actor);
  try {
    await db.insert(auditLogs).values({
      app_id: storableOptional(entry.appId, 100),
      category: entry.category,
      event_type: storableText(entry.eventType, 200),
      action: entry.action,
      resource_type: storableOptional(entry.resourceType, 200),
      resource_id: storableOptional(entry.resourceId, 500),
      actor_type: actor.type,
      actor_id: storableOptional(actor.id, 200),
      event_data: storableEventData(entry.eventData),
      ip_address: storableOptional(entry.ipAddress, 100),
      user_agent: storableOptional(entry.userAgent, 500),
      success: entry.success ?? true,
      error_message: storableOptional(entry.errorMessage),
      correlation_id: storableOptional(entry.correlationId, 200),
    });
  } catch (error) {
    const apiError = toApiError(error);
    console.error(`[audit] write failed for ${storableText(entry.eventType, 200)} (request ${entry.correlationId ?? 'unknown'}): ${apiError.code} ${apiError.internal ?? apiError.message}`);
  }
}
