/**
 * The schema DSL over real HTTP (API.md §3): GET /v1/{app}/schema, POST /v1/{app}/schema/apply (dry run,
 * apply, no-op, destructive refusals, drops, Postgres failures, bad input) and GET /v1/{app}/migrations,
 * against the real platform and app database.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { api, createReadyApp } from './helpers/api.ts';
import { appDb, controlDb, createOtherAccount } from './helpers/control-db.ts';

/** A blog: every kind of column the issue names, a cascading foreign key, and every kind of index. */
const blog = {
  tables: {
    posts: {
      columns: {
        id: { type: 'uuid', primaryKey: true, default: 'gen_random_uuid()' },
        title: { type: 'VARCHAR(200)', nullable: false },
        slug: { type: 'text', nullable: false, unique: true },
        status: { type: 'text', nullable: false, default: "'draft'" },
        price: { type: 'numeric(10,2)', default: '0' },
        views: { type: 'int', default: '0' },
        tags: { type: 'text[]', default: "'{}'" },
        embedding: { type: 'vector(3)' },
        published: { type: 'bool', default: 'false' },
        created_at: { type: 'TIMESTAMPTZ', default: 'now()' },
      },
      indexes: {
        idx_posts_title: { columns: ['title'], unique: true },
        idx_posts_status_created: { columns: ['status', 'created_at'], method: 'btree' },
        idx_posts_embedding: { columns: ['embedding'], method: 'hnsw', opclass: 'vector_cosine_ops' },
        idx_posts_tags: { columns: ['tags'], method: 'gin' },
      },
    },
    comments: {
      columns: {
        id: { type: 'bigserial', primary: true },
        post_id: { type: 'uuid', nullable: false, references: { table: 'posts', column: 'id', onDelete: 'CASCADE' } },
        author: { type: 'text', default: 'current_user_id()' },
        body: { type: 'text', nullable: false },
      },
      indexes: { idx_comments_post: { columns: ['post_id'] } },
    },
  },
};

/** What GET /schema must show for {@link blog}: canonical type names, defaults without Postgres's casts. */
const blogAsRead = {
  posts: {
    columns: {
      id: { type: 'uuid', nullable: false, primaryKey: true, default: 'gen_random_uuid()' },
      title: { type: 'varchar(200)', nullable: false },
      slug: { type: 'text', nullable: false, unique: true },
      status: { type: 'text', nullable: false, default: "'draft'" },
      price: { type: 'numeric(10,2)', nullable: true, default: '0' },
      views: { type: 'integer', nullable: true, default: '0' },
      tags: { type: 'text[]', nullable: true, default: "'{}'" },
      embedding: { type: 'vector(3)', nullable: true },
      published: { type: 'boolean', nullable: true, default: 'false' },
      created_at: { type: 'timestamptz', nullable: true, default: 'now()' },
    },
    indexes: {
      idx_posts_title: { columns: ['title'], unique: true, method: 'btree' },
      idx_posts_status_created: { columns: ['status', 'created_at'], unique: false, method: 'btree' },
      idx_posts_embedding: { columns: ['embedding'], unique: false, method: 'hnsw', opclass: 'vector_cosine_ops' },
      idx_posts_tags: { columns: ['tags'], unique: false, method: 'gin' },
    },
  },
  comments: {
    columns: {
      id: { type: 'bigserial', nullable: false, primaryKey: true },
      post_id: { type: 'uuid', nullable: false, references: { table: 'posts', column: 'id', onDelete: 'CASCADE' } },
      author: { type: 'text', nullable: true, default: 'current_user_id()' },
      body: { type: 'text', nullable: false },
    },
    indexes: { idx_comments_post: { columns: ['post_id'], unique: false, method: 'btree' } },
  },
};

const apply = (appId: string, body: unknown) => api(`/v1/${appId}/schema/apply`, { body });
const readSchema = async (appId: string) => (await api(`/v1/${appId}/schema`)).body;
const readMigrations = async (appId: string) => (await api(`/v1/${appId}/migrations`)).body.migrations as { id: string; description: string; applied_sql: string; applied_at: string }[];

describe('schema apply, read back and ledger', () => {
  let appId: string;
  beforeAll(async () => {
    ({ appId } = await createReadyApp('schema'));
  });

  it('a new app has an empty schema and no migrations', async () => {
    const schema = await api(`/v1/${appId}/schema`);
    expect(schema.status).toBe(200);
    expect(schema.body).toMatchObject({ app_id: appId, schema: { tables: {} }, _meta: { resource_info: { table_count: 0, tables: [] } } });
    expect(schema.body.api_base).toMatch(new RegExp(`/v1/${appId}$`));
    const migrations = await api(`/v1/${appId}/migrations`);
    expect(migrations.body).toEqual({ app_id: appId, migrations: [], template_migrations: [] });
  });

  let dryRunSql: string[] = [];
  it('a dry run returns the exact SQL and applies nothing', async () => {
    const res = await apply(appId, { schema: blog, dry_run: true });
    expect(res.status).toBe(200);
    expect(res.body.dry_run).toBe(true);
    expect(res.body.applied).toBe(res.body.statements.length);
    const sql = res.body.statements.map((s: { sql: string }) => s.sql).join('\n');
    expect(sql).toContain('CREATE TABLE "posts"');
    expect(sql).toContain('REFERENCES "posts" ("id") ON DELETE CASCADE');
    expect(sql).toContain('CREATE INDEX "idx_posts_embedding" ON "posts" USING hnsw ("embedding" "vector_cosine_ops")');
    for (const statement of res.body.statements) {
      expect(statement).toMatchObject({ sql: expect.any(String), description: expect.any(String), destructive: false });
    }
    dryRunSql = res.body.statements.map((s: { sql: string }) => s.sql);
    expect((await readSchema(appId)).schema.tables).toEqual({});
    expect(await readMigrations(appId)).toEqual([]);
  });

  let blogMigrationId: string;
  it('applies the blog in one migration; GET /schema returns it in the same DSL shape', async () => {
    const res = await apply(appId, { schema: blog, name: 'blog_v1' });
    expect(res.status).toBe(200);
    expect(res.body.migration_id).toMatch(/^[0-9a-f]{64}$/);
    expect(res.body.statements.map((s: { sql: string }) => s.sql)).toEqual(dryRunSql);
    expect(res.body.applied).toBe(dryRunSql.length);
    blogMigrationId = res.body.migration_id;

    const read = await readSchema(appId);
    expect(read.schema.tables).toEqual(blogAsRead);
    expect(read._meta.resource_info).toEqual({ table_count: 2, tables: ['comments', 'posts'] });

    const migrations = await readMigrations(appId);
    expect(migrations).toHaveLength(1);
    expect(migrations[0]).toMatchObject({ id: blogMigrationId, description: 'blog_v1' });
    expect(migrations[0]!.applied_sql).toContain('CREATE TABLE "comments"');
    expect(Date.parse(migrations[0]!.applied_at)).not.toBeNaN();
  });

  it('the tables behave as declared: defaults fill in, the foreign key cascades, the unique index holds', async () => {
    const db = appDb(appId);
    const [post] = await db.query(`INSERT INTO posts (title, slug) VALUES ('Hello', 'hello') RETURNING id, status, views, tags, published`);
    expect(post).toMatchObject({ status: 'draft', views: 0, tags: [], published: false });
    expect(post!.id).toMatch(/^[0-9a-f-]{36}$/);
    // The REST API serves a table as soon as the apply that created it returns.
    const viaRest = await api(`/v1/${appId}/posts?select=slug,status`);
    expect(viaRest.status).toBe(200);
    expect(viaRest.body).toEqual([{ slug: 'hello', status: 'draft' }]);
    await db.query(`INSERT INTO comments (post_id, body) VALUES ($1, 'first')`, [post!.id]);
    await expect(db.query(`INSERT INTO posts (title, slug) VALUES ('Hello', 'other')`)).rejects.toThrow(/duplicate key/);
    await db.query('DELETE FROM posts WHERE id = $1', [post!.id]);
    expect(await db.query('SELECT count(*)::int AS n FROM comments')).toEqual([{ n: 0 }]);
  });

  it('the same payload again is a no-op: "Schema is up to date" and no new ledger row', async () => {
    for (const payload of [{ schema: blog }, { schema: blog, dry_run: true }]) {
      const res = await apply(appId, payload);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ applied: 0, statements: [], message: 'Schema is up to date' });
    }
    expect((await readMigrations(appId)).map((m) => m.id)).toEqual([blogMigrationId]);
  });

  it('what GET /schema returns, applied back, is a no-op too', async () => {
    const read = await readSchema(appId);
    const res = await apply(appId, { schema: read.schema });
    expect(res.body).toMatchObject({ applied: 0, message: 'Schema is up to date' });
  });

  it('two identical applies at once create the table once and one ledger row', async () => {
    const payload = { schema: { tables: { tags: { columns: { id: { type: 'serial', primaryKey: true }, label: { type: 'text' } } } } } };
    const before = (await readMigrations(appId)).length;
    const results = await Promise.all([apply(appId, payload), apply(appId, payload)]);
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    expect(results.filter((r) => r.body.migration_id).length).toBe(1);
    expect(await readMigrations(appId)).toHaveLength(before + 1);
  });

  it('adds a column (existing rows get its default) and leaves unmentioned tables and columns alone', async () => {
    const db = appDb(appId);
    await db.query(`INSERT INTO posts (title, slug) VALUES ('Second', 'second')`);
    const res = await apply(appId, { schema: { tables: { posts: { columns: { summary: { type: 'text', nullable: false, default: "'none'" } } } } } });
    expect(res.status).toBe(200);
    expect(res.body.statements).toEqual([
      { sql: `ALTER TABLE "posts" ADD COLUMN "summary" text NOT NULL DEFAULT 'none'`, description: 'Add column posts.summary (text)', destructive: false },
    ]);
    expect(await db.query('SELECT summary FROM posts')).toEqual([{ summary: 'none' }]);
    const read = await readSchema(appId);
    expect(read.schema.tables.posts.columns.summary).toEqual({ type: 'text', nullable: false, default: "'none'" });
    expect(read.schema.tables.posts.columns.title).toEqual(blogAsRead.posts.columns.title);
    expect(read.schema.tables.comments).toEqual(blogAsRead.comments);
  });

  it('records applies (not dry runs) in the audit log with the statement descriptions', async () => {
    let logs: { event_type: string; resource_id: string; event_data: { statements: string[] } }[] = [];
    for (let i = 0; i < 20 && logs.length === 0; i++) {
      logs = (await api(`/v1/${appId}/audit-logs?event_type=schema.applied`)).body.logs.filter((l: { resource_id: string }) => l.resource_id === 'blog_v1');
      if (logs.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(logs).toHaveLength(1);
    expect(logs[0]!.event_data.statements).toContain('Create table comments (id, post_id, author, body)');
  });
});

describe('destructive and failing changes', () => {
  let appId: string;
  beforeAll(async () => {
    ({ appId } = await createReadyApp('schema-destroy'));
    const res = await apply(appId, { schema: blog });
    expect(res.status).toBe(200);
    await apply(appId, { schema: { tables: { posts: { columns: { summary: { type: 'text' } } } } } });
  });

  it('refuses a column type change with 409 SCHEMA_DESTRUCTIVE_CHANGE, even with _dropColumns, and changes nothing', async () => {
    const schemaBefore = await readSchema(appId);
    const ledgerBefore = await readMigrations(appId);
    const payloads = [
      { tables: { posts: { columns: { views: { type: 'text' } } } } },
      { tables: { posts: { columns: { title: { type: 'varchar(20)', nullable: false } } } } },
      { tables: { posts: { columns: { embedding: { type: 'vector(4)' }, extra: { type: 'text' } } } } },
      { tables: { posts: { columns: { tags: { type: 'text' } }, _dropColumns: ['summary'] } } },
    ];
    for (const schema of payloads) {
      for (const dryRun of [false, true]) {
        const res = await apply(appId, { schema, dry_run: dryRun });
        expect(res.status, JSON.stringify(schema)).toBe(409);
        expect(res.body.error.code).toBe('SCHEMA_DESTRUCTIVE_CHANGE');
        expect(res.body.error.details).toEqual([expect.stringMatching(/^Change type of posts\./)]);
      }
    }
    expect(await readSchema(appId)).toEqual(schemaBefore);
    expect(await readMigrations(appId)).toEqual(ledgerBefore);
  });

  it('drops a column only when named in _dropColumns; the dry run marks it destructive', async () => {
    const db = appDb(appId);
    const preview = await apply(appId, { schema: { tables: { posts: { columns: {}, _dropColumns: ['summary', 'never_existed'] } } }, dry_run: true });
    expect(preview.body.statements).toEqual([
      { sql: expect.stringContaining('row-level security policies'), description: 'Check that no row-level security policy depends on posts.summary', destructive: false },
      { sql: 'ALTER TABLE "posts" DROP COLUMN "summary" CASCADE', description: expect.stringContaining('Drop column posts.summary'), destructive: true },
    ]);
    expect((await db.query(`SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'posts' AND column_name = 'summary'`))[0]!.n).toBe(1);
    const res = await apply(appId, { schema: { tables: { posts: { columns: {}, _dropColumns: ['summary', 'never_existed'] } } } });
    expect(res.body.applied).toBe(2);
    expect((await readSchema(appId)).schema.tables.posts.columns.summary).toBeUndefined();
    const again = await apply(appId, { schema: { tables: { posts: { columns: {}, _dropColumns: ['summary'] } } } });
    expect(again.body.message).toBe('Schema is up to date');
  });

  it('drops tables named in top-level _drop and in the docs form "t": {"_drop": true}', async () => {
    await apply(appId, { schema: { tables: { old_a: { columns: { id: { type: 'int' } }, _seed: true }, old_b: { columns: { id: { type: 'int' } } } } } });
    expect((await readSchema(appId)).schema.tables.old_a).toEqual({ columns: { id: { type: 'integer', nullable: true } }, _seed: true });
    const res = await apply(appId, { schema: { tables: { old_b: { _drop: true } }, _drop: ['old_a', 'never_existed'] } });
    expect(res.status).toBe(200);
    expect(res.body.statements.filter((s: { destructive: boolean }) => s.destructive).map((s: { sql: string }) => s.sql)).toEqual([
      'DROP TABLE "old_a" CASCADE',
      'DROP TABLE "old_b" CASCADE',
    ]);
    const tables = Object.keys((await readSchema(appId)).schema.tables);
    expect(tables).not.toContain('old_a');
    expect(tables).not.toContain('old_b');
    expect(await appDb(appId).query('SELECT table_name FROM butterbase.seed_tables')).toEqual([]);
  });

  it('changes nullability, defaults, unique and foreign-key actions in place', async () => {
    const res = await apply(appId, {
      schema: {
        tables: {
          comments: {
            columns: {
              id: { type: 'bigserial', primaryKey: true },
              post_id: { type: 'uuid', nullable: false, references: 'posts.id' },
              author: { type: 'text', nullable: false, default: "'anonymous'" },
              body: { type: 'text', unique: true },
            },
          },
        },
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.statements.every((s: { destructive: boolean }) => !s.destructive)).toBe(true);
    const comments = (await readSchema(appId)).schema.tables.comments.columns;
    expect(comments.post_id).toEqual({ type: 'uuid', nullable: false, references: 'posts.id' });
    expect(comments.author).toEqual({ type: 'text', nullable: false, default: "'anonymous'" });
    expect(comments.body).toEqual({ type: 'text', nullable: true, unique: true });
  });

  it('a Postgres failure answers 400 SCHEMA_MIGRATION_FAILED with pg_code and applies none of the batch', async () => {
    const db = appDb(appId);
    await apply(appId, { schema: { tables: { tags: { columns: { id: { type: 'serial', primaryKey: true }, label: { type: 'text' } } } } } });
    await db.query(`INSERT INTO tags (label) VALUES (NULL)`);
    const ledgerBefore = await readMigrations(appId);
    const res = await apply(appId, {
      schema: { tables: { tags: { columns: { note: { type: 'text' }, label: { type: 'text', nullable: false } } }, fresh: { columns: { id: { type: 'int' } } } } },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('SCHEMA_MIGRATION_FAILED');
    expect(res.body.error.details).toMatchObject({ pg_code: '23502', severity: 'ERROR' });
    const tables = (await readSchema(appId)).schema.tables;
    expect(tables.fresh).toBeUndefined();
    expect(tables.tags.columns.note).toBeUndefined();
    expect(await readMigrations(appId)).toEqual(ledgerBefore);
  });
});

describe('schema input validation', () => {
  let appId: string;
  beforeAll(async () => {
    ({ appId } = await createReadyApp('schema-bad'));
    const res = await apply(appId, { schema: { tables: { posts: { columns: { id: { type: 'uuid', primaryKey: true }, title: { type: 'text' } } } } } });
    expect(res.status).toBe(200);
  });

  const table = (columns: unknown, extra: Record<string, unknown> = {}) => ({ tables: { notes: { columns, ...extra } } });
  const cases: { name: string; body: unknown; code: string; path: string }[] = [
    { name: 'no schema', body: {}, code: 'VALIDATION_MISSING_FIELD', path: 'schema' },
    { name: 'unknown body field', body: { schema: { tables: {} }, force: true }, code: 'VALIDATION_INVALID_SCHEMA', path: 'force' },
    { name: 'unknown column key', body: { schema: table({ a: { type: 'text', size: 3 } }) }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.notes.columns.a.size' },
    { name: 'missing type', body: { schema: table({ a: { nullable: true } }) }, code: 'VALIDATION_MISSING_FIELD', path: 'schema.tables.notes.columns.a.type' },
    { name: 'unknown type', body: { schema: table({ a: { type: 'money' } }) }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.notes.columns.a.type' },
    { name: 'type with SQL in it', body: { schema: table({ a: { type: 'text); DROP TABLE posts; --' } }) }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.notes.columns.a.type' },
    { name: 'varchar length 0', body: { schema: table({ a: { type: 'varchar(0)' } }) }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.notes.columns.a.type' },
    { name: 'nullable not boolean', body: { schema: table({ a: { type: 'text', nullable: 'no' } }) }, code: 'VALIDATION_INVALID_TYPE', path: 'schema.tables.notes.columns.a.nullable' },
    { name: 'table without columns', body: { schema: { tables: { notes: {} } } }, code: 'VALIDATION_MISSING_FIELD', path: 'schema.tables.notes.columns' },
    { name: 'reserved table', body: { schema: { tables: { _secrets: { columns: { a: { type: 'text' } } } } } }, code: 'VALIDATION_RESERVED_TABLE', path: 'schema.tables._secrets' },
    { name: 'reserved table in _drop', body: { schema: { tables: {}, _drop: ['_idempotency_keys'] } }, code: 'VALIDATION_RESERVED_TABLE', path: 'schema._drop[0]' },
    { name: 'uppercase table', body: { schema: { tables: { Notes: { columns: {} } } } }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.Notes' },
    { name: 'injection in table name', body: { schema: { tables: { 'posts"; DROP TABLE posts; --': { columns: {} } } } }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.posts"; DROP TABLE posts; --' },
    { name: 'injection in column name', body: { schema: table({ 'a" text); DROP TABLE posts; --': { type: 'text' } }) }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.notes.columns.a" text); DROP TABLE posts; --' },
    { name: 'system column name', body: { schema: table({ xmin: { type: 'text' } }) }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.notes.columns.xmin' },
    { name: 'injection in index name', body: { schema: table({ a: { type: 'text' } }, { indexes: { 'i; DROP TABLE posts': { columns: ['a'] } } }) }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.notes.indexes.i; DROP TABLE posts' },
    { name: 'injection in index column', body: { schema: table({ a: { type: 'text' } }, { indexes: { i: { columns: ['a); DROP TABLE posts; --'] } } }) }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.notes.indexes.i.columns[0]' },
    { name: 'injection in opclass', body: { schema: table({ a: { type: 'text' } }, { indexes: { i: { columns: ['a'], opclass: 'text_ops); DROP TABLE posts; --' } } }) }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.notes.indexes.i.opclass' },
    { name: 'unknown index method', body: { schema: table({ a: { type: 'text' } }, { indexes: { i: { columns: ['a'], method: 'brin' } } }) }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.notes.indexes.i.method' },
    { name: 'index key "type" (not "method")', body: { schema: table({ a: { type: 'text' } }, { indexes: { i: { columns: ['a'], type: 'btree' } } }) }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.notes.indexes.i.type' },
    { name: 'injection in short reference', body: { schema: table({ a: { type: 'uuid', references: 'posts.id); DROP TABLE posts; --' } }) }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.notes.columns.a.references' },
    { name: 'injection in long reference', body: { schema: table({ a: { type: 'uuid', references: { table: 'posts" CASCADE; --', column: 'id' } } }) }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.notes.columns.a.references.table' },
    { name: 'unknown reference action', body: { schema: table({ a: { type: 'uuid', references: { table: 'posts', column: 'id', onDelete: 'DROP' } } }) }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.notes.columns.a.references.onDelete' },
    { name: 'default with a second statement', body: { schema: table({ a: { type: 'text', default: "'x'; DROP TABLE posts" } }) }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.notes.columns.a.default' },
    { name: 'default with a comment', body: { schema: table({ a: { type: 'text', default: "'x' -- hidden" } }) }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.notes.columns.a.default' },
    { name: 'default with a sub-query', body: { schema: table({ a: { type: 'text', default: '(SELECT title FROM posts LIMIT 1)' } }) }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.notes.columns.a.default' },
    { name: 'default calling a forbidden function', body: { schema: table({ a: { type: 'text', default: "pg_read_file('/etc/passwd')" } }) }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.notes.columns.a.default' },
    { name: 'default with dollar quoting', body: { schema: table({ a: { type: 'text', default: '$$x$$' } }) }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.notes.columns.a.default' },
    { name: 'primary and primaryKey disagree', body: { schema: table({ a: { type: 'int', primary: true, primaryKey: false } }) }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.notes.columns.a.primary' },
    { name: 'column both declared and dropped', body: { schema: table({ a: { type: 'int' } }, { _dropColumns: ['a'] }) }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.notes._dropColumns[0]' },
    { name: 'more than 50 tables', body: { schema: { tables: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`t${i}`, { columns: {} }])) } }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables' },
    { name: 'reference to a missing table', body: { schema: table({ a: { type: 'uuid', references: 'authors.id' } }) }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.notes.columns.a.references' },
    { name: 'reference to a non-unique column', body: { schema: table({ a: { type: 'text', references: 'posts.title' } }) }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.notes.columns.a.references' },
    { name: 'index over a missing column', body: { schema: table({ a: { type: 'text' } }, { indexes: { i: { columns: ['b'] } } }) }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.notes.indexes.i.columns[0]' },
    { name: 'hnsw over a text column', body: { schema: table({ a: { type: 'text' } }, { indexes: { i: { columns: ['a'], method: 'hnsw' } } }) }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.notes.indexes.i.columns[0]' },
    { name: 'index named like a table', body: { schema: table({ a: { type: 'text' } }, { indexes: { posts: { columns: ['a'] } } }) }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.notes.indexes.posts' },
  ];

  for (const c of cases) {
    it(`${c.name} → 400 ${c.code} at ${c.path}`, async () => {
      const res = await apply(appId, c.body);
      expect(res.status, res.text).toBe(400);
      expect(res.body.error.code).toBe(c.code);
      expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(c.path);
      expect(res.text).not.toMatch(/at .*\.ts:\d+/);
    });
  }

  it('none of the bad payloads changed anything', async () => {
    const read = await readSchema(appId);
    expect(Object.keys(read.schema.tables)).toEqual(['posts']);
    expect(Object.keys(read.schema.tables.posts.columns)).toEqual(['id', 'title']);
    expect(await readMigrations(appId)).toHaveLength(1);
  });

  it('also takes the docs form: tables at the top level of schema', async () => {
    const res = await apply(appId, { schema: { notes: { columns: { id: { type: 'serial', primary: true } } } }, dry_run: true });
    expect(res.status).toBe(200);
    expect(res.body.statements[0].sql).toBe('CREATE TABLE "notes" (\n  "id" serial PRIMARY KEY\n)');
  });
});

describe('schema endpoints: who may call them', () => {
  it('answers 401 without a key and 404 APP_NOT_FOUND for an app of another account', async () => {
    const { appId } = await createReadyApp('schema-authz');
    const other = await createOtherAccount('schema-other');
    for (const [method, path] of [['GET', 'schema'], ['POST', 'schema/apply'], ['GET', 'migrations']] as const) {
      const body = method === 'POST' ? { schema: { tables: {} } } : undefined;
      const anonymous = await api(`/v1/${appId}/${path}`, { method, body, token: null });
      expect(anonymous.status, path).toBe(401);
      const foreign = await api(`/v1/${appId}/${path}`, { method, body, token: other.key });
      expect(foreign.status, path).toBe(404);
      expect(foreign.body.error.code, path).toBe('APP_NOT_FOUND');
    }
  });

  it('answers 503 APP_NOT_READY while the app database is not ready', async () => {
    const { appId } = await createReadyApp('schema-notready');
    // Test setup only: a failed provisioning is otherwise hard to produce on purpose.
    await controlDb().query(`UPDATE apps SET provisioning_status = 'failed' WHERE id = $1`, [appId]);
    for (const [method, path] of [['GET', 'schema'], ['POST', 'schema/apply'], ['GET', 'migrations']] as const) {
      const body = method === 'POST' ? { schema: { tables: { t: { columns: { a: { type: 'text' } } } } } } : undefined;
      const res = await api(`/v1/${appId}/${path}`, { method, body });
      expect(res.status, path).toBe(503);
      expect(res.body.error.code, path).toBe('APP_NOT_READY');
    }
  });
});
