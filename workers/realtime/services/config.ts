/**
 * Realtime config of an app (API.md §9 config endpoints), kept in the app database itself
 * (`realtime.tables`, migrations/app/0006_realtime.sql) so the trigger and the config change in one
 * transaction. Every statement runs in a DbGateway session of role service; the owner-only DDL
 * (CREATE/DROP TRIGGER on the app table) happens inside the SECURITY DEFINER functions
 * `realtime.enable_table` / `realtime.disable_table`, which only ever touch `trg_realtime_{table}`.
 */
import type { SqlResult, SqlStatement } from '../../shared/contracts.ts';
import { ApiError } from '../../shared/errors.ts';

/** Runs statements in one transaction as the app's service role. */
export type ServiceExecute = (statements: SqlStatement[], options?: { readOnly?: boolean }) => Promise<SqlResult[]>;

/** One row of GET /realtime/config `tables`. */
export interface RealtimeTableConfig {
  table_name: string;
  events: string[];
  enabled: boolean;
  created_at: string;
  updated_at: string;
  trigger_installed: boolean;
  drift: boolean;
}

const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const triggerInstalled = (table: string) => `EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g JOIN pg_catalog.pg_class c ON c.oid = g.tgrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = 'public' AND c.relname = ${table} AND g.tgname = realtime.trigger_name(${table}))`;

/**
 * Enables realtime on `tables` (idempotent; already enabled tables stay as they are, a missing trigger
 * is reinstalled). Out: `{ configured: [{ table, status: "enabled" }] }` in request order.
 * @throws ApiError VALIDATION_TABLE_NOT_FOUND (404, `details.missing_tables`) when a table does not
 *   exist (names starting with `_` are platform tables and never qualify); STATE_PREREQUISITE_MISSING
 *   (`details.tables_without_primary_key`) when a table has no primary key. Nothing changes then.
 */
export async function configureTables(execute: ServiceExecute, tables: string[]): Promise<{ configured: { table: string; status: 'enabled' }[] }> {
  const wanted = [...new Set(tables)];
  const [found] = await execute([{
    query: `SELECT c.relname::text AS name, EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS has_primary_key
              FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname = ANY ($1::text[]) AND left(c.relname, 1) <> '_'`,
    params: [wanted],
  }], { readOnly: true });
  const present = new Map(found!.rows.map((row) => [String(row.name), row.has_primary_key === true]));
  const missing = wanted.filter((table) => !present.has(table));
  if (missing.length > 0) {
    throw new ApiError('VALIDATION_TABLE_NOT_FOUND', `Tables not found: ${missing.join(', ')}.`, {
      remediation: 'Create the tables first (manage_schema action "apply", POST /v1/{app_id}/schema/apply), then configure realtime.',
      details: { missing_tables: missing },
    });
  }
  const withoutKey = wanted.filter((table) => present.get(table) === false);
  if (withoutKey.length > 0) {
    throw new ApiError('STATE_PREREQUISITE_MISSING', `Tables without a primary key cannot be realtime-enabled: ${withoutKey.join(', ')}.`, {
      remediation: 'Give each table a primary key (a column with "primaryKey": true in manage_schema apply), then configure realtime again.',
      details: { tables_without_primary_key: withoutKey },
    });
  }
  await execute(wanted.map((table) => ({ query: 'SELECT realtime.enable_table($1)', params: [table] })));
  return { configured: tables.filter((t, i) => tables.indexOf(t) === i).map((table) => ({ table, status: 'enabled' as const })) };
}

/** Every configured table with its trigger state (drift = enabled but the trigger is gone). */
export async function listTables(execute: ServiceExecute): Promise<RealtimeTableConfig[]> {
  const [result] = await execute([{
    query: `SELECT t.table_name, t.events, t.enabled, ${iso('t.created_at')} AS created_at, ${iso('t.updated_at')} AS updated_at,
                   ${triggerInstalled('t.table_name')} AS trigger_installed
              FROM realtime.tables t ORDER BY t.table_name`,
  }], { readOnly: true });
  return result!.rows.map((row) => {
    const enabled = row.enabled === true;
    const installed = row.trigger_installed === true;
    return {
      table_name: String(row.table_name),
      events: row.events as string[],
      enabled,
      created_at: String(row.created_at),
      updated_at: String(row.updated_at),
      trigger_installed: installed,
      drift: enabled && !installed,
    };
  });
}

/**
 * Disables realtime on `table`: drops its trigger, keeps the row (enabled false).
 * Out: `{ table, status: "disabled" }`.
 * @throws ApiError REALTIME_NOT_CONFIGURED when realtime was never configured for the table.
 */
export async function disableTable(execute: ServiceExecute, table: string): Promise<{ table: string; status: 'disabled' }> {
  const [result] = await execute([{ query: 'SELECT realtime.disable_table($1) AS configured', params: [table] }]);
  if (result!.rows[0]?.configured !== true) {
    throw new ApiError('REALTIME_NOT_CONFIGURED', `Realtime is not configured for table "${table}".`, {
      remediation: 'GET /v1/{app_id}/realtime/config lists the configured tables (MCP manage_realtime action "get").',
      details: { table },
    });
  }
  return { table, status: 'disabled' };
}
