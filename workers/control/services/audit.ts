/**
 * The audit log (API.md §2 GET /v1/{app_id}/audit-logs): who changed what, when, and whether it worked.
 */
import { and, count, desc, eq, sql, type SQL } from 'drizzle-orm';
import { writeAudit, type AuditEntry } from '../../shared/audit.ts';
import { auditLogRecord, auditLogs } from '../../shared/control-schema.ts';
import { auditLogQuery, type AuditLogQuery } from '../../shared/schemas/audit.ts';
import { controlDb } from '../db.ts';
import type { Env } from '../env.ts';

export { auditLogQuery, type AuditEntry, type AuditLogQuery };

/** Writes one entry to the control-plane audit log. Failures are logged, never surfaced. */
export function recordAudit(env: Env, entry: AuditEntry): Promise<void> {
  return writeAudit(controlDb(env), entry);
}

/**
 * Lists an app's audit entries newest first (API.md §2), with `total` and `nextOffset` (null on the
 * last page); page and count are read in one transaction, so they agree.
 * Out: `{ logs, total, limit, offset, nextOffset }`.
 */
export async function queryAuditLogs(env: Env, appId: string, query: AuditLogQuery) {
  const conditions: SQL[] = [eq(auditLogs.app_id, appId)];
  if (query.category) conditions.push(eq(auditLogs.category, query.category));
  if (query.event_type) conditions.push(eq(auditLogs.event_type, query.event_type));
  if (query.action) conditions.push(eq(auditLogs.action, query.action));
  if (query.resource_type) conditions.push(eq(auditLogs.resource_type, query.resource_type));
  if (query.resource_id) conditions.push(eq(auditLogs.resource_id, query.resource_id));
  const actorId = query.actor_id ?? query.user_id;
  if (actorId) conditions.push(eq(auditLogs.actor_id, actorId));
  // Compared in Postgres (microseconds, the session's time zone for dates without an offset), as sent.
  if (query.from) conditions.push(sql`${auditLogs.created_at} >= ${query.from}::timestamptz`);
  if (query.to) conditions.push(sql`${auditLogs.created_at} < ${query.to}::timestamptz`);
  const where = and(...conditions);
  const db = controlDb(env);
  const [rows, counts] = await db.batch([
    db.select().from(auditLogs).where(where).orderBy(desc(auditLogs.created_at), desc(auditLogs.id)).limit(query.limit).offset(query.offset),
    db.select({ total: count() }).from(auditLogs).where(where),
  ]);
  const total = counts[0]?.total ?? 0;
  const nextOffset = query.offset + query.limit < total ? query.offset + query.limit : null;
  return { logs: rows.map(auditLogRecord), total, limit: query.limit, offset: query.offset, nextOffset };
}
