/**
 * The migration runner on a real database: reruns are no-ops, a failing migration leaves nothing
 * behind, and two runners racing on one database both succeed with the migration applied once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { neon, neonConfig } from '@neondatabase/serverless';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openEmbeddedDb, type EmbeddedDb } from '../embedded-db/open.ts';
import { batchRunner } from '../scripts/lib/control-db.ts';
import { migrate } from '../workers/shared/migrator.ts';
import { sharedTemplateDir } from './helpers/platform-process.ts';

let db: EmbeddedDb;
let stateDir: string;
let url: string;

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'bb-migrator-'));
  db = await openEmbeddedDb({ stateDir, port: 0, templateDir: sharedTemplateDir });
  url = db.connectionString('migrations_test');
  neonConfig.fetchEndpoint = `${db.url}/sql`;
  await neon(db.connectionString('postgres')).query('CREATE DATABASE migrations_test');
});

afterAll(async () => {
  await db.close();
  await rm(stateDir, { recursive: true, force: true });
});

const first = { name: '0001_things', sql: 'CREATE TABLE things (id int PRIMARY KEY)\n--> statement-breakpoint\nINSERT INTO things VALUES (1)' };

it('applies once; a rerun is a no-op', async () => {
  neonConfig.fetchEndpoint = `${db.url}/sql`;
  expect(await migrate(batchRunner(url), 'ledger.migrations', [first])).toEqual({ applied: ['0001_things'], skipped: [] });
  expect(await migrate(batchRunner(url), 'ledger.migrations', [first])).toEqual({ applied: [], skipped: ['0001_things'] });
});

it('rolls a failing migration back whole, and refuses an applied migration that changed', async () => {
  neonConfig.fetchEndpoint = `${db.url}/sql`;
  const broken = { name: '0002_broken', sql: 'CREATE TABLE half (id int)\n--> statement-breakpoint\nSELECT * FROM missing_table' };
  await expect(migrate(batchRunner(url), 'ledger.migrations', [first, broken])).rejects.toMatchObject({ code: '42P01' });
  expect(await neon(url).query("SELECT to_regclass('public.half') AS t")).toEqual([{ t: null }]);
  await expect(migrate(batchRunner(url), 'ledger.migrations', [{ ...first, sql: `${first.sql} -- edited` }])).rejects.toThrow(/changed after it was applied/);
});

it('two runners racing on one database both succeed and apply the migration once', async () => {
  neonConfig.fetchEndpoint = `${db.url}/sql`;
  const racy = { name: '0003_racy', sql: 'CREATE TABLE racy (id int)\n--> statement-breakpoint\nSELECT pg_sleep(0.2)' };
  const results = await Promise.all([
    migrate(batchRunner(url), 'ledger.migrations', [first, racy]),
    migrate(batchRunner(url), 'ledger.migrations', [first, racy]),
  ]);
  expect(results.map((r) => r.applied.includes('0003_racy')).sort()).toEqual([false, true]);
  expect(results.every((r) => r.applied.includes('0003_racy') || r.skipped.includes('0003_racy'))).toBe(true);
  expect(await neon(url).query("SELECT count(*)::int AS n FROM ledger.migrations WHERE name = '0003_racy'")).toEqual([{ n: 1 }]);
});
