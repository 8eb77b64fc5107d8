/**
 * The audit log writer (API.md §2 audit-logs): shared by every Worker that records changes
 * (control for admin actions, auth for sign-ins). The table lives in the control-plane database.
 */
import type { Sql } from './db.ts';
import type { Principal } from './principal.ts';

/** One audit entry to write. */
export interface AuditEntry {
  appId: string | null;
  category: 'auth' | 'admin' | 'function';
  eventType: string;
  action: 'create' | 'update' | 'delete' | 'invoke' | 'enable' | 'disable' | 'login' | 'logout' | 'read';
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

/** Writes one entry to `audit_logs` in the control-plane database. Failures are logged, never thrown. */
export async function writeAudit(sql: Sql, entry: AuditEntry): Promise<void> {
  const actor = actorOf(entry.actor);
  try {
    await sql.query(
      `INSERT INTO audit_logs (app_id, category, event_type, action, resource_type, resource_id, actor_type, actor_id,
         event_data, ip_address, user_agent, success, error_message, correlation_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
      [
        entry.appId, entry.category, entry.eventType, entry.action, entry.resourceType ?? null, entry.resourceId ?? null,
        actor.type, actor.id, JSON.stringify(entry.eventData ?? {}), entry.ipAddress ?? null, entry.userAgent ?? null,
        entry.success ?? true, entry.errorMessage ?? null, entry.correlationId ?? null,
      ],
    );
  } catch (error) {
    console.error(`[audit] write failed for ${entry.eventType}: ${String(error)}`);
  }
}

