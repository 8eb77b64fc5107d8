/**
 * The direct PGlite driver answers exactly as the node-postgres driver did: the same requests, in the
 * same order, to two endpoints on identical databases (one per driver), give the same HTTP status and
 * the same body, byte for byte — rows, `fields` with type OIDs and modifiers, command/rowCount, text
 * formats (bytea, json, arrays, timestamps, vectors, NULLs), every error field (code, position,
 * detail, where, internal query, …), notices, multi-statement refusal and batch rollback.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedDb, type EmbeddedDb } from '../embedded-db/open.ts';
import type { PgliteDriver } from '../embedded-db/pglite-backend.ts';
import { sharedTemplateDir } from './helpers/platform-process.ts';

interface Exchange {
  name: string;
  body: unknown;
  headers?: Record<string, string>;
  /** The status both drivers must give (a guard against both being wrong the same way). */
  status: number;
}

const q = (query: string, params: unknown[] = []) => ({ query, params });
const batch = (...queries: ReturnType<typeof q>[]) => ({ queries });
const objects = { 'Neon-Array-Mode': 'false' };

const setup: Exchange[] = [
  { name: 'create a table of many types', status: 200, body: q(`CREATE TABLE kinds (
      id serial PRIMARY KEY, i2 int2 CONSTRAINT i2_positive CHECK (i2 > 0), i8 int8, num numeric(10,3), f8 float8, b bool,
      t text NOT NULL CONSTRAINT t_unique UNIQUE, vc varchar(12), u uuid, j json, jb jsonb, by bytea, ia int[], ta text[],
      ts timestamp, tz timestamptz, d date, tm time, iv interval, v vector(3))`) },
  { name: 'a function whose query fails inside', status: 200, body: q('CREATE FUNCTION broken() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN (SELECT missing FROM kinds); END $$') },
  { name: 'a role to switch to', status: 200, body: q("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'drivers_user') THEN CREATE ROLE drivers_user NOLOGIN; END IF; END $$") },
  { name: 'grant it reads', status: 200, body: q('GRANT SELECT ON kinds TO drivers_user') },
  { name: 'a constraint checked at COMMIT', status: 200, body: q('CREATE TABLE deferred (v int CONSTRAINT v_unique UNIQUE DEFERRABLE INITIALLY DEFERRED)') },
];

const exchanges: Exchange[] = [
  {
    name: 'insert every type from JSON parameters (strings, numbers, booleans, null, nested arrays, an object)',
    status: 200,
    body: q('INSERT INTO kinds (i2, i8, num, f8, b, t, vc, u, j, jb, by, ia, ta, ts, tz, d, tm, iv, v) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) RETURNING *', [
      7, '9007199254740993', 12.5, 1e-7, true, 'héllo ✓ 😀', 'short', '2b9d3a4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e', { k: [1, 'two', null] }, { nested: { a: true } },
      '\\xdeadbeef', [[1, 2], [3, null]], ['a "quoted" one', 'back\\slash', null, ''], '2026-01-02 03:04:05.678', '2026-01-02T03:04:05.678Z', '2026-01-02', '13:14:15', '1 day 02:03:04', '[1,2.5,3]',
    ]),
  },
  { name: 'a row of NULLs (all but the required text)', status: 200, body: q("INSERT INTO kinds (t) VALUES ('nulls') RETURNING *") },
  { name: 'select every type, array mode', status: 200, body: q('SELECT * FROM kinds ORDER BY id') },
  { name: 'select every type, object mode', status: 200, body: q('SELECT * FROM kinds ORDER BY id'), headers: objects },
  { name: 'duplicate column names, object mode', status: 200, body: q('SELECT 1 AS a, 2 AS a'), headers: objects },
  { name: 'time zone and date styles in text output', status: 200, body: batch(q("SET LOCAL TimeZone = 'Asia/Kolkata'"), q('SELECT tz, tz::date, ts::time FROM kinds WHERE i2 = 7')) },
  { name: 'typed literals, untyped parameters', status: 200, body: q('SELECT $1 AS untyped, $2::int + 1 AS sum, $3::numeric AS big, $4::bool AS flag, NULL AS nothing, \'\' AS empty', ['x', '41', 123456789.123456789, false]) },
  { name: 'generated rows', status: 200, body: q("SELECT g, repeat('x', g % 7) FROM generate_series(1, 1500) g") },
  { name: 'an answer of several megabytes (many output chunks)', status: 200, body: q("SELECT g, repeat('é', 400000) FROM generate_series(1, 5) g") },
  { name: 'text starting with a byte-order mark', status: 200, body: q('SELECT $1::text AS bom, $2::text AS inner_bom', ['\ufeffstarts', 'in\ufeffside']) },
  { name: 'update count', status: 200, body: q("UPDATE kinds SET vc = 'changed' WHERE t <> $1", ['none']) },
  { name: 'delete count', status: 200, body: q("DELETE FROM kinds WHERE t = 'nobody'") },
  { name: 'DDL has no count', status: 200, body: q('CREATE INDEX kinds_vc ON kinds (vc)') },
  { name: 'COPY TO STDOUT', status: 200, body: q('COPY (SELECT 1) TO STDOUT') },
  { name: 'a statement that merely names copy', status: 200, body: q("SELECT 'copy' AS word, $1 AS p", ['x']) },
  { name: 'a failing statement that names copy', status: 400, body: q('SELECT copy_missing()') },
  { name: 'empty query', status: 200, body: q('') },
  { name: 'notice and warning are not part of the answer', status: 200, body: q("DO $$ BEGIN RAISE NOTICE 'a notice'; RAISE WARNING 'a warning'; END $$") },
  { name: 'syntax error with position', status: 400, body: q('SELEC 1') },
  { name: 'undefined table with position', status: 400, body: q('SELECT * FROM nope') },
  { name: 'unique violation: detail, schema, table, constraint', status: 400, body: q("INSERT INTO kinds (t) VALUES ('nulls')") },
  { name: 'not-null violation: column', status: 400, body: q('INSERT INTO kinds (t) VALUES (NULL)') },
  { name: 'check violation', status: 400, body: q("INSERT INTO kinds (t, i2) VALUES ('neg', -1)") },
  { name: 'invalid input syntax for a parameter', status: 400, body: q('SELECT $1::int', ['forty']) },
  { name: 'division by zero', status: 400, body: q('SELECT 1 / 0') },
  { name: 'raised exception with detail and hint', status: 400, body: q("DO $$ BEGIN RAISE EXCEPTION 'custom' USING DETAIL = 'some detail', HINT = 'a hint', ERRCODE = 'P0001'; END $$") },
  { name: 'error inside a function: where, internal query and position', status: 400, body: q('SELECT broken()') },
  { name: 'too few parameters', status: 400, body: q('SELECT $1::int, $2::int', ['1']) },
  { name: 'two statements in one string', status: 400, body: q('SELECT 1; SELECT 2') },
  { name: 'permission denied after SET LOCAL ROLE', status: 400, body: batch(q('SET LOCAL ROLE drivers_user'), q("INSERT INTO kinds (t) VALUES ('as user')")) },
  { name: 'a batch commits as a whole', status: 200, body: batch(q("INSERT INTO kinds (t) VALUES ('b1') RETURNING id, t"), q("INSERT INTO kinds (t) VALUES ('b2')"), q('SELECT count(*) FROM kinds')) },
  { name: 'a failing batch rolls back', status: 400, body: batch(q("INSERT INTO kinds (t) VALUES ('b3')"), q("INSERT INTO kinds (t) VALUES ('b1')"), q('SELECT 1')) },
  { name: 'nothing of it stayed', status: 200, body: q("SELECT count(*) FROM kinds WHERE t IN ('b3', 'as user')") },
  { name: 'role and claims inside a batch', status: 200, body: batch(q('SET LOCAL ROLE drivers_user'), q("SELECT set_config('request.jwt.claims', $1, true), set_config('app.role', $2, true)", ['{"sub":"u1"}', 'user']), q("SELECT current_user, current_setting('request.jwt.claims', true), count(*) FROM kinds")) },
  { name: 'and none of them after it', status: 200, body: q("SELECT current_user, current_setting('request.jwt.claims', true), current_setting('app.role', true)") },
  { name: 'read-only batch refuses a write', status: 400, body: batch(q("INSERT INTO kinds (t) VALUES ('ro')")), headers: { 'Neon-Batch-Read-Only': 'true' } },
  { name: 'isolation level, read only, deferrable', status: 200, body: batch(q('SHOW transaction_isolation'), q('SHOW transaction_read_only'), q('SHOW transaction_deferrable')), headers: { 'Neon-Batch-Isolation-Level': 'Serializable', 'Neon-Batch-Read-Only': 'true', 'Neon-Batch-Deferrable': 'true' } },
  { name: 'a batch in object mode', status: 200, body: batch(q('SELECT 1 AS one'), q("SELECT 'two' AS two")), headers: objects },
  { name: 'an empty batch', status: 200, body: batch() },
  { name: 'the role switch and claims as one statement (DbGateway\'s prelude)', status: 200, body: batch(q("SELECT set_config('role', $1, true), set_config('request.jwt.claims', $2, true)", ['drivers_user', '{"sub":"u2"}']), q("SELECT current_user, current_setting('request.jwt.claims', true), count(*) FROM kinds")) },
  { name: 'and it is gone after the batch', status: 200, body: q("SELECT current_user, current_setting('request.jwt.claims', true)") },
  { name: 'an error mid-batch: nothing after it runs', status: 400, body: batch(q("INSERT INTO kinds (t) VALUES ('m1')"), q('SELECT 1 / 0'), q("INSERT INTO kinds (t) VALUES ('m2')"), q('SELECT 3')) },
  { name: 'a ROLLBACK after an error does not let the rest run outside the transaction', status: 400, body: batch(q('SELECT 1 / 0'), q('ROLLBACK'), q("INSERT INTO kinds (t) VALUES ('after rollback')")) },
  { name: 'none of those rows exist', status: 200, body: q("SELECT count(*) FROM kinds WHERE t IN ('m1', 'm2', 'after rollback')") },
  { name: 'an empty statement inside a batch', status: 200, body: batch(q(''), q('SELECT 2 AS two')) },
  { name: 'a batch with a statement naming copy', status: 200, body: batch(q("SELECT 'copy' AS word"), q('SELECT 2 AS two')) },
  { name: 'a constraint failing at COMMIT', status: 400, body: batch(q('INSERT INTO deferred VALUES (1)'), q('INSERT INTO deferred VALUES (1)'), q('SELECT count(*) FROM deferred')) },
  { name: 'nothing of it stayed either', status: 200, body: q('SELECT count(*) FROM deferred') },
  { name: 'the session still serves after all that', status: 200, body: q('SELECT count(*), min(t), max(t) FROM kinds') },
];

describe('direct PGlite driver vs node-postgres driver', () => {
  const endpoints = new Map<PgliteDriver, { db: EmbeddedDb; stateDir: string }>();

  async function send(driver: PgliteDriver, exchange: Exchange) {
    const { db } = endpoints.get(driver)!;
    const res = await fetch(`${db.url}/sql`, {
      method: 'POST',
      headers: { 'Neon-Connection-String': db.connectionString('drivers'), 'Neon-Array-Mode': 'true', ...exchange.headers },
      body: JSON.stringify(exchange.body),
    });
    return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
  }

  beforeAll(async () => {
    for (const driver of ['node-postgres', 'direct'] as const) {
      const stateDir = await mkdtemp(join(tmpdir(), `bb-edb-${driver}-`));
      const db = await openEmbeddedDb({ stateDir, port: 0, templateDir: sharedTemplateDir, pgliteDriver: driver, databaseUrl: '' });
      endpoints.set(driver, { db, stateDir });
      const res = await fetch(`${db.url}/sql`, { method: 'POST', headers: { 'Neon-Connection-String': db.connectionString('postgres') }, body: JSON.stringify(q('CREATE DATABASE drivers')) });
      expect(res.status).toBe(200);
    }
  });
  afterAll(async () => {
    for (const { db, stateDir } of endpoints.values()) {
      await db.close();
      await rm(stateDir, { recursive: true, force: true });
    }
  });

  it('reports each driver in /health', async () => {
    const health = await Promise.all([...endpoints.values()].map(async ({ db }) => ((await (await fetch(`${db.url}/health`)).json()) as { backend: string }).backend));
    expect(health[0]).toMatch(/^pglite via node-postgres \(/);
    expect(health[1]).toMatch(/^pglite \(/);
  });

  for (const exchange of [...setup, ...exchanges]) {
    it(`answers the same: ${exchange.name}`, async () => {
      const reference = await send('node-postgres', exchange);
      const direct = await send('direct', exchange);
      expect(reference.status).toBe(exchange.status);
      expect(direct).toEqual(reference);
    });
  }
});
