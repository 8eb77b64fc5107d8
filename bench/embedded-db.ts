/**
 * `npm run bench:embedded-db`: the embedded database endpoint on its own (no Workers), with PGlite
 * reached by each driver in one run — `node-postgres` (the original path: a pg client over PGlite's
 * protocol shim) and `direct` (PGlite's wire protocol called with the messages node-postgres would
 * send) — on identical databases, measured alternately so a busy machine skews both alike:
 *   - a single-row SELECT by primary key (the single-query form),
 *   - a transaction batch: DbGateway's role prelude (one statement: the role switch and the claims'
 *     `set_config`) and the same SELECT — the batch every REST read sends,
 *   - the same prelude and a single-row INSERT … RETURNING *.
 * Each row shows requests/s, p50/p99 and the CPU ms per request of this process (the endpoint) and
 * of the load generator, and its ratio to the node-postgres row. Env: BENCH_CONNECTIONS (16),
 * BENCH_SECONDS (10).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedDb, type EmbeddedDb } from '../embedded-db/open.ts';
import type { PgliteDriver } from '../embedded-db/pglite-backend.ts';
import { repoRoot } from '../scripts/lib/platform.ts';
import type { SqlStatement } from '../workers/shared/contracts.ts';
import { rolePrelude } from '../workers/data/prelude.ts';
import { defaultSettings, measure, printTable, selfCpuMs, type Measurement } from './lib.ts';

const templateDir = join(repoRoot, 'node_modules/.cache/butterbase/pglite-template');
const drivers: PgliteDriver[] = ['node-postgres', 'direct'];

/** POSTs one statement or a batch to `db` as the Neon driver does (array mode, raw text). */
async function sql(db: EmbeddedDb, body: unknown): Promise<any> {
  const res = await fetch(`${db.url}/sql`, { method: 'POST', headers: headers(db), body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${res.status} ${text}`);
  return JSON.parse(text);
}

function headers(db: EmbeddedDb): Record<string, string> {
  return {
    'content-type': 'application/json',
    'neon-connection-string': db.connectionString('bench'),
    'neon-array-mode': 'true',
    'neon-raw-text-output': 'true',
  };
}

/** One database per driver, same schema and rows: `items` as bench/rest.ts has it, 1,000 rows, a plain grant to butterbase_user (no RLS). */
async function openSeeded(driver: PgliteDriver): Promise<{ db: EmbeddedDb; stateDir: string; someId: string; userId: string }> {
  const stateDir = await mkdtemp(join(tmpdir(), `bb-bench-edb-${driver}-`));
  const db = await openEmbeddedDb({ stateDir, port: 0, templateDir, pgliteDriver: driver, databaseUrl: '' });
  await fetch(`${db.url}/sql`, { method: 'POST', headers: { ...headers(db), 'neon-connection-string': db.connectionString('postgres') }, body: JSON.stringify({ query: 'CREATE DATABASE bench', params: [] }) });
  const setup = [
    "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'butterbase_user') THEN CREATE ROLE butterbase_user NOLOGIN; END IF; END $$",
    'CREATE TABLE items (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), user_id uuid, title text NOT NULL, n integer NOT NULL, created_at timestamptz DEFAULT now())',
    'GRANT SELECT, INSERT ON items TO butterbase_user',
    // Fixed ids and times, so both databases answer the reads with the same bytes.
    "INSERT INTO items (id, user_id, title, n, created_at) SELECT md5(g::text)::uuid, '00000000-0000-4000-8000-000000000001', 'item ' || g, g, '2026-01-01T00:00:00Z'::timestamptz + g * interval '1 minute' FROM generate_series(0, 999) g",
  ];
  for (const query of setup) await sql(db, { query, params: [] });
  const picked = await sql(db, { query: 'SELECT id FROM items WHERE n = 500', params: [] });
  return { db, stateDir, someId: picked.rows[0][0], userId: '00000000-0000-4000-8000-000000000001' };
}

type Opened = { driver: PgliteDriver } & Awaited<ReturnType<typeof openSeeded>>;
const opened: Opened[] = [];
for (const driver of drivers) opened.push({ driver, ...(await openSeeded(driver)) });
try {
  const cpu = { db: selfCpuMs };
  const select = (id: string): SqlStatement => ({ query: 'SELECT id, user_id, title, n, created_at FROM items WHERE id = $1', params: [id] });
  const insert: SqlStatement = { query: 'INSERT INTO items (user_id, title, n) VALUES ($1, $2, $3) RETURNING *', params: ['00000000-0000-4000-8000-000000000001', 'bench', '7'] };
  const shapes: { title: string; sameAnswer: boolean; body: (o: Opened) => unknown }[] = [
    { title: 'single-row SELECT by primary key', sameAnswer: true, body: (o) => select(o.someId) },
    { title: '3-statement transaction batch (role prelude + SELECT by key)', sameAnswer: true, body: (o) => ({ queries: [...rolePrelude({ appId: 'bench', role: 'user', userId: o.userId }), select(o.someId)].map(withParams) }) },
    { title: '3-statement transaction batch (role prelude + INSERT … RETURNING)', sameAnswer: false, body: (o) => ({ queries: [...rolePrelude({ appId: 'bench', role: 'user', userId: o.userId }), insert].map(withParams) }) },
  ];
  for (const shape of shapes) {
    const answers = await Promise.all(opened.map(async (o) => JSON.stringify(await sql(o.db, shape.body(o)))));
    if (shape.sameAnswer && new Set(answers).size !== 1) throw new Error(`the drivers answer "${shape.title}" differently:\n${answers.join('\n')}`);
    const rows: Measurement[] = [];
    for (const o of opened) {
      rows.push(await measure(o.driver, { url: `${o.db.url}/sql`, method: 'POST', headers: headers(o.db), body: JSON.stringify(shape.body(o)) }, defaultSettings, cpu));
    }
    printTable(`Embedded database endpoint — ${shape.title}`, rows, rows[0]!);
  }
} finally {
  for (const o of opened) {
    await o.db.close();
    await rm(o.stateDir, { recursive: true, force: true });
  }
}

function withParams(statement: SqlStatement): { query: string; params: unknown[] } {
  return { query: statement.query, params: statement.params ?? [] };
}
