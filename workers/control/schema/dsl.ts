/**
 * The declarative schema DSL (API.md §3.1) as zod schemas that validate a payload and normalise it
 * into a {@link DesiredSchema}: types parsed (aliases resolved), defaults checked and re-rendered,
 * `primary`/`primaryKey` merged, both drop forms (`_drop: ["t"]` and `"t": {"_drop": true}`) merged.
 *
 * Also accepted, beyond the wire: the tables written at the top level of `schema` without the
 * `tables` wrapper (the product docs' examples do this); when a `tables` key is present it wins.
 */
import { z } from 'zod';
import { ApiError } from '../../shared/errors.ts';
import { reservedSegment } from '../../shared/reserved-segments.ts';
import { formatPath, identifier, zodToApiError } from '../../shared/validation.ts';
import { checkDefault, type CheckedDefault } from './default-expression.ts';
import { parseColumnType, type ColumnType } from './types.ts';

/** Most tables one payload may declare or drop (API.md §3.1 "Max tables"). */
export const maxTablesPerPayload = 50;

/** Foreign-key actions (API.md §3.1), as SQL spells them. */
export const foreignKeyActions = ['NO ACTION', 'RESTRICT', 'CASCADE', 'SET NULL', 'SET DEFAULT'] as const;
export type ForeignKeyAction = (typeof foreignKeyActions)[number];

/** Index access methods (API.md §3.1). */
export const indexMethods = ['btree', 'hash', 'gist', 'gin', 'hnsw', 'ivfflat'] as const;
export type IndexMethod = (typeof indexMethods)[number];

/** Column names Postgres reserves for system columns. */
const systemColumns = new Set(['tableoid', 'xmin', 'cmin', 'xmax', 'cmax', 'ctid', 'oid']);

const reservedTableMessage = 'names starting with "_" are reserved for the platform';

/** Why `name` cannot name a table the REST API serves (a `/v1/{app_id}/{segment}` route), or null. */
export function reservedRouteName(name: string): string | null {
  const segment = reservedSegment(name);
  if (!segment) return null;
  return `"${name}" is reserved: /v1/{app_id}/${name} is the platform's ${segment.feature} route, so the REST API could never reach a table of that name; choose another name (e.g. "${name}_items" or "app_${name}")`;
}

/** The name of an existing table (drops, references): an identifier not starting with `_`. */
const existingTableName = identifier.refine((name) => !name.startsWith('_'), { message: reservedTableMessage, params: { reserved: true } });

/** A table name to create or keep: also not a reserved route segment (workers/shared/reserved-segments.ts). */
const tableName = existingTableName.superRefine((name, ctx) => {
  const reason = reservedRouteName(name);
  if (reason) ctx.addIssue({ code: 'custom', message: reason, params: { reserved: true } });
});

/** A column name that may already exist (drops): not a system column. */
const existingColumnName = identifier.refine((name) => !systemColumns.has(name), 'is a Postgres system column name; choose another');

/** A column to create or keep: also not starting with `_` (API.md §3.1 reserves such names). */
const columnName = existingColumnName.refine((name) => !name.startsWith('_'), {
  message: 'names starting with "_" are reserved for the platform; choose another column name',
  params: { invalidName: true },
});

const foreignKeyAction = z
  .string()
  .transform((value) => value.trim().toUpperCase().replace(/\s+/g, ' '))
  .pipe(z.enum(foreignKeyActions, { error: `must be one of ${foreignKeyActions.join(', ')}` }));

const referenceObject = z.object({
  table: existingTableName,
  column: existingColumnName,
  onDelete: foreignKeyAction.optional(),
  onUpdate: foreignKeyAction.optional(),
}).strict();

/** `table.column`; the table part may not start with `_` (platform tables cannot be referenced). */
const referenceShort = z.string().regex(/^[a-z][a-z0-9_]{0,62}\.[a-z_][a-z0-9_]{0,62}$/, 'must be "table.column" with a table that does not start with "_", e.g. "users.id"');

const reference = z.union([referenceShort, referenceObject], {
  error: 'must be "table.column" or { table, column, onDelete?, onUpdate? }',
});

const columnType = z.string().max(100).transform((value, ctx): ColumnType => {
  const parsed = parseColumnType(value);
  if (!parsed.ok) {
    ctx.addIssue({ code: 'custom', message: parsed.message });
    return z.NEVER;
  }
  return parsed.type;
});

const defaultExpression = z.string().transform((value, ctx): CheckedDefault => {
  const checked = checkDefault(value);
  if (!checked.ok) {
    ctx.addIssue({ code: 'custom', message: `unsafe or invalid default: ${checked.message}` });
    return z.NEVER;
  }
  return { sql: checked.sql, key: checked.key };
});

const columnDefinition = z.object({
  type: columnType,
  primaryKey: z.boolean().optional(),
  /** The docs' spelling of `primaryKey` (API.md §3.1 Gap: accept both). */
  primary: z.boolean().optional(),
  nullable: z.boolean().optional(),
  unique: z.boolean().optional(),
  default: defaultExpression.optional(),
  references: reference.optional(),
}).strict().superRefine((column, ctx) => {
  if (column.primary !== undefined && column.primaryKey !== undefined && column.primary !== column.primaryKey) {
    ctx.addIssue({ code: 'custom', path: ['primary'], message: 'contradicts primaryKey; give one of them' });
  }
  if ((column.primaryKey ?? column.primary) === true && column.nullable === true) {
    ctx.addIssue({ code: 'custom', path: ['nullable'], message: 'a primary-key column cannot be nullable' });
  }
  if (column.type.serial && column.default !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['default'], message: 'serial columns take their default from their sequence; omit "default"' });
  }
});

const indexDefinition = z.object({
  columns: z.array(columnName).min(1).max(32),
  unique: z.boolean().optional(),
  method: z.string().transform((value) => value.trim().toLowerCase()).pipe(z.enum(indexMethods, { error: `must be one of ${indexMethods.join(', ')}` })).optional(),
  /** An operator class applied to every column, e.g. `vector_cosine_ops`, `jsonb_path_ops`. */
  opclass: identifier.optional(),
}).strict().superRefine((index, ctx) => {
  if (index.unique && (index.method ?? 'btree') !== 'btree') {
    ctx.addIssue({ code: 'custom', path: ['unique'], message: `only btree indexes can be unique (method is ${index.method})` });
  }
  if (new Set(index.columns).size !== index.columns.length) {
    ctx.addIssue({ code: 'custom', path: ['columns'], message: 'lists a column twice' });
  }
});

const tableDefinition = z.object({
  columns: z.record(columnName, columnDefinition).optional(),
  indexes: z.record(identifier, indexDefinition).optional(),
  _dropColumns: z.array(existingColumnName).max(100).optional(),
  _seed: z.boolean().optional(),
  /** The docs' drop form `"t": {"_drop": true}` (API.md §3.1 Gap: accept both). */
  _drop: z.literal(true).optional(),
}).strict().superRefine((table, ctx) => {
  if (table._drop) {
    for (const key of ['columns', 'indexes', '_dropColumns', '_seed'] as const) {
      if (table[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'a table marked "_drop": true takes no other keys' });
    }
    return;
  }
  if (table.columns === undefined) {
    ctx.addIssue({ code: 'invalid_type', expected: 'object', path: ['columns'], message: 'required field is missing' });
    return;
  }
  if (Object.keys(table.columns).length > 250) ctx.addIssue({ code: 'custom', path: ['columns'], message: 'at most 250 columns per table' });
  if (table.indexes && Object.keys(table.indexes).length > 50) ctx.addIssue({ code: 'custom', path: ['indexes'], message: 'at most 50 indexes per table' });
  (table._dropColumns ?? []).forEach((name, i) => {
    if (table.columns![name]) ctx.addIssue({ code: 'custom', path: ['_dropColumns', i], message: `"${name}" is also declared in columns; a column cannot be both kept and dropped` });
  });
  const primaryKeys = Object.values(table.columns).filter((c) => (c.primaryKey ?? c.primary) === true).length;
  if (primaryKeys > 32) ctx.addIssue({ code: 'custom', path: ['columns'], message: 'at most 32 primary-key columns' });
});

/** Moves a top-level table map (the docs' form) under `tables`; the wire form passes through. */
function wrapTables(input: unknown): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input) || 'tables' in input) return input;
  const { _drop, ...tables } = input as Record<string, unknown>;
  return _drop === undefined ? { tables } : { tables, _drop };
}

/** The DSL document (`schema` in an apply body), normalised to a {@link DesiredSchema}. */
export const schemaDsl = z.preprocess(wrapTables, z.object({
  tables: z.record(tableName, tableDefinition),
  _drop: z.array(existingTableName).max(maxTablesPerPayload).optional(),
}).strict().superRefine((schema, ctx) => {
  if (Object.keys(schema.tables).length > maxTablesPerPayload) {
    ctx.addIssue({ code: 'custom', path: ['tables'], message: `at most ${maxTablesPerPayload} tables per payload` });
  }
  (schema._drop ?? []).forEach((name, i) => {
    const declared = schema.tables[name];
    if (declared && !declared._drop) ctx.addIssue({ code: 'custom', path: ['_drop', i], message: `"${name}" is also declared in tables; a table cannot be both kept and dropped` });
  });
}).transform((schema): DesiredSchema => toDesired(schema)));

/** Body of POST /v1/{app_id}/schema/apply (API.md §3.2). */
export const applySchemaBody = z.object({
  schema: schemaDsl,
  dry_run: z.boolean().optional(),
  name: z.string().min(1).max(200).regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters').optional(),
}).strict();
export type ApplySchemaBody = z.output<typeof applySchemaBody>;

/** A foreign key as declared. */
export interface DesiredReference {
  table: string;
  column: string;
  onDelete: ForeignKeyAction;
  onUpdate: ForeignKeyAction;
}

/** A column as declared, defaults filled in (`nullable` true, `unique` false). */
export interface DesiredColumn {
  name: string;
  type: ColumnType;
  nullable: boolean;
  primaryKey: boolean;
  unique: boolean;
  default: CheckedDefault | null;
  references: DesiredReference | null;
}

/** An index as declared (`method` defaults to btree). */
export interface DesiredIndex {
  name: string;
  columns: string[];
  unique: boolean;
  method: IndexMethod;
  opclass: string | null;
}

/** A table as declared; `seed` is undefined when `_seed` was not given (left as it is). */
export interface DesiredTable {
  name: string;
  columns: DesiredColumn[];
  indexes: DesiredIndex[];
  dropColumns: string[];
  seed: boolean | undefined;
}

/** A whole payload: the tables to create or change and the tables to drop. */
export interface DesiredSchema {
  tables: DesiredTable[];
  drop: string[];
}

type ParsedDsl = {
  tables: Record<string, z.output<typeof tableDefinition>>;
  _drop?: string[];
};

function toDesired(schema: ParsedDsl): DesiredSchema {
  const drop = new Set(schema._drop ?? []);
  const tables: DesiredTable[] = [];
  for (const [name, table] of Object.entries(schema.tables)) {
    if (table._drop) {
      drop.add(name);
      continue;
    }
    tables.push({
      name,
      columns: Object.entries(table.columns ?? {}).map(([columnName, column]) => {
        const primaryKey = (column.primaryKey ?? column.primary) === true;
        const ref = column.references;
        return {
          name: columnName,
          type: column.type,
          nullable: primaryKey ? false : column.nullable ?? true,
          primaryKey,
          unique: column.unique ?? false,
          default: column.default && column.default.key !== null ? column.default : null,
          references: ref === undefined ? null : typeof ref === 'string'
            ? { table: ref.split('.')[0]!, column: ref.split('.')[1]!, onDelete: 'NO ACTION', onUpdate: 'NO ACTION' }
            : { table: ref.table, column: ref.column, onDelete: ref.onDelete ?? 'NO ACTION', onUpdate: ref.onUpdate ?? 'NO ACTION' },
        };
      }),
      indexes: Object.entries(table.indexes ?? {}).map(([indexName, index]) => ({
        name: indexName,
        columns: index.columns,
        unique: index.unique ?? false,
        method: index.method ?? 'btree',
        opclass: index.opclass ?? null,
      })),
      dropColumns: [...new Set(table._dropColumns ?? [])],
      seed: table._seed,
    });
  }
  return { tables, drop: [...drop] };
}

/** Replaces zod's wrapper issues (bad record key, no union branch) by the inner issues at full paths. */
function flattenIssues(issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[] = []): z.core.$ZodIssue[] {
  const out: z.core.$ZodIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_key') {
      out.push(...flattenIssues(issue.issues, path).map((inner) => ({ ...inner, message: `invalid name: ${inner.message}` })));
    } else if (issue.code === 'invalid_union') {
      // The branch whose shape matched the input explains the problem; if none did, keep the union's message.
      const matched = issue.errors.filter((branch) => !branch.every((b) => b.code === 'invalid_type' && b.path.length === 0));
      if (matched.length === 1) out.push(...flattenIssues(matched[0]!, path));
      else out.push({ ...issue, path });
    } else {
      out.push({ ...issue, path } as z.core.$ZodIssue);
    }
  }
  return out;
}

/**
 * Validates an apply body.
 * In: the parsed JSON body. Out: {@link ApplySchemaBody} with `schema` as a {@link DesiredSchema}.
 * @throws ApiError VALIDATION_RESERVED_TABLE (a table name starts with `_` or is a reserved route segment
 *   such as `config` or `images`), VALIDATION_INVALID_NAME (a column name starts with `_`), VALIDATION_MISSING_FIELD,
 *   VALIDATION_INVALID_TYPE or VALIDATION_INVALID_SCHEMA (everything else, including unsafe defaults);
 *   `details` lists every problem with its field path, e.g. `schema.tables.posts.columns.id.type`.
 */
export function parseApplySchemaBody(input: unknown): ApplySchemaBody {
  const result = applySchemaBody.safeParse(input);
  if (result.success) return result.data;
  const issues = flattenIssues(result.error.issues);
  // Paths of the docs' form point into the wrapped shape; look values up in that shape too.
  const seen = typeof input === 'object' && input !== null && !Array.isArray(input)
    ? { ...input, schema: wrapTables((input as { schema?: unknown }).schema) }
    : input;
  const error = zodToApiError(new z.ZodError(issues), seen, 'schema');
  const reserved = issues.find((issue) => issue.code === 'custom' && (issue as { params?: { reserved?: boolean } }).params?.reserved);
  if (reserved) {
    const routeName = reservedRouteName(String(reserved.path.at(-1)));
    throw new ApiError('VALIDATION_RESERVED_TABLE', `Invalid schema: ${formatPath(reserved.path)}: ${reserved.message}.`, {
      details: error.details,
      ...(routeName ? { remediation: 'Rename the table: names of platform routes (config, schema, auth, functions, images, …) and names starting with "_" cannot be tables.' } : {}),
    });
  }
  const badName = issues.find((issue) => issue.code === 'custom' && (issue as { params?: { invalidName?: boolean } }).params?.invalidName);
  if (badName) {
    throw new ApiError('VALIDATION_INVALID_NAME', `Invalid schema: ${formatPath(badName.path)}: ${badName.message}.`, { details: error.details });
  }
  throw error;
}
