/**
 * Column types of the schema DSL (API.md §3.1 "Types"): parsing (case-insensitive, with aliases),
 * the canonical DSL spelling, the SQL we emit, and the `format_type` spelling Postgres reports, so
 * `int` vs `integer` or `timestamptz` vs `timestamp with time zone` never produce a spurious diff.
 * Source: PostgreSQL docs, "Data Types" (8.1–8.5, 8.14, 8.15) and pgvector's README.
 */

/** A base type in its canonical DSL name. */
export type BaseType =
  | 'text' | 'varchar' | 'char' | 'uuid' | 'boolean' | 'integer' | 'bigint' | 'smallint' | 'real'
  | 'double precision' | 'numeric' | 'timestamptz' | 'timestamp' | 'date' | 'time' | 'timetz'
  | 'interval' | 'jsonb' | 'json' | 'bytea' | 'vector';

/** A parsed column type. `serial` types are `integer`/`bigint`/`smallint` with `serial: true`. */
export interface ColumnType {
  base: BaseType;
  /** Length (`varchar`, `char`), precision and scale (`numeric`) or dimensions (`vector`); empty when none. */
  args: number[];
  array: boolean;
  serial: boolean;
}

/** Spellings (lowercase, single spaces) → base type; `serial` entries set the serial flag. */
const aliases: Record<string, { base: BaseType; serial?: true }> = {
  text: { base: 'text' },
  varchar: { base: 'varchar' },
  'character varying': { base: 'varchar' },
  char: { base: 'char' },
  character: { base: 'char' },
  bpchar: { base: 'char' },
  uuid: { base: 'uuid' },
  boolean: { base: 'boolean' },
  bool: { base: 'boolean' },
  integer: { base: 'integer' },
  int: { base: 'integer' },
  int4: { base: 'integer' },
  bigint: { base: 'bigint' },
  int8: { base: 'bigint' },
  smallint: { base: 'smallint' },
  int2: { base: 'smallint' },
  serial: { base: 'integer', serial: true },
  serial4: { base: 'integer', serial: true },
  bigserial: { base: 'bigint', serial: true },
  serial8: { base: 'bigint', serial: true },
  smallserial: { base: 'smallint', serial: true },
  serial2: { base: 'smallint', serial: true },
  real: { base: 'real' },
  float4: { base: 'real' },
  float8: { base: 'double precision' },
  'double precision': { base: 'double precision' },
  numeric: { base: 'numeric' },
  decimal: { base: 'numeric' },
  timestamptz: { base: 'timestamptz' },
  'timestamp with time zone': { base: 'timestamptz' },
  timestamp: { base: 'timestamp' },
  'timestamp without time zone': { base: 'timestamp' },
  date: { base: 'date' },
  time: { base: 'time' },
  'time without time zone': { base: 'time' },
  timetz: { base: 'timetz' },
  'time with time zone': { base: 'timetz' },
  interval: { base: 'interval' },
  jsonb: { base: 'jsonb' },
  json: { base: 'json' },
  bytea: { base: 'bytea' },
  vector: { base: 'vector' },
};

/** The type names the DSL documents, for error messages. */
export const supportedTypeNames =
  'text, varchar[(N)], char[(N)], uuid, boolean, integer, bigint, smallint, serial, bigserial, smallserial, real, ' +
  'double precision, numeric[(P[,S])], timestamptz, timestamp, date, time, timetz, interval, jsonb, json, bytea, vector[(N)], and <type>[] arrays';

const maxLength = 10_485_760;

/**
 * Parses a DSL (or `format_type`) type string such as `VARCHAR(20)`, `numeric(10, 2)`, `uuid[]`,
 * `vector(1536)`, `timestamp with time zone`.
 * @returns the parsed type, or an error message naming what is wrong.
 */
export function parseColumnType(input: string): { ok: true; type: ColumnType } | { ok: false; message: string } {
  let text = input.trim().toLowerCase().replace(/\s+/g, ' ');
  let array = false;
  while (/\s?\[\s?\]$/.test(text)) {
    array = true;
    text = text.replace(/\s?\[\s?\]$/, '');
  }
  const match = /^([a-z][a-z0-9 ]*?)\s?(?:\(\s?(\d+)\s?(?:,\s?(\d+)\s?)?\))?$/.exec(text);
  const alias = match ? aliases[match[1]!] : undefined;
  if (!match || !alias) return { ok: false, message: `unknown type "${input}"; supported: ${supportedTypeNames}` };
  const args = [match[2], match[3]].filter((a): a is string => a !== undefined).map(Number);
  const { base } = alias;
  const serial = alias.serial === true;
  if (serial && array) return { ok: false, message: `"${input}": serial types cannot be arrays` };
  switch (base) {
    case 'varchar':
    case 'char':
      if (args.length > 1) return { ok: false, message: `"${input}": ${base} takes one length, e.g. ${base}(255)` };
      if (args.length === 1 && (args[0]! < 1 || args[0]! > maxLength)) return { ok: false, message: `"${input}": length must be 1–${maxLength}` };
      break;
    case 'numeric':
      if (args.length >= 1 && (args[0]! < 1 || args[0]! > 1000)) return { ok: false, message: `"${input}": precision must be 1–1000` };
      if (args.length === 2 && args[1]! > args[0]!) return { ok: false, message: `"${input}": scale must be between 0 and the precision` };
      if (args.length === 1) args.push(0);
      break;
    case 'vector':
      if (args.length > 1) return { ok: false, message: `"${input}": vector takes one dimension count, e.g. vector(1536)` };
      if (args.length === 1 && (args[0]! < 1 || args[0]! > 16_000)) return { ok: false, message: `"${input}": dimensions must be 1–16000` };
      break;
    default:
      if (args.length > 0) return { ok: false, message: `"${input}": ${base} takes no parameters` };
  }
  return { ok: true, type: { base, args, array, serial } };
}

const serialNames = { integer: 'serial', bigint: 'bigserial', smallint: 'smallserial' } as const;

/** The canonical DSL spelling, e.g. `varchar(20)`, `numeric(10,2)`, `uuid[]`, `serial`. Also valid SQL. */
export function dslTypeName(type: ColumnType): string {
  const base = type.serial ? serialNames[type.base as keyof typeof serialNames] : type.base;
  const args = type.args.length > 0 ? `(${type.args.join(',')})` : '';
  return `${base}${args}${type.array ? '[]' : ''}`;
}

/** The type as emitted in DDL (identical to {@link dslTypeName}: every spelling there is valid SQL). */
export function typeSql(type: ColumnType): string {
  return dslTypeName(type);
}

const formatNames: Record<BaseType, string> = {
  text: 'text', varchar: 'character varying', char: 'character', uuid: 'uuid', boolean: 'boolean',
  integer: 'integer', bigint: 'bigint', smallint: 'smallint', real: 'real', 'double precision': 'double precision',
  numeric: 'numeric', timestamptz: 'timestamp with time zone', timestamp: 'timestamp without time zone', date: 'date',
  time: 'time without time zone', timetz: 'time with time zone', interval: 'interval', jsonb: 'jsonb', json: 'json',
  bytea: 'bytea', vector: 'vector',
};

/**
 * How Postgres's `format_type` prints the stored type (serial-ness is not part of it: a serial is
 * an integer with a sequence default). Bare `char` is `character(1)`.
 */
export function formatTypeName(type: ColumnType): string {
  const args = type.base === 'char' && type.args.length === 0 ? [1] : type.args;
  const withArgs = args.length > 0 ? `${formatNames[type.base]}(${args.join(',')})` : formatNames[type.base];
  return `${withArgs}${type.array ? '[]' : ''}`;
}
