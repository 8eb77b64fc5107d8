/**
 * Builds the data API's parameterised SQL from a parsed query (grammar.ts) and the table as the
 * catalog describes it (workers/shared/catalog.ts). Pure. Every identifier is checked against
 * `^[a-z_][a-z0-9_]*$` and the table's columns, then double-quoted; every value is a bound
 * parameter (Postgres infers its type from the column it meets). Source: PostgreSQL docs, "SELECT",
 * "INSERT", "UPDATE", "DELETE", "Text Search Functions".
 */
import type { CatalogColumn, CatalogTable } from '../../shared/catalog.ts';
import type { SqlStatement } from '../../shared/contracts.ts';
import { ApiError } from '../../shared/errors.ts';
import { identifierPattern } from '../../shared/validation.ts';
import { QueryIssues, type Filter, type OrderTerm, type RestQuery } from './grammar.ts';
import { quoteIdent as quoteSqlIdent } from '../../shared/sql.ts';

/** Postgres accepts at most this many bind parameters in one statement. */
export const maxParams = 65_535;
/** Most rows one bulk insert may carry. */
export const maxBulkRows = 1_000;

/** Column types compared as text without a cast (so their indexes still serve LIKE and search). */
const textTypes = new Set(['text', 'varchar', 'bpchar', 'name', 'citext']);
/** Column types without the ordering / equality operators eq…lte need. */
const incomparableTypes = new Set(['json', 'xml', 'point', 'line', 'lseg', 'box', 'path', 'polygon', 'circle']);

/**
 * Double-quotes a validated identifier. The check is repeated here so that no string that is not an
 * identifier can ever reach SQL, even if a caller forgot to validate.
 */
export function quoteIdent(name: string): string {
  if (!identifierPattern.test(name)) throw new ApiError('VALIDATION_INVALID_NAME', `"${name}" is not a valid identifier.`);
  return quoteSqlIdent(name);
}

/** `"public"."table"`. */
export function qualifiedTable(table: CatalogTable): string {
  return `"public".${quoteIdent(table.name)}`;
}

/** Collects bind parameters and hands out `$n` placeholders. */
class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

function columnOf(table: CatalogTable, name: string): CatalogColumn | undefined {
  return table.columns.find((c) => c.name === name);
}

/** Names a query refers to that the table lacks (for the cache's reload-once decision). */
export function unknownColumns(table: CatalogTable, names: Iterable<string>): string[] {
  const missing: string[] = [];
  for (const name of names) if (!columnOf(table, name) && !missing.includes(name)) missing.push(name);
  return missing;
}

/** Every column name a query mentions. */
export function queryColumns(query: RestQuery): string[] {
  return [...(query.select ?? []), ...query.order.map((o) => o.column), ...query.filters.map((f) => f.column)];
}

/**
 * Checks the query's names and filter types against the table.
 * @throws ApiError VALIDATION_INVALID_SCHEMA (`details.invalidFilters`) for filters on unknown columns or
 *   ops the column type cannot take; VALIDATION_COLUMN_NOT_FOUND (`details.columns`) for unknown
 *   `select` / `order` columns.
 */
export function checkQuery(table: CatalogTable, query: RestQuery): void {
  const issues = new QueryIssues();
  for (const filter of query.filters) {
    const column = columnOf(table, filter.column);
    if (!column) {
      issues.filter(filter.column, `table "${table.name}" has no column "${filter.column}"`);
      continue;
    }
    if (filter.op === 'is' && filter.value !== 'null' && column.udt !== 'bool') {
      issues.filter(filter.column, `is.${filter.value} needs a boolean column; "${filter.column}" is ${column.type}`);
    } else if (['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'in'].includes(filter.op) && incomparableTypes.has(column.udt)) {
      issues.filter(filter.column, `${filter.op} cannot compare values of type ${column.type}`);
    }
  }
  if (!issues.empty) throw issues.toError();
  const missing = unknownColumns(table, [...(query.select ?? []), ...query.order.map((o) => o.column)]);
  if (missing.length > 0) {
    throw new ApiError('VALIDATION_COLUMN_NOT_FOUND', `Table "${table.name}" has no column ${missing.map((m) => `"${m}"`).join(', ')}.`, {
      details: { table: table.name, columns: missing },
    });
  }
}

function asText(column: CatalogColumn): string {
  const ident = quoteIdent(column.name);
  return textTypes.has(column.udt) ? ident : `${ident}::text`;
}

function filterSql(table: CatalogTable, filter: Filter, params: Params): string {
  const column = columnOf(table, filter.column)!;
  const ident = quoteIdent(column.name);
  switch (filter.op) {
    case 'eq':
      return `${ident} = ${params.add(filter.value)}`;
    case 'neq':
      return `${ident} <> ${params.add(filter.value)}`;
    case 'gt':
      return `${ident} > ${params.add(filter.value)}`;
    case 'gte':
      return `${ident} >= ${params.add(filter.value)}`;
    case 'lt':
      return `${ident} < ${params.add(filter.value)}`;
    case 'lte':
      return `${ident} <= ${params.add(filter.value)}`;
    case 'like':
      return `${asText(column)} LIKE ${params.add(filter.value)}`;
    case 'ilike':
      return `${asText(column)} ILIKE ${params.add(filter.value)}`;
    case 'fts': {
      const document = column.udt === 'tsvector' ? ident : `to_tsvector('english', ${asText(column)})`;
      return `${document} @@ plainto_tsquery('english', ${params.add(filter.value)})`;
    }
    case 'is':
      return `${ident} IS ${filter.value.toUpperCase()}`;
    case 'in':
      // Separate parameters, so Postgres infers each one's type from the column.
      return filter.values.length === 0 ? 'false' : `${ident} IN (${filter.values.map((v) => params.add(v)).join(', ')})`;
  }
}

function whereSql(table: CatalogTable, filters: Filter[], params: Params): string {
  return filters.length === 0 ? '' : ` WHERE ${filters.map((f) => filterSql(table, f, params)).join(' AND ')}`;
}

function orderSql(order: OrderTerm[]): string {
  if (order.length === 0) return '';
  const terms = order.map((o) => `${quoteIdent(o.column)} ${o.descending ? 'DESC' : 'ASC'}${o.nulls ? ` NULLS ${o.nulls.toUpperCase()}` : ''}`);
  return ` ORDER BY ${terms.join(', ')}`;
}

/** The select list: `*` or quoted columns. */
export function selectList(select: string[] | null): string {
  return select === null ? '*' : select.map(quoteIdent).join(', ');
}

function finish(sql: string, params: Params): SqlStatement {
  if (params.values.length > maxParams) {
    throw new ApiError('VALIDATION_INVALID_SCHEMA', `The request needs ${params.values.length} values; at most ${maxParams} fit in one statement.`, {
      remediation: 'Split the request into smaller batches (fewer rows or shorter in lists).',
    });
  }
  return { query: sql, params: params.values };
}

/** `SELECT … FROM … WHERE … ORDER BY … LIMIT … OFFSET …` for GET /{table}. Assumes {@link checkQuery} passed. */
export function buildSelect(table: CatalogTable, query: RestQuery): SqlStatement {
  const params = new Params();
  let sql = `SELECT ${selectList(query.select)} FROM ${qualifiedTable(table)}${whereSql(table, query.filters, params)}${orderSql(query.order)}`;
  if (query.limit !== null) sql += ` LIMIT ${params.add(query.limit)}`;
  if (query.offset !== null) sql += ` OFFSET ${params.add(query.offset)}`;
  return finish(sql, params);
}

/**
 * The table's single-column primary key.
 * @throws ApiError VALIDATION_INVALID_SCHEMA when it has none or a composite one.
 */
export function primaryKeyOf(table: CatalogTable): string {
  if (table.primaryKey.length !== 1) {
    const has = table.primaryKey.length === 0 ? 'has no primary key' : `has a composite primary key (${table.primaryKey.join(', ')})`;
    throw new ApiError('VALIDATION_INVALID_SCHEMA', `Table "${table.name}" ${has}; /{table}/{id} needs a single-column primary key.`, {
      remediation: `Use the collection path with a filter instead, e.g. GET /v1/{app_id}/${table.name}?<column>=eq.<value>.`,
      details: { table: table.name, primary_key: table.primaryKey },
    });
  }
  return table.primaryKey[0]!;
}

/** A row identified by its primary key (the `{id}` path segment, bound as text). */
export interface RowKey {
  id: string;
}

function keyWhere(table: CatalogTable, key: RowKey, params: Params): string {
  return ` WHERE ${quoteIdent(primaryKeyOf(table))} = ${params.add(key.id)}`;
}

/** `SELECT … WHERE pk = $1` for GET /{table}/{id}. */
export function buildGetByKey(table: CatalogTable, key: RowKey, select: string[] | null): SqlStatement {
  const params = new Params();
  return finish(`SELECT ${selectList(select)} FROM ${qualifiedTable(table)}${keyWhere(table, key, params)}`, params);
}

/** Which rows a write touches: one by key, or those matching at least one filter. */
export type WriteTarget = { key: RowKey } | { filters: Filter[] };

function targetWhere(table: CatalogTable, target: WriteTarget, params: Params): string {
  if ('key' in target) return keyWhere(table, target.key, params);
  if (target.filters.length === 0) {
    // The route refuses this first; kept so a forgotten check can never turn into a table-wide write.
    throw new ApiError('VALIDATION_INVALID_SCHEMA', 'Refusing to change every row: add at least one filter.');
  }
  return whereSql(table, target.filters, params);
}

function returningSql(returning: string[] | null | 'none'): string {
  return returning === 'none' ? '' : ` RETURNING ${selectList(returning)}`;
}

/**
 * Converts a JSON value into the parameter for its column: json/jsonb take non-string values as JSON
 * text (so arrays stay JSON, not Postgres arrays; strings pass through and must hold JSON, as with
 * node-postgres), pgvector takes an array as `[1,2,3]`; everything else goes to the driver as is
 * (arrays become Postgres array literals, objects JSON text) and Postgres converts or rejects it.
 */
export function columnValue(column: CatalogColumn, value: unknown): unknown {
  if (value === null) return null;
  if ((column.udt === 'json' || column.udt === 'jsonb') && typeof value !== 'string') return JSON.stringify(value);
  if (column.udt === 'vector' && Array.isArray(value)) return JSON.stringify(value);
  return value;
}

/** A write body reduced to the table's columns. */
export interface PickedRow {
  values: Map<string, unknown>;
  /** Keys that are not columns (silently dropped, as on the reference server). */
  dropped: string[];
}

/**
 * Keeps the keys of `body` that are columns of `table` (API.md §5: other keys are dropped).
 * @throws ApiError VALIDATION_INVALID_SCHEMA when a key names a generated or identity-always column.
 */
export function pickColumns(table: CatalogTable, body: Record<string, unknown>, path: string): PickedRow {
  const values = new Map<string, unknown>();
  const dropped: string[] = [];
  for (const [key, value] of Object.entries(body)) {
    const column = columnOf(table, key);
    if (!column) {
      dropped.push(key);
      continue;
    }
    if (column.generated !== '' || column.identity === 'a') {
      throw new ApiError('VALIDATION_INVALID_SCHEMA', `Column "${key}" is ${column.generated ? 'generated' : 'an identity column'} and cannot be written.`, {
        details: [{ path: path === '' ? key : `${path}.${key}`, message: 'column cannot be written', code: 'read_only_column' }],
      });
    }
    values.set(key, columnValue(column, value));
  }
  return { values, dropped };
}

/**
 * `INSERT … VALUES (…), (…) RETURNING …` for one or many rows. Columns are the union of the rows'
 * keys; a row without one of them gets `DEFAULT`.
 */
export function buildInsert(table: CatalogTable, rows: PickedRow[], returning: string[] | null | 'none'): SqlStatement {
  const params = new Params();
  const columns: string[] = [];
  for (const row of rows) for (const name of row.values.keys()) if (!columns.includes(name)) columns.push(name);
  const tuples = rows.map((row) => `(${columns.map((name) => (row.values.has(name) ? params.add(row.values.get(name)) : 'DEFAULT')).join(', ')})`);
  const sql = `INSERT INTO ${qualifiedTable(table)} (${columns.map(quoteIdent).join(', ')}) VALUES ${tuples.join(', ')}${returningSql(returning)}`;
  return finish(sql, params);
}

/** `UPDATE … SET … WHERE … RETURNING …`. */
export function buildUpdate(table: CatalogTable, row: PickedRow, target: WriteTarget, returning: string[] | null | 'none'): SqlStatement {
  const params = new Params();
  const sets = [...row.values].map(([name, value]) => `${quoteIdent(name)} = ${params.add(value)}`);
  const sql = `UPDATE ${qualifiedTable(table)} SET ${sets.join(', ')}${targetWhere(table, target, params)}${returningSql(returning)}`;
  return finish(sql, params);
}

/** `DELETE FROM … WHERE … [RETURNING …]`. */
export function buildDelete(table: CatalogTable, target: WriteTarget, returning: string[] | null | 'none'): SqlStatement {
  const params = new Params();
  return finish(`DELETE FROM ${qualifiedTable(table)}${targetWhere(table, target, params)}${returningSql(returning)}`, params);
}
