/**
 * The auto-generated REST API (API.md §5) over real HTTP against the real platform: every filter op,
 * select / order / limit / offset, the SDK's wire shapes, bulk insert, filtered PATCH/DELETE, Prefer,
 * role resolution and simulation (§1.2), RLS-visible behaviour, every §5 error path, and injection
 * attempts that must change nothing.
 *
 * Tables are created with the app's owner connection (setup only). A statement-level trigger on
 * `posts` logs every INSERT/UPDATE/DELETE statement that reaches Postgres (even one touching no
 * rows), so "nothing was executed" is checked, not assumed.
 */
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { api, createReadyApp, type ApiOptions, type ApiResponse } from './helpers/api.ts';
import { appDb, controlDb } from './helpers/control-db.ts';

const alice = '0a11ce00-0000-4000-8000-000000000001';
const bob = '0b0b0000-0000-4000-8000-000000000002';

let appId: string;
let anonKey: string;

/** Calls /v1/{app}/{path}. */
function rest(path: string, options: ApiOptions = {}): Promise<ApiResponse> {
  return api(`/v1/${appId}/${path}`, options);
}

/** Runs owner SQL on the app database (setup and assertions only). */
async function ownerSql(query: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  return (await appDb(appId).query(query, params)) as Record<string, unknown>[];
}

/** The whole content of the test tables (and by default the write log): what "nothing changed" compares. */
async function snapshot(options: { writeLog: boolean } = { writeLog: true }): Promise<string> {
  const tables = ['posts', 'notes', 'members', 'pairs', 'loose', ...(options.writeLog ? ['_write_log'] : [])];
  const parts = await Promise.all(tables.map((t) => ownerSql(`SELECT coalesce(json_agg(t ORDER BY t::text), '[]') AS rows FROM "${t}" t`)));
  const names = await ownerSql(`SELECT string_agg(relname, ',' ORDER BY relname) AS names FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE nspname = 'public' AND relkind = 'r'`);
  return JSON.stringify([names, parts]);
}

async function writeStatements(): Promise<number> {
  const [row] = await ownerSql('SELECT count(*)::int AS n FROM _write_log');
  return Number(row!.n);
}

/** A minimal stand-in for the SDK's query builder: the same URLSearchParams.set calls (API.md §5). */
class SdkQuery {
  private readonly params = new URLSearchParams();
  private readonly orders: string[] = [];
  constructor(private readonly table: string) {}
  select(cols: string) { if (cols !== '*') this.params.set('select', cols); return this; }
  eq(c: string, v: unknown) { this.params.set(c, `eq.${String(v)}`); return this; }
  neq(c: string, v: unknown) { this.params.set(c, `neq.${String(v)}`); return this; }
  gt(c: string, v: unknown) { this.params.set(c, `gt.${String(v)}`); return this; }
  gte(c: string, v: unknown) { this.params.set(c, `gte.${String(v)}`); return this; }
  lt(c: string, v: unknown) { this.params.set(c, `lt.${String(v)}`); return this; }
  lte(c: string, v: unknown) { this.params.set(c, `lte.${String(v)}`); return this; }
  like(c: string, p: string) { this.params.set(c, `like.${p}`); return this; }
  ilike(c: string, p: string) { this.params.set(c, `ilike.${p}`); return this; }
  in(c: string, values: unknown[]) { this.params.set(c, `in.(${values.join(',')})`); return this; }
  is(c: string, v: null | boolean) { this.params.set(c, `is.${String(v)}`); return this; }
  filter(c: string, op: string, v: unknown) { this.params.set(c, `${op}.${String(v)}`); return this; }
  order(c: string, options: { ascending?: boolean } = {}) {
    this.orders.push(`${c}.${options.ascending === false ? 'desc' : 'asc'}`);
    this.params.set('order', this.orders.join(','));
    return this;
  }
  limit(n: number) { this.params.set('limit', String(n)); return this; }
  offset(n: number) { this.params.set('offset', String(n)); return this; }
  range(from: number, to: number) { this.params.set('limit', String(to - from + 1)); this.params.set('offset', String(from)); return this; }
  single() { this.params.set('limit', '2'); return this; }
  path(): string {
    const qs = this.params.toString();
    return qs ? `${this.table}?${qs}` : this.table;
  }
}

function from(table: string): SdkQuery {
  return new SdkQuery(table);
}

function titles(rows: { title: string }[]): string[] {
  return rows.map((r) => r.title).sort();
}

beforeAll(async () => {
  ({ appId, anonKey } = await createReadyApp('rest'));
  // Many requests per test file; the default budget is 100 per minute.
  await controlDb().query('UPDATE apps SET rate_limit_per_minute = 100000 WHERE id = $1', [appId]);
  for (const statement of [
    `CREATE TABLE _write_log (id serial PRIMARY KEY, tbl text NOT NULL, op text NOT NULL)`,
    `CREATE FUNCTION log_write() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
       BEGIN INSERT INTO _write_log (tbl, op) VALUES (TG_TABLE_NAME, TG_OP); RETURN NULL; END $$`,
    `CREATE TABLE posts (
       id serial PRIMARY KEY,
       title text NOT NULL,
       body text,
       views integer NOT NULL DEFAULT 0,
       big bigint,
       score numeric(10,2),
       published boolean NOT NULL DEFAULT false,
       tags text[],
       meta jsonb,
       category text,
       created_at timestamptz NOT NULL DEFAULT now(),
       title_upper text GENERATED ALWAYS AS (upper(title)) STORED)`,
    `CREATE TRIGGER posts_write_log AFTER INSERT OR UPDATE OR DELETE ON posts FOR EACH STATEMENT EXECUTE FUNCTION log_write()`,
    `CREATE TABLE members (
       id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
       email text NOT NULL UNIQUE,
       age integer CHECK (age >= 0),
       post_id integer REFERENCES posts (id))`,
    `CREATE TABLE pairs (a integer, b integer, PRIMARY KEY (a, b))`,
    `CREATE TABLE loose (label text)`,
    `CREATE TABLE _secret (id serial PRIMARY KEY, value text)`,
    `INSERT INTO _secret (value) VALUES ('hidden')`,
    `CREATE TABLE notes (
       id serial PRIMARY KEY,
       owner_id uuid NOT NULL,
       text text NOT NULL,
       public boolean NOT NULL DEFAULT false)`,
    `ALTER TABLE notes ENABLE ROW LEVEL SECURITY`,
    `ALTER TABLE notes FORCE ROW LEVEL SECURITY`,
    `CREATE POLICY notes_service_bypass ON notes TO butterbase_service USING (true) WITH CHECK (true)`,
    `CREATE POLICY notes_user_isolation ON notes TO butterbase_user USING (owner_id = current_user_id()::uuid) WITH CHECK (owner_id = current_user_id()::uuid)`,
    `CREATE POLICY notes_public_read_user ON notes FOR SELECT TO butterbase_user USING (public)`,
    `CREATE POLICY notes_public_read_anon ON notes FOR SELECT TO butterbase_anon USING (public)`,
  ]) {
    await ownerSql(statement);
  }
  const seeded = await rest('notes', {
    body: [
      { owner_id: alice, text: 'alice private' },
      { owner_id: alice, text: 'alice public', public: true },
      { owner_id: bob, text: 'bob private' },
      { owner_id: bob, text: 'bob public', public: true },
    ],
  });
  expect(seeded.status).toBe(201);
});

describe('rows as the SDK reads and writes them', () => {
  it('inserts, reads, updates and deletes one row by id', async () => {
    const created = await rest('posts', { body: { title: 'hello', views: 3, meta: { a: [1, 2] }, tags: ['x', 'y'], big: '9007199254740993', score: 1.5, not_a_column: 'dropped' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ title: 'hello', views: 3, meta: { a: [1, 2] }, tags: ['x', 'y'], big: '9007199254740993', score: '1.50', published: false, title_upper: 'HELLO' });
    expect(created.body).not.toHaveProperty('not_a_column');
    expect(created.body.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    const id = created.body.id;

    const read = await rest(`posts/${id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);

    const narrowed = await rest(`posts/${id}?select=id,title`);
    expect(narrowed.body).toEqual({ id, title: 'hello' });

    const updated = await rest(`posts/${id}`, { method: 'PATCH', body: { views: 4, junk: 1 } });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ id, title: 'hello', views: 4 });

    const deleted = await rest(`posts/${id}`, { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ deleted: true });
    const gone = await rest(`posts/${id}`);
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('RESOURCE_NOT_FOUND');
  });

  it('bulk-inserts an array body in one statement and returns the rows in order', async () => {
    const before = await writeStatements();
    const res = await rest('posts', { body: [{ title: 'bulk one', category: 'bulk' }, { title: 'bulk two', views: 7, category: 'bulk' }, { title: 'bulk three', category: 'bulk' }] });
    expect(res.status).toBe(201);
    expect(res.body.map((r: { title: string }) => r.title)).toEqual(['bulk one', 'bulk two', 'bulk three']);
    expect(res.body.map((r: { views: number }) => r.views)).toEqual([0, 7, 0]);
    expect(await writeStatements()).toBe(before + 1);
  });

  it('applies a bulk insert all or nothing', async () => {
    await rest('members', { body: { email: 'taken@example.test' } });
    const before = await snapshot();
    const res = await rest('members', { body: [{ email: 'fresh@example.test' }, { email: 'taken@example.test' }] });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('VALIDATION_UNIQUE_CONSTRAINT_VIOLATION');
    expect(await snapshot()).toBe(before);
  });

  it('sends what .update().eq("id", x) and .delete().eq("id", x) send, and filtered updates/deletes on the collection', async () => {
    const seeded = await rest('posts', { body: [{ title: 'c1', category: 'coll', views: 1 }, { title: 'c2', category: 'coll', views: 2 }, { title: 'c3', category: 'coll', views: 3 }] });
    const [first] = seeded.body;

    const patched = await rest(from('posts').gt('views', 1).eq('category', 'coll').path(), { method: 'PATCH', body: { published: true } });
    expect(patched.status).toBe(200);
    expect(titles(patched.body)).toEqual(['c2', 'c3']);
    expect(patched.body.every((r: { published: boolean }) => r.published)).toBe(true);

    const none = await rest(from('posts').eq('category', 'no-such').path(), { method: 'PATCH', body: { published: true } });
    expect(none.status).toBe(200);
    expect(none.body).toEqual([]);

    const removed = await rest(from('posts').eq('category', 'coll').is('published', true).path(), { method: 'DELETE' });
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual({ deleted: 2 });

    const left = await rest(from('posts').eq('category', 'coll').path());
    expect(left.body.map((r: { id: number }) => r.id)).toEqual([first.id]);
  });

  it('honours Prefer: return=minimal and return=representation', async () => {
    const quiet = await rest('posts', { body: { title: 'quiet', category: 'prefer' }, headers: { prefer: 'return=minimal' } });
    expect(quiet.status).toBe(201);
    expect(quiet.text).toBe('');
    expect(quiet.headers.get('preference-applied')).toBe('return=minimal');
    const [row] = await ownerSql(`SELECT id FROM posts WHERE title = 'quiet'`);
    const id = row!.id;

    const patched = await rest(`posts/${id}`, { method: 'PATCH', body: { views: 9 }, headers: { prefer: 'return=minimal' } });
    expect(patched.status).toBe(204);
    expect((await ownerSql('SELECT views FROM posts WHERE id = $1', [id]))[0]!.views).toBe(9);

    await rest('posts', { body: [{ title: 'rep a', category: 'prefer' }, { title: 'rep b', category: 'prefer' }] });
    const deleted = await rest('posts?category=eq.prefer&title=like.rep%25', { method: 'DELETE', headers: { prefer: 'return=representation' } });
    expect(deleted.status).toBe(200);
    expect(titles(deleted.body)).toEqual(['rep a', 'rep b']);

    const one = await rest(`posts/${id}?select=title`, { method: 'DELETE', headers: { prefer: 'return=representation' } });
    expect(one.body).toEqual({ title: 'quiet' });

    const unknownPreference = await rest('posts', { body: { title: 'loud', category: 'prefer' }, headers: { prefer: 'return=headers-only, count=exact' } });
    expect(unknownPreference.status).toBe(201);
    expect(unknownPreference.body).toMatchObject({ title: 'loud' });
  });

  it('narrows what an insert returns with ?select (the SDK\'s .insert().select(cols))', async () => {
    const res = await rest('posts?select=title,views', { body: { title: 'narrow', category: 'narrow' } });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ title: 'narrow', views: 0 });
  });

  it('writes null, and reads timestamps, jsonb, bigint and numeric as the reference does', async () => {
    const res = await rest('posts', { body: { title: 'types', body: null, meta: [1, 'two', { three: 3 }], score: '12.345', big: 42 } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ body: null, meta: [1, 'two', { three: 3 }], score: '12.35', big: '42' });
    expect(new Date(res.body.created_at).getTime()).toBeGreaterThan(Date.now() - 600_000);
  });
});

describe('the filter grammar', () => {
  beforeAll(async () => {
    const res = await rest('posts', {
      body: [
        { title: 'alpha', body: 'The quick brown fox jumps', views: 10, published: true, category: 'grammar', tags: ['a'] },
        { title: 'beta', body: 'Lazy dogs are sleeping', views: 20, published: false, category: 'grammar' },
        { title: 'gamma', body: null, views: 30, published: true, category: 'grammar', score: 2.5 },
        { title: 'Delta', body: 'foxes and dogs', views: 20, published: false, category: 'grammar' },
        { title: 'comma, title', body: 'commas', views: 5, published: false, category: 'grammar' },
      ],
    });
    expect(res.status).toBe(201);
  });

  const cases: [string, string, string[]][] = [
    ['eq', 'title=eq.alpha', ['alpha']],
    ['eq on a number', 'views=eq.20', ['Delta', 'beta']],
    ['neq', 'title=neq.alpha', ['Delta', 'beta', 'comma, title', 'gamma']],
    ['gt', 'views=gt.20', ['gamma']],
    ['gte', 'views=gte.20', ['Delta', 'beta', 'gamma']],
    ['lt', 'views=lt.10', ['comma, title']],
    ['lte', 'views=lte.10', ['alpha', 'comma, title']],
    ['like (case-sensitive)', 'title=like.%25eta', ['beta']],
    ['ilike (case-insensitive)', 'title=ilike.%25ELTA', ['Delta']],
    ['like on a number column', 'views=like.2%25', ['Delta', 'beta']],
    ['is.null', 'body=is.null', ['gamma']],
    ['is.true', 'published=is.true', ['alpha', 'gamma']],
    ['is.false', 'published=is.false', ['Delta', 'beta', 'comma, title']],
    ['in', 'title=in.(alpha,gamma,nope)', ['alpha', 'gamma']],
    ['in on numbers', 'views=in.(10, 30)', ['alpha', 'gamma']],
    ['in with a quoted comma', 'title=in.("comma, title",beta)', ['beta', 'comma, title']],
    ['in with an empty list', 'title=in.()', []],
    ['fts with English stemming', 'body=fts.fox jumping', ['alpha']],
    ['fts matching plurals', 'body=fts.dog', ['Delta', 'beta']],
    ['two filters AND-ed', 'views=eq.20&published=is.false&title=neq.beta', ['Delta']],
    ['two filters on one column', 'views=gt.5&views=lt.30', ['Delta', 'alpha', 'beta']],
    ['eq on numeric', 'score=eq.2.50', ['gamma']],
    ['value with a dot', 'title=eq.a.b', []],
  ];
  for (const [name, qs, expected] of cases) {
    it(`${name}: ?${qs}`, async () => {
      const res = await rest(`posts?category=eq.grammar&${qs}`);
      expect(res.status, res.text).toBe(200);
      expect(titles(res.body)).toEqual(expected.sort());
    });
  }

  it('selects columns, orders by several columns, and pages with limit/offset', async () => {
    const all = await rest('posts?category=eq.grammar&select=title,views&order=views.desc,id.asc');
    expect(all.body).toEqual([
      { title: 'gamma', views: 30 }, { title: 'beta', views: 20 }, { title: 'Delta', views: 20 },
      { title: 'alpha', views: 10 }, { title: 'comma, title', views: 5 },
    ]);
    const reversed = await rest('posts?category=eq.grammar&select=title&order=views.desc,id.desc&limit=2&offset=1');
    expect(reversed.body).toEqual([{ title: 'Delta' }, { title: 'beta' }]);
    const page = await rest('posts?category=eq.grammar&select=title&order=views.asc&limit=1&offset=1');
    expect(page.body).toEqual([{ title: 'alpha' }]);
    const empty = await rest('posts?category=eq.grammar&limit=0');
    expect(empty.body).toEqual([]);
    const nullsFirst = await rest('posts?category=eq.grammar&select=title&order=body.asc.nullsfirst&limit=1');
    expect(nullsFirst.body).toEqual([{ title: 'gamma' }]);
  });

  it('answers the SDK\'s builder calls as the SDK expects', async () => {
    const ranged = await rest(from('posts').select('title').eq('category', 'grammar').order('views', { ascending: false }).order('id').range(1, 2).path());
    expect(ranged.body).toEqual([{ title: 'beta' }, { title: 'Delta' }]);

    const single = await rest(from('posts').eq('category', 'grammar').eq('title', 'gamma').single().path());
    expect(single.body).toHaveLength(1);
    expect(single.body[0]).toMatchObject({ title: 'gamma', score: '2.50' });

    const maybe = await rest(from('posts').eq('category', 'grammar').eq('title', 'nobody').single().path());
    expect(maybe.body).toEqual([]);

    // URLSearchParams.set: a second filter on one column replaces the first.
    const replaced = await rest(from('posts').eq('category', 'grammar').gt('views', 5).lt('views', 15).path());
    expect(titles(replaced.body)).toEqual(['alpha', 'comma, title']);

    const sdkOps = await Promise.all([
      rest(from('posts').eq('category', 'grammar').in('title', ['alpha', 'beta']).path()),
      rest(from('posts').eq('category', 'grammar').is('body', null).path()),
      rest(from('posts').eq('category', 'grammar').ilike('title', 'd%').path()),
      rest(from('posts').eq('category', 'grammar').filter('body', 'fts', 'sleep').path()),
      rest(from('posts').eq('category', 'grammar').neq('published', true).gte('views', 20).path()),
    ]);
    expect(sdkOps.map((r) => titles(r.body))).toEqual([['alpha', 'beta'], ['gamma'], ['Delta'], ['beta'], ['Delta', 'beta']]);
  });
});

describe('role resolution and row-level security', () => {
  const as = (role: 'anon' | 'user', user?: string): Record<string, string> =>
    user ? { 'x-butterbase-as-role': role, 'x-butterbase-as-user': user } : { 'x-butterbase-as-role': role };
  const texts = (rows: { text: string }[]) => rows.map((r) => r.text).sort();

  it('shows each role the rows its policies allow', async () => {
    expect(texts((await rest('notes')).body)).toEqual(['alice private', 'alice public', 'bob private', 'bob public']);
    expect(texts((await rest('notes', { headers: as('user', alice) })).body)).toEqual(['alice private', 'alice public', 'bob public']);
    expect(texts((await rest('notes', { headers: { 'x-butterbase-as-user': bob } })).body)).toEqual(['alice public', 'bob private', 'bob public']);
    expect(texts((await rest('notes', { headers: as('anon') })).body)).toEqual(['alice public', 'bob public']);
    expect(texts((await rest('notes', { token: null })).body)).toEqual(['alice public', 'bob public']);
    expect(texts((await rest('notes', { token: anonKey })).body)).toEqual(['alice public', 'bob public']);
  });

  it('answers 404 for a row RLS hides, and changes nothing when asked to write it', async () => {
    const [hidden] = await ownerSql(`SELECT id FROM notes WHERE text = 'bob private'`);
    const before = await snapshot();
    for (const [method, body] of [['GET', undefined], ['PATCH', { text: 'hacked' }], ['DELETE', undefined]] as const) {
      const res = await rest(`notes/${hidden!.id}`, { method, body, headers: as('user', alice) });
      expect(res.status, method).toBe(404);
      expect(res.body.error.code, method).toBe('RESOURCE_NOT_FOUND');
    }
    const bulk = await rest(`notes?text=like.bob%25`, { method: 'PATCH', body: { text: 'hacked' }, headers: as('user', alice) });
    expect(bulk.body).toEqual([]);
    const bulkDelete = await rest(`notes?owner_id=eq.${bob}`, { method: 'DELETE', headers: as('user', alice) });
    expect(bulkDelete.body).toEqual({ deleted: 0 });
    expect(await snapshot()).toBe(before);
  });

  it('refuses a write the policies do not allow: 403 AUTH_RLS_POLICY_VIOLATION, or 401 AUTH_RLS_REQUIRES_USER_JWT for anon', async () => {
    const before = await snapshot();
    const forged = await rest('notes', { body: { owner_id: bob, text: 'forged' }, headers: as('user', alice) });
    expect(forged.status).toBe(403);
    expect(forged.body.error.code).toBe('AUTH_RLS_POLICY_VIOLATION');
    for (const anonymous of [{ token: null }, { headers: as('anon') }]) {
      const anonWrite = await rest('notes', { body: { owner_id: alice, text: 'anon' }, ...anonymous });
      expect(anonWrite.status).toBe(401);
      expect(anonWrite.body.error.code).toBe('AUTH_RLS_REQUIRES_USER_JWT');
    }
    const [mine] = await ownerSql(`SELECT id FROM notes WHERE text = 'alice private'`);
    const handOver = await rest(`notes/${mine!.id}`, { method: 'PATCH', body: { owner_id: bob }, headers: as('user', alice) });
    expect(handOver.status).toBe(403);
    expect(handOver.body.error.code).toBe('AUTH_RLS_POLICY_VIOLATION');
    expect(await snapshot()).toBe(before);
  });

  it('lets a simulated user write its own rows', async () => {
    const res = await rest('notes', { body: { owner_id: alice, text: 'alice new' }, headers: as('user', alice) });
    expect(res.status).toBe(201);
    const removed = await rest('notes?text=eq.alice new', { method: 'DELETE', headers: as('user', alice) });
    expect(removed.body).toEqual({ deleted: 1 });
  });

  describe('with real end-user access tokens', () => {
    let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
    const kid = `rest-test-${crypto.randomUUID()}`;

    beforeAll(async () => {
      const pair = await generateKeyPair('RS256');
      privateKey = pair.privateKey;
      // Setup only: a retired test key verifies tokens but is never picked for signing.
      await controlDb().query(
        `INSERT INTO app_signing_keys (kid, app_id, public_jwk, private_jwk_sealed, retired_at) VALUES ($1, $2, $3, 'test-only', now())`,
        [kid, appId, JSON.stringify({ ...(await exportJWK(pair.publicKey)), kid, alg: 'RS256' })],
      );
    });

    function token(sub: string, expiresIn = '1h', forApp = appId): Promise<string> {
      return new SignJWT({ email: `${sub}@example.test`, email_verified: true, app_id: forApp })
        .setProtectedHeader({ alg: 'RS256', kid })
        .setSubject(sub)
        .setIssuer(`butterbase:app:${forApp}`)
        .setIssuedAt(expiresIn.startsWith('-') ? Math.floor(Date.now() / 1000) - 7200 : undefined)
        .setExpirationTime(expiresIn.startsWith('-') ? Math.floor(Date.now() / 1000) - 3600 : expiresIn)
        .sign(privateKey);
    }

    it('runs an end user as butterbase_user with current_user_id() = sub', async () => {
      const res = await rest('notes', { token: await token(bob) });
      expect(res.status).toBe(200);
      expect(texts(res.body)).toEqual(['alice public', 'bob private', 'bob public']);
      const own = await rest('notes', { token: await token(bob), body: { owner_id: bob, text: 'bob via token' } });
      expect(own.status).toBe(201);
      const forged = await rest('notes', { token: await token(bob), body: { owner_id: alice, text: 'nope' } });
      expect(forged.body.error.code).toBe('AUTH_RLS_POLICY_VIOLATION');
    });

    it('refuses role simulation from an end user and rejects bad tokens', async () => {
      const cases: [string, () => Promise<ApiOptions>, number, string][] = [
        ['end user simulating', async () => ({ token: await token(bob), headers: as('user', alice) }), 403, 'AUTH_IMPERSONATION_FORBIDDEN'],
        ['end user simulating anon', async () => ({ token: await token(bob), headers: as('anon') }), 403, 'AUTH_IMPERSONATION_FORBIDDEN'],
        ['expired token', async () => ({ token: await token(bob, '-1h') }), 401, 'AUTH_END_USER_JWT_EXPIRED'],
        ['tampered token', async () => ({ token: `${(await token(bob)).slice(0, -4)}AAAA` }), 401, 'AUTH_INVALID_END_USER_JWT'],
      ];
      for (const [name, options, status, code] of cases) {
        const res = await rest('notes', await options());
        expect(res.status, name).toBe(status);
        expect(res.body.error.code, name).toBe(code);
      }
    });
  });

  it('refuses role simulation from anyone but a service key, and bad simulation values', async () => {
    const cases: [string, ApiOptions, number, string][] = [
      ['anonymous with As-Role', { token: null, headers: as('anon') }, 403, 'AUTH_IMPERSONATION_FORBIDDEN'],
      ['anonymous with As-User', { token: null, headers: { 'x-butterbase-as-user': alice } }, 403, 'AUTH_IMPERSONATION_FORBIDDEN'],
      ['anon key with As-Role', { token: anonKey, headers: as('user', alice) }, 403, 'AUTH_IMPERSONATION_FORBIDDEN'],
      ['As-Role service', { headers: { 'x-butterbase-as-role': 'service' } }, 400, 'VALIDATION_INVALID_SCHEMA'],
      ['As-Role owner', { headers: { 'x-butterbase-as-role': 'owner' } }, 400, 'VALIDATION_INVALID_SCHEMA'],
      ['As-Role user without As-User', { headers: { 'x-butterbase-as-role': 'user' } }, 400, 'VALIDATION_MISSING_FIELD'],
      ['As-User not a uuid', { headers: as('user', "x' OR '1'='1") }, 400, 'VALIDATION_INVALID_SCHEMA'],
      ['anon with a user', { headers: { 'x-butterbase-as-role': 'anon', 'x-butterbase-as-user': alice } }, 400, 'VALIDATION_INVALID_SCHEMA'],
    ];
    for (const [name, options, status, code] of cases) {
      const res = await rest('notes', options);
      expect(res.status, name).toBe(status);
      expect(res.body.error.code, name).toBe(code);
    }
  });

  it('rejects anonymous callers of an authenticated-only app, whatever the route', async () => {
    const other = await createReadyApp('rest-auth');
    await appDb(other.appId).query('CREATE TABLE things (id serial PRIMARY KEY, name text)');
    await appDb(other.appId).query(`INSERT INTO things (name) VALUES ('one')`);
    const mode = await api(`/v1/${other.appId}/config/access-mode`, { method: 'PATCH', body: { access_mode: 'authenticated' } });
    expect(mode.status).toBe(200);
    const refused: [string, ApiOptions][] = [
      ['no token', { token: null }],
      ['anon key', { token: other.anonKey }],
      ['service key simulating anon', { headers: as('anon') }],
      ['no token, POST', { token: null, method: 'POST', body: { name: 'x' } }],
      ['no token, bad filter', { token: null, method: 'GET' }],
    ];
    for (const [name, options] of refused) {
      const path = name.endsWith('bad filter') ? 'things?name=bogus' : 'things';
      const res = await api(`/v1/${other.appId}/${path}`, options);
      expect(res.status, name).toBe(401);
      expect(res.body.error.code, name).toBe('AUTH_REQUIRED');
    }
    expect((await api(`/v1/${other.appId}/things`)).body).toEqual([{ id: 1, name: 'one' }]);
    expect((await api(`/v1/${other.appId}/things`, { headers: as('user', alice) })).status).toBe(200);
    expect((await appDb(other.appId).query('SELECT count(*)::int AS n FROM things'))[0]!.n).toBe(1);
  });
});

describe('every §5 error path', () => {
  it('answers with the documented status and code, and changes nothing', async () => {
    const [post] = await ownerSql(`INSERT INTO posts (title, category) VALUES ('fk target', 'errors') RETURNING id`);
    const before = await snapshot({ writeLog: false });
    const writes = await writeStatements();
    // `executes`: a write statement on posts that reaches Postgres and succeeds touching no row (→ 404);
    // every other write below must be refused before any statement runs, or roll back.
    const cases: { name: string; path: string; method?: string; body?: unknown; token?: string | null; status: number; code: string; executes?: true; check?: (res: ApiResponse) => void }[] = [
      { name: 'unknown table', path: 'nope', status: 404, code: 'VALIDATION_TABLE_NOT_FOUND' },
      { name: 'unknown table, by id', path: 'nope/1', status: 404, code: 'VALIDATION_TABLE_NOT_FOUND' },
      { name: 'unknown table, insert', path: 'nope', body: { a: 1 }, status: 404, code: 'VALIDATION_TABLE_NOT_FOUND' },
      { name: 'reserved table', path: '_secret', status: 400, code: 'VALIDATION_RESERVED_TABLE' },
      { name: 'reserved table, by id', path: '_secret/1', method: 'DELETE', status: 400, code: 'VALIDATION_RESERVED_TABLE' },
      { name: 'reserved table, insert', path: '_write_log', body: { tbl: 'x', op: 'y' }, status: 400, code: 'VALIDATION_RESERVED_TABLE' },
      { name: 'filter without a dot', path: 'posts?title=alpha', status: 400, code: 'VALIDATION_INVALID_SCHEMA', check: (r) => expect(r.body.error.details.invalidFilters).toEqual(['title']) },
      { name: 'unknown operator', path: 'posts?title=contains.a', status: 400, code: 'VALIDATION_INVALID_SCHEMA', check: (r) => expect(r.body.error.details.invalidFilters).toEqual(['title']) },
      { name: 'unknown filter column', path: 'posts?nope=eq.1', status: 400, code: 'VALIDATION_INVALID_SCHEMA', check: (r) => expect(r.body.error.details.invalidFilters).toEqual(['nope']) },
      { name: 'is with a bad value', path: 'posts?published=is.yes', status: 400, code: 'VALIDATION_INVALID_SCHEMA' },
      { name: 'is.true on a text column', path: 'posts?title=is.true', status: 400, code: 'VALIDATION_INVALID_SCHEMA' },
      { name: 'in without parentheses', path: 'posts?id=in.1,2', status: 400, code: 'VALIDATION_INVALID_SCHEMA' },
      { name: 'unknown select column', path: 'posts?select=id,nope', status: 400, code: 'VALIDATION_COLUMN_NOT_FOUND', check: (r) => expect(r.body.error.details.columns).toEqual(['nope']) },
      { name: 'unknown order column', path: 'posts?order=nope.desc', status: 400, code: 'VALIDATION_COLUMN_NOT_FOUND' },
      { name: 'bad order direction', path: 'posts?order=views.sideways', status: 400, code: 'VALIDATION_INVALID_SCHEMA' },
      { name: 'negative limit', path: 'posts?limit=-1', status: 400, code: 'VALIDATION_INVALID_SCHEMA' },
      { name: 'garbage offset', path: 'posts?offset=abc', status: 400, code: 'VALIDATION_INVALID_SCHEMA' },
      { name: 'value not of the column type', path: 'posts?views=eq.lots', status: 400, code: 'VALIDATION_INVALID_INPUT' },
      { name: 'id not of the key type', path: 'members/not-a-uuid', status: 400, code: 'VALIDATION_INVALID_INPUT' },
      { name: 'no such row', path: 'posts/987654', status: 404, code: 'RESOURCE_NOT_FOUND' },
      { name: 'no such row, update', path: 'posts/987654', method: 'PATCH', body: { views: 1 }, status: 404, code: 'RESOURCE_NOT_FOUND', executes: true },
      { name: 'no such row, delete', path: 'posts/987654', method: 'DELETE', status: 404, code: 'RESOURCE_NOT_FOUND', executes: true },
      { name: 'no primary key', path: 'loose/1', status: 400, code: 'VALIDATION_INVALID_SCHEMA' },
      { name: 'composite primary key', path: 'pairs/1', method: 'PATCH', body: { a: 2 }, status: 400, code: 'VALIDATION_INVALID_SCHEMA' },
      { name: 'filters on /{id}', path: 'posts/1?title=eq.x', status: 400, code: 'VALIDATION_INVALID_SCHEMA' },
      { name: 'limit on insert', path: 'posts?limit=1', body: { title: 'x' }, status: 400, code: 'VALIDATION_INVALID_SCHEMA' },
      { name: 'no valid columns', path: 'posts', body: { nope: 1 }, status: 400, code: 'VALIDATION_INVALID_SCHEMA' },
      { name: 'empty object', path: 'posts', body: {}, status: 400, code: 'VALIDATION_INVALID_SCHEMA' },
      { name: 'no body', path: 'posts', method: 'POST', status: 400, code: 'VALIDATION_INVALID_SCHEMA' },
      { name: 'no valid columns in one bulk row', path: 'posts', body: [{ title: 'ok' }, { nope: 1 }], status: 400, code: 'VALIDATION_INVALID_SCHEMA', check: (r) => expect(r.body.error.details[0].path).toBe('[1]') },
      { name: 'empty array', path: 'posts', body: [], status: 400, code: 'VALIDATION_INVALID_SCHEMA' },
      { name: 'array of non-objects', path: 'posts', body: [1, 2], status: 400, code: 'VALIDATION_INVALID_TYPE' },
      { name: 'string body', path: 'posts', body: '"title"', status: 400, code: 'VALIDATION_INVALID_TYPE' },
      { name: 'null body', path: 'posts', body: 'null', status: 400, code: 'VALIDATION_INVALID_TYPE' },
      { name: 'malformed JSON', path: 'posts', body: '{"title": ', status: 400, code: 'VALIDATION_INVALID_SCHEMA' },
      { name: 'array body on PATCH', path: 'posts?id=eq.1', method: 'PATCH', body: [{ views: 1 }], status: 400, code: 'VALIDATION_INVALID_TYPE' },
      { name: 'generated column', path: 'posts', body: { title: 'x', title_upper: 'Y' }, status: 400, code: 'VALIDATION_INVALID_SCHEMA' },
      { name: 'wrong value type', path: 'posts', body: { title: 'x', views: 'many' }, status: 400, code: 'VALIDATION_INVALID_INPUT' },
      { name: 'object for an integer', path: 'posts', body: { title: 'x', views: { n: 1 } }, status: 400, code: 'VALIDATION_INVALID_INPUT' },
      { name: 'jsonb string that is not JSON', path: 'posts', body: { title: 'x', meta: 'not json' }, status: 400, code: 'VALIDATION_INVALID_INPUT' },
      { name: 'not null', path: 'posts', body: { body: 'no title' }, status: 400, code: 'VALIDATION_NOT_NULL_VIOLATION', check: (r) => expect(r.body.error.details.column).toBe('title') },
      { name: 'unique', path: 'members', body: { email: 'taken@example.test' }, status: 409, code: 'VALIDATION_UNIQUE_CONSTRAINT_VIOLATION' },
      { name: 'check', path: 'members', body: { email: 'neg@example.test', age: -1 }, status: 400, code: 'VALIDATION_CHECK_CONSTRAINT_VIOLATION' },
      { name: 'foreign key', path: 'members', body: { email: 'fk@example.test', post_id: 987654 }, status: 400, code: 'VALIDATION_FOREIGN_KEY_VIOLATION' },
      { name: 'PATCH collection without filters', path: 'posts', method: 'PATCH', body: { views: 0 }, status: 400, code: 'VALIDATION_INVALID_SCHEMA' },
      { name: 'PATCH collection with only select', path: 'posts?select=id', method: 'PATCH', body: { views: 0 }, status: 400, code: 'VALIDATION_INVALID_SCHEMA' },
      { name: 'DELETE collection without filters', path: 'posts', method: 'DELETE', status: 400, code: 'VALIDATION_INVALID_SCHEMA' },
      { name: 'DELETE collection with a malformed filter', path: 'posts?views=0', method: 'DELETE', status: 400, code: 'VALIDATION_INVALID_SCHEMA' },
      { name: 'PATCH with no valid columns', path: 'posts?views=gt.0', method: 'PATCH', body: { nope: 1 }, status: 400, code: 'VALIDATION_INVALID_SCHEMA' },
      { name: 'bad bearer', path: 'posts', token: 'not-a-token', status: 401, code: 'AUTH_INVALID_TOKEN' },
      { name: 'unknown method', path: 'posts', method: 'PUT', body: { title: 'x' }, status: 404, code: 'RESOURCE_NOT_FOUND' },
    ];
    for (const c of cases) {
      const res = await rest(c.path, { method: c.method ?? (c.body === undefined ? 'GET' : 'POST'), body: c.body, token: c.token });
      expect(res.status, `${c.name}: ${res.text}`).toBe(c.status);
      expect(res.body.error.code, c.name).toBe(c.code);
      expect(res.body.error.remediation, c.name).toEqual(expect.any(String));
      expect(res.text, c.name).not.toMatch(/at .*\.ts:\d+|\bSELECT\b|INSERT INTO|UPDATE "|DELETE FROM/);
      c.check?.(res);
    }
    expect(await snapshot({ writeLog: false })).toBe(before);
    expect(await writeStatements()).toBe(writes + cases.filter((c) => c.executes).length);

    // A row still referenced cannot be deleted.
    await ownerSql(`INSERT INTO members (email, post_id) VALUES ('ref@example.test', $1)`, [post!.id]);
    const referenced = await rest(`posts/${post!.id}`, { method: 'DELETE' });
    expect(referenced.status).toBe(400);
    expect(referenced.body.error.code).toBe('VALIDATION_FOREIGN_KEY_VIOLATION');
  });

  it('answers 503 APP_PAUSED for a paused app', async () => {
    const paused = await createReadyApp('rest-paused');
    await api(`/v1/${paused.appId}/config/pause`, { method: 'PATCH', body: { paused: true, reason: 'test' } });
    const res = await api(`/v1/${paused.appId}/anything`);
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('APP_PAUSED');
  });
});

describe('injection attempts', () => {
  it('binds hostile filter values as data: harmless, nothing changed', async () => {
    const before = await snapshot();
    const writes = await writeStatements();
    const hostile = [
      `x'; DROP TABLE posts; --`,
      `x' OR '1'='1`,
      `1) OR (1=1`,
      `$1`,
      `\\'; DELETE FROM posts; --`,
    ];
    for (const value of hostile) {
      for (const op of ['eq', 'neq', 'like', 'ilike', 'fts', 'gt']) {
        const res = await rest(`posts?${new URLSearchParams({ category: 'eq.grammar', title: `${op}.${value}` })}`);
        expect(res.status, `${op}.${value}`).toBe(200);
        if (op === 'eq' || op === 'like' || op === 'ilike' || op === 'fts') expect(res.body, `${op}.${value}`).toEqual([]);
      }
      const inList = await rest(`posts?${new URLSearchParams({ title: `in.(${value.replaceAll(',', '')}, "${value.replaceAll('"', '')}")` })}`);
      expect(inList.status, `in ${value}`).toBe(200);
      expect(inList.body).toEqual([]);
      const numeric = await rest(`posts?${new URLSearchParams({ views: `eq.${value}` })}`);
      expect(numeric.status).toBe(400);
      expect(numeric.body.error.code).toBe('VALIDATION_INVALID_INPUT');
    }
    const filteredDelete = await rest(`posts?${new URLSearchParams({ title: `eq.x' OR '1'='1` })}`, { method: 'DELETE' });
    expect(filteredDelete.body).toEqual({ deleted: 0 });
    expect(await writeStatements()).toBe(writes + 1);
    expect(await snapshot()).not.toBe(before); // the write log grew by that one statement…
    await ownerSql('DELETE FROM _write_log WHERE id = (SELECT max(id) FROM _write_log)');
    expect(await snapshot()).toBe(before); // …and nothing else changed.
  });

  it('refuses hostile column names, order, select and table names with 400, executing nothing', async () => {
    const before = await snapshot();
    const writes = await writeStatements();
    const cases: [string, string, ApiOptions?][] = [
      ['column name', `posts?${new URLSearchParams({ 'title;drop table posts': 'eq.x' })}`],
      ['quoted column name', `posts?${new URLSearchParams({ 'title" = title OR "1': 'eq.x' })}`],
      ['column name with a comment', `posts?${new URLSearchParams({ 'title--': 'eq.x' })}`],
      ['order with a statement', `posts?${new URLSearchParams({ order: 'title; DROP TABLE posts' })}`],
      ['order with a subquery', `posts?${new URLSearchParams({ order: '(select 1)' })}`],
      ['order with a case expression', `posts?${new URLSearchParams({ order: 'case when 1=1 then title end' })}`],
      ['select with a subquery', `posts?${new URLSearchParams({ select: 'id,(select value from _secret)' })}`],
      ['select with a statement', `posts?${new URLSearchParams({ select: 'id; DROP TABLE posts' })}`],
      ['select with a function', `posts?${new URLSearchParams({ select: 'pg_sleep(1)' })}`],
      ['select star plus', `posts?${new URLSearchParams({ select: '*,pg_read_file(1)' })}`],
      ['limit with a union', `posts?${new URLSearchParams({ limit: '1 UNION SELECT * FROM _secret' })}`],
      ['table with a statement', `${encodeURIComponent('posts; DROP TABLE posts')}`],
      ['quoted table', `${encodeURIComponent('posts" WHERE "1"="1')}`],
      ['schema-qualified table', 'pg_catalog.pg_roles'],
      ['uppercase table', 'POSTS'],
      ['other schema via dot', `${encodeURIComponent('butterbase.schema_migrations')}`],
      ['hostile filter on a write', `posts?${new URLSearchParams({ 'id)>0 OR (1': 'eq.1' })}`, { method: 'DELETE' }],
      ['hostile filter on an update', `posts?${new URLSearchParams({ 'views=0,title': 'eq.1' })}`, { method: 'PATCH', body: { views: 1 } }],
      ['hostile key in a body', 'posts', { body: { 'title" text); DROP TABLE posts; --': 'x' } }],
      ['hostile select on an insert', `posts?${new URLSearchParams({ select: '*, (DELETE FROM posts)' })}`, { body: { title: 'x' } }],
    ];
    for (const [name, path, options] of cases) {
      const res = await rest(path, options);
      expect(res.status, `${name}: ${res.text}`).toBe(400);
      expect(res.body.error.code, name).toMatch(/^VALIDATION_/);
    }
    expect(await writeStatements()).toBe(writes);
    expect(await snapshot()).toBe(before);
  });
});

describe('the table cache', () => {
  it('serves a table created by schema apply (the agent flow) on the very next request', async () => {
    expect((await rest('posts?limit=1')).status).toBe(200); // the catalog is now cached
    const schema = {
      tables: {
        tasks: {
          columns: {
            id: { type: 'uuid', primaryKey: true, default: 'gen_random_uuid()' },
            title: { type: 'text', nullable: false },
            done: { type: 'boolean', nullable: false, default: 'false' },
          },
        },
      },
    };
    const applied = await api(`/v1/${appId}/schema/apply`, { body: { schema } });
    expect(applied.status, applied.text).toBe(200);
    const created = await rest('tasks', { body: [{ title: 'write tests' }, { title: 'ship', done: true }] });
    expect(created.status, created.text).toBe(201);
    const open = await rest(from('tasks').select('title').eq('done', false).path());
    expect(open.body).toEqual([{ title: 'write tests' }]);
    const byId = await rest(`tasks/${created.body[1].id}`, { method: 'PATCH', body: { done: false } });
    expect(byId.body).toMatchObject({ title: 'ship', done: false });
  });

  it('serves a table created a moment ago at once, and a column added a moment ago', async () => {
    expect((await rest('posts?limit=1')).status).toBe(200); // the catalog is now cached
    expect((await rest('fresh')).status).toBe(404);
    await ownerSql('CREATE TABLE fresh (id serial PRIMARY KEY, name text)');
    const created = await rest('fresh', { body: { name: 'first' } });
    expect(created.status).toBe(201);
    expect((await rest('fresh')).body).toEqual([{ id: 1, name: 'first' }]);

    await ownerSql('ALTER TABLE fresh ADD COLUMN colour text');
    const withColumn = await rest('fresh', { body: { name: 'second', colour: 'red' } });
    expect(withColumn.status).toBe(201);
    expect(withColumn.body).toEqual({ id: 2, name: 'second', colour: 'red' });
    expect((await rest('fresh?colour=eq.red&select=name')).body).toEqual([{ name: 'second' }]);

    await ownerSql('DROP TABLE fresh');
    const dropped = await rest('fresh');
    expect(dropped.status).toBe(404);
    expect(dropped.body.error.code).toBe('VALIDATION_TABLE_NOT_FOUND');
  });
});
