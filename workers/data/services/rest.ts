/**
 * The auto-generated REST API over an app's tables (API.md §5), plus what the SDK sends and the
 * reference server lacks: bulk insert, PATCH/DELETE on the collection path with filters, and
 * `Prefer: return=representation|minimal`. Every request is one DbGateway batch under the caller's
 * role (workers/data/roles.ts), so RLS decides which rows a caller sees and changes.
 *
 * Rows are plain JSON as the Neon driver parses them, like node-postgres on the reference server:
 * timestamps as ISO strings, json/jsonb as values, int4/float as numbers, and int8 / numeric as
 * strings (exact values beyond 2^53 survive). REST data writes are not audited (too voluminous).
 */
import { z } from 'zod';
import { catalogFromRows, catalogQuery, type CatalogTable } from '../../shared/catalog.ts';
import type { DbCaller, SqlResult, SqlStatement } from '../../shared/contracts.ts';
import { ApiError } from '../../shared/errors.ts';
import { identifierPattern, parseWith } from '../../shared/validation.ts';
import type { Env } from '../env.ts';
import { runAs, type CommitListener } from '../execute.ts';
import { parseRestQuery, type ReservedParam, type RestQuery, type ReturnPreference } from '../query/grammar.ts';
import {
  buildDelete, buildGetByKey, buildInsert, buildSelect, buildUpdate, checkQuery, maxBulkRows, pickColumns, queryColumns,
  unknownColumns, type PickedRow, type WriteTarget,
} from '../query/sql.ts';
import { TableCache } from '../table-cache.ts';

/** One data request as the route parsed it. */
export interface RestRequest {
  caller: DbCaller;
  /** The `{table}` path segment (decoded). */
  table: string;
  /** The `{id}` path segment (decoded), for `/{table}/{id}` routes. */
  id?: string;
  /** Query parameters in order, duplicates kept. */
  params: [string, string][];
  prefer: ReturnPreference;
  /** The JSON body (POST, PATCH). */
  body?: unknown;
  /** Told of committed writes (realtime); absent when nobody listens. */
  onCommit?: CommitListener;
}

/** What the route sends back: a status, a JSON body (none → empty body) and extra headers. */
export type RestResult =
  | { status: 200 | 201; body: unknown; headers?: Record<string, string> }
  | { status: 201 | 204; body?: undefined; headers?: Record<string, string> };

const tables = new TableCache<Env>((appId, env) => loadTables(env, appId));

async function loadTables(env: Env, appId: string): Promise<Map<string, CatalogTable>> {
  // The catalog lives in pg_catalog, which every role reads; service sees every table of public.
  const [result] = await runAs(env, { appId, role: 'service' }, [{ query: catalogQuery }], { readOnly: true });
  return catalogFromRows(result?.rows ?? []);
}

/** A write body: one row object. */
export const rowBody = z.record(z.string(), z.unknown(), { error: 'expected a JSON object of column → value' });
/** A bulk insert body: 1…{@link maxBulkRows} row objects. */
export const bulkBody = z.array(rowBody).min(1, 'an array body needs at least one row').max(maxBulkRows, `at most ${maxBulkRows} rows per request`);

/**
 * Checks the `{table}` segment.
 * @throws ApiError VALIDATION_RESERVED_TABLE (leading `_`), VALIDATION_INVALID_NAME (not an identifier).
 */
function checkTableName(name: string): void {
  if (name.startsWith('_')) {
    throw new ApiError('VALIDATION_RESERVED_TABLE', `Table "${name}" is reserved for the platform; names starting with "_" are not served.`);
  }
  if (!identifierPattern.test(name)) {
    throw new ApiError('VALIDATION_INVALID_NAME', `"${name}" is not a table name (expected ^[a-z_][a-z0-9_]*$).`);
  }
}

/**
 * Finds the table, reloading the catalog once when it or one of `columns` is unknown.
 * @throws ApiError VALIDATION_TABLE_NOT_FOUND (404).
 */
async function findTable(env: Env, request: RestRequest, columns: string[]): Promise<CatalogTable> {
  checkTableName(request.table);
  const table = await tables.table(request.caller.appId, request.table, env, (t) => unknownColumns(t, columns).length > 0);
  if (!table) {
    throw new ApiError('VALIDATION_TABLE_NOT_FOUND', `Table "${request.table}" not found in app ${request.caller.appId}.`);
  }
  return table;
}

/**
 * Runs one statement as the caller. Postgres errors arrive mapped (pg-errors.ts); type mismatches the
 * caller caused (an operator the column type lacks, a generated column) become 400
 * VALIDATION_INVALID_INPUT; an RLS denial of an anonymous caller becomes 401
 * AUTH_RLS_REQUIRES_USER_JWT (signing in is what it needs); a table or column Postgres no longer
 * knows drops the cached catalog.
 */
async function run(env: Env, request: RestRequest, statement: SqlStatement, readOnly: boolean): Promise<SqlResult> {
  const caller = request.caller;
  try {
    const [result] = await runAs(env, caller, [statement], { readOnly, onCommit: request.onCommit, writes: readOnly ? undefined : [request.table] });
    return result!;
  } catch (error) {
    if (error instanceof ApiError) {
      if (error.code === 'AUTH_RLS_POLICY_VIOLATION' && caller.role === 'anon') {
        throw new ApiError('AUTH_RLS_REQUIRES_USER_JWT', 'Row-level security refused this anonymous request; it needs a signed-in user.', {
          details: error.details,
          internal: error.internal,
          remediation: 'Sign the user in (POST /auth/{app_id}/login) and send their access token as Authorization: Bearer <token>; or add a policy for role anon.',
        });
      }
      if (error.code === 'VALIDATION_TABLE_NOT_FOUND' || error.code === 'VALIDATION_COLUMN_NOT_FOUND') tables.invalidate(caller.appId);
      const sqlState = error.pg?.code;
      if (sqlState === '42883' || sqlState === '42804' || sqlState === '428C9') {
        throw new ApiError('VALIDATION_INVALID_INPUT', error.pg!.message, { internal: error.internal, details: { pg_code: sqlState } });
      }
    }
    throw error;
  }
}

function parse(request: RestRequest, reserved: readonly ReservedParam[], filters: boolean, route: string): RestQuery {
  return parseRestQuery(request.params, { reserved, filters, route });
}

function notFound(table: CatalogTable, id: string): ApiError {
  return new ApiError('RESOURCE_NOT_FOUND', `No row in "${table.name}" with ${table.primaryKey[0]} = ${JSON.stringify(id)}.`, {
    remediation: 'Check the id; a row hidden by row-level security also answers 404.',
  });
}

function applied(prefer: ReturnPreference): Record<string, string> | undefined {
  return prefer ? { 'preference-applied': `return=${prefer}` } : undefined;
}

/**
 * GET /{table}: rows matching the filters, with select / order / limit / offset.
 * @returns 200 row[].
 * @throws ApiError VALIDATION_INVALID_SCHEMA (grammar, `details.invalidFilters`), VALIDATION_COLUMN_NOT_FOUND,
 *   VALIDATION_RESERVED_TABLE, VALIDATION_INVALID_NAME, VALIDATION_TABLE_NOT_FOUND, VALIDATION_INVALID_INPUT
 *   (a value Postgres cannot convert to the column type), plus the DbGateway codes.
 */
export async function listRows(env: Env, request: RestRequest): Promise<RestResult> {
  const query = parse(request, ['select', 'order', 'limit', 'offset'], true, 'GET /{table}');
  const table = await findTable(env, request, queryColumns(query));
  checkQuery(table, query);
  const result = await run(env, request, buildSelect(table, query), true);
  return { status: 200, body: result.rows };
}

/**
 * GET /{table}/{id}: one row by its single-column primary key (`select` allowed).
 * @returns 200 row.
 * @throws ApiError RESOURCE_NOT_FOUND (no row, or RLS hides it), VALIDATION_INVALID_SCHEMA (no
 *   single-column primary key, bad query), plus those of {@link listRows}.
 */
export async function getRow(env: Env, request: RestRequest): Promise<RestResult> {
  const query = parse(request, ['select'], false, 'GET /{table}/{id}');
  const table = await findTable(env, request, queryColumns(query));
  checkQuery(table, query);
  const result = await run(env, request, buildGetByKey(table, { id: request.id! }, query.select), true);
  const row = result.rows[0];
  if (!row) throw notFound(table, request.id!);
  return { status: 200, body: row };
}

/** Validates a POST body: one object or an array of objects. */
function insertRowsOf(body: unknown): { rows: Record<string, unknown>[]; bulk: boolean } {
  if (Array.isArray(body)) return { rows: parseWith(bulkBody, body), bulk: true };
  return { rows: [parseWith(rowBody, body)], bulk: false };
}

/** Keys that could be columns but are unknown to the cached catalog (they trigger one reload). */
function candidateColumns(rows: Record<string, unknown>[]): string[] {
  const keys = new Set<string>();
  for (const row of rows) for (const key of Object.keys(row)) if (identifierPattern.test(key)) keys.add(key);
  return [...keys];
}

function picked(table: CatalogTable, rows: Record<string, unknown>[], bulk: boolean): PickedRow[] {
  return rows.map((row, index) => {
    const path = bulk ? `[${index}]` : '';
    const pick = pickColumns(table, row, path);
    if (pick.values.size === 0) {
      throw new ApiError('VALIDATION_INVALID_SCHEMA', `No valid columns${bulk ? ` in row ${index}` : ''}: none of the keys is a column of "${table.name}".`, {
        details: [{ path: path || '(root)', message: `no key is a column of "${table.name}"`, code: 'no_valid_columns', ignored_keys: pick.dropped }],
        remediation: 'Send at least one column of the table (GET /v1/{app_id}/schema lists them); keys that are not columns are ignored.',
      });
    }
    return pick;
  });
}

/**
 * POST /{table}: inserts one row (object body) or many (array body, one statement, all or nothing).
 * Keys that are not columns are dropped. `select` narrows the returned columns.
 * @returns 201 row (object body) / row[] (array body); 201 without a body for `Prefer: return=minimal`.
 * @throws ApiError VALIDATION_INVALID_SCHEMA ("No valid columns", empty or oversized array, query
 *   other than select), VALIDATION_INVALID_TYPE (body not an object or array of objects),
 *   VALIDATION_UNIQUE_CONSTRAINT_VIOLATION (409), VALIDATION_FOREIGN_KEY_VIOLATION,
 *   VALIDATION_CHECK_CONSTRAINT_VIOLATION, VALIDATION_NOT_NULL_VIOLATION, VALIDATION_INVALID_INPUT,
 *   AUTH_RLS_POLICY_VIOLATION (403; AUTH_RLS_REQUIRES_USER_JWT 401 for the anon role), plus the table
 *   lookup codes of {@link listRows}.
 */
export async function insertRows(env: Env, request: RestRequest): Promise<RestResult> {
  const query = parse(request, ['select'], false, 'POST /{table}');
  const { rows, bulk } = insertRowsOf(request.body);
  const table = await findTable(env, request, [...queryColumns(query), ...candidateColumns(rows)]);
  checkQuery(table, query);
  const minimal = request.prefer === 'minimal';
  const result = await run(env, request, buildInsert(table, picked(table, rows, bulk), minimal ? 'none' : query.select), false);
  if (minimal) return { status: 201, headers: applied(request.prefer) };
  return { status: 201, body: bulk ? result.rows : result.rows[0], headers: applied(request.prefer) };
}

/**
 * The rows a PATCH/DELETE touches: `{id}` → by primary key (no filters allowed); the collection
 * path → its filters, at least one (a filter-less write would change every row).
 */
function writeTarget(request: RestRequest, method: string): { query: RestQuery; target: WriteTarget } {
  if (request.id !== undefined) {
    const query = parse(request, ['select'], false, `${method} /{table}/{id}`);
    return { query, target: { key: { id: request.id } } };
  }
  const query = parse(request, ['select'], true, `${method} /{table}`);
  if (query.filters.length === 0) {
    throw new ApiError('VALIDATION_INVALID_SCHEMA', `${method} on the collection path needs at least one filter; refusing to change every row.`, {
      details: { invalidFilters: [], issues: [{ path: 'query', message: 'at least one filter is required', code: 'missing_filter' }] },
      remediation: `Add a filter such as ?id=eq.<id>, or use ${method} /v1/{app_id}/{table}/{id}.`,
    });
  }
  return { query, target: { filters: query.filters } };
}

/**
 * PATCH /{table}/{id} or PATCH /{table}?filters: a partial update (keys that are not columns dropped).
 * @returns by id: 200 row (404 RESOURCE_NOT_FOUND when no row matched or RLS hides it); by filters:
 *   200 row[] (possibly empty); 204 for `Prefer: return=minimal`.
 * @throws ApiError VALIDATION_INVALID_SCHEMA ("No valid columns", missing filter, bad query),
 *   VALIDATION_INVALID_TYPE (body not an object), RESOURCE_NOT_FOUND, plus the write codes of {@link insertRows}.
 */
export async function updateRows(env: Env, request: RestRequest): Promise<RestResult> {
  const { query, target } = writeTarget(request, 'PATCH');
  const body = parseWith(rowBody, request.body);
  const table = await findTable(env, request, [...queryColumns(query), ...candidateColumns([body])]);
  checkQuery(table, query);
  const [row] = picked(table, [body], false);
  const minimal = request.prefer === 'minimal';
  const result = await run(env, request, buildUpdate(table, row!, target, minimal ? 'none' : query.select), false);
  if ('key' in target && result.rowCount === 0) throw notFound(table, target.key.id);
  if (minimal) return { status: 204, headers: applied(request.prefer) };
  return { status: 200, body: 'key' in target ? result.rows[0] : result.rows, headers: applied(request.prefer) };
}

/**
 * DELETE /{table}/{id} or DELETE /{table}?filters.
 * @returns by id: 200 `{ deleted: true }` (404 when no row matched); by filters: 200 `{ deleted: n }`;
 *   with `Prefer: return=representation` the deleted row (by id) or rows (by filters); 204 for
 *   `Prefer: return=minimal`.
 * @throws ApiError RESOURCE_NOT_FOUND, VALIDATION_INVALID_SCHEMA (missing filter, bad query),
 *   VALIDATION_FOREIGN_KEY_VIOLATION (still referenced), AUTH_RLS_POLICY_VIOLATION, plus the table lookup codes.
 */
export async function deleteRows(env: Env, request: RestRequest): Promise<RestResult> {
  const { query, target } = writeTarget(request, 'DELETE');
  const table = await findTable(env, request, queryColumns(query));
  checkQuery(table, query);
  const representation = request.prefer === 'representation';
  const result = await run(env, request, buildDelete(table, target, representation ? query.select : 'none'), false);
  if ('key' in target && result.rowCount === 0) throw notFound(table, target.key.id);
  if (request.prefer === 'minimal') return { status: 204, headers: applied(request.prefer) };
  if (representation) return { status: 200, body: 'key' in target ? result.rows[0] : result.rows, headers: applied(request.prefer) };
  return { status: 200, body: { deleted: 'key' in target ? true : result.rowCount } };
}
