/**
 * The data API's query-string grammar (API.md §5), parsed into a typed query. Pure: no SQL, no
 * catalog; `sql.ts` checks the names against the table and builds parameterised statements.
 *
 * Grammar (strict where the reference server is silent, compatible with what the SDK sends):
 * - Reserved parameters `select`, `order`, `limit`, `offset` (each at most once); every other
 *   parameter is a filter `<column>=<op>.<value>`, split at the first `.`. Several filters are AND-ed,
 *   including several on one column (`age=gt.1&age=lt.9`). A column named like a reserved parameter
 *   cannot be filtered on.
 * - Ops: `eq neq gt gte lt lte like ilike` (value bound as one parameter), `fts` (plain-text query),
 *   `is` (`null` | `true` | `false` only), `in` (`(a,b,c)`: parentheses required, items trimmed,
 *   `"…"` quotes an item holding commas or spaces with `\"` and `\\` escapes; `()` matches nothing).
 * - `select`: comma list of column identifiers, or `*` / empty for every column.
 * - `order`: comma list of `col`, `col.asc`, `col.desc`, optionally `.nullsfirst` / `.nullslast`.
 * - `limit`, `offset`: non-negative integers.
 * Anything else is refused with 400 VALIDATION_INVALID_SCHEMA: `details.invalidFilters` names the bad
 * filter parameters (API.md §5), `details.issues` says what is wrong with each parameter.
 */
import { ApiError } from '../../shared/errors.ts';
import { identifierPattern, type ValidationIssue } from '../../shared/validation.ts';

/** Operators whose value is one bound parameter. */
export const valueOps = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'like', 'ilike', 'fts'] as const;
export type ValueOp = (typeof valueOps)[number];
/** Every filter operator of API.md §5. */
export const filterOps = [...valueOps, 'is', 'in'] as const;
export type FilterOp = (typeof filterOps)[number];

/** One filter, validated for syntax (the column is not yet checked against the table). */
export type Filter =
  | { column: string; op: ValueOp; value: string }
  | { column: string; op: 'in'; values: string[] }
  | { column: string; op: 'is'; value: 'null' | 'true' | 'false' };

/** One `order` term. */
export interface OrderTerm {
  column: string;
  descending: boolean;
  nulls: 'first' | 'last' | null;
}

/** A parsed query string. `select` null = every column. */
export interface RestQuery {
  select: string[] | null;
  order: OrderTerm[];
  limit: number | null;
  offset: number | null;
  filters: Filter[];
}

/** The reserved (non-filter) query parameters. */
export const reservedParams = ['select', 'order', 'limit', 'offset'] as const;
export type ReservedParam = (typeof reservedParams)[number];

/** Details of a grammar error (API.md §5: `details.invalidFilters`). */
export interface QueryErrorDetails {
  /** Filter parameters (column names as sent) that are malformed or name unknown columns / ops. */
  invalidFilters?: string[];
  /** One entry per problem, `path` = `query.<parameter>`. */
  issues: ValidationIssue[];
}

/** Collects problems so one response lists them all. */
export class QueryIssues {
  readonly issues: ValidationIssue[] = [];
  readonly invalidFilters: string[] = [];

  /** Records a problem with a non-filter parameter. */
  param(name: string, message: string): void {
    this.issues.push({ path: `query.${name}`, message, code: 'invalid_query' });
  }

  /** Records a problem with a filter parameter. */
  filter(name: string, message: string): void {
    if (!this.invalidFilters.includes(name)) this.invalidFilters.push(name);
    this.issues.push({ path: `query.${name}`, message, code: 'invalid_filter' });
  }

  get empty(): boolean {
    return this.issues.length === 0;
  }

  /** The 400 for the collected problems. */
  toError(): ApiError {
    const first = this.issues[0]!;
    const more = this.issues.length > 1 ? ` (and ${this.issues.length - 1} more)` : '';
    const details: QueryErrorDetails = { issues: this.issues };
    if (this.invalidFilters.length > 0) details.invalidFilters = this.invalidFilters;
    return new ApiError('VALIDATION_INVALID_SCHEMA', `Invalid query: ${first.path}: ${first.message}${more}`, {
      details,
      remediation: 'Filters are <column>=<op>.<value> with op one of eq, neq, gt, gte, lt, lte, like, ilike, is, in, fts; select and order take column names; limit and offset take non-negative integers.',
    });
  }
}

const integerPattern = /^\d{1,15}$/;

/**
 * Parses query parameters (in order, duplicates kept) into a RestQuery.
 * `allowed` limits which reserved parameters and whether filters may appear (e.g. POST takes only
 * `select`); anything else is reported as not accepted on this route.
 * @throws ApiError VALIDATION_INVALID_SCHEMA with QueryErrorDetails.
 */
export function parseRestQuery(
  params: Iterable<[string, string]>,
  allowed: { reserved: readonly ReservedParam[]; filters: boolean; route: string },
): RestQuery {
  const issues = new QueryIssues();
  const query: RestQuery = { select: null, order: [], limit: null, offset: null, filters: [] };
  const seen = new Set<string>();
  for (const [name, raw] of params) {
    if ((reservedParams as readonly string[]).includes(name)) {
      const reserved = name as ReservedParam;
      if (!allowed.reserved.includes(reserved)) {
        issues.param(name, `"${name}" is not accepted on ${allowed.route}`);
        continue;
      }
      if (seen.has(name)) {
        issues.param(name, `"${name}" may be given only once`);
        continue;
      }
      seen.add(name);
      switch (reserved) {
        case 'select':
          query.select = parseSelect(raw, issues);
          break;
        case 'order':
          query.order = parseOrder(raw, issues);
          break;
        case 'limit':
        case 'offset':
          query[reserved] = parseCount(name, raw, issues);
          break;
      }
      continue;
    }
    if (!allowed.filters) {
      issues.filter(name, `filters are not accepted on ${allowed.route}`);
      continue;
    }
    const filter = parseFilter(name, raw, issues);
    if (filter) query.filters.push(filter);
  }
  if (!issues.empty) throw issues.toError();
  return query;
}

function parseSelect(raw: string, issues: QueryIssues): string[] | null {
  const trimmed = raw.trim();
  if (trimmed === '' || trimmed === '*') return null;
  const columns: string[] = [];
  for (const part of trimmed.split(',')) {
    const name = part.trim();
    if (!identifierPattern.test(name)) {
      issues.param('select', `"${name}" is not a column name (expected ^[a-z_][a-z0-9_]*$; embedding, aliases and casts are not supported)`);
      continue;
    }
    if (!columns.includes(name)) columns.push(name);
  }
  return columns;
}

function parseOrder(raw: string, issues: QueryIssues): OrderTerm[] {
  const terms: OrderTerm[] = [];
  if (raw.trim() === '') {
    issues.param('order', 'order is empty (expected col.asc or col.desc, comma-separated)');
    return terms;
  }
  for (const part of raw.split(',')) {
    const [column = '', ...modifiers] = part.trim().split('.');
    if (!identifierPattern.test(column)) {
      issues.param('order', `"${column}" is not a column name (expected ^[a-z_][a-z0-9_]*$)`);
      continue;
    }
    const term: OrderTerm = { column, descending: false, nulls: null };
    let direction = false;
    let ok = true;
    for (const modifier of modifiers) {
      if ((modifier === 'asc' || modifier === 'desc') && !direction && term.nulls === null) {
        term.descending = modifier === 'desc';
        direction = true;
      } else if ((modifier === 'nullsfirst' || modifier === 'nullslast') && term.nulls === null) {
        term.nulls = modifier === 'nullsfirst' ? 'first' : 'last';
      } else {
        issues.param('order', `"${part.trim()}": unknown or repeated modifier "${modifier}" (expected asc, desc, nullsfirst or nullslast)`);
        ok = false;
        break;
      }
    }
    if (ok) terms.push(term);
  }
  return terms;
}

function parseCount(name: string, raw: string, issues: QueryIssues): number | null {
  if (!integerPattern.test(raw)) {
    issues.param(name, `"${raw}" is not a non-negative integer`);
    return null;
  }
  return Number(raw);
}

/** Parses one `<column>=<op>.<value>` filter; records a problem and returns null when malformed. */
export function parseFilter(column: string, raw: string, issues: QueryIssues): Filter | null {
  if (!identifierPattern.test(column)) {
    issues.filter(column, `"${column}" is not a column name (expected ^[a-z_][a-z0-9_]*$)`);
    return null;
  }
  const dot = raw.indexOf('.');
  if (dot < 0) {
    issues.filter(column, `"${raw}" is not <op>.<value> (e.g. ${column}=eq.42)`);
    return null;
  }
  const op = raw.slice(0, dot);
  const value = raw.slice(dot + 1);
  if (!(filterOps as readonly string[]).includes(op)) {
    issues.filter(column, `unknown operator "${op}" (expected one of ${filterOps.join(', ')})`);
    return null;
  }
  if (op === 'is') {
    if (value !== 'null' && value !== 'true' && value !== 'false') {
      issues.filter(column, `is takes null, true or false, not "${value}"`);
      return null;
    }
    return { column, op, value };
  }
  if (op === 'in') {
    const values = parseInList(value);
    if (typeof values === 'string') {
      issues.filter(column, values);
      return null;
    }
    return { column, op, values };
  }
  return { column, op: op as ValueOp, value };
}

/**
 * Parses `(a, b, "c,d")` into its items; returns a message string when malformed.
 * Unquoted items are trimmed and may not be empty; quoted items keep their spaces.
 */
export function parseInList(raw: string): string[] | string {
  if (!raw.startsWith('(') || !raw.endsWith(')') || raw.length < 2) {
    return `in takes a parenthesised list, e.g. in.(1,2,3), not "${raw}"`;
  }
  const body = raw.slice(1, -1);
  if (body.trim() === '') return [];
  const items: string[] = [];
  let i = 0;
  for (;;) {
    while (body[i] === ' ') i++;
    let item: string;
    if (body[i] === '"') {
      i++;
      item = '';
      for (;;) {
        const ch = body[i];
        if (ch === undefined) return 'in list has an unterminated quoted item';
        if (ch === '\\' && (body[i + 1] === '"' || body[i + 1] === '\\')) {
          item += body[i + 1];
          i += 2;
        } else if (ch === '"') {
          i++;
          break;
        } else {
          item += ch;
          i++;
        }
      }
      while (body[i] === ' ') i++;
      if (i < body.length && body[i] !== ',') return 'in list has text after a quoted item';
    } else {
      const end = body.indexOf(',', i);
      const stop = end < 0 ? body.length : end;
      item = body.slice(i, stop).trim();
      if (item === '') return 'in list has an empty item (quote it as "" to match an empty string)';
      if (item.includes('"')) return 'in list item has a stray quote';
      i = stop;
    }
    items.push(item);
    if (i >= body.length) return items;
    i++; // the comma
    if (i >= body.length) return 'in list ends with a comma';
  }
}

/** Which representation the caller asked for (RFC 7240 `Prefer: return=…`). */
export type ReturnPreference = 'representation' | 'minimal' | null;

/**
 * Reads `return=representation|minimal` from a Prefer header. Other preferences, and other
 * `return` values, are ignored as RFC 7240 §2 asks of servers that do not support them.
 */
export function parsePrefer(header: string | null | undefined): ReturnPreference {
  if (!header) return null;
  let preference: ReturnPreference = null;
  for (const token of header.split(',')) {
    const [key, value] = token.split(';')[0]!.split('=').map((s) => s.trim().toLowerCase());
    if (key === 'return' && (value === 'representation' || value === 'minimal')) preference = value;
  }
  return preference;
}
