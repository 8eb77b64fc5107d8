/**
 * Row-level security management over real HTTP (API.md §4, §2 POST /secure): user isolation with and
 * without public read, enable, create/update/delete policy, list, delete all, secure, and every error
 * code — with visibility proven through the real database roles (SET LOCAL ROLE butterbase_* plus the
 * GUCs DbGateway sets), not by reading the policy text back.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { api, createReadyApp } from './helpers/api.ts';
import { appDb, controlDb, createOtherAccount, raiseRateLimit } from './helpers/control-db.ts';

const alice = '11111111-1111-4111-8111-111111111111';
const bob = '22222222-2222-4222-8222-222222222222';

let appId: string;

/** Runs one statement as a platform role, with the GUCs DbGateway sets for that role. */
async function asRole(role: 'anon' | 'user' | 'service', userId: string | null, query: string, params: unknown[] = []) {
  const sql = appDb(appId);
  const results = await sql.transaction([
    sql.query(`SET LOCAL ROLE butterbase_${role}`),
    sql.query(`SELECT set_config('request.jwt.claim.sub', $1, true), set_config('app.role', $2, true)`, [userId ?? '', role]),
    sql.query(query, params),
  ]);
  return results[2] as Record<string, unknown>[];
}

/** Titles visible to a role, sorted. */
async function titles(table: string, role: 'anon' | 'user' | 'service', userId: string | null = null): Promise<string[]> {
  const rows = await asRole(role, userId, `SELECT title FROM ${table} ORDER BY title`);
  return rows.map((r) => String(r.title));
}

async function owner(query: string, params: unknown[] = []) {
  return appDb(appId).query(query, params);
}

async function policiesOf(table: string): Promise<string[]> {
  const list = await api(`/v1/${appId}/rls`);
  expect(list.status).toBe(200);
  return list.body.policies.filter((p: { tablename: string }) => p.tablename === table).map((p: { policyname: string }) => p.policyname).sort();
}

beforeAll(async () => {
  ({ appId } = await createReadyApp('rls'));
  // This file makes well over 100 requests a minute against one app.
  await raiseRateLimit(appId);
  await owner(`CREATE TABLE posts (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), user_id uuid, title text NOT NULL, published boolean NOT NULL DEFAULT false, views integer NOT NULL DEFAULT 0)`);
  await owner(`CREATE TABLE notes (id serial PRIMARY KEY, user_id text, title text NOT NULL)`);
  await owner(`CREATE TABLE articles (id serial PRIMARY KEY, owner uuid, title text NOT NULL, status text NOT NULL DEFAULT 'draft')`);
  await owner(`CREATE TABLE groups (id serial PRIMARY KEY, title text)`);
  await owner(`CREATE TABLE memberships (group_id integer, user_id uuid, title text)`);
  await owner(`CREATE TABLE todos (id serial PRIMARY KEY, user_id uuid, title text NOT NULL)`);
  await owner(`CREATE TABLE _internal (id serial PRIMARY KEY)`);
  for (const [user, title, published] of [[alice, 'a-private', false], [alice, 'a-public', true], [bob, 'b-private', false], [bob, 'b-public', true]] as const) {
    await owner('INSERT INTO posts (user_id, title, published) VALUES ($1, $2, $3)', [user, title, published]);
  }
  await owner(`INSERT INTO notes (user_id, title) VALUES ($1, 'a-note'), ($2, 'b-note')`, [alice, bob]);
  await owner(`INSERT INTO articles (owner, title, status) VALUES ($1, 'draft-1', 'draft'), ($1, 'live-1', 'live'), ($2, 'featured-1', 'featured')`, [alice, bob]);
});

describe('user isolation with public_read_column', () => {
  it('creates the policies, trigger and bypass, and reports them', async () => {
    const res = await api(`/v1/${appId}/rls`, { body: { table_name: 'posts', user_column: 'user_id', public_read_column: 'published' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      success: true, table: 'posts', user_column: 'user_id', policy_name: 'posts_user_isolation',
      public_read_policies: ['posts_public_read_user', 'posts_public_read_anon'],
    });
    expect(res.body._meta.next_actions.length).toBeGreaterThan(0);
  });

  it('a user sees their own rows plus published ones; anon only published; service everything', async () => {
    expect(await titles('posts', 'user', alice)).toEqual(['a-private', 'a-public', 'b-public']);
    expect(await titles('posts', 'user', bob)).toEqual(['a-public', 'b-private', 'b-public']);
    expect(await titles('posts', 'anon')).toEqual(['a-public', 'b-public']);
    expect(await titles('posts', 'service')).toEqual(['a-private', 'a-public', 'b-private', 'b-public']);
  });

  it('an insert by a user gets their id even when the body names someone else', async () => {
    const [row] = await asRole('user', alice, `INSERT INTO posts (user_id, title) VALUES ($1, 'a-sneaky') RETURNING user_id`, [bob]);
    expect(row!.user_id).toBe(alice);
    const [own] = await asRole('user', alice, `INSERT INTO posts (title) VALUES ('a-implicit') RETURNING user_id`);
    expect(own!.user_id).toBe(alice);
    // A service write keeps the value it sends.
    const [service] = await asRole('service', null, `INSERT INTO posts (user_id, title) VALUES ($1, 'b-by-service') RETURNING user_id`, [bob]);
    expect(service!.user_id).toBe(bob);
  });

  it('a user can neither change nor delete another user\'s rows, nor hand a row away', async () => {
    const updated = await asRole('user', alice, `UPDATE posts SET title = 'hacked' WHERE title = 'b-private' RETURNING id`);
    expect(updated).toEqual([]);
    const deleted = await asRole('user', alice, `DELETE FROM posts WHERE title = 'b-public' RETURNING id`);
    expect(deleted).toEqual([]);
    await expect(asRole('user', alice, `UPDATE posts SET user_id = $1 WHERE title = 'a-private'`, [bob])).rejects.toMatchObject({ code: '42501' });
    expect(await titles('posts', 'service')).toContain('b-private');
  });

  it('is idempotent: the same call again succeeds and leaves one copy of each policy', async () => {
    const again = await api(`/v1/${appId}/rls`, { body: { table_name: 'posts', user_column: 'user_id', public_read_column: 'published' } });
    expect(again.status).toBe(200);
    expect(await policiesOf('posts')).toEqual(['posts_public_read_anon', 'posts_public_read_user', 'posts_service_bypass', 'posts_user_isolation']);
    expect(await titles('posts', 'anon')).toEqual(['a-public', 'b-public']);
  });

  it('lists the policies in pg_policies shape and the tables with RLS on', async () => {
    const list = await api(`/v1/${appId}/rls`);
    expect(list.status).toBe(200);
    const isolation = list.body.policies.find((p: { policyname: string }) => p.policyname === 'posts_user_isolation');
    expect(isolation).toMatchObject({ schemaname: 'public', tablename: 'posts', permissive: 'PERMISSIVE', roles: ['butterbase_user'], cmd: 'ALL' });
    expect(isolation.qual).toContain('current_user_id()');
    expect(isolation.with_check).toContain('current_user_id()');
    const bypass = list.body.policies.find((p: { policyname: string }) => p.policyname === 'posts_service_bypass');
    expect(bypass).toMatchObject({ roles: ['butterbase_service'], cmd: 'ALL', qual: 'true', with_check: 'true' });
    const anonRead = list.body.policies.find((p: { policyname: string }) => p.policyname === 'posts_public_read_anon');
    expect(anonRead).toMatchObject({ roles: ['butterbase_anon'], cmd: 'SELECT', with_check: null });
    expect(list.body.tables_with_rls).toContain('posts');
  });

  it('made private again (no public_read_column), published rows stop being public; restoring it brings them back', async () => {
    const priv = await api(`/v1/${appId}/rls`, { body: { table_name: 'posts', user_column: 'user_id' } });
    expect(priv.status).toBe(200);
    expect(priv.body.public_read_policies).toBeUndefined();
    expect(await policiesOf('posts')).toEqual(['posts_service_bypass', 'posts_user_isolation']);
    expect(await titles('posts', 'anon')).toEqual([]);
    const restored = await api(`/v1/${appId}/rls`, { body: { table_name: 'posts', user_column: 'user_id', public_read_column: 'published' } });
    expect(restored.status).toBe(200);
    expect(await titles('posts', 'anon')).toEqual(['a-public', 'b-public']);
  });
});

describe('user isolation without public read (text user column)', () => {
  it('keeps each user to their own rows; anon sees nothing', async () => {
    const res = await api(`/v1/${appId}/rls`, { body: { table_name: 'notes' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ table: 'notes', user_column: 'user_id', policy_name: 'notes_user_isolation' });
    expect(res.body.public_read_policies).toBeUndefined();
    expect(await titles('notes', 'user', alice)).toEqual(['a-note']);
    expect(await titles('notes', 'user', bob)).toEqual(['b-note']);
    expect(await titles('notes', 'anon')).toEqual([]);
    expect(await titles('notes', 'service')).toEqual(['a-note', 'b-note']);
    const [row] = await asRole('user', bob, `INSERT INTO notes (user_id, title) VALUES ($1, 'b-2') RETURNING user_id`, [alice]);
    expect(row!.user_id).toBe(bob);
  });
});

describe('enable, policies, delete', () => {
  it('enable forces RLS with a service bypass: end users see nothing until a policy allows them', async () => {
    const res = await api(`/v1/${appId}/rls/enable`, { body: { table_name: 'articles' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, table: 'articles', service_bypass_policy: 'articles_service_bypass' });
    expect(await titles('articles', 'anon')).toEqual([]);
    expect(await titles('articles', 'user', alice)).toEqual([]);
    expect(await titles('articles', 'service')).toEqual(['draft-1', 'featured-1', 'live-1']);
    const [flags] = await owner(`SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = 'articles'`);
    expect(flags).toEqual({ relrowsecurity: true, relforcerowsecurity: true });
    expect((await api(`/v1/${appId}/rls/enable`, { body: { table_name: 'articles' } })).status).toBe(200);
    expect(await policiesOf('articles')).toEqual(['articles_service_bypass']);
  });

  it('creates a policy for one role', async () => {
    const res = await api(`/v1/${appId}/rls/policies`, {
      body: { table_name: 'articles', policy_name: 'articles_live', command: 'SELECT', role: 'anon', using_expression: "status = 'live'" },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, policy_name: 'articles_live', table: 'articles' });
    expect(await titles('articles', 'anon')).toEqual(['live-1']);
    expect(await titles('articles', 'user', alice)).toEqual([]);
  });

  it('warns about ignored expressions and replaces a policy created again', async () => {
    const res = await api(`/v1/${appId}/rls/policies`, {
      body: { table_name: 'articles', policy_name: 'articles_live', command: 'select', role: 'anon', using_expression: "status = 'live'", with_check_expression: 'true' },
    });
    expect(res.status).toBe(200);
    expect(res.body.warnings.join(' ')).toMatch(/with_check_expression is ignored/);
    expect(res.body.warnings.join(' ')).toMatch(/already existed/);
    expect(await policiesOf('articles')).toEqual(['articles_live', 'articles_service_bypass']);
  });

  it('updates a policy atomically, keeping what the request leaves out', async () => {
    const widened = await api(`/v1/${appId}/rls/policies/articles_live`, {
      method: 'PATCH', body: { table_name: 'articles', using_expression: "status IN ('live', 'featured')" },
    });
    expect(widened.status).toBe(200);
    expect(widened.body).toMatchObject({ success: true, policy_name: 'articles_live', table: 'articles' });
    expect(await titles('articles', 'anon')).toEqual(['featured-1', 'live-1']);
    expect(await titles('articles', 'user', alice)).toEqual([]);

    const moved = await api(`/v1/${appId}/rls/policies/articles_live`, { method: 'PATCH', body: { table_name: 'articles', role: 'user' } });
    expect(moved.status).toBe(200);
    expect(await titles('articles', 'anon')).toEqual([]);
    expect(await titles('articles', 'user', alice)).toEqual(['featured-1', 'live-1']);

    const restricted = await api(`/v1/${appId}/rls/policies`, {
      body: { table_name: 'articles', policy_name: 'articles_not_featured', command: 'SELECT', role: 'user', restrictive: true, using_expression: "status <> 'featured'" },
    });
    expect(restricted.status).toBe(200);
    expect(await titles('articles', 'user', alice)).toEqual(['live-1']);

    const broken = await api(`/v1/${appId}/rls/policies/articles_live`, { method: 'PATCH', body: { table_name: 'articles', using_expression: 'nope = 1' } });
    expect(broken.status).toBe(400);
    expect(broken.body.error.code).toBe('RLS_INVALID_EXPRESSION');
    expect(await titles('articles', 'user', alice)).toEqual(['live-1']);
  });

  it('changing a policy\'s command keeps the expressions that still apply', async () => {
    const created = await api(`/v1/${appId}/rls/policies`, {
      body: { table_name: 'articles', policy_name: 'articles_tmp', role: 'anon', using_expression: "status = 'draft'", with_check_expression: "status = 'draft'" },
    });
    expect(created.status).toBe(200);
    const narrowed = await api(`/v1/${appId}/rls/policies/articles_tmp`, { method: 'PATCH', body: { table_name: 'articles', command: 'SELECT' } });
    expect(narrowed.status).toBe(200);
    expect(narrowed.body.warnings).toBeUndefined();
    const listed = (await api(`/v1/${appId}/rls`)).body.policies.find((p: { policyname: string }) => p.policyname === 'articles_tmp');
    expect(listed).toMatchObject({ cmd: 'SELECT', roles: ['butterbase_anon'], with_check: null });
    expect(listed.qual).toContain('draft');
    expect(await titles('articles', 'anon')).toEqual(['draft-1']);
    expect((await api(`/v1/${appId}/rls/articles/articles_tmp`, { method: 'DELETE' })).status).toBe(200);
    expect(await titles('articles', 'anon')).toEqual([]);
  });

  it('deletes one policy and keeps RLS on; deleting it again is 404', async () => {
    const res = await api(`/v1/${appId}/rls/articles/articles_not_featured`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, table: 'articles', policy_name: 'articles_not_featured' });
    expect(await policiesOf('articles')).toEqual(['articles_live', 'articles_service_bypass']);
    expect((await api(`/v1/${appId}/rls`)).body.tables_with_rls).toContain('articles');
    const again = await api(`/v1/${appId}/rls/articles/articles_not_featured`, { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('RESOURCE_NOT_FOUND');
  });

  it('a policy created with user_column installs the auto-populate trigger', async () => {
    const res = await api(`/v1/${appId}/rls/policies`, {
      body: { table_name: 'articles', policy_name: 'articles_own_insert', command: 'INSERT', role: 'user', with_check_expression: 'owner = current_user_id()::uuid', user_column: 'owner' },
    });
    expect(res.status).toBe(200);
    const [row] = await asRole('user', bob, `INSERT INTO articles (owner, title, status) VALUES ($1, 'by-bob', 'live') RETURNING owner`, [alice]);
    expect(row!.owner).toBe(bob);
  });

  it('delete all removes every policy and the trigger, and turns RLS off; again is a no-op', async () => {
    const res = await api(`/v1/${appId}/rls/articles`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, table: 'articles' });
    expect(res.body.policies_removed.sort()).toEqual(['articles_live', 'articles_own_insert', 'articles_service_bypass']);
    expect(await policiesOf('articles')).toEqual([]);
    expect((await api(`/v1/${appId}/rls`)).body.tables_with_rls).not.toContain('articles');
    expect(await titles('articles', 'anon')).toEqual(['by-bob', 'draft-1', 'featured-1', 'live-1']);
    const [row] = await asRole('user', bob, `INSERT INTO articles (owner, title) VALUES ($1, 'kept-owner') RETURNING owner`, [alice]);
    expect(row!.owner).toBe(alice);
    const again = await api(`/v1/${appId}/rls/articles`, { method: 'DELETE' });
    expect(again.status).toBe(200);
    expect(again.body.policies_removed).toEqual([]);
  });

  it('a policy on a table without RLS comes with a warning', async () => {
    const res = await api(`/v1/${appId}/rls/policies`, {
      body: { table_name: 'articles', policy_name: 'articles_any', using_expression: 'true' },
    });
    expect(res.status).toBe(200);
    expect(res.body.warnings.join(' ')).toMatch(/not enabled/);
    await api(`/v1/${appId}/rls/articles`, { method: 'DELETE' });
  });
});

describe('infinite recursion is caught at create time', () => {
  it('refuses a policy that closes a cycle between two tables, and changes nothing', async () => {
    for (const table of ['groups', 'memberships']) {
      expect((await api(`/v1/${appId}/rls/enable`, { body: { table_name: table } })).status).toBe(200);
    }
    const first = await api(`/v1/${appId}/rls/policies`, {
      body: { table_name: 'memberships', policy_name: 'memberships_in_visible_groups', using_expression: 'group_id IN (SELECT id FROM groups)' },
    });
    expect(first.status).toBe(200);
    const closing = await api(`/v1/${appId}/rls/policies`, {
      body: { table_name: 'groups', policy_name: 'groups_of_members', using_expression: 'id IN (SELECT group_id FROM memberships)' },
    });
    expect(closing.status).toBe(400);
    expect(closing.body.error.code).toBe('RLS_INVALID_EXPRESSION');
    expect(closing.body.error.message).toMatch(/recurse/);
    expect(closing.body.error.remediation).toMatch(/cycle/);
    expect(closing.body.error.details).toMatchObject({ pg_code: '42P17' });
    expect(await policiesOf('groups')).toEqual(['groups_service_bypass']);
    // The tables still answer queries as end users.
    expect(await titles('groups', 'user', alice)).toEqual([]);
    expect(await titles('memberships', 'user', alice)).toEqual([]);
  });

  it('refuses a policy that reads its own table', async () => {
    const res = await api(`/v1/${appId}/rls/policies`, {
      body: { table_name: 'groups', policy_name: 'groups_self', using_expression: 'EXISTS (SELECT 1 FROM groups g WHERE g.id = groups.id)' },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('RLS_INVALID_EXPRESSION');
    expect(await policiesOf('groups')).toEqual(['groups_service_bypass']);
  });
});

describe('POST /secure', () => {
  it('sets access mode to authenticated and isolates each table; one table failing does not undo the others', async () => {
    const res = await api(`/v1/${appId}/secure`, {
      body: {
        tables: [
          { table_name: 'todos', user_column: 'user_id' },
          { table_name: 'missing_table', user_column: 'user_id' },
          { table_name: 'articles', user_column: 'id' },
        ],
      },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ app_id: appId, access_mode: 'authenticated', tables_secured: [{ table: 'todos', policy: 'todos_user_isolation' }] });
    expect(res.body.table_errors).toEqual([
      { table: 'missing_table', error: expect.any(String), code: 'VALIDATION_TABLE_NOT_FOUND' },
      { table: 'articles', error: expect.stringMatching(/uuid or text/), code: 'VALIDATION_INVALID_TYPE' },
    ]);
    expect(res.body.message).toEqual(expect.any(String));
    expect((await api(`/v1/${appId}/config`)).body.access_mode).toBe('authenticated');
    expect(await policiesOf('todos')).toEqual(['todos_service_bypass', 'todos_user_isolation']);
    expect(await policiesOf('articles')).toEqual([]);
    await owner(`INSERT INTO todos (user_id, title) VALUES ($1, 'a-todo'), ($2, 'b-todo')`, [alice, bob]);
    expect(await titles('todos', 'user', bob)).toEqual(['b-todo']);
  });

  it('works without tables (access mode only)', async () => {
    const res = await api(`/v1/${appId}/secure`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ access_mode: 'authenticated', tables_secured: [] });
    expect(res.body.table_errors).toBeUndefined();
  });
});

describe('errors', () => {
  const cases: { name: string; method?: string; path: string; body?: unknown; status: number; code: string }[] = [
    // Names
    { name: 'reserved table', path: 'rls/enable', body: { table_name: '_internal' }, status: 400, code: 'VALIDATION_RESERVED_TABLE' },
    { name: 'unknown table', path: 'rls/enable', body: { table_name: 'nope' }, status: 404, code: 'VALIDATION_TABLE_NOT_FOUND' },
    { name: 'table name injection', path: 'rls/enable', body: { table_name: 'posts"; DROP TABLE posts; --' }, status: 400, code: 'VALIDATION_INVALID_NAME' },
    { name: 'upper-case table', path: 'rls', body: { table_name: 'Posts' }, status: 400, code: 'VALIDATION_INVALID_NAME' },
    { name: 'policy name injection', path: 'rls/policies', body: { table_name: 'posts', policy_name: 'p" ON posts USING (true); --', using_expression: 'true' }, status: 400, code: 'VALIDATION_INVALID_NAME' },
    { name: 'column name injection', path: 'rls', body: { table_name: 'posts', user_column: 'user_id" = user_id OR "x' }, status: 400, code: 'VALIDATION_INVALID_NAME' },
    { name: 'table name too long for derived names', path: 'rls', body: { table_name: 'x'.repeat(50) }, status: 400, code: 'VALIDATION_INVALID_NAME' },
    { name: 'delete: table injection in path', method: 'DELETE', path: `rls/${encodeURIComponent('posts"; drop table posts; --')}`, status: 400, code: 'VALIDATION_INVALID_NAME' },
    { name: 'delete: policy name with a dash', method: 'DELETE', path: 'rls/posts/bad-name', status: 400, code: 'VALIDATION_INVALID_NAME' },
    { name: 'delete: reserved table', method: 'DELETE', path: 'rls/_internal', status: 400, code: 'VALIDATION_RESERVED_TABLE' },
    { name: 'delete: unknown table', method: 'DELETE', path: 'rls/nope/some_policy', status: 404, code: 'VALIDATION_TABLE_NOT_FOUND' },
    { name: 'delete: unknown policy', method: 'DELETE', path: 'rls/posts/nope', status: 404, code: 'RESOURCE_NOT_FOUND' },
    { name: 'update: unknown policy', method: 'PATCH', path: 'rls/policies/nope', body: { table_name: 'posts', using_expression: 'true' }, status: 404, code: 'RESOURCE_NOT_FOUND' },
    // Bodies
    { name: 'missing table_name', path: 'rls/enable', body: {}, status: 400, code: 'VALIDATION_MISSING_FIELD' },
    { name: 'unknown field', path: 'rls/enable', body: { table_name: 'posts', force: false }, status: 400, code: 'VALIDATION_INVALID_SCHEMA' },
    { name: 'unknown command', path: 'rls/policies', body: { table_name: 'posts', policy_name: 'p', command: 'TRUNCATE', using_expression: 'true' }, status: 400, code: 'VALIDATION_INVALID_SCHEMA' },
    { name: 'unknown role', path: 'rls/policies', body: { table_name: 'posts', policy_name: 'p', role: 'service', using_expression: 'true' }, status: 400, code: 'VALIDATION_INVALID_SCHEMA' },
    { name: 'SELECT without using_expression', path: 'rls/policies', body: { table_name: 'posts', policy_name: 'p', command: 'SELECT', with_check_expression: 'true' }, status: 400, code: 'VALIDATION_MISSING_FIELD' },
    { name: 'INSERT without with_check_expression', path: 'rls/policies', body: { table_name: 'posts', policy_name: 'p', command: 'INSERT', using_expression: 'true' }, status: 400, code: 'VALIDATION_MISSING_FIELD' },
    // Columns
    { name: 'unknown user column', path: 'rls', body: { table_name: 'posts', user_column: 'author_id' }, status: 400, code: 'VALIDATION_COLUMN_NOT_FOUND' },
    { name: 'user column of the wrong type', path: 'rls', body: { table_name: 'posts', user_column: 'views' }, status: 400, code: 'VALIDATION_INVALID_TYPE' },
    { name: 'public read column not boolean', path: 'rls', body: { table_name: 'posts', user_column: 'user_id', public_read_column: 'title' }, status: 400, code: 'VALIDATION_INVALID_TYPE' },
    { name: 'unknown public read column', path: 'rls', body: { table_name: 'posts', user_column: 'user_id', public_read_column: 'is_public' }, status: 400, code: 'VALIDATION_COLUMN_NOT_FOUND' },
    { name: 'create_policy user column of the wrong type', path: 'rls/policies', body: { table_name: 'posts', policy_name: 'p', using_expression: 'true', user_column: 'views' }, status: 400, code: 'VALIDATION_INVALID_TYPE' },
    // Expressions
    { name: 'statements after a semicolon', path: 'rls/policies', body: { table_name: 'posts', policy_name: 'p', using_expression: 'true; drop table posts' }, status: 400, code: 'RLS_UNSAFE_EXPRESSION' },
    { name: 'pg_sleep', path: 'rls/policies', body: { table_name: 'posts', policy_name: 'p', using_expression: 'pg_sleep(1) is not null' }, status: 400, code: 'RLS_UNSAFE_EXPRESSION' },
    { name: 'set_config', path: 'rls/policies', body: { table_name: 'posts', policy_name: 'p', using_expression: "set_config('app.role', 'service', true) = 'service'" }, status: 400, code: 'RLS_UNSAFE_EXPRESSION' },
    { name: 'a comment', path: 'rls/policies', body: { table_name: 'posts', policy_name: 'p', using_expression: 'true -- trailing' }, status: 400, code: 'RLS_UNSAFE_EXPRESSION' },
    { name: 'a block comment in with_check', path: 'rls/policies', body: { table_name: 'posts', policy_name: 'p', with_check_expression: 'true /* x */' }, status: 400, code: 'RLS_UNSAFE_EXPRESSION' },
    { name: 'escaping the parentheses', path: 'rls/policies', body: { table_name: 'posts', policy_name: 'p', command: 'SELECT', using_expression: 'false) WITH CHECK (true' }, status: 400, code: 'RLS_UNSAFE_EXPRESSION' },
    { name: 'dollar quoting', path: 'rls/policies', body: { table_name: 'posts', policy_name: 'p', using_expression: '$$x$$ = title' }, status: 400, code: 'RLS_UNSAFE_EXPRESSION' },
    { name: 'uuid = text', path: 'rls/policies', body: { table_name: 'posts', policy_name: 'p', using_expression: 'user_id = current_user_id()' }, status: 400, code: 'RLS_TYPE_MISMATCH' },
    { name: 'not a boolean', path: 'rls/policies', body: { table_name: 'posts', policy_name: 'p', using_expression: 'views + 1' }, status: 400, code: 'RLS_TYPE_MISMATCH' },
    { name: 'unknown column', path: 'rls/policies', body: { table_name: 'posts', policy_name: 'p', using_expression: 'author_id = current_user_id()::uuid' }, status: 400, code: 'RLS_INVALID_EXPRESSION' },
    { name: 'syntax error', path: 'rls/policies', body: { table_name: 'posts', policy_name: 'p', using_expression: 'user_id = = 1' }, status: 400, code: 'RLS_INVALID_EXPRESSION' },
    { name: 'unknown table in a subquery', path: 'rls/policies', body: { table_name: 'posts', policy_name: 'p', using_expression: 'EXISTS (SELECT 1 FROM nowhere)' }, status: 400, code: 'RLS_INVALID_EXPRESSION' },
    { name: 'a table end users may not read', path: 'rls/policies', body: { table_name: 'posts', policy_name: 'p', using_expression: 'EXISTS (SELECT 1 FROM butterbase.schema_migrations)' }, status: 400, code: 'RLS_INVALID_EXPRESSION' },
    { name: 'update: unsafe expression', method: 'PATCH', path: 'rls/policies/posts_user_isolation', body: { table_name: 'posts', using_expression: 'true; select 1' }, status: 400, code: 'RLS_UNSAFE_EXPRESSION' },
    { name: 'update: type mismatch', method: 'PATCH', path: 'rls/policies/posts_user_isolation', body: { table_name: 'posts', using_expression: 'user_id = current_user_id()' }, status: 400, code: 'RLS_TYPE_MISMATCH' },
  ];

  for (const c of cases) {
    it(`${c.name} → ${c.status} ${c.code}`, async () => {
      const res = await api(`/v1/${appId}/${c.path}`, { method: c.method ?? 'POST', body: c.body });
      expect(res.status, res.text).toBe(c.status);
      expect(res.body.error.code).toBe(c.code);
      expect(res.body.error.remediation).toEqual(expect.any(String));
      expect(res.text).not.toMatch(/at .*\.ts:\d+/);
    });
  }

  it('says which column is unknown and how to cast for a type mismatch', async () => {
    const unknown = await api(`/v1/${appId}/rls/policies`, { body: { table_name: 'posts', policy_name: 'p', using_expression: 'author_id = current_user_id()::uuid' } });
    expect(unknown.body.error.message).toMatch(/author_id/);
    expect(unknown.body.error.details).toMatchObject({ field: 'using_expression', pg_code: '42703' });
    const mismatch = await api(`/v1/${appId}/rls/policies`, { body: { table_name: 'posts', policy_name: 'p', with_check_expression: 'user_id = current_user_id()' } });
    expect(mismatch.body.error.message).toMatch(/uuid = text/);
    expect(mismatch.body.error.details).toMatchObject({ field: 'with_check_expression' });
    expect(mismatch.body.error.remediation).toMatch(/current_user_id\(\)::uuid/);
    const unsafe = await api(`/v1/${appId}/rls/policies`, { body: { table_name: 'posts', policy_name: 'p', using_expression: 'pg_sleep(1) is not null' } });
    expect(unsafe.body.error.details).toMatchObject({ field: 'using_expression', reason: 'function', token: 'pg_sleep' });
  });

  it('failed requests changed nothing: the tables and their policies are as before', async () => {
    expect(await policiesOf('posts')).toEqual(['posts_public_read_anon', 'posts_public_read_user', 'posts_service_bypass', 'posts_user_isolation']);
    const [count] = await owner(`SELECT count(*)::int AS n FROM pg_class WHERE relname = 'posts'`);
    expect(count!.n).toBe(1);
    expect(await titles('posts', 'anon')).toEqual(['a-public', 'b-public']);
  });

  it('needs a service key of the app owner', async () => {
    const anonymous = await api(`/v1/${appId}/rls`, { token: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.code).toBe('AUTH_REQUIRED');
    const other = await createOtherAccount('rls-intruder');
    for (const [method, path, body] of [['GET', 'rls', undefined], ['POST', 'rls/enable', { table_name: 'posts' }], ['DELETE', 'rls/posts', undefined], ['POST', 'secure', {}]] as const) {
      const res = await api(`/v1/${appId}/${path}`, { method, body, token: other.key });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.error.code).toBe('APP_NOT_FOUND');
    }
    expect(await policiesOf('posts')).toHaveLength(4);
  });

  it('answers 503 APP_NOT_READY while the app database is not ready, before changing anything', async () => {
    expect((await api(`/v1/${appId}/config/access-mode`, { method: 'PATCH', body: { access_mode: 'public' } })).status).toBe(200);
    // Test setup only: a failed provisioning is otherwise hard to produce on purpose.
    await controlDb().query(`UPDATE apps SET provisioning_status = 'failed' WHERE id = $1`, [appId]);
    try {
      const calls: [string, string, unknown?][] = [
        ['GET', 'rls'],
        ['POST', 'rls/enable', { table_name: 'todos' }],
        ['POST', 'rls/policies', { table_name: 'todos', policy_name: 'p', using_expression: 'true' }],
        ['PATCH', 'rls/policies/todos_user_isolation', { table_name: 'todos', role: 'anon' }],
        ['POST', 'rls', { table_name: 'todos' }],
        ['DELETE', 'rls/todos/todos_user_isolation'],
        ['DELETE', 'rls/todos'],
        ['POST', 'secure', { tables: [{ table_name: 'todos' }] }],
      ];
      for (const [method, path, body] of calls) {
        const res = await api(`/v1/${appId}/${path}`, { method, body });
        expect(res.status, `${method} ${path}`).toBe(503);
        expect(res.body.error.code, `${method} ${path}`).toBe('APP_NOT_READY');
      }
    } finally {
      await controlDb().query(`UPDATE apps SET provisioning_status = 'ready' WHERE id = $1`, [appId]);
    }
    expect((await api(`/v1/${appId}/config`)).body.access_mode).toBe('public');
    expect(await policiesOf('todos')).toEqual(['todos_service_bypass', 'todos_user_isolation']);
  });

  it('audits changes, including refused ones', async () => {
    let logs;
    for (let i = 0; i < 20; i++) {
      logs = await api(`/v1/${appId}/audit-logs?event_type=rls.policy_created&limit=500`);
      if (logs.body.total >= 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const entries = logs!.body.logs as { success: boolean; event_data: Record<string, unknown>; resource_type: string }[];
    expect(entries.some((e) => e.success && e.resource_type === 'rls_policy')).toBe(true);
    expect(entries.some((e) => !e.success && e.event_data.error_code === 'RLS_UNSAFE_EXPRESSION')).toBe(true);
  });
});
