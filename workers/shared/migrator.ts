/**
 * Ordered-SQL migration runner, used for the control plane (Node, at start) and for each app
 * database (Workers, at provisioning). A migration is a file of statements separated by
 * `--> statement-breakpoint`; it runs with its ledger row in one transaction, so a rerun is a no-op
 * and a failure leaves nothing half-applied.
 */
import { sha256Hex } from './crypto.ts';

/** One migration: its ordered name and SQL text. */
export interface MigrationFile {
  name: string;
  sql: string;
}

/** One statement with parameters. */
export interface Statement {
  query: string;
  params: unknown[];
}

/** Runs statements in one transaction and returns each statement's rows. */
export type RunBatch = (statements: Statement[]) => Promise<Record<string, unknown>[][]>;

/** Splits a migration file on `--> statement-breakpoint` lines, dropping empty chunks. */
export function splitStatements(sql: string): string[] {
  return sql
    .split(/^\s*-->\s*statement-breakpoint\s*$/m)
    .map((chunk) => chunk.trim())
    .filter((chunk) => chunk.replace(/^\s*--.*$/gm, '').trim() !== '');
}

/** Result of {@link migrate}. */
export interface MigrateResult {
  applied: string[];
  skipped: string[];
}

/**
 * Applies every migration not yet in `ledger` (a schema-qualified table name we create).
 * @throws Error when an applied migration's text changed since (checksum mismatch) or a statement fails.
 */
export async function migrate(run: RunBatch, ledger: string, migrations: MigrationFile[]): Promise<MigrateResult> {
  const [schema] = ledger.split('.');
  const ensure: Statement[] = [];
  if (schema && schema !== ledger) ensure.push({ query: `CREATE SCHEMA IF NOT EXISTS ${schema}`, params: [] });
  ensure.push({
    query: `CREATE TABLE IF NOT EXISTS ${ledger} (name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    params: [],
  });
  ensure.push({ query: `SELECT name, checksum FROM ${ledger}`, params: [] });
  const rows = (await run(ensure)).at(-1) ?? [];
  const done = new Map(rows.map((r) => [String(r.name), String(r.checksum)]));
  const result: MigrateResult = { applied: [], skipped: [] };
  for (const migration of [...migrations].sort((a, b) => a.name.localeCompare(b.name))) {
    const checksum = await sha256Hex(migration.sql);
    const previous = done.get(migration.name);
    if (previous !== undefined) {
      if (previous !== checksum) throw new Error(`migration ${migration.name} changed after it was applied`);
      result.skipped.push(migration.name);
      continue;
    }
    const statements: Statement[] = splitStatements(migration.sql).map((query) => ({ query, params: [] }));
    statements.push({
      query: `INSERT INTO ${ledger} (name, checksum) VALUES ($1, $2)`,
      params: [migration.name, checksum],
    });
    try {
      await run(statements);
    } catch (error) {
      // A concurrent runner may have applied it first (our ledger insert then conflicts and the whole
      // batch rolls back): that is success, as long as it is the same migration.
      const [ledgerRows] = await run([{ query: `SELECT checksum FROM ${ledger} WHERE name = $1`, params: [migration.name] }]);
      if (String(ledgerRows?.[0]?.checksum ?? '') !== checksum) throw error;
      result.skipped.push(migration.name);
      continue;
    }
    result.applied.push(migration.name);
  }
  return result;
}
