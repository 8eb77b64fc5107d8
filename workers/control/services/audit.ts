/**
 * The audit log (API.md §2 GET /v1/{app_id}/audit-logs): who changed what, when, and whether it worked.
 */
import { z } from 'zod';
import { writeAudit, type AuditEntry } from '../../shared/audit.ts';
import { controlSql } from '../db.ts';
import type { Env } from '../env.ts';

export type { AuditEntry };

/** Writes one entry to the control-plane audit log. Failures are logged, never surfaced. */
export function recordAudit(env: Env, entry: AuditEntry): Promise<void> {
  return writeAudit(controlSql(env), entry);
}


// ISO-8601 only: Date.parse also takes "1" or "2024", which Postgres refuses (a 500) or reads differently.
const isoDateTime = z.iso.datetime({ offset: true, local: true });
const isoDay = z.iso.date();
const isoDate = z.string().refine(
  (v) => isoDateTime.safeParse(v).success || isoDay.safeParse(v).success,
  'must be an ISO-8601 date or date-time, e.g. 2024-05-01 or 2024-05-01T12:00:00Z',
);

/** Query of GET /v1/{app_id}/audit-logs (API.md §2). `user_id` is an alias of `actor_id`. */
export const auditLogQuery = z.object({
  category: z.enum(['auth', 'admin', 'function']).optional(),
  event_type: z.string().max(100).optional(),
  action: z.enum(['create', 'update', 'delete', 'invoke', 'enable', 'disable', 'login', 'logout', 'read']).optional(),
  resource_type: z.string().max(100).optional(),
  resource_id: z.string().max(200).optional(),
  actor_id: z.string().max(200).optional(),
  user_id: z.string().max(200).optional(),
  from: isoDate.optional(),
  to: isoDate.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
}).strict();
export type AuditLogQuery = z.infer<typeof auditLogQuery>;

/** Lists an app's audit entries newest first, with `total` and `nextOffset` (null on the last page). */
export async function queryAuditLogs(env: Env, appId: string, query: AuditLogQuery) {
  const conditions = ['app_id = $1'];
  const params: unknown[] = [appId];
  const add = (sqlText: string, value: unknown) => {
    params.push(value);
    conditions.push(sqlText.replace('?', `$${params.length}`));
  };
  if (query.category) add('category = ?', query.category);
  if (query.event_type) add('event_type = ?', query.event_type);
  if (query.action) add('action = ?', query.action);
  if (query.resource_type) add('resource_type = ?', query.resource_type);
  if (query.resource_id) add('resource_id = ?', query.resource_id);
  const actorId = query.actor_id ?? query.user_id;
  if (actorId) add('actor_id = ?', actorId);
  if (query.from) add('created_at >= ?', query.from);
  if (query.to) add('created_at < ?', query.to);
  const where = conditions.join(' AND ');
  const sql = controlSql(env);
  const [logs, counts] = await sql.transaction([
    sql.query(
      `SELECT id, app_id, category, event_type, action, resource_type, resource_id, actor_type, actor_id, event_data,
              ip_address, user_agent, success, error_message, correlation_id, created_at
         FROM audit_logs WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT ${query.limit} OFFSET ${query.offset}`,
      params,
    ),
    sql.query(`SELECT count(*)::int AS total FROM audit_logs WHERE ${where}`, params),
  ]);
  const total = Number((counts as { total: number }[])[0]?.total ?? 0);
  const nextOffset = query.offset + query.limit < total ? query.offset + query.limit : null;
  return { logs, total, limit: query.limit, offset: query.offset, nextOffset };
}
