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
