/**
 * Audit entries for data writes made by MCP tools (DESIGN.md "every write an MCP tool makes is
 * auditable"). REST data writes are not audited (too voluminous), but a POST/PATCH/DELETE carrying
 * the MCP tool header (`x-butterbase-mcp-tool`) is recorded here, by the data route itself, against
 * the app the router's gate resolved — never an app id the MCP Worker names. Written through the
 * control Worker's `recordAudit` RPC.
 */
import type { AuditEntry } from '../shared/audit.ts';
import type { AppGate } from '../shared/contracts.ts';
import type { ApiError } from '../shared/errors.ts';
import { keyCoversApp, type Principal } from '../shared/principal.ts';
import type { AuditAction } from '../shared/schemas/enums.ts';
import type { RestResult } from './services/rest.ts';

/** The data write methods and how each is recorded. */
const writeEvents = {
  POST: { eventType: 'data.row_inserted', action: 'create' },
  PATCH: { eventType: 'data.rows_updated', action: 'update' },
  DELETE: { eventType: 'data.rows_deleted', action: 'delete' },
} as const satisfies Record<string, { eventType: string; action: AuditAction }>;

export type WriteMethod = keyof typeof writeEvents;

/** What the route knows about one finished data write. */
export interface DataWrite {
  method: WriteMethod;
  /** The `x-butterbase-mcp-tool` header (absent → not audited). */
  tool: string | undefined;
  principal: Principal;
  /** The router's gate for the app named by the path. */
  app: AppGate | null;
  table: string;
  /** The `{id}` path segment, if any. */
  id?: string;
  /** Role-simulation headers as sent. */
  asRole?: string | null;
  asUser?: string | null;
  /** The answer (on success) or the error (on failure). */
  result?: RestResult;
  error?: ApiError;
  ipAddress: string | null;
  userAgent: string | null;
  requestId: string;
}

/** How many rows an answer shows were written, and the id of a single one. */
function rowFacts(write: DataWrite): Record<string, unknown> {
  const body = write.result?.body;
  if (Array.isArray(body)) return { row_count: body.length };
  if (body && typeof body === 'object') {
    const { id, deleted } = body as { id?: unknown; deleted?: unknown };
    if (typeof deleted === 'number') return { row_count: deleted };
    if (id !== undefined) return { row_id: id };
  }
  return write.id !== undefined ? { row_id: write.id } : {};
}

/**
 * The audit entry of a data write, or null when it is not recorded: no MCP tool header, a caller
 * other than a service key, or a write that never reached one of the caller's apps (the app does not
 * exist or belongs to another account) — so an entry only ever lands in the log of an app the acting
 * key manages. Out: an {@link AuditEntry} (category `admin`, resource `table`), event types
 * `data.row_inserted` (POST), `data.rows_updated` (PATCH), `data.rows_deleted` (DELETE), event data
 * `{ tool, via: "mcp", row_id | row_count, as_role?, as_user?, error_code? }`.
 */
export function dataWriteAudit(write: DataWrite): AuditEntry | null {
  const { principal, app } = write;
  if (!write.tool || principal.kind !== 'service_key' || !app) return null;
  if (principal.accountId !== app.accountId || !keyCoversApp(principal, app.id)) return null;
  const { eventType, action } = writeEvents[write.method];
  const simulated = write.asRole || write.asUser ? { as_role: write.asRole ?? 'user', as_user: write.asUser ?? null } : {};
  return {
    appId: app.id,
    category: 'admin',
    eventType,
    action,
    resourceType: 'table',
    resourceId: write.table,
    actor: principal,
    eventData: {
      tool: write.tool,
      via: 'mcp',
      ...rowFacts(write),
      ...simulated,
      ...(write.error ? { error_code: write.error.code } : {}),
    },
    ipAddress: write.ipAddress,
    userAgent: write.userAgent,
    success: !write.error,
    errorMessage: write.error?.message ?? null,
    correlationId: write.requestId,
  };
}
