/**
 * The direct PGlite session prepares a statement text it sees again (embedded-db/statement-cache.ts):
 * answers stay what the unnamed statement answered, row-level security still follows the role and
 * claims of each batch, schema changes show at once, and a cache Postgres no longer agrees with
 * (a function that ran DDL or DEALLOCATE behind it, a failed batch) heals without the caller seeing
 * an error. Real PGlite, in memory.
 */
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Statement } from '../embedded-db/backend.ts';
import { PgliteSession } from '../embedded-db/pglite-session.ts';
import { StatementCache } from '../embedded-db/statement-cache.ts';

const alice = '00000000-0000-4000-8000-00000000000a';
const bob = '00000000-0000-4000-8000-00000000000b';

let pglite: PGlite;
let session: PgliteSession;

/** The DbGateway shape of a read: role prelude, then the statements (workers/data/prelude.ts). */
function asUser(userId: string, ...statements: Statement[]): Statement[] {
  return [
    {
      query: "SELECT set_config('role', $1, true), set_config('request.jwt.claim.sub', $2, true)",
      params: ['bb_user', userId],
    },
    ...statements,
  ];
}

const ro = { readOnly: true, deferrable: false };
const rw = { readOnly: false, deferrable: false };
const notes: Statement = { query: 'SELECT owner, body FROM notes ORDER BY body', params: [] };

beforeAll(async () => {
  pglite = await PGlite.create();
  await pglite.exec(`
    CREATE ROLE bb_user NOLOGIN;
    CREATE TABLE notes (id serial PRIMARY KEY, owner uuid NOT NULL, body text NOT NULL);
    INSERT INTO notes (owner, body) VALUES ('${alice}', 'a1'), ('${alice}', 'a2'), ('${bob}', 'b1');
    ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
    CREATE POLICY own ON notes FOR ALL TO bb_user USING (owner = current_setting('request.jwt.claim.sub')::uuid);
    GRANT SELECT, INSERT ON notes TO bb_user;
    GRANT USAGE ON SEQUENCE notes_id_seq TO bb_user;
    CREATE TABLE wide (a int);
    INSERT INTO wide VALUES (1);
    CREATE FUNCTION widen() RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'ALTER TABLE wide ADD COLUMN b int DEFAULT 2'; END $$;
    CREATE FUNCTION forget_statements() RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'DEALLOCATE ALL'; END $$;
  `);
  session = new PgliteSession(pglite);
});

afterAll(async () => {
  await pglite?.close();
});

async function read(userId: string): Promise<string[]> {
  const results = await session.transaction(asUser(userId, notes), ro);
  await session.release();
  return results[1]!.rows.map((row) => String(row[1]));
}

describe('prepared statements in the direct PGlite session', () => {
  it('answers a repeated batch as the first, unnamed run did', async () => {
    const first = await session.transaction(asUser(alice, notes), ro);
    for (let i = 0; i < 8; i++) {
      const again = await session.transaction(asUser(alice, notes), ro);
      expect(again).toEqual(first);
    }
    await session.release();
    expect(first[1]!.rows).toEqual([[alice, 'a1'], [alice, 'a2']]);
  });

  it('applies row-level security for the claims of each batch, alternating users on the same prepared statements', async () => {
    for (let i = 0; i < 6; i++) {
      expect(await read(alice)).toEqual(['a1', 'a2']);
      expect(await read(bob)).toEqual(['b1']);
    }
    // And the service role of the same session (no prelude) sees every row.
    for (let i = 0; i < 3; i++) expect((await session.query(notes)).rows.map((r) => r[1])).toEqual(['a1', 'a2', 'b1']);
  });

  it('shows a new column at once after DDL sent as a statement', async () => {
    const star: Statement = { query: 'SELECT * FROM notes ORDER BY id', params: [] };
    for (let i = 0; i < 3; i++) expect((await session.query(star)).fields.map((f) => f.name)).toEqual(['id', 'owner', 'body']);
    await session.query({ query: "ALTER TABLE notes ADD COLUMN tag text DEFAULT 't'", params: [] });
    expect((await session.query(star)).fields.map((f) => f.name)).toEqual(['id', 'owner', 'body', 'tag']);
  });

  it('heals when a function changes a table under a prepared SELECT * (cached plan must not change result type)', async () => {
    const star: Statement = { query: 'SELECT * FROM wide', params: [] };
    for (let i = 0; i < 3; i++) expect((await session.query(star)).rows).toEqual([['1']]);
    await session.transaction([{ query: 'SELECT widen()', params: [] }], rw);
    // The single-statement path and the batch path both run again unnamed instead of failing.
    expect((await session.query(star)).rows).toEqual([['1', '2']]);
    expect((await session.transaction([star], ro))[0]!.rows).toEqual([['1', '2']]);
    await session.release();
  });

  it('heals when a function deallocates every prepared statement behind the cache', async () => {
    for (let i = 0; i < 3; i++) expect(await read(alice)).toEqual(['a1', 'a2']);
    await session.query({ query: 'SELECT forget_statements()', params: [] });
    expect(await read(alice)).toEqual(['a1', 'a2']);
    await session.query({ query: 'SELECT forget_statements()', params: [] });
    expect((await session.query(notes)).rows.length).toBe(3);
  });

  it('keeps working after a failed batch that stopped before statements it was preparing', async () => {
    const insert: Statement = { query: 'INSERT INTO notes (owner, body) VALUES ($1, $2) RETURNING body', params: [alice, 'x'] };
    const count: Statement = { query: 'SELECT count(*) FROM notes WHERE body = $1', params: ['x'] };
    // Seen once each, so the next batch parses both under names; its first statement fails, so
    // Postgres never parses the ones after it.
    await session.transaction(asUser(alice, count, insert), rw);
    const failing: Statement = { query: 'SELECT 1 / $1::int', params: [0] };
    await session.transaction([failing], ro).catch(() => {});
    await expect(session.transaction([failing, count, insert], rw)).rejects.toMatchObject({ code: '22012' });
    await session.release();
    const [, counted, inserted] = await session.transaction(asUser(alice, count, insert), rw);
    expect(counted!.rows).toEqual([['1']]);
    expect(inserted!.rows).toEqual([['x']]);
    await session.release();
  });
});

describe('StatementCache', () => {
  it('prepares a text the second time, binds it afterwards, and closes the least recently used beyond its limit', () => {
    const cache = new StatementCache(2);
    expect(cache.plan('SELECT 1')).toEqual({ name: '', parse: true });
    const named = cache.plan('SELECT 1');
    expect(named).toMatchObject({ parse: true });
    expect(named.name).toMatch(/^_bb_stmt_\d+$/);
    cache.settle(['SELECT 1'], [named], true);
    expect(cache.plan('SELECT 1')).toEqual({ name: named.name, parse: false });
    cache.plan('SELECT 2');
    cache.plan('SELECT 3');
    expect(cache.stats()).toEqual({ texts: 2, prepared: 0 });
    expect(cache.takeCloses()).not.toBeNull();
    expect(cache.takeCloses()).toBeNull();
  });

  it('never prepares DDL, and DDL that ran closes everything prepared', () => {
    const cache = new StatementCache();
    for (let i = 0; i < 3; i++) expect(cache.plan('CREATE TABLE t (a int)')).toEqual({ name: '', parse: true });
    cache.plan('SELECT 1');
    const named = cache.plan('SELECT 1');
    cache.settle(['SELECT 1'], [named], true);
    expect(cache.stats().prepared).toBe(1);
    // An exchange that parses a name and runs DDL: both that name and the earlier one are closed.
    const fresh = (cache.plan('SELECT 2'), cache.plan('SELECT 2'));
    cache.settle(['SELECT 2', 'ALTER TABLE t ADD b int'], [fresh, { name: '', parse: true }], true);
    expect(cache.stats()).toEqual({ texts: 0, prepared: 0 });
    const closes = cache.takeCloses()!.toString('latin1');
    expect(closes).toContain(named.name);
    expect(closes).toContain(fresh.name);
  });
});
