/**
 * The embedded database endpoint speaks Neon's SQL-over-HTTP protocol: driven here by the real
 * @neondatabase/serverless driver and by raw HTTP, against both backends (PGlite and a real Postgres).
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { neon, neonConfig } from '@neondatabase/serverless';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedDb, type EmbeddedDb } from '../embedded-db/open.ts';
import { PgliteBackend } from '../embedded-db/pglite-backend.ts';
import { sharedTemplateDir } from './helpers/platform-process.ts';
import { startPostgres, type PostgresServer } from './helpers/postgres-server.ts';

async function post(db: EmbeddedDb, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${db.url}/sql`, {
    method: 'POST',
    headers: { 'Neon-Connection-String': db.connectionString('proto'), 'Neon-Array-Mode': 'true', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, json: (() => { try { return JSON.parse(text); } catch { return undefined; } })() };
}

function protocolSuite(name: string, open: () => Promise<{ db: EmbeddedDb; cleanup: () => Promise<void> }>) {
  describe(name, () => {
    let db: EmbeddedDb;
    let cleanup: () => Promise<void>;
    let sql: ReturnType<typeof neon<false, false>>;
    const conn = (name: string) => db.connectionString(name);

    beforeAll(async () => {
      ({ db, cleanup } = await open());
      neonConfig.fetchEndpoint = `${db.url}/sql`;
      await neon(conn('postgres')).query('CREATE DATABASE proto');
      sql = neon(conn('proto'));
      await sql.query('CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL UNIQUE, tags text[], meta jsonb, at timestamptz DEFAULT now())');
    });
    afterAll(async () => {
      await cleanup();
    });

    it('runs a parameterised query and returns typed rows through the Neon driver', async () => {
      neonConfig.fetchEndpoint = `${db.url}/sql`;
      const [row] = await sql.query('INSERT INTO items (name, tags, meta) VALUES ($1, $2, $3) RETURNING *', ['a', ['x', 'y'], JSON.stringify({ k: 1 })]);
      expect(row).toMatchObject({ id: 1, name: 'a', tags: ['x', 'y'], meta: { k: 1 } });
      expect(row!.at).toBeInstanceOf(Date);
    });

    it('commits a transaction batch as a whole', async () => {
      neonConfig.fetchEndpoint = `${db.url}/sql`;
      const results = await sql.transaction([sql`INSERT INTO items (name) VALUES ('b')`, sql`INSERT INTO items (name) VALUES ('c')`, sql`SELECT count(*)::int AS n FROM items`]);
      expect(results[2]).toEqual([{ n: 3 }]);
    });

    it('rolls a failing batch back entirely and reports the Postgres error fields', async () => {
      neonConfig.fetchEndpoint = `${db.url}/sql`;
      const error = await sql.transaction([sql`INSERT INTO items (name) VALUES ('d')`, sql`INSERT INTO items (name) VALUES ('a')`]).catch((e: unknown) => e) as Record<string, unknown>;
      expect(error).toMatchObject({ code: '23505', constraint: 'items_name_key', severity: 'ERROR' });
      expect(await sql.query("SELECT count(*)::int AS n FROM items WHERE name = 'd'")).toEqual([{ n: 0 }]);
    });

    it('answers SQL errors with 400 and the fields Neon sends; non-SQL problems with a clear status', async () => {
      const bad = await post(db, { query: 'SELECT * FROM nope', params: [] });
      expect(bad.status).toBe(400);
      expect(bad.json).toMatchObject({ code: '42P01', message: 'relation "nope" does not exist' });
      const multi = await post(db, { query: 'SELECT 1; SELECT 2', params: [] });
      expect(multi.status).toBe(400);
      expect(multi.json.code).toBe('42601');
      expect((await post(db, '{not json')).status).toBe(400);
      expect((await post(db, { query: 'SELECT 1' }, { 'Neon-Connection-String': '' })).text).toContain('Neon-Connection-String');
      const unknown = await post(db, { query: 'SELECT 1', params: [] }, { 'Neon-Connection-String': conn('no_such_db') });
      expect(unknown.status).toBe(400);
      expect(unknown.json.code).toBe('3D000');
      expect((await fetch(`${db.url}/sql`)).status).toBe(404);
    });

    // Local processes and user code must not get a free superuser: only the credentials the endpoint
    // was started with run SQL; a refusal is shaped as Neon's (400, SQLSTATE 28P01, severity FATAL).
    const refusals: { name: string; connection: (password: string) => string }[] = [
      { name: 'a wrong password', connection: () => 'postgresql://postgres:local@localhost/proto' },
      { name: 'no password', connection: () => 'postgresql://postgres@localhost/proto' },
      { name: 'another user with the right password', connection: (password) => `postgresql://admin:${password}@localhost/proto` },
      { name: 'the right password with one character changed', connection: (password) => `postgresql://postgres:${password.slice(0, -1)}${password.endsWith('0') ? '1' : '0'}@localhost/proto` },
    ];
    for (const refusal of refusals) {
      it(`refuses ${refusal.name} with 28P01 before running any SQL`, async () => {
        const connection = refusal.connection(db.credentials.password);
        const raw = await post(db, { query: "INSERT INTO items (name) VALUES ('intruder')", params: [] }, { 'Neon-Connection-String': connection });
        expect(raw.status).toBe(400);
        expect(raw.json).toMatchObject({ code: '28P01', severity: 'FATAL', message: expect.stringMatching(/^password authentication failed for user "/) });
        neonConfig.fetchEndpoint = `${db.url}/sql`;
        const viaDriver = await neon(connection).query('SELECT 1').catch((e: { code?: string }) => e.code);
        expect(viaDriver).toBe('28P01');
        expect(await sql.query("SELECT count(*)::int AS n FROM items WHERE name = 'intruder'")).toEqual([{ n: 0 }]);
      });
    }

    it('returns rows as arrays of text in array mode, objects otherwise', async () => {
      const arrays = await post(db, { query: 'SELECT 1::int AS one, NULL::text AS none, true AS yes', params: [] });
      expect(arrays.json).toMatchObject({ command: 'SELECT', rowCount: 1, rows: [['1', null, 't']] });
      expect(arrays.json.fields.map((f: { name: string; dataTypeID: number }) => [f.name, f.dataTypeID])).toEqual([['one', 23], ['none', 25], ['yes', 16]]);
      const objects = await post(db, { query: 'SELECT 1::int AS one', params: [] }, { 'Neon-Array-Mode': 'false' });
      expect(objects.json.rows).toEqual([{ one: '1' }]);
    });

    it('honours the batch isolation and read-only headers', async () => {
      const readOnly = await post(db, { queries: [{ query: "INSERT INTO items (name) VALUES ('ro')", params: [] }] }, { 'Neon-Batch-Read-Only': 'true' });
      expect(readOnly.status).toBe(400);
      expect(readOnly.json.code).toBe('25006');
      const serializable = await post(db, { queries: [{ query: 'SHOW transaction_isolation', params: [] }] }, { 'Neon-Batch-Isolation-Level': 'Serializable' });
      expect(serializable.json.results[0].rows).toEqual([['serializable']]);
      expect((await post(db, { queries: [] }, { 'Neon-Batch-Isolation-Level': 'Chaos' })).status).toBe(400);
    });

    // DbGateway opens every batch with SET LOCAL ROLE and the request claims (workers/data/prelude.ts):
    // they must end with the batch, or the next request on the same session would run as that user.
    it("ends a batch's role and claims with it: the next plain query sees neither", async () => {
      await post(db, { query: "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'suite_user') THEN CREATE ROLE suite_user NOLOGIN; END IF; END $$", params: [] });
      const inside = await post(db, {
        queries: [
          { query: 'SET LOCAL ROLE suite_user', params: [] },
          { query: "SELECT set_config('request.jwt.claims', $1, true), set_config('app.role', $2, true)", params: ['{"sub":"u-1"}', 'user'] },
          { query: "SELECT current_user, current_setting('request.jwt.claims', true), current_setting('app.role', true)", params: [] },
        ],
      });
      expect(inside.json.results[2].rows).toEqual([['suite_user', '{"sub":"u-1"}', 'user']]);
      const after = await post(db, { query: "SELECT current_user, coalesce(current_setting('request.jwt.claims', true), ''), coalesce(current_setting('app.role', true), '')", params: [] });
      expect(after.json.rows).toEqual([['postgres', '', '']]);
    });

    it('serialises concurrent transactions on one database without losing updates', async () => {
      neonConfig.fetchEndpoint = `${db.url}/sql`;
      await sql.query('CREATE TABLE counter (n int NOT NULL)');
      await sql.query('INSERT INTO counter VALUES (0)');
      await Promise.all(Array.from({ length: 25 }, () => sql.transaction([sql`SELECT n FROM counter FOR UPDATE`, sql`UPDATE counter SET n = n + 1`])));
      expect(await sql.query('SELECT n FROM counter')).toEqual([{ n: 25 }]);
    });

    it('creates and drops databases; an existing one is 42P04, a missing one 3D000', async () => {
      neonConfig.fetchEndpoint = `${db.url}/sql`;
      const admin = neon(conn('postgres'));
      await admin.query('CREATE DATABASE scratch');
      expect(await admin.query('CREATE DATABASE scratch').catch((e: { code: string }) => e.code)).toBe('42P04');
      await neon(conn('scratch')).query('CREATE TABLE t (x int)');
      await admin.query('DROP DATABASE scratch');
      expect(await neon(conn('scratch')).query('SELECT 1').catch((e: { code: string }) => e.code)).toBe('3D000');
      await admin.query('DROP DATABASE IF EXISTS scratch');
    });
  });
}

protocolSuite('PGlite backend', async () => {
  const stateDir = await mkdtemp(join(tmpdir(), 'bb-edb-'));
  const db = await openEmbeddedDb({ stateDir, port: 0, templateDir: sharedTemplateDir });
  return { db, cleanup: async () => { await db.close(); await rm(stateDir, { recursive: true, force: true }); } };
});

let postgres: PostgresServer | undefined;
protocolSuite('real Postgres backend (DATABASE_URL)', async () => {
  postgres = await startPostgres();
  const stateDir = await mkdtemp(join(tmpdir(), 'bb-edb-pg-'));
  const db = await openEmbeddedDb({ stateDir, port: 0, databaseUrl: postgres.url });
  return { db, cleanup: async () => { await db.close(); postgres?.stop(); await rm(stateDir, { recursive: true, force: true }); } };
});

describe('endpoint credentials', () => {
  it('generates one random password per state folder, keeps it there (0600) and reuses it on the next start', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'bb-edb-cred-'));
    const other = await mkdtemp(join(tmpdir(), 'bb-edb-cred2-'));
    try {
      const first = await openEmbeddedDb({ stateDir, port: 0, templateDir: sharedTemplateDir });
      await first.close();
      const file = join(stateDir, 'db.password');
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect((await readFile(file, 'utf8')).trim()).toBe(first.credentials.password);
      expect(first.credentials.password).toMatch(/^[0-9a-f]{48}$/);
      const again = await openEmbeddedDb({ stateDir, port: 0, templateDir: sharedTemplateDir });
      const elsewhere = await openEmbeddedDb({ stateDir: other, port: 0, templateDir: sharedTemplateDir });
      expect(again.credentials).toEqual(first.credentials);
      expect(elsewhere.credentials.password).not.toBe(first.credentials.password);
      neonConfig.fetchEndpoint = `${again.url}/sql`;
      await neon(again.connectionString('postgres')).query('CREATE DATABASE cred');
      expect(await neon(again.connectionString('cred')).query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
      // One state folder's password does not open another's endpoint.
      neonConfig.fetchEndpoint = `${elsewhere.url}/sql`;
      expect(await neon(again.connectionString('postgres')).query('CREATE DATABASE cred').catch((e: { code?: string }) => e.code)).toBe('28P01');
      await Promise.all([again.close(), elsewhere.close()]);
    } finally {
      await rm(stateDir, { recursive: true, force: true });
      await rm(other, { recursive: true, force: true });
    }
  });
});

describe('PGlite lifecycle', () => {
  let stateDir: string;
  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'bb-edb-life-'));
  });
  afterAll(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it('closes idle databases, keeps at most maxOpen open, and loses no committed data', async () => {
    const db = await openEmbeddedDb({ stateDir, port: 0, templateDir: sharedTemplateDir, idleMs: 400, maxOpen: 2 });
    const conn = (name: string) => db.connectionString(name);
    neonConfig.fetchEndpoint = `${db.url}/sql`;
    const admin = neon(conn('postgres'));
    for (const name of ['one', 'two', 'three']) {
      await admin.query(`CREATE DATABASE ${name}`);
      await neon(conn(name)).query('CREATE TABLE t (v text)');
      await neon(conn(name)).query('INSERT INTO t VALUES ($1)', [name]);
    }
    const health = async () => (await (await fetch(`${db.url}/health`)).json()) as { open: number; databases: string[] };
    expect((await health()).open).toBeLessThanOrEqual(2);
    // The sweeper closes a database idle for 400 ms; wait for it (bounded) instead of sleeping a guess.
    const deadline = Date.now() + 15_000;
    while ((await health()).open > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect((await health()).open).toBe(0);
    for (const name of ['one', 'two', 'three']) expect(await neon(conn(name)).query('SELECT v FROM t')).toEqual([{ v: name }]);
    await db.close();

    const reopened = await openEmbeddedDb({ stateDir, port: 0, templateDir: sharedTemplateDir });
    neonConfig.fetchEndpoint = `${reopened.url}/sql`;
    expect(await neon(conn('two')).query('SELECT v FROM t')).toEqual([{ v: 'two' }]);
    await reopened.close();
  });

  // The direct driver shares one session per database across requests, so it must leave it clean.
  it('rolls back a transaction a request leaves open, so the next request runs outside it', async () => {
    const db = await openEmbeddedDb({ stateDir, port: 0, templateDir: sharedTemplateDir });
    neonConfig.fetchEndpoint = `${db.url}/sql`;
    await neon(db.connectionString('postgres')).query('CREATE DATABASE open_tx');
    const sql = neon(db.connectionString('open_tx'));
    expect(await sql.query('BEGIN')).toEqual([]);
    await sql.query('CREATE TABLE survives (x int)');
    // Inside a leaked transaction this ROLLBACK would undo the CREATE TABLE.
    await sql.query('ROLLBACK');
    expect(await sql.query("SELECT to_regclass('survives')::text AS t")).toEqual([{ t: 'survives' }]);
    await db.close();
  });

  it('answers COPY FROM STDIN with an error and keeps serving (PGlite used to exit waiting for data)', async () => {
    const db = await openEmbeddedDb({ stateDir, port: 0, templateDir: sharedTemplateDir });
    neonConfig.fetchEndpoint = `${db.url}/sql`;
    await neon(db.connectionString('postgres')).query('CREATE DATABASE copy_in');
    const sql = neon(db.connectionString('copy_in'));
    await sql.query('CREATE TABLE t (x int)');
    expect(await sql.query('COPY t FROM STDIN').catch((e: { code?: string }) => e.code)).toBe('57014');
    expect(await sql.query('SELECT count(*)::int AS n FROM t')).toEqual([{ n: 0 }]);
    await db.close();
  });

  it('reopens a database whose session failed with something other than a Postgres error', async () => {
    const lines: string[] = [];
    const backend = new PgliteBackend({ stateDir, templateDir: sharedTemplateDir, log: (line) => lines.push(line) });
    await backend.createDatabase('fragile');
    await backend.withSession('fragile', (session) => session.query({ query: 'CREATE TABLE t (v int)', params: [] }));
    await expect(backend.withSession('fragile', async () => { throw new Error('instance gone'); })).rejects.toThrow('instance gone');
    expect(backend.stats().open).toBe(0);
    expect(lines.some((line) => line.includes('database fragile failed (instance gone)'))).toBe(true);
    // A Postgres error is not such a failure: the instance stays open.
    await expect(backend.withSession('fragile', (session) => session.query({ query: 'SELECT * FROM nope', params: [] }))).rejects.toMatchObject({ code: '42P01' });
    expect(backend.stats()).toEqual({ open: 1, databases: ['fragile'] });
    expect((await backend.withSession('fragile', (session) => session.query({ query: 'SELECT count(*) FROM t', params: [] }))).rows).toEqual([['0']]);
    await backend.close();
  });

  it('tracks a database opened by a request queued behind its drop and re-create', async () => {
    const backend = new PgliteBackend({ stateDir, templateDir: sharedTemplateDir });
    await backend.createDatabase('again');
    await backend.withSession('again', (session) => session.query({ query: 'SELECT 1', params: [] }));
    await Promise.all([
      backend.dropDatabase('again', false),
      backend.createDatabase('again'),
      backend.withSession('again', (session) => session.query({ query: 'CREATE TABLE t (v int)', params: [] })),
    ]);
    // An untracked instance would never be closed, and the next request would open a second one.
    expect(backend.stats()).toEqual({ open: 1, databases: ['again'] });
    await backend.withSession('again', (session) => session.query({ query: 'INSERT INTO t VALUES (1)', params: [] }));
    expect(backend.stats().open).toBe(1);
    await backend.close();
  });
});
