/**
 * Reads an app database's catalog (tables in `public`: columns with formatted types, primary key,
 * RLS flags) in one statement. Shared by the schema API (control), RLS checks (control) and the
 * REST API's table cache (data). Source: PostgreSQL docs, "System Catalogs" (pg_class, pg_attribute,
 * pg_attrdef, pg_index).
 */
import type { SqlResult, SqlStatement } from './contracts.ts';

/** One column as Postgres describes it. */
export interface CatalogColumn {
  name: string;
  /** `format_type` output, e.g. `text`, `character varying(20)`, `numeric(10,2)`, `uuid[]`, `vector(3)`. */
  type: string;
  /** The base type's name (`pg_type.typname`), e.g. `text`, `_uuid` for arrays, `vector`. */
  udt: string;
  nullable: boolean;
  /** The default expression as SQL text, or null. */
  default: string | null;
  /** `a` / `d` for identity columns, '' otherwise. */
  identity: string;
  /** `s` for generated columns, '' otherwise. */
  generated: string;
  isArray: boolean;
}

/** One table in `public`. */
export interface CatalogTable {
  name: string;
  columns: CatalogColumn[];
  /** Primary-key column names in key order (empty when there is none). */
  primaryKey: string[];
  rlsEnabled: boolean;
  rlsForced: boolean;
}

/** Runs statements (e.g. DbGateway.execute as owner) and returns their results. */
export type Execute = (statements: SqlStatement[]) => Promise<SqlResult[]>;

/** The catalog query; one row per table, columns as JSON. */
export const catalogQuery = `
SELECT c.relname AS name,
       c.relrowsecurity AS rls_enabled,
       c.relforcerowsecurity AS rls_forced,
       COALESCE((
         SELECT json_agg(json_build_object(
                  'name', a.attname,
                  'type', format_type(a.atttypid, a.atttypmod),
                  'udt', t.typname,
                  'nullable', NOT a.attnotnull,
                  'default', pg_get_expr(d.adbin, d.adrelid),
                  'identity', a.attidentity,
                  'generated', a.attgenerated,
                  'isArray', t.typcategory = 'A') ORDER BY a.attnum)
           FROM pg_attribute a
           JOIN pg_type t ON t.oid = a.atttypid
           LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]'::json) AS columns,
       COALESCE((
         SELECT json_agg(a.attname ORDER BY array_position(i.indkey::int2[], a.attnum))
           FROM pg_index i
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
          WHERE i.indrelid = c.oid AND i.indisprimary), '[]'::json) AS primary_key
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
 ORDER BY c.relname`;

/** Converts catalog rows into tables keyed by name. */
export function catalogFromRows(rows: Record<string, unknown>[]): Map<string, CatalogTable> {
  const tables = new Map<string, CatalogTable>();
  for (const row of rows) {
    const name = String(row.name);
    tables.set(name, {
      name,
      columns: row.columns as CatalogColumn[],
      primaryKey: row.primary_key as string[],
      rlsEnabled: Boolean(row.rls_enabled),
      rlsForced: Boolean(row.rls_forced),
    });
  }
  return tables;
}

/** Reads the catalog through `execute` (which must run as a role that can see the tables, e.g. owner). */
export async function loadCatalog(execute: Execute): Promise<Map<string, CatalogTable>> {
  const [result] = await execute([{ query: catalogQuery }]);
  return catalogFromRows(result?.rows ?? []);
}

/** A foreign-key action as Postgres stores it, spelled as in SQL. */
export type CatalogForeignKeyAction = 'NO ACTION' | 'RESTRICT' | 'CASCADE' | 'SET NULL' | 'SET DEFAULT';

/** One foreign key (one or more columns). */
export interface CatalogForeignKey {
  name: string;
  columns: string[];
  /** The referenced table's schema (`public` for app tables). */
  refSchema: string;
  refTable: string;
  refColumns: string[];
  onDelete: CatalogForeignKeyAction;
  onUpdate: CatalogForeignKeyAction;
}

/** One UNIQUE constraint (its index has the same name). */
export interface CatalogUniqueConstraint {
  name: string;
  columns: string[];
}

/** One index, including those that back a primary key or unique constraint. */
export interface CatalogIndex {
  name: string;
  /** Key columns in order; null for an expression index. */
  columns: string[] | null;
  unique: boolean;
  primary: boolean;
  /** Access method: `btree`, `hash`, `gin`, `gist`, `hnsw`, `ivfflat`, … */
  method: string;
  /** Operator class per key column, and whether each is the default for its type and method. */
  opclasses: string[];
  defaultOpclasses: boolean[];
  /** A WHERE clause (partial index) or INCLUDE columns: shapes the schema DSL cannot express. */
  partial: boolean;
  hasInclude: boolean;
  /** The constraint this index implements (primary key, unique, exclusion), or null. */
  constraint: string | null;
}

/** A table with its constraints and indexes (what the schema DSL needs; see {@link loadCatalogDetail}). */
export interface CatalogTableDetail extends CatalogTable {
  /** Name of the primary-key constraint, or null. */
  primaryKeyName: string | null;
  foreignKeys: CatalogForeignKey[];
  uniqueConstraints: CatalogUniqueConstraint[];
  indexes: CatalogIndex[];
}

/** {@link catalogQuery} plus foreign keys, unique constraints and indexes per table (pg_constraint, pg_index, pg_am, pg_opclass). */
export const catalogDetailQuery = `
SELECT base.*,
       (SELECT con.conname FROM pg_constraint con WHERE con.conrelid = c.oid AND con.contype = 'p') AS primary_key_name,
       COALESCE((
         SELECT json_agg(json_build_object(
                  'name', con.conname,
                  'columns', (SELECT json_agg(a.attname ORDER BY k.ord)
                                FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
                                JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum),
                  'refSchema', rn.nspname,
                  'refTable', rc.relname,
                  'refColumns', (SELECT json_agg(a.attname ORDER BY k.ord)
                                   FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
                                   JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum),
                  'onDelete', CASE con.confdeltype WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT' ELSE 'NO ACTION' END,
                  'onUpdate', CASE con.confupdtype WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT' ELSE 'NO ACTION' END)
                ORDER BY con.conname)
           FROM pg_constraint con
           JOIN pg_class rc ON rc.oid = con.confrelid
           JOIN pg_namespace rn ON rn.oid = rc.relnamespace
          WHERE con.conrelid = c.oid AND con.contype = 'f'), '[]'::json) AS foreign_keys,
       COALESCE((
         SELECT json_agg(json_build_object(
                  'name', con.conname,
                  'columns', (SELECT json_agg(a.attname ORDER BY k.ord)
                                FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
                                JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum))
                ORDER BY con.conname)
           FROM pg_constraint con
          WHERE con.conrelid = c.oid AND con.contype = 'u'), '[]'::json) AS unique_constraints,
       COALESCE((
         SELECT json_agg(json_build_object(
                  'name', ic.relname,
                  'columns', CASE WHEN 0 = ANY (i.indkey::int2[]) THEN NULL ELSE
                               (SELECT json_agg(a.attname ORDER BY k.ord)
                                  FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                                  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                                 WHERE k.ord <= i.indnkeyatts) END,
                  'unique', i.indisunique,
                  'primary', i.indisprimary,
                  'method', am.amname,
                  'opclasses', (SELECT json_agg(oc.opcname ORDER BY k.ord)
                                  FROM unnest(i.indclass::oid[]) WITH ORDINALITY k(opc, ord)
                                  JOIN pg_opclass oc ON oc.oid = k.opc),
                  'defaultOpclasses', (SELECT json_agg(oc.opcdefault ORDER BY k.ord)
                                         FROM unnest(i.indclass::oid[]) WITH ORDINALITY k(opc, ord)
                                         JOIN pg_opclass oc ON oc.oid = k.opc),
                  'partial', i.indpred IS NOT NULL,
                  'hasInclude', i.indnatts > i.indnkeyatts,
                  'constraint', (SELECT con.conname FROM pg_constraint con WHERE con.conindid = i.indexrelid AND con.conrelid = c.oid LIMIT 1))
                ORDER BY ic.relname)
           FROM pg_index i
           JOIN pg_class ic ON ic.oid = i.indexrelid
           JOIN pg_am am ON am.oid = ic.relam
          WHERE i.indrelid = c.oid), '[]'::json) AS indexes
  FROM (${catalogQuery}) base
  JOIN pg_class c ON c.relname = base.name AND c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
 ORDER BY base.name`;

/** Converts {@link catalogDetailQuery} rows into tables keyed by name. */
export function catalogDetailFromRows(rows: Record<string, unknown>[]): Map<string, CatalogTableDetail> {
  const base = catalogFromRows(rows);
  const tables = new Map<string, CatalogTableDetail>();
  for (const row of rows) {
    const table = base.get(String(row.name))!;
    tables.set(table.name, {
      ...table,
      primaryKeyName: (row.primary_key_name as string | null) ?? null,
      foreignKeys: row.foreign_keys as CatalogForeignKey[],
      uniqueConstraints: row.unique_constraints as CatalogUniqueConstraint[],
      indexes: row.indexes as CatalogIndex[],
    });
  }
  return tables;
}

/** Reads the catalog with constraints and indexes through `execute` (run as a role that sees the tables, e.g. owner). */
export async function loadCatalogDetail(execute: Execute): Promise<Map<string, CatalogTableDetail>> {
  const [result] = await execute([{ query: catalogDetailQuery }]);
  return catalogDetailFromRows(result?.rows ?? []);
}
