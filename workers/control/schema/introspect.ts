/**
 * Catalog → schema DSL (API.md §3.2 GET /v1/{app_id}/schema): the app's tables in the same shape an
 * apply takes, so the output can be edited and applied back as a no-op. What the DSL cannot express
 * is left out rather than misreported: multi-column and cross-schema foreign keys, partial,
 * expression and INCLUDE indexes, mixed operator classes. Tables starting with `_` are platform
 * internals and never shown.
 */
import type { CatalogColumn, CatalogForeignKey, CatalogIndex, CatalogTableDetail } from '../../shared/catalog.ts';
import { displayDefault } from './default-expression.ts';
import { dslTypeName, parseColumnType, type ColumnType } from './types.ts';

/** A column as GET /schema shows it (`primaryKey`, `unique`, `default`, `references` only when set). */
export interface DslColumnOut {
  type: string;
  nullable: boolean;
  primaryKey?: true;
  unique?: true;
  default?: string;
  references?: string | { table: string; column: string; onDelete?: string; onUpdate?: string };
}

/** An index as GET /schema shows it. */
export interface DslIndexOut {
  columns: string[];
  unique: boolean;
  method: string;
  opclass?: string;
}

/** A table as GET /schema shows it. */
export interface DslTableOut {
  columns: Record<string, DslColumnOut>;
  indexes?: Record<string, DslIndexOut>;
  _seed?: true;
}

/** The whole schema as GET /schema shows it. */
export interface DslSchemaOut {
  tables: Record<string, DslTableOut>;
}

const serialDefault = /^nextval\('[^']+'::regclass\)$/;

/** True for an integer column whose default draws from a sequence (what `serial` creates). */
export function isSerialColumn(column: CatalogColumn): boolean {
  return ['integer', 'bigint', 'smallint'].includes(column.type) && column.default !== null && serialDefault.test(column.default);
}

/** The column's type as the DSL spells it (`serial` for sequence-backed integers), or null when the DSL has no such type. */
export function columnTypeOf(column: CatalogColumn): ColumnType | null {
  const parsed = parseColumnType(column.type);
  if (!parsed.ok) return null;
  return { ...parsed.type, serial: isSerialColumn(column) };
}

/** Foreign keys the DSL can express: one column, to a table in `public`. */
export function singleColumnForeignKeys(table: CatalogTableDetail, column: string): CatalogForeignKey[] {
  return table.foreignKeys.filter((fk) => fk.refSchema === 'public' && fk.columns.length === 1 && fk.columns[0] === column && fk.refColumns.length === 1);
}

/** The one operator class an index uses on every column, null when all are defaults, undefined when mixed. */
export function uniformOpclass(index: CatalogIndex): string | null | undefined {
  if (index.defaultOpclasses.every(Boolean)) return null;
  const first = index.opclasses[0];
  return index.opclasses.every((name) => name === first) ? first : undefined;
}

/**
 * Indexes the DSL's `indexes` section shows: plain indexes and multi-column UNIQUE constraints
 * (single-column ones show as `unique: true` on the column; the primary key on its columns).
 */
export function dslIndexes(table: CatalogTableDetail): CatalogIndex[] {
  const singleUnique = new Set(table.uniqueConstraints.filter((u) => u.columns.length === 1).map((u) => u.name));
  const uniqueNames = new Set(table.uniqueConstraints.map((u) => u.name));
  return table.indexes.filter((index) =>
    !index.primary && index.columns !== null && !index.partial && !index.hasInclude && uniformOpclass(index) !== undefined &&
    (index.constraint === null || (uniqueNames.has(index.constraint) && !singleUnique.has(index.constraint))));
}

function columnOut(table: CatalogTableDetail, column: CatalogColumn): DslColumnOut {
  const type = columnTypeOf(column);
  const out: DslColumnOut = { type: type ? dslTypeName(type) : column.type, nullable: column.nullable };
  if (table.primaryKey.includes(column.name)) out.primaryKey = true;
  const unique = table.uniqueConstraints.some((u) => u.columns.length === 1 && u.columns[0] === column.name);
  if (unique && !out.primaryKey) out.unique = true;
  if (column.default !== null && !type?.serial) out.default = type ? displayDefault(column.default, type) : column.default;
  const [fk] = singleColumnForeignKeys(table, column.name);
  if (fk) {
    const target = `${fk.refTable}.${fk.refColumns[0]}`;
    out.references = fk.onDelete === 'NO ACTION' && fk.onUpdate === 'NO ACTION'
      ? target
      : {
          table: fk.refTable,
          column: fk.refColumns[0]!,
          ...(fk.onDelete !== 'NO ACTION' ? { onDelete: fk.onDelete } : {}),
          ...(fk.onUpdate !== 'NO ACTION' ? { onUpdate: fk.onUpdate } : {}),
        };
  }
  return out;
}

/**
 * Renders the catalog as the DSL.
 * In: tables from `loadCatalogDetail`, and the names in `butterbase.seed_tables`.
 * Out: {@link DslSchemaOut}, tables in name order, columns in table order, indexes by name.
 */
export function introspectSchema(tables: Map<string, CatalogTableDetail>, seedTables: ReadonlySet<string>): DslSchemaOut {
  const out: DslSchemaOut = { tables: {} };
  for (const table of [...tables.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    if (table.name.startsWith('_')) continue;
    const columns: Record<string, DslColumnOut> = {};
    for (const column of table.columns) {
      if (column.generated !== '') continue;
      columns[column.name] = columnOut(table, column);
    }
    const entry: DslTableOut = { columns };
    const indexes = dslIndexes(table);
    if (indexes.length > 0) {
      entry.indexes = {};
      for (const index of indexes) {
        const opclass = uniformOpclass(index);
        entry.indexes[index.name] = { columns: index.columns!, unique: index.unique, method: index.method, ...(opclass ? { opclass } : {}) };
      }
    }
    if (seedTables.has(table.name)) entry._seed = true;
    out.tables[table.name] = entry;
  }
  return out;
}
