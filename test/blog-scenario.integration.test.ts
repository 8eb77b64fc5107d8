/**
 * The data plane as a user would meet it, end to end through the router (issue 3 "Done when"):
 * a blog schema applied declaratively, user isolation with public reads, two end users who sign up
 * offline with codes from the dev outbox, and every role's view of the same table.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { api, createReadyApp } from './helpers/api.ts';

const blog = {
  tables: {
    posts: {
      columns: {
        id: { type: 'uuid', primaryKey: true, default: 'gen_random_uuid()' },
        user_id: { type: 'uuid' },
        title: { type: 'text', nullable: false },
        body: { type: 'text' },
        published: { type: 'boolean', nullable: false, default: 'false' },
        created_at: { type: 'timestamptz', default: 'now()' },
      },
      indexes: { posts_user_created_idx: { columns: ['user_id', 'created_at'] } },
    },
    comments: {
      columns: {
        id: { type: 'uuid', primaryKey: true, default: 'gen_random_uuid()' },
        post_id: { type: 'uuid', nullable: false, references: { table: 'posts', column: 'id', onDelete: 'CASCADE' } },
        body: { type: 'text', nullable: false },
      },
      indexes: { comments_post_idx: { columns: ['post_id'] } },
    },
  },
};

const password = 'Str0ng!pass';
let appId: string;
const users: Record<'alice' | 'bob', { email: string; id: string; access: string; refresh: string }> = {} as never;

async function latestCode(email: string): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const outbox = await api(`/v1/${appId}/auth/dev/outbox?email=${encodeURIComponent(email)}`);
    const message = outbox.body.messages?.find((m: { purpose: string }) => m.purpose === 'verify_email');
    if (message) return message.code;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no verification mail for ${email}`);
}

const titles = (rows: { title: string }[]) => rows.map((r) => r.title).sort();

beforeAll(async () => {
  ({ appId } = await createReadyApp('blog'));
});

describe('a blog, end to end', () => {
  it('previews the schema, applies it, and a second apply is a no-op', async () => {
    const dry = await api(`/v1/${appId}/schema/apply`, { body: { schema: blog, dry_run: true } });
    expect(dry.status).toBe(200);
    expect(dry.body.dry_run).toBe(true);
    expect(dry.body.statements.map((s: { sql: string }) => s.sql).join('\n')).toMatch(/ON DELETE CASCADE/);
    expect((await api(`/v1/${appId}/schema`)).body.schema.tables).toEqual({});

    const applied = await api(`/v1/${appId}/schema/apply`, { body: { schema: blog, name: 'blog' } });
    expect(applied.status).toBe(200);
    expect(applied.body.applied).toBe(dry.body.applied);
    expect(applied.body.migration_id).toEqual(expect.any(String));

    const again = await api(`/v1/${appId}/schema/apply`, { body: { schema: blog, name: 'blog' } });
    expect(again.body).toMatchObject({ applied: 0, statements: [], message: 'Schema is up to date' });
    expect((await api(`/v1/${appId}/migrations`)).body.migrations).toHaveLength(1);
  });

  it('refuses a destructive change and changes nothing', async () => {
    const before = await api(`/v1/${appId}/schema`);
    const retype = structuredClone(blog) as any;
    retype.tables.posts.columns.title.type = 'integer';
    const refused = await api(`/v1/${appId}/schema/apply`, { body: { schema: retype } });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('SCHEMA_DESTRUCTIVE_CHANGE');
    expect(refused.body.error.remediation).toEqual(expect.any(String));
    expect((await api(`/v1/${appId}/schema`)).body).toEqual(before.body);
    expect((await api(`/v1/${appId}/migrations`)).body.migrations).toHaveLength(1);
  });

  it('isolates posts per user with public reads of published ones', async () => {
    const res = await api(`/v1/${appId}/rls`, { body: { table_name: 'posts', user_column: 'user_id', public_read_column: 'published' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, policy_name: 'posts_user_isolation' });
  });

  it('two users sign up, verify with the code from the dev outbox, and log in', async () => {
    for (const name of ['alice', 'bob'] as const) {
      const email = `${name}@example.com`;
      const signup = await api(`/auth/${appId}/signup`, { token: null, body: { email, password, display_name: name } });
      expect(signup.status).toBe(201);
      expect(signup.body.user).toMatchObject({ email, email_verified: false });
      const verified = await api(`/auth/${appId}/verify-email`, { token: null, body: { email, code: await latestCode(email) } });
      expect(verified.status).toBe(200);
      const login = await api(`/auth/${appId}/login`, { token: null, body: { email, password } });
      expect(login.status).toBe(200);
      expect(login.body.user).toMatchObject({ email, email_verified: true });
      users[name] = { email, id: login.body.user.id, access: login.body.access_token, refresh: login.body.refresh_token };
    }
  });

  it('each user inserts posts; the owner column is filled from the token, whatever the body says', async () => {
    for (const name of ['alice', 'bob'] as const) {
      const rows = [
        { title: `${name} public`, published: true },
        { title: `${name} draft`, published: false, user_id: users[name === 'alice' ? 'bob' : 'alice'].id },
      ];
      const inserted = await api(`/v1/${appId}/posts`, { token: users[name].access, body: rows });
      expect(inserted.status).toBe(201);
      expect(inserted.body.map((r: { user_id: string }) => r.user_id)).toEqual([users[name].id, users[name].id]);
    }
  });

  it('each sees their own posts plus published ones; anonymous sees published; the service key sees all', async () => {
    const alice = await api(`/v1/${appId}/posts`, { token: users.alice.access });
    expect(titles(alice.body)).toEqual(['alice draft', 'alice public', 'bob public']);
    const bob = await api(`/v1/${appId}/posts`, { token: users.bob.access });
    expect(titles(bob.body)).toEqual(['alice public', 'bob draft', 'bob public']);
    const anon = await api(`/v1/${appId}/posts`, { token: null });
    expect(titles(anon.body)).toEqual(['alice public', 'bob public']);
    const service = await api(`/v1/${appId}/posts`);
    expect(titles(service.body)).toEqual(['alice draft', 'alice public', 'bob draft', 'bob public']);
  });

  it("a user can neither read nor change another user's draft", async () => {
    const draft = (await api(`/v1/${appId}/posts?title=eq.bob%20draft`)).body[0];
    expect((await api(`/v1/${appId}/posts/${draft.id}`, { token: users.alice.access })).status).toBe(404);
    const patched = await api(`/v1/${appId}/posts/${draft.id}`, { method: 'PATCH', token: users.alice.access, body: { title: 'hacked' } });
    expect(patched.status).toBe(404);
    expect((await api(`/v1/${appId}/posts/${draft.id}`)).body.title).toBe('bob draft');
  });

  it('role simulation headers reproduce each view for the service key', async () => {
    const asUser = (id: string) => ({ 'x-butterbase-as-role': 'user', 'x-butterbase-as-user': id });
    expect(titles((await api(`/v1/${appId}/posts`, { headers: asUser(users.alice.id) })).body)).toEqual(['alice draft', 'alice public', 'bob public']);
    expect(titles((await api(`/v1/${appId}/posts`, { headers: asUser(users.bob.id) })).body)).toEqual(['alice public', 'bob draft', 'bob public']);
    expect(titles((await api(`/v1/${appId}/posts`, { headers: { 'x-butterbase-as-role': 'anon' } })).body)).toEqual(['alice public', 'bob public']);
    const forbidden = await api(`/v1/${appId}/posts`, { token: users.alice.access, headers: { 'x-butterbase-as-role': 'anon' } });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe('AUTH_IMPERSONATION_FORBIDDEN');
  });

  it('comments cascade when their post is deleted by its owner', async () => {
    const post = (await api(`/v1/${appId}/posts?title=eq.alice%20public`, { token: users.alice.access })).body[0];
    const comment = await api(`/v1/${appId}/comments`, { token: users.bob.access, body: { post_id: post.id, body: 'nice' } });
    expect(comment.status).toBe(201);
    expect((await api(`/v1/${appId}/posts/${post.id}`, { method: 'DELETE', token: users.alice.access })).status).toBe(200);
    expect((await api(`/v1/${appId}/comments?post_id=eq.${post.id}`)).body).toEqual([]);
  });

  it('refresh rotates the token; replaying the old one is refused and kills the whole family', async () => {
    const first = await api(`/auth/${appId}/refresh`, { token: null, body: { refresh_token: users.alice.refresh } });
    expect(first.status).toBe(200);
    expect(first.body.refresh_token).not.toBe(users.alice.refresh);
    expect(first.body.user).toMatchObject({ id: users.alice.id, email: users.alice.email });
    const replay = await api(`/auth/${appId}/refresh`, { token: null, body: { refresh_token: users.alice.refresh } });
    expect(replay.status).toBe(401);
    const descendant = await api(`/auth/${appId}/refresh`, { token: null, body: { refresh_token: first.body.refresh_token } });
    expect(descendant.status).toBe(401);
    // Access tokens already issued stay valid until they expire.
    expect((await api(`/auth/${appId}/me`, { token: first.body.access_token })).status).toBe(200);
  });
});
