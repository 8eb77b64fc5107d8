/**
 * Tools `select_rows`, `insert_row`, `seed_database` (API.md §13 → §5: GET/POST /v1/{app}/{table}).
 * The data route audits every write these tools make (it sees the x-butterbase-mcp-tool header and
 * takes the app from the router's gate), so the tools themselves only make the REST calls.
 */
import { z } from 'zod';
import type { ErrorCode, ErrorEnvelope } from '../../shared/errors.ts';
import { clientHeaders } from '../../shared/principal.ts';
import type { PlatformResponse } from '../platform.ts';
import { defineTool, errorResult, jsonResult, restError, restResult } from '../tool.ts';
import { appId, asRole, asUser, segment, tableName } from './fields.ts';

/** The role-simulation headers of API.md §1.2, passed as given (the data API checks the combination). */
function roleHeaders(args: { as_role?: 'anon' | 'user'; as_user?: string }): Record<string, string> {
  const headers: Record<string, string> = {};
  if (args.as_role) headers[clientHeaders.asRole] = args.as_role;
  if (args.as_user) headers[clientHeaders.asUser] = args.as_user;
  return headers;
}

/** The §1.3 error object of a failed insert (kept whole so an agent can act on code and remediation). */
function errorOf(response: PlatformResponse): ErrorEnvelope['error'] {
  return restError(response).toEnvelope().error;
}

/**
 * Error codes caused by the row itself (a bad value, a constraint, a policy): the next row may well
 * succeed. Any other code (unknown table, rate limit, paused app, a revoked key, an outage) would
 * fail every row, so seeding stops.
 */
const rowSpecificCodes: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'VALIDATION_INVALID_SCHEMA', 'VALIDATION_MISSING_FIELD', 'VALIDATION_INVALID_TYPE', 'VALIDATION_INVALID_INPUT',
  'VALIDATION_CONSTRAINT_VIOLATION', 'VALIDATION_UNIQUE_CONSTRAINT_VIOLATION', 'VALIDATION_FOREIGN_KEY_VIOLATION',
  'VALIDATION_CHECK_CONSTRAINT_VIOLATION', 'VALIDATION_NOT_NULL_VIOLATION', 'AUTH_RLS_POLICY_VIOLATION', 'RESOURCE_CONFLICT',
]);

/** A failure caused by the row itself, judged by its error code (never by the HTTP status). */
function rowSpecific(response: PlatformResponse): boolean {
  return rowSpecificCodes.has(errorOf(response).code);
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
  async run(args, { platform }) {
    const headers = roleHeaders(args);
    return restResult(await platform.call({ method: 'POST', path: `/v1/${segment(args.app_id)}/${segment(args.table)}`, body: args.data, headers, tool: 'insert_row' }));
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
  async run(args, { platform }) {
    const path = `/v1/${segment(args.app_id)}/${segment(args.table)}`;
    const rows: unknown[] = [];
    const errors: { row_index: number; error: ErrorEnvelope['error'] }[] = [];
    let last: PlatformResponse | undefined;
    let stoppedAt: number | null = null;
    for (const [index, row] of args.rows.entries()) {
      last = await platform.call({ method: 'POST', path, body: row, tool: 'seed_database' });
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
