/**
 * Column `default` expressions: the one place the schema DSL takes SQL from the caller, so it is
 * parsed (pgsql-ast-parser), checked against an allowlist, and re-rendered from the checked tree —
 * the caller's text itself never reaches DDL. The same tree gives a canonical form, so a DSL default
 * (`'pending'`) and what Postgres reports back (`'pending'::text`) compare equal.
 *
 * Allowed: string, number, boolean and NULL literals; `CURRENT_TIMESTAMP`, `CURRENT_DATE`,
 * `CURRENT_TIME`, `LOCALTIME`, `LOCALTIMESTAMP`; casts to DSL types (and `regclass`), including typed
 * literals such as `interval '1 day'`; `ARRAY[…]`; the operators `+ - * / % ||`; calls of the
 * functions in {@link allowedFunctions}. Refused: `;`, comments, `$` (dollar quotes, parameters),
 * column references, sub-queries, statements, any other function, operator or syntax.
 * Source: PostgreSQL docs, "Value Expressions" (4.2) and CREATE TABLE … DEFAULT.
 */
import { parse, type DataTypeDef, type Expr } from 'pgsql-ast-parser';
import { formatTypeName, parseColumnType, typeSql, type ColumnType } from './types.ts';

/**
 * Functions a default may call: time, UUIDs, random values, string and JSON builders, sequences, and
 * `current_user_id()`. None reads tables, files or settings, and none can run for long.
 */
export const allowedFunctions = new Set([
  'now', 'clock_timestamp', 'statement_timestamp', 'transaction_timestamp', 'timezone', 'date_trunc', 'make_interval',
  'make_date', 'gen_random_uuid', 'uuid_generate_v1', 'uuid_generate_v1mc', 'uuid_generate_v4', 'gen_random_bytes',
  'encode', 'md5', 'random', 'current_user_id', 'nextval', 'lower', 'upper', 'btrim', 'ltrim', 'rtrim', 'concat',
  'coalesce', 'nullif', 'greatest', 'least', 'abs', 'round', 'floor', 'ceil', 'ceiling', 'to_jsonb', 'to_json',
  'jsonb_build_object', 'jsonb_build_array', 'json_build_object', 'json_build_array', 'substr', 'left', 'right', 'replace',
]);

const allowedKeywords = new Set(['current_timestamp', 'current_date', 'current_time', 'localtime', 'localtimestamp']);
const allowedBinary = new Set(['+', '-', '*', '/', '%', '||']);
const allowedSchemas = new Set([undefined, 'pg_catalog', 'public']);
const maxDefaultLength = 1000;

/** A checked default: the SQL we emit and its canonical comparison key (`null` key = no default). */
export interface CheckedDefault {
  sql: string;
  key: string | null;
}

class DefaultRejected extends Error {}

function reject(message: string): never {
  throw new DefaultRejected(message);
}

/** Fails on `;`, comments and `$` outside string literals (before parsing, for a precise message). */
function checkOutsideStrings(text: string): void {
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inString) {
      if (ch === "'") inString = text[i + 1] === "'" ? (i++, true) : false;
      continue;
    }
    if (ch === "'") inString = true;
    else if (ch === ';') reject('";" is not allowed: a default is one expression, not statements');
    else if (ch === '$') reject('"$" is not allowed (no dollar quoting or parameters)');
    else if ((ch === '-' && text[i + 1] === '-') || (ch === '/' && text[i + 1] === '*')) reject('comments are not allowed');
  }
}

function castType(def: DataTypeDef): ColumnType | 'regclass' {
  const spelled = spellType(def);
  if (spelled === 'regclass') return 'regclass';
  const parsed = parseColumnType(spelled);
  if (!parsed.ok || parsed.type.serial) reject(`cast to "${spelled}" is not allowed; cast to a column type such as text, integer, jsonb or uuid`);
  return parsed.type;
}

function spellType(def: DataTypeDef): string {
  if (def.kind === 'array') return `${spellType(def.arrayOf)}[]`;
  if (!allowedSchemas.has(def.schema)) reject(`type "${def.schema}.${def.name}" is not allowed`);
  return `${def.name}${def.config && def.config.length > 0 ? `(${def.config.join(',')})` : ''}`;
}

function quoteLiteral(value: string): string {
  if (value.includes('\u0000')) reject('string literals may not contain NUL characters');
  return `'${value.replaceAll("'", "''")}'`;
}

function numberText(value: number): string {
  if (!Number.isFinite(value) || (Number.isInteger(value) && !Number.isSafeInteger(value))) {
    reject('number out of range; write large values as a string cast, e.g. \'9223372036854775807\'::bigint');
  }
  return String(value);
}

/** Renders a checked tree as SQL; composite operands are parenthesised so the structure is explicit. */
function render(expr: Expr): string {
  const operand = (e: Expr) => (e.type === 'binary' || e.type === 'unary' || ((e.type === 'integer' || e.type === 'numeric') && e.value < 0) ? `(${render(e)})` : render(e));
  switch (expr.type) {
    case 'string':
      return quoteLiteral(expr.value);
    case 'integer':
    case 'numeric':
      return numberText(expr.value);
    case 'boolean':
      return expr.value ? 'true' : 'false';
    case 'null':
      return 'NULL';
    case 'keyword':
      if (!allowedKeywords.has(expr.keyword)) reject(`"${expr.keyword}" is not allowed in a default`);
      return expr.keyword.toUpperCase();
    case 'call': {
      const name = expr.function.name.toLowerCase();
      if (!allowedSchemas.has(expr.function.schema) || !allowedFunctions.has(name)) {
        reject(`function "${expr.function.schema ? `${expr.function.schema}.` : ''}${expr.function.name}" is not allowed in a default; allowed: ${[...allowedFunctions].join(', ')}`);
      }
      if (expr.distinct || expr.orderBy || expr.filter || expr.withinGroup || expr.over) reject('aggregate and window syntax is not allowed in a default');
      return `${name}(${expr.args.map(render).join(', ')})`;
    }
    case 'cast': {
      const to = castType(expr.to);
      return `${operand(expr.operand)}::${to === 'regclass' ? 'regclass' : typeSql(to)}`;
    }
    case 'binary':
      if (!allowedBinary.has(expr.op)) reject(`operator "${expr.op}" is not allowed in a default; allowed: + - * / % ||`);
      return `${operand(expr.left)} ${expr.op} ${operand(expr.right)}`;
    case 'unary':
      if (expr.op !== '-' && expr.op !== '+') reject(`operator "${expr.op}" is not allowed in a default`);
      return `${expr.op}${operand(expr.operand)}`;
    case 'array':
      return `ARRAY[${expr.expressions.map(render).join(', ')}]`;
    case 'ref':
      return reject(`"${expr.name}" is not allowed: a default cannot reference columns or unknown names (quote text as 'text')`);
    case 'select':
    case 'union':
    case 'union all':
    case 'with':
    case 'with recursive':
    case 'values':
    case 'array select':
      return reject('sub-queries are not allowed in a default');
    default:
      return reject(`"${expr.type}" expressions are not allowed in a default`);
  }
}

type Canonical = null | string | { [key: string]: Canonical | Canonical[] };

function isLiteral(expr: Expr): boolean {
  switch (expr.type) {
    case 'string': case 'integer': case 'numeric': case 'boolean': case 'null':
      return true;
    case 'unary':
      return expr.op === '-' && (expr.operand.type === 'integer' || expr.operand.type === 'numeric');
    case 'array':
      return expr.expressions.every(isLiteral);
    case 'cast':
      return isLiteral(expr.operand);
    default:
      return false;
  }
}

function canonicalTypeName(def: DataTypeDef): string {
  const spelled = spellType(def);
  const parsed = parseColumnType(spelled);
  return parsed.ok ? formatTypeName(parsed.type) : spelled.toLowerCase();
}

/**
 * The comparison form: literal casts are dropped (Postgres adds them: `'a'` is stored as `'a'::text`),
 * literals compare by text (`0`, `'0'`, `'0'::integer`), names are lowercased, grouping is structural.
 */
function canonical(expr: Expr): Canonical {
  switch (expr.type) {
    case 'string':
      return { lit: expr.value };
    case 'integer':
    case 'numeric':
      return { lit: String(expr.value) };
    case 'boolean':
      return { lit: String(expr.value) };
    case 'null':
      return null;
    case 'keyword':
      return { kw: expr.keyword };
    case 'call':
      return { call: expr.function.name.toLowerCase(), args: expr.args.map(canonical) };
    case 'cast':
      return isLiteral(expr.operand) ? canonical(expr.operand) : { cast: canonicalTypeName(expr.to), of: canonical(expr.operand) };
    case 'unary':
      if (expr.op === '-' && (expr.operand.type === 'integer' || expr.operand.type === 'numeric')) return { lit: String(-expr.operand.value) };
      return { unary: expr.op, of: canonical(expr.operand) };
    case 'binary':
      return { op: expr.op, l: canonical(expr.left), r: canonical(expr.right) };
    case 'array':
      return { arr: expr.expressions.map(canonical) };
    default:
      return { other: JSON.stringify(expr) };
  }
}

function parseExpression(text: string): Expr {
  try {
    return parse(text, 'expr');
  } catch {
    return reject('not a valid SQL expression; examples: now(), gen_random_uuid(), \'draft\', 0, false, \'{}\'::jsonb');
  }
}

/**
 * Checks a DSL default and renders the SQL to emit.
 * In: the DSL `default` string (e.g. `"now()"`, `"'pending'"`). Out: `{ ok, sql, key }` — `key` is
 * null for a NULL default, which Postgres does not store — or `{ ok: false, message }` naming what is
 * refused (see the module comment for the grammar).
 */
export function checkDefault(text: string): ({ ok: true } & CheckedDefault) | { ok: false; message: string } {
  try {
    if (text.trim() === '') reject('empty; omit "default" for no default');
    if (text.length > maxDefaultLength) reject(`longer than ${maxDefaultLength} characters`);
    checkOutsideStrings(text);
    const expr = parseExpression(text);
    const sql = render(expr);
    const key = canonical(expr);
    return { ok: true, sql, key: key === null ? null : JSON.stringify(key) };
  } catch (error) {
    if (error instanceof DefaultRejected) return { ok: false, message: error.message };
    throw error;
  }
}

/**
 * The comparison key of a default as Postgres reports it (`pg_get_expr`), or the raw text when it
 * does not parse (then it only equals itself, so a DSL default always replaces it).
 */
export function catalogDefaultKey(pgText: string): string {
  try {
    const key = canonical(parse(pgText, 'expr'));
    return key === null ? 'null' : JSON.stringify(key);
  } catch {
    return `raw:${pgText}`;
  }
}

const numericBases = new Set(['integer', 'bigint', 'smallint', 'real', 'double precision', 'numeric']);

/**
 * How GET /schema shows a stored default: a literal cast to the column's own type loses the cast
 * (`'draft'::character varying` → `'draft'`, `'{}'::jsonb` → `'{}'`), a number stays a number
 * (`'-1'::integer` → `-1`); anything else is Postgres's own text.
 */
export function displayDefault(pgText: string, column: ColumnType): string {
  try {
    const expr = parse(pgText, 'expr');
    if (expr.type !== 'cast' || !isLiteral(expr.operand)) return pgText;
    const literal = expr.operand;
    if (literal.type === 'string' && !column.array && numericBases.has(column.base) && /^-?\d+(\.\d+)?$/.test(literal.value)) return literal.value;
    const castTo = parseColumnType(spellType(expr.to));
    if (!castTo.ok || castTo.type.base !== column.base || castTo.type.array !== column.array) return pgText;
    return render(literal);
  } catch {
    return pgText;
  }
}
