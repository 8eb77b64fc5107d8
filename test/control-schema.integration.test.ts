/**
 * workers/shared/control-schema.ts mirrors the control-plane database the reviewed migrations
 * (migrations/control/*.sql) create: the same tables, columns (SQL type, NOT NULL, default or not),
 * primary keys, unique and check constraints, indexes and foreign keys. Read from the shared test
 * platform's migrated database, so a migration without its drizzle twin (or the reverse) fails here.
 */
import { getTableConfig, type PgTable } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import { controlSchema } from '../workers/shared/control-schema.ts';
import { controlDb } from './helpers/control-db.ts';

interface DbColumn { name: string; type: string; not_null: boolean; has_default: boolean }

async function dbTable(name: string) {
  const sql = controlDb();
  const columns = (await sql.query(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null, a.atthasdef AS has_default
       FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [name],
  )) as DbColumn[];
  const constraints = (await sql.query(
    `SELECT conname AS name, contype AS kind,
            (SELECT array_agg(attname::text ORDER BY attname) FROM pg_attribute WHERE attrelid = conrelid AND attnum = ANY (conkey)) AS columns,
            confrelid::regclass::text AS referenced, confdeltype AS on_delete
       FROM pg_constraint WHERE conrelid = $1::regclass`,
    [name],
  )) as { name: string; kind: string; columns: string[]; referenced: string; on_delete: string }[];
  const indexes = (await sql.query(
    `SELECT indexname AS name FROM pg_indexes WHERE tablename = $1
        AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass)`,
    [name],
  )) as { name: string }[];
  return { columns, constraints, indexes: indexes.map((i) => i.name).sort() };
}

const onDeleteCodes: Record<string, string> = { cascade: 'c', 'set null': 'n', 'no action': 'a', restrict: 'r', 'set default': 'd' };

describe('the drizzle tables mirror the migrated control-plane database', () => {
  for (const table of Object.values(controlSchema) as PgTable[]) {
    const config = getTableConfig(table);
    it(`${config.name}`, async () => {
      const db = await dbTable(config.name);
      expect(config.columns.map((c) => ({ name: c.name, type: c.getSQLType(), not_null: c.notNull, has_default: c.hasDefault })))
        .toEqual(db.columns);
      const ofKind = (kind: string) => db.constraints.filter((c) => c.kind === kind);
      const primary = [...config.columns.filter((c) => c.primary).map((c) => c.name), ...config.primaryKeys.flatMap((pk) => pk.columns.map((c) => c.name))];
      expect(primary.sort()).toEqual(ofKind('p').flatMap((c) => c.columns));
      const uniques = [
        ...config.columns.filter((c) => c.isUnique).map((c) => c.uniqueName),
        ...config.uniqueConstraints.map((u) => u.getName()),
      ];
      expect(uniques.sort()).toEqual(ofKind('u').map((c) => c.name).sort());
      expect(config.checks.map((c) => c.name).sort()).toEqual(ofKind('c').map((c) => c.name).sort());
      expect(config.indexes.map((i) => i.config.name).sort()).toEqual(db.indexes);
      const foreignKeys = config.foreignKeys.map((fk) => {
        const ref = fk.reference();
        return { columns: ref.columns.map((c) => c.name).sort(), referenced: getTableConfig(ref.foreignTable).name, on_delete: onDeleteCodes[fk.onDelete ?? 'no action'] };
      });
      expect(foreignKeys).toEqual(ofKind('f').map((c) => ({ columns: c.columns, referenced: c.referenced, on_delete: c.on_delete })));
    });
  }

  it('covers every table of the control-plane database except the migration ledger', async () => {
    const tables = (await controlDb().query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)).map((r) => r.tablename);
    expect(tables.filter((t) => t !== 'control_migrations')).toEqual(Object.values(controlSchema).map((t) => getTableConfig(t as PgTable).name).sort());
  });
});
