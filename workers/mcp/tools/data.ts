/**
 * Tools `select_rows`, `insert_row`, `seed_database` (API.md §13 → §5: GET/POST /v1/{app}/{table}).
 * Data writes are not audited by the data Worker, so these tools record one audit entry per call.
 */
import { z } from 'zod';
import type { ErrorEnvelope } from '../../shared/errors.ts';
import { invalidCredentialCodes } from '../../shared/principal.ts';
import type { PlatformResponse } from '../platform.ts';
import { defineTool, errorResult, jsonResult, restError, restResult, type ToolContext } from '../tool.ts';
import { appId, asRole, asUser, segment, tableName } from './fields.ts';

/** The role-simulation headers of API.md §1.2, passed as given (the data API checks the combination). */
function roleHeaders(args: { as_role?: 'anon' | 'user'; as_user?: string }): Record<string, string> {
  const headers: Record<string, string> = {};
  if (args.as_role) headers['x-butterbase-as-role'] = args.as_role;
  if (args.as_user) headers['x-butterbase-as-user'] = args.as_user;
  return headers;
}

/** The §1.3 error object of a failed insert (kept whole so an agent can act on code and remediation). */
function errorOf(response: PlatformResponse): ErrorEnvelope['error'] {
  return restError(response).toEnvelope().error;
}

/** A failure caused by the row itself (bad value, constraint, policy), as opposed to one every row would hit. */
function rowSpecific(response: PlatformResponse): boolean {
  const code = errorOf(response).code;
  return (response.status === 400 || response.status === 409 || code === 'AUTH_RLS_POLICY_VIOLATION') && code !== 'VALIDATION_TABLE_NOT_FOUND';
}

/**
 * Answers that never reached one of the caller's apps: the app is not theirs, or the router refused the
 * key itself (e.g. revoked during the call), which it does before checking who owns the app.
 */
const unreached = new Set<string>(['APP_NOT_FOUND', ...invalidCredentialCodes]);

/** Audits a data write unless it never reached the caller's app (the entry would land on an app the caller may not own). */
async function auditWrite(context: ToolContext, entry: Parameters<ToolContext['audit']>[0], outcome: PlatformResponse): Promise<void> {
  if (!outcome.ok && unreached.has(errorOf(outcome).code)) return;
  await context.audit(entry);
}

export const selectRows = defineTool({
  name: 'select_rows',
  title: 'Read rows',
  description:
    'Read rows from a table through the REST data API (GET /v1/{app_id}/{table}). filters = {column: "op.value"} with op one of ' +
    'eq, neq, gt, gte, lt, lte, like, ilike, is (null|true|false), in ("(a,b)"), fts; e.g. {"published":"eq.true"}. ' +
    'Runs as the service role (bypasses RLS) unless as_role is given: use as_role "anon", or as_role "user" with as_user, to check what end users see.',
  input: z.object({
    app_id: appId,
    table: tableName,
    filters: z.record(z.string(), z.string()).optional().describe('Column filters, AND-ed: {"status":"eq.active","age":"gte.18"}.'),
    select: z.union([z.string(), z.array(z.string())]).optional().describe('Columns to return: "id,title" or ["id","title"] (default all).'),
    order: z.string().optional().describe('Sort: "created_at.desc" or "a.asc,b.desc".'),
    limit: z.number().int().min(1).optional().describe('At most this many rows.'),
    offset: z.number().int().min(0).optional().describe('Skip this many rows.'),
    as_role: asRole.optional(),
    as_user: asUser.optional(),
  }).strict(),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args, { platform }) {
    const headers = roleHeaders(args);
    const query: Record<string, string | number | undefined> = {
      select: Array.isArray(args.select) ? args.select.join(',') : args.select,
      order: args.order,
      limit: args.limit,
      offset: args.offset,
      ...args.filters,
    };
    return restResult(await platform.call({ method: 'GET', path: `/v1/${segment(args.app_id)}/${segment(args.table)}`, query, headers, tool: 'select_rows' }));
  },
});

export const insertRow = defineTool({
  name: 'insert_row',
  title: 'Insert a row',
  description:
    'Insert one row (POST /v1/{app_id}/{table}); returns the inserted row. Keys that are not columns are ignored. ' +
    'As the service role by default; with as_role "user" + as_user the insert runs as that end user (RLS applies and a user-isolation column is filled automatically).',
  input: z.object({
    app_id: appId,
    table: tableName,
    data: z.record(z.string(), z.unknown()).describe('The row: {column: value}.'),
    as_role: asRole.optional(),
    as_user: asUser.optional(),
  }).strict(),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async run(args, context) {
    const headers = roleHeaders(args);
    const response = await context.platform.call({ method: 'POST', path: `/v1/${segment(args.app_id)}/${segment(args.table)}`, body: args.data, headers, tool: 'insert_row' });
    const row = response.ok ? (response.json as Record<string, unknown> | undefined) : undefined;
    await auditWrite(context, {
      appId: args.app_id,
      eventType: 'data.row_inserted',
      action: 'create',
      resourceType: 'table',
      resourceId: args.table,
      success: response.ok,
      errorMessage: response.ok ? null : errorOf(response).message,
      eventData: {
        tool: 'insert_row',
        via: 'mcp',
        ...(row && row.id !== undefined ? { row_id: row.id } : {}),
        ...(args.as_role || args.as_user ? { as_role: args.as_role ?? 'user', as_user: args.as_user ?? null } : {}),
        ...(response.ok ? {} : { error_code: errorOf(response).code }),
      },
    }, response);
    return restResult(response);
  },
});

export const seedDatabase = defineTool({
  name: 'seed_database',
  title: 'Insert many rows',
  description:
    'Insert 1–100 rows into one table, one POST per row in order, as the service role. Returns {inserted, failed, errors: [{row_index, error}], rows}; ' +
    'a bad row does not stop the others. Stops early only on a failure every row would hit (unknown table, rate limit, paused app).',
  input: z.object({
    app_id: appId,
    table: tableName,
    rows: z.array(z.record(z.string(), z.unknown())).min(1).max(100).describe('The rows: [{column: value}, …].'),
  }).strict(),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async run(args, context) {
    const path = `/v1/${segment(args.app_id)}/${segment(args.table)}`;
    const rows: unknown[] = [];
    const errors: { row_index: number; error: ErrorEnvelope['error'] }[] = [];
    let last: PlatformResponse | undefined;
    let stoppedAt: number | null = null;
    for (const [index, row] of args.rows.entries()) {
      last = await context.platform.call({ method: 'POST', path, body: row, tool: 'seed_database' });
      if (last.ok) {
        rows.push(last.json);
        continue;
      }
      errors.push({ row_index: index, error: errorOf(last) });
      if (!rowSpecific(last)) {
        stoppedAt = index;
        break;
      }
    }
    await auditWrite(context, {
      appId: args.app_id,
      eventType: 'data.rows_seeded',
      action: 'create',
      resourceType: 'table',
      resourceId: args.table,
      success: errors.length === 0,
      errorMessage: errors[0]?.error.message ?? null,
      eventData: {
        tool: 'seed_database',
        via: 'mcp',
        inserted: rows.length,
        failed: errors.length,
        ...(errors.length > 0 ? { error_codes: [...new Set(errors.map((e) => e.error.code))] } : {}),
      },
    }, last!);
    if (rows.length === 0 && stoppedAt !== null) return errorResult(restError(last!));
    const summary = jsonResult({
      inserted: rows.length,
      failed: errors.length,
      errors,
      rows,
      ...(stoppedAt !== null ? { stopped_at_row: stoppedAt, not_attempted: args.rows.length - stoppedAt - 1 } : {}),
    });
    return rows.length === 0 ? { ...summary, isError: true } : summary;
  },
});
