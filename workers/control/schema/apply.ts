/**
 * The schema service (API.md §3.2): read the schema back as DSL, plan an apply (dry run or not),
 * apply a plan — every statement plus its ledger row in ONE DbGateway batch as `owner`, so a change
 * is all-or-nothing — and list the ledger.
 *
 * A migration's id is a content address: sha256(previous migration id + "\n" + applied SQL), computed
 * inside the applying transaction under an advisory lock. Re-sending a change that already landed
 * finds nothing to do ("Schema is up to date") and writes no row, so history never forks; the same
 * SQL applied again later (after a drop) still gets its own id because its parent differs.
 */
import type { SqlStatement } from '../../shared/contracts.ts';
import { catalogDetailFromRows, catalogDetailQuery, type Execute } from '../../shared/catalog.ts';
import { ApiError } from '../../shared/errors.ts';
import { unwrap } from '../../shared/rpc.ts';
import type { Env } from '../env.ts';
import type { AppRow } from '../services/apps.ts';
import { planSchema, type CurrentSchema, type PlannedStatement, type SchemaPlan } from './diff.ts';
import { reservedRouteName, type DesiredSchema } from './dsl.ts';
import { introspectSchema, type DslSchemaOut } from './introspect.ts';

/** Message of an apply or dry run that finds nothing to change (API.md §3.2). */
export const upToDateMessage = 'Schema is up to date';

/** Serialises schema applies per app database (any constant works: the lock is per database). */
const applyLockKey = 4_206_003;

/**
 * An `Execute` for one app's database as `owner` through DbGateway.
 * @throws ApiError APP_NOT_READY unless the app is `ready` (or, for reads, `migrating`); APP_MIGRATING
 *   (503 + Retry-After) for a write while the app database is being upgraded.
 */
export function ownerExecutor(env: Pick<Env, 'DB_OWNER'>, app: Pick<AppRow, 'id' | 'provisioning_status'>, access: 'read' | 'write'): Execute {
  const usable = app.provisioning_status === 'ready' || (access === 'read' && app.provisioning_status === 'migrating');
  if (!usable && app.provisioning_status === 'migrating') {
    throw new ApiError('APP_MIGRATING', `App ${app.id} is being upgraded; schema changes wait until it is ready again.`, {
      details: { provisioning_status: app.provisioning_status },
      headers: { 'retry-after': '5' },
    });
  }
  if (!usable) {
    throw new ApiError('APP_NOT_READY', `App ${app.id} is ${app.provisioning_status}; its database cannot take schema ${access === 'read' ? 'reads' : 'changes'} yet.`, {
      details: { provisioning_status: app.provisioning_status },
    });
  }
  return async (statements) => unwrap(await env.DB_OWNER.execute(app.id, statements));
}

/** Reads tables (with constraints and indexes) and seed marks in one batch. */
export async function readCurrentSchema(execute: Execute): Promise<CurrentSchema> {
  const [catalog, seeds] = await execute([{ query: catalogDetailQuery }, { query: 'SELECT table_name FROM butterbase.seed_tables' }]);
  return {
    tables: catalogDetailFromRows(catalog?.rows ?? []),
    seedTables: new Set((seeds?.rows ?? []).map((row) => String(row.table_name))),
  };
}

/** A problem with an existing table that the schema read reports (it does not block anything). */
export interface SchemaWarning {
  code: 'RESERVED_TABLE_NAME';
  table: string;
  message: string;
  remediation: string;
}

/** Body of GET /v1/{app_id}/schema (API.md §3.2), plus `warnings` when an existing table has a problem. */
export interface SchemaResponse {
  app_id: string;
  schema: DslSchemaOut;
  api_base: string;
  warnings?: SchemaWarning[];
  _meta: { resource_info: { table_count: number; tables: string[] } };
}

/**
 * GET /v1/{app_id}/schema: the app's tables introspected into the DSL shape.
 * In: an owner executor, the app id, the public API base (`https://api…`). Out: {@link SchemaResponse}.
 */
export async function getSchema(execute: Execute, appId: string, apiBase: string): Promise<SchemaResponse> {
  const current = await readCurrentSchema(execute);
  const schema = introspectSchema(current.tables, current.seedTables);
  const tables = Object.keys(schema.tables);
  // Tables created before their name became a platform route (the DSL refuses such names now).
  const warnings: SchemaWarning[] = tables.flatMap((table) => {
    const reason = reservedRouteName(table);
    return reason
      ? [{ code: 'RESERVED_TABLE_NAME' as const, table, message: `Table ${reason}.`, remediation: `The REST API cannot serve "${table}": create a table with another name, copy the rows, then drop "${table}" with "_drop".` }]
      : [];
  });
  return {
    app_id: appId,
    schema,
    api_base: `${apiBase}/v1/${appId}`,
    ...(warnings.length > 0 ? { warnings } : {}),
    _meta: { resource_info: { table_count: tables.length, tables } },
  };
}

/**
 * Plans an apply against the database as it is now (see diff.ts for the rules).
 * @throws ApiError VALIDATION_INVALID_SCHEMA (payload does not fit the database).
 */
export async function planApply(execute: Execute, desired: DesiredSchema): Promise<SchemaPlan> {
  return planSchema(desired, await readCurrentSchema(execute));
}

/** True when a plan changes nothing and refuses nothing. */
export function isUpToDate(plan: SchemaPlan): boolean {
  return plan.statements.length === 0 && plan.refused.length === 0;
}

function refuse(plan: SchemaPlan): void {
  if (plan.refused.length === 0) return;
  throw new ApiError('SCHEMA_DESTRUCTIVE_CHANGE', `${plan.refused.length} destructive change${plan.refused.length === 1 ? '' : 's'} refused; nothing was applied.`, {
    details: plan.refused,
    remediation: 'A column type change is never applied in place: add a new column, copy the data, then list the old column in "_dropColumns". Tables and columns are only dropped when named in "_drop" / "_dropColumns".',
  });
}

const statementOut = (s: PlannedStatement) => ({ sql: s.sql, ...(s.params ? { params: s.params } : {}), description: s.description, destructive: s.destructive });

/**
 * The body of a dry run: the exact statements an apply would run now, nothing executed.
 * @throws ApiError SCHEMA_DESTRUCTIVE_CHANGE when the plan refuses a change (as the apply would).
 */
export function dryRunResult(plan: SchemaPlan) {
  refuse(plan);
  if (isUpToDate(plan)) return { dry_run: true, applied: 0, statements: [], message: upToDateMessage };
  return { dry_run: true, applied: plan.statements.length, statements: plan.statements.map(statementOut) };
}

/** The body of an apply that had nothing to do. */
export function upToDateResult() {
  return { applied: 0, statements: [], message: upToDateMessage };
}

/** `schema_<ISO timestamp with ":" and "." replaced by "-">` (API.md §3.2). */
export function defaultMigrationName(now: Date): string {
  return `schema_${now.toISOString().replace(/[:.]/g, '-')}`;
}

/** The ledger's `applied_sql`: each statement with its terminator; bound values are noted in a comment. */
export function appliedSqlOf(statements: readonly PlannedStatement[]): string {
  return statements.map((s) => `${s.sql};${s.params ? ` -- params: ${JSON.stringify(s.params)}` : ''}`).join('\n');
}

const ledgerInsert = `
INSERT INTO butterbase.schema_migrations (id, name, description, applied_sql, applied_at)
SELECT encode(sha256(convert_to(COALESCE((SELECT id FROM butterbase.schema_migrations ORDER BY applied_at DESC, id DESC LIMIT 1), '') || E'\\n' || $3, 'UTF8')), 'hex'),
       $1, $2, $3, clock_timestamp()
RETURNING id`;

/**
 * Applies a plan: the advisory lock, every statement and the ledger row, in one transaction.
 * In: an owner executor, the desired schema (to re-plan after a failure), the plan, the migration name.
 * Out: `{ applied, statements, migration_id, name, message }`, or the up-to-date body when the
 * failure was a concurrent apply of the same change.
 * @throws ApiError SCHEMA_DESTRUCTIVE_CHANGE (409, details = refused changes), SCHEMA_MIGRATION_FAILED
 *   (400, details.pg_code/severity/message/detail/hint; nothing applied), APP_NOT_READY, EXTERNAL_DB_ERROR.
 */
export async function applyPlan(execute: Execute, desired: DesiredSchema, plan: SchemaPlan, name: string) {
  refuse(plan);
  if (isUpToDate(plan)) return upToDateResult();
  const appliedSql = appliedSqlOf(plan.statements);
  const batch: SqlStatement[] = [
    { query: 'SELECT pg_advisory_xact_lock($1)', params: [applyLockKey] },
    ...plan.statements.map((s) => ({ query: s.sql, params: s.params ?? [] })),
    { query: ledgerInsert, params: [name, plan.statements.map((s) => s.description).join('\n'), appliedSql] },
  ];
  let results;
  try {
    results = await execute(batch);
  } catch (error) {
    if (!(error instanceof ApiError) || !error.pg || error.code === 'APP_NOT_READY' || error.code === 'RESOURCE_CONFLICT') throw error;
    if (await landedMeanwhile(execute, desired)) return upToDateResult();
    throw new ApiError('SCHEMA_MIGRATION_FAILED', `Postgres rejected the migration, so nothing was applied: ${error.pg.message}`, {
      details: { pg_code: error.pg.code, severity: error.pg.severity ?? 'ERROR', message: error.pg.message, detail: error.pg.detail, hint: error.pg.hint },
      cause: error,
    });
  }
  const id = String(results.at(-1)?.rows[0]?.id);
  return {
    applied: plan.statements.length,
    statements: plan.statements.map(statementOut),
    migration_id: id,
    name,
    message: `Applied ${plan.statements.length} statement${plan.statements.length === 1 ? '' : 's'} as migration ${name}`,
  };
}

/** After a failed apply: true when the database now matches the payload (a concurrent apply of the same change won). */
async function landedMeanwhile(execute: Execute, desired: DesiredSchema): Promise<boolean> {
  try {
    return isUpToDate(await planApply(execute, desired));
  } catch {
    return false;
  }
}

/** One ledger entry as GET /migrations shows it; `description` is the migration's name, `changes` its statements' descriptions. */
export interface MigrationOut {
  id: string;
  name: string;
  description: string;
  changes: string[];
  applied_sql: string;
  applied_at: string;
}

/**
 * GET /v1/{app_id}/migrations: the schema ledger, newest first (API.md §3.2). No template migrations exist here.
 * Out: `{ app_id, migrations: MigrationOut[], template_migrations: [] }`.
 */
export async function listMigrations(execute: Execute, appId: string) {
  const [result] = await execute([{ query: 'SELECT id, name, description, applied_sql, applied_at FROM butterbase.schema_migrations ORDER BY applied_at DESC, id DESC' }]);
  const migrations: MigrationOut[] = (result?.rows ?? []).map((row) => ({
    id: String(row.id),
    name: String(row.name),
    description: String(row.name),
    changes: String(row.description).split('\n').filter(Boolean),
    applied_sql: String(row.applied_sql),
    applied_at: new Date(row.applied_at as string | Date).toISOString(),
  }));
  return { app_id: appId, migrations, template_migrations: [] as never[] };
}
