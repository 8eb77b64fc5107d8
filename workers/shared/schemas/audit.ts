/**
 * The audit-log query (API.md §2 GET /v1/{app_id}/audit-logs), shared by the REST route and the MCP
 * tool `query_audit_logs` (which adds `app_id` and takes numbers instead of query-string text).
 */
import { z } from 'zod';
import { auditActions, auditCategories } from './enums.ts';

const isoDateTime = z.iso.datetime({ offset: true, local: true });
const isoDay = z.iso.date();

/**
 * True for the ISO-8601 dates and date-times Postgres `timestamptz` accepts as well: JavaScript's
 * Date.parse also takes "1" or "2024", and zod's ISO formats take year 0000 and offsets up to ±23:59,
 * all of which Postgres refuses (SQLSTATE 22007 / 22008).
 */
function postgresIsoDate(value: string): boolean {
  if (!isoDateTime.safeParse(value).success && !isoDay.safeParse(value).success) return false;
  if (value.startsWith('0000')) return false;
  const offsetHours = /[+-](\d{2}):?\d{2}$/.exec(value.slice(10))?.[1];
  return offsetHours === undefined || Number(offsetHours) <= 14;
}

/** An ISO-8601 date or date-time (`2024-05-01`, `2024-05-01T12:00:00Z`), years 0001–9999. */
export const isoDate = z.string().max(40).refine(postgresIsoDate, 'must be an ISO-8601 date or date-time (years 0001–9999), e.g. 2024-05-01 or 2024-05-01T12:00:00Z');

/** The filters of an audit-log query. `user_id` is an alias of `actor_id`; `to` is exclusive. */
export const auditLogFilters = z.object({
  category: z.enum(auditCategories).optional(),
  event_type: z.string().max(100).optional(),
  action: z.enum(auditActions).optional(),
  resource_type: z.string().max(100).optional(),
  resource_id: z.string().max(200).optional(),
  actor_id: z.string().max(200).optional(),
  user_id: z.string().max(200).optional(),
  from: isoDate.optional(),
  to: isoDate.optional(),
});

/** Page size of an audit-log query (API.md §1.5: default 100, at most 500). */
export const auditLogLimit = z.number().int().min(1).max(500);
/** Entries skipped before the page (use `nextOffset`). */
export const auditLogOffset = z.number().int().min(0);

/** Query of GET /v1/{app_id}/audit-logs: the filters plus the page, numbers given as query-string text. */
export const auditLogQuery = auditLogFilters.extend({
  limit: z.coerce.number().pipe(auditLogLimit).default(100),
  offset: z.coerce.number().pipe(auditLogOffset).default(0),
}).strict();
export type AuditLogQuery = z.infer<typeof auditLogQuery>;
