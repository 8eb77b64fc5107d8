/**
 * The declarative diff and introspection against catalogs as Postgres reports them (format_type
 * names, pg_get_expr defaults, constraint and index rows): no spurious changes for aliases and
 * defaults, the right statements in the right order for real changes, refusals for type changes,
 * drops only when named, and GET → apply round trips.
 */
import { describe, expect, it } from 'vitest';
import type { CatalogColumn, CatalogForeignKey, CatalogIndex, CatalogTableDetail } from '../workers/shared/catalog.ts';
import { ApiError } from '../workers/shared/errors.ts';
import { planSchema } from '../workers/control/schema/diff.ts';
import { parseApplySchemaBody } from '../workers/control/schema/dsl.ts';
import { introspectSchema } from '../workers/control/schema/introspect.ts';

function col(name: string, type: string, options: { nullable?: boolean; default?: string; identity?: string } = {}): CatalogColumn {
  return {
    name, type, udt: type, nullable: options.nullable ?? true, default: options.default ?? null,
    identity: options.identity ?? '', generated: '', isArray: type.endsWith('[]'),
  };
}

function index(name: string, columns: string[] | null, options: Partial<CatalogIndex> = {}): CatalogIndex {
  const keys = columns ?? ['expr'];
  return {
    name, columns, unique: false, primary: false, method: 'btree', opclasses: keys.map(() => 'x_ops'),
    defaultOpclasses: keys.map(() => true), partial: false, hasInclude: false, constraint: null, ...options,
  };
}

function fk(name: string, column: string, refTable: string, refColumn: string, options: Partial<CatalogForeignKey> = {}): CatalogForeignKey {
  return { name, columns: [column], refSchema: 'public', refTable, refColumns: [refColumn], onDelete: 'NO ACTION', onUpdate: 'NO ACTION', ...options };
}

/** A table as the catalog reports it; a primary key and unique constraints bring their indexes. */
function table(name: string, columns: CatalogColumn[], options: Partial<Omit<CatalogTableDetail, 'name' | 'columns'>> = {}): CatalogTableDetail {
  const primaryKey = options.primaryKey ?? [];
  const uniqueConstraints = options.uniqueConstraints ?? [];
  const indexes = [
    ...(primaryKey.length > 0 ? [index(`${name}_pkey`, primaryKey, { unique: true, primary: true, constraint: `${name}_pkey` })] : []),
    ...uniqueConstraints.map((u) => index(u.name, u.columns, { unique: true, constraint: u.name })),
    ...(options.indexes ?? []),
  ];
  return {
    name, columns, primaryKey, rlsEnabled: false, rlsForced: false,
    primaryKeyName: primaryKey.length > 0 ? `${name}_pkey` : null,
    foreignKeys: options.foreignKeys ?? [], uniqueConstraints, indexes,
  };
}

function plan(schema: unknown, tables: CatalogTableDetail[] = [], seeds: string[] = []) {
  const body = parseApplySchemaBody({ schema });
  return planSchema(body.schema, { tables: new Map(tables.map((t) => [t.name, t])), seedTables: new Set(seeds) });
}

const sqlOf = (schema: unknown, tables: CatalogTableDetail[] = [], seeds: string[] = []) => plan(schema, tables, seeds).statements.map((s) => s.sql);

/** The blog as Postgres reports it after applying {@link blogSchema}. */
const posts = table('posts', [
  col('id', 'uuid', { nullable: false, default: 'gen_random_uuid()' }),
  col('title', 'character varying(200)', { nullable: false }),
  col('slug', 'text'),
  col('status', 'text', { nullable: false, default: "'draft'::text" }),
  col('price', 'numeric(10,2)', { default: "'-1'::integer" }),
  col('views', 'integer', { default: '0' }),
  col('tags', 'text[]', { default: "'{}'::text[]" }),
  col('meta', 'jsonb', { default: "'{}'::jsonb" }),
  col('embedding', 'vector(3)'),
  col('published', 'boolean', { default: 'false' }),
  col('code', 'character(1)'),
  col('score', 'double precision'),
  col('created_at', 'timestamp with time zone', { default: 'now()' }),
  col('expires_at', 'timestamp with time zone', { default: "(now() + '7 days'::interval)" }),
  col('owner', 'text', { default: 'current_user_id()' }),
], {
  primaryKey: ['id'],
  uniqueConstraints: [{ name: 'posts_slug_key', columns: ['slug'] }],
  indexes: [
    index('idx_posts_status_created', ['status', 'created_at']),
    index('idx_posts_title', ['title'], { unique: true }),
    index('idx_posts_slug_hash', ['slug'], { method: 'hash' }),
    index('idx_posts_tags', ['tags'], { method: 'gin', opclasses: ['array_ops'] }),
    index('idx_posts_meta', ['meta'], { method: 'gin', opclasses: ['jsonb_path_ops'], defaultOpclasses: [false] }),
    index('idx_posts_embedding', ['embedding'], { method: 'hnsw', opclasses: ['vector_cosine_ops'], defaultOpclasses: [false] }),
    index('idx_posts_ivf', ['embedding'], { method: 'ivfflat', opclasses: ['vector_l2_ops'], defaultOpclasses: [true] }),
    index('idx_posts_created_gist', ['created_at'], { method: 'gist', opclasses: ['timestamptz_ops'] }),
  ],
});

const comments = table('comments', [
  col('id', 'bigint', { nullable: false, default: "nextval('comments_id_seq'::regclass)" }),
  col('post_id', 'uuid', { nullable: false }),
  col('parent_id', 'bigint'),
  col('body', 'text', { nullable: false }),
], {
  primaryKey: ['id'],
  foreignKeys: [
    fk('comments_post_id_fkey', 'post_id', 'posts', 'id', { onDelete: 'CASCADE' }),
    fk('comments_parent_id_fkey', 'parent_id', 'comments', 'id'),
  ],
  indexes: [index('idx_comments_post', ['post_id'])],
});

/** The DSL that produced {@link posts} and {@link comments}, written with aliases and without Postgres's casts. */
const blogSchema = {
  tables: {
    posts: {
      columns: {
        id: { type: 'UUID', primary: true, default: 'gen_random_uuid()' },
        title: { type: 'varchar(200)', nullable: false },
        slug: { type: 'text', unique: true },
        status: { type: 'text', nullable: false, default: "'draft'" },
        price: { type: 'decimal(10,2)', default: '-1' },
        views: { type: 'int4', default: '0' },
        tags: { type: 'text[]', default: "'{}'" },
        meta: { type: 'jsonb', default: "'{}'::jsonb" },
        embedding: { type: 'vector(3)' },
        published: { type: 'bool', default: 'false' },
        code: { type: 'char' },
        score: { type: 'float8' },
        created_at: { type: 'timestamptz', default: 'now()' },
        expires_at: { type: 'timestamp with time zone', default: "now() + interval '7 days'" },
        owner: { type: 'text', default: 'current_user_id()' },
      },
      indexes: {
        idx_posts_status_created: { columns: ['status', 'created_at'] },
        idx_posts_title: { columns: ['title'], unique: true, method: 'btree' },
        idx_posts_slug_hash: { columns: ['slug'], method: 'hash' },
        idx_posts_tags: { columns: ['tags'], method: 'gin' },
        idx_posts_meta: { columns: ['meta'], method: 'gin', opclass: 'jsonb_path_ops' },
        idx_posts_embedding: { columns: ['embedding'], method: 'hnsw', opclass: 'vector_cosine_ops' },
        idx_posts_ivf: { columns: ['embedding'], method: 'ivfflat', opclass: 'vector_l2_ops' },
        idx_posts_created_gist: { columns: ['created_at'], method: 'gist' },
      },
    },
    comments: {
      columns: {
        id: { type: 'bigserial', primaryKey: true },
        post_id: { type: 'uuid', nullable: false, references: { table: 'posts', column: 'id', onDelete: 'CASCADE', onUpdate: 'NO ACTION' } },
        parent_id: { type: 'int8', references: 'comments.id' },
        body: { type: 'text', nullable: false },
      },
      indexes: { idx_comments_post: { columns: ['post_id'], method: 'btree' } },
    },
  },
};

describe('no spurious changes', () => {
  it('the DSL that made the tables, written with aliases and without casts, plans nothing', () => {
    expect(plan(blogSchema, [posts, comments])).toEqual({ statements: [], refused: [] });
  });

  it('introspection applied back plans nothing', () => {
    const read = introspectSchema(new Map([['posts', posts], ['comments', comments]]), new Set(['posts']));
    expect(plan(read, [posts, comments], ['posts'])).toEqual({ statements: [], refused: [] });
  });

  it('tables, columns and indexes the payload does not mention are left alone', () => {
    expect(plan({ tables: { posts: { columns: { title: { type: 'varchar(200)', nullable: false } } } } }, [posts, comments]))
      .toEqual({ statements: [], refused: [] });
    expect(plan({}, [posts, comments])).toEqual({ statements: [], refused: [] });
  });
});

describe('introspection', () => {
  it('shows the tables in the DSL: canonical types, defaults without casts, references, indexes, seed marks', () => {
    const read = introspectSchema(new Map([['posts', posts], ['comments', comments], ['_internal', table('_internal', [col('a', 'text')])]]), new Set(['posts']));
    expect(Object.keys(read.tables)).toEqual(['comments', 'posts']);
    expect(read.tables.comments!.columns).toEqual({
      id: { type: 'bigserial', nullable: false, primaryKey: true },
      post_id: { type: 'uuid', nullable: false, references: { table: 'posts', column: 'id', onDelete: 'CASCADE' } },
      parent_id: { type: 'bigint', nullable: true, references: 'comments.id' },
      body: { type: 'text', nullable: false },
    });
    expect(read.tables.posts!.columns.status).toEqual({ type: 'text', nullable: false, default: "'draft'" });
    expect(read.tables.posts!.columns.price).toEqual({ type: 'numeric(10,2)', nullable: true, default: '-1' });
    expect(read.tables.posts!.columns.code).toEqual({ type: 'char(1)', nullable: true });
    expect(read.tables.posts!.columns.slug).toEqual({ type: 'text', nullable: true, unique: true });
    expect(read.tables.posts!.indexes).toMatchObject({
      idx_posts_embedding: { columns: ['embedding'], unique: false, method: 'hnsw', opclass: 'vector_cosine_ops' },
      idx_posts_ivf: { columns: ['embedding'], unique: false, method: 'ivfflat' },
      idx_posts_title: { columns: ['title'], unique: true, method: 'btree' },
    });
    expect(read.tables.posts!.indexes!.posts_pkey).toBeUndefined();
    expect(read.tables.posts!.indexes!.posts_slug_key).toBeUndefined();
    expect(read.tables.posts!._seed).toBe(true);
    expect(read.tables.comments!._seed).toBeUndefined();
  });

  it('leaves out what the DSL cannot express: partial and expression indexes, multi-column and cross-schema keys', () => {
    const odd = table('odd', [col('a', 'integer'), col('b', 'integer'), col('u', 'uuid'), col('ts', 'tsvector')], {
      uniqueConstraints: [{ name: 'odd_a_b_key', columns: ['a', 'b'] }],
      foreignKeys: [
        fk('odd_u_fkey', 'u', 'users', 'id', { refSchema: 'auth' }),
        { name: 'odd_ab_fkey', columns: ['a', 'b'], refSchema: 'public', refTable: 'other', refColumns: ['x', 'y'], onDelete: 'NO ACTION', onUpdate: 'NO ACTION' },
      ],
      indexes: [index('odd_partial', ['a'], { partial: true }), index('odd_expr', null)],
    });
    const read = introspectSchema(new Map([['odd', odd]]), new Set());
    expect(read.tables.odd!.columns.u).toEqual({ type: 'uuid', nullable: true });
    expect(read.tables.odd!.columns.ts).toEqual({ type: 'tsvector', nullable: true });
    expect(read.tables.odd!.indexes).toEqual({ odd_a_b_key: { columns: ['a', 'b'], unique: true, method: 'btree' } });
  });
});

describe('changes to existing columns', () => {
  const t = table('t', [
    col('id', 'integer', { nullable: false, default: "nextval('t_id_seq'::regclass)" }),
    col('name', 'text', { nullable: false, default: "'x'::text" }),
    col('email', 'text'),
    col('owner_id', 'uuid'),
  ], { primaryKey: ['id'], uniqueConstraints: [{ name: 't_email_key', columns: ['email'] }] });
  const users = table('users', [col('id', 'uuid', { nullable: false })], { primaryKey: ['id'] });

  it('nullability: omitted means nullable, false means NOT NULL; primary-key columns are left alone', () => {
    expect(sqlOf({ tables: { t: { columns: { id: { type: 'serial' }, name: { type: 'text', default: "'x'" }, email: { type: 'text', nullable: false, unique: true } } } } }, [t])).toEqual([
      'ALTER TABLE "t" ALTER COLUMN "name" DROP NOT NULL',
      'ALTER TABLE "t" ALTER COLUMN "email" SET NOT NULL',
    ]);
  });

  it('defaults: a new one is set, an omitted one dropped, a serial keeps its sequence', () => {
    expect(sqlOf({ tables: { t: { columns: { name: { type: 'text', nullable: false, default: "'y'" }, email: { type: 'text', unique: true, default: 'lower(\'A\')' } } } } }, [t])).toEqual([
      `ALTER TABLE "t" ALTER COLUMN "name" SET DEFAULT 'y'`,
      `ALTER TABLE "t" ALTER COLUMN "email" SET DEFAULT lower('A')`,
    ]);
    expect(sqlOf({ tables: { t: { columns: { name: { type: 'text', nullable: false } } } } }, [t])).toEqual(['ALTER TABLE "t" ALTER COLUMN "name" DROP DEFAULT']);
    expect(sqlOf({ tables: { t: { columns: { id: { type: 'serial', primaryKey: true } } } } }, [t])).toEqual([]);
    expect(sqlOf({ tables: { t: { columns: { id: { type: 'integer', primaryKey: true } } } } }, [t])).toEqual(['ALTER TABLE "t" ALTER COLUMN "id" DROP DEFAULT']);
  });

  it('identity columns keep their identity', () => {
    const withIdentity = table('w', [col('id', 'bigint', { nullable: false, identity: 'a' })], { primaryKey: ['id'] });
    expect(sqlOf({ tables: { w: { columns: { id: { type: 'bigint', primaryKey: true } } } } }, [withIdentity])).toEqual([]);
  });

  it('unique: added and dropped as a constraint', () => {
    expect(sqlOf({ tables: { t: { columns: { email: { type: 'text' }, owner_id: { type: 'uuid', unique: true } } } } }, [t])).toEqual([
      'ALTER TABLE "t" DROP CONSTRAINT "t_email_key"',
      'ALTER TABLE "t" ADD UNIQUE ("owner_id")',
    ]);
  });

  it('references: added with actions, changed by drop and add, dropped when omitted', () => {
    expect(sqlOf({ tables: { t: { columns: { owner_id: { type: 'uuid', references: { table: 'users', column: 'id', onDelete: 'SET NULL', onUpdate: 'CASCADE' } } } } } }, [t, users]))
      .toEqual(['ALTER TABLE "t" ADD FOREIGN KEY ("owner_id") REFERENCES "users" ("id") ON DELETE SET NULL ON UPDATE CASCADE']);
    const linked = { ...t, foreignKeys: [fk('t_owner_id_fkey', 'owner_id', 'users', 'id', { onDelete: 'CASCADE' })] };
    expect(sqlOf({ tables: { t: { columns: { owner_id: { type: 'uuid', references: { table: 'users', column: 'id', onDelete: 'CASCADE' } } } } } }, [linked, users])).toEqual([]);
    expect(sqlOf({ tables: { t: { columns: { owner_id: { type: 'uuid', references: 'users.id' } } } } }, [linked, users])).toEqual([
      'ALTER TABLE "t" DROP CONSTRAINT "t_owner_id_fkey"',
      'ALTER TABLE "t" ADD FOREIGN KEY ("owner_id") REFERENCES "users" ("id")',
    ]);
    expect(sqlOf({ tables: { t: { columns: { owner_id: { type: 'uuid' } } } } }, [linked, users])).toEqual(['ALTER TABLE "t" DROP CONSTRAINT "t_owner_id_fkey"']);
  });

  it('primary key: replaced only when the payload marks a different one', () => {
    expect(sqlOf({ tables: { t: { columns: { id: { type: 'serial', primaryKey: true }, name: { type: 'text', primaryKey: true, default: "'x'" } } } } }, [t])).toEqual([
      'ALTER TABLE "t" DROP CONSTRAINT "t_pkey"',
      'ALTER TABLE "t" ADD PRIMARY KEY ("id", "name")',
    ]);
    const keyless = table('k', [col('a', 'integer')]);
    expect(sqlOf({ tables: { k: { columns: { a: { type: 'int', primaryKey: true } } } } }, [keyless])).toEqual(['ALTER TABLE "k" ADD PRIMARY KEY ("a")']);
  });

  it('a new column with a reference is added first, its foreign key after', () => {
    const result = plan({ tables: { t: { columns: { user_id: { type: 'uuid', nullable: false, default: 'gen_random_uuid()', references: 'users.id' } } } } }, [t, users]);
    expect(result.statements).toEqual([
      { sql: 'ALTER TABLE "t" ADD COLUMN "user_id" uuid NOT NULL DEFAULT gen_random_uuid()', description: 'Add column t.user_id (uuid)', destructive: false },
      { sql: 'ALTER TABLE "t" ADD FOREIGN KEY ("user_id") REFERENCES "users" ("id")', description: 'Add foreign key t.user_id → users.id', destructive: false },
    ]);
  });
});

describe('type changes are refused', () => {
  const t = table('t', [
    col('id', 'integer', { nullable: false }),
    col('name', 'character varying(20)'),
    col('embedding', 'vector(3)'),
    col('tags', 'text[]'),
    col('doc', 'tsvector'),
  ], { primaryKey: ['id'] });
  const cases: [column: string, declared: string, from: string][] = [
    ['name', 'varchar(30)', 'varchar(20)'],
    ['name', 'text', 'varchar(20)'],
    ['embedding', 'vector(4)', 'vector(3)'],
    ['tags', 'text', 'text[]'],
    ['id', 'bigint', 'integer'],
    ['id', 'serial', 'integer'],
    ['doc', 'text', 'tsvector'],
  ];
  for (const [column, declared, from] of cases) {
    it(`${column}: ${from} → ${declared}`, () => {
      const result = plan({ tables: { t: { columns: { [column]: { type: declared, ...(column === 'id' ? { primaryKey: true } : {}) }, added: { type: 'text' } }, _dropColumns: ['tags'].filter((c) => c !== column) } } }, [t]);
      expect(result.refused).toEqual([expect.stringContaining(`Change type of t.${column} from ${from} to ${declared}`)]);
    });
  }
});

describe('drops', () => {
  const t = table('t', [col('id', 'integer', { nullable: false }), col('old', 'text'), col('keep', 'text')], {
    primaryKey: ['id'],
    indexes: [index('t_old_idx', ['old']), index('t_old_keep_idx', ['old', 'keep'])],
  });

  it('a column is dropped only when named in _dropColumns; unknown names are ignored', () => {
    expect(sqlOf({ tables: { t: { columns: { keep: { type: 'text' } } } } }, [t])).toEqual([]);
    expect(plan({ tables: { t: { columns: {}, _dropColumns: ['old', 'ghost'] } } }, [t]).statements).toEqual([
      { sql: expect.stringContaining("attname = 'old'"), description: 'Check that no row-level security policy depends on t.old', destructive: false },
      { sql: 'ALTER TABLE "t" DROP COLUMN "old" CASCADE', description: 'Drop column t.old and its data (indexes and constraints on it go too)', destructive: true },
    ]);
  });

  it('an index over a dropped column is recreated without dropping it twice', () => {
    expect(sqlOf({ tables: { t: { columns: {}, _dropColumns: ['old'], indexes: { t_old_keep_idx: { columns: ['keep'] } } } } }, [t])).toEqual([
      expect.stringContaining('row-level security policies'),
      'ALTER TABLE "t" DROP COLUMN "old" CASCADE',
      'CREATE INDEX "t_old_keep_idx" ON "t" USING btree ("keep")',
    ]);
  });

  it('a table is dropped only when named, in either form, with its seed mark', () => {
    const other = table('other', [col('a', 'text')]);
    expect(sqlOf({ tables: { t: { columns: {} } } }, [t, other])).toEqual([]);
    for (const schema of [{ _drop: ['other', 'ghost'] }, { tables: { other: { _drop: true } } }, { other: { _drop: true } }]) {
      expect(plan(schema, [t, other], ['other']).statements).toEqual([
        { sql: expect.stringContaining(`p.polrelid <> 'public."other"'::regclass`), description: 'Check that no row-level security policy depends on other', destructive: false },
        { sql: 'DROP TABLE "other" CASCADE', description: expect.stringContaining('Drop table other'), destructive: true },
        { sql: 'DELETE FROM butterbase.seed_tables WHERE table_name = $1', params: ['other'], description: expect.any(String), destructive: false },
      ]);
    }
  });
});

describe('new tables and indexes', () => {
  it('creates tables whose references are ready first, inlines keys, and adds cyclic references afterwards', () => {
    const sql = sqlOf({
      tables: {
        comments: { columns: { id: { type: 'bigserial', primaryKey: true }, post_id: { type: 'uuid', nullable: false, references: { table: 'posts', column: 'id', onDelete: 'CASCADE' } } } },
        posts: { columns: { id: { type: 'uuid', primaryKey: true, default: 'gen_random_uuid()' }, pinned: { type: 'bigint', references: 'comments.id' } } },
        pairs: { columns: { a: { type: 'int', primaryKey: true }, b: { type: 'int', primaryKey: true }, label: { type: 'varchar(10)', unique: true } } },
      },
    });
    expect(sql).toEqual([
      'CREATE TABLE "pairs" (\n  "a" integer NOT NULL,\n  "b" integer NOT NULL,\n  "label" varchar(10) UNIQUE,\n  PRIMARY KEY ("a", "b")\n)',
      'CREATE TABLE "comments" (\n  "id" bigserial PRIMARY KEY,\n  "post_id" uuid NOT NULL\n)',
      'CREATE TABLE "posts" (\n  "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),\n  "pinned" bigint REFERENCES "comments" ("id")\n)',
      'ALTER TABLE "comments" ADD FOREIGN KEY ("post_id") REFERENCES "posts" ("id") ON DELETE CASCADE',
    ]);
  });

  it('creates every index method, vector indexes with their operator class', () => {
    const sql = sqlOf({
      tables: {
        items: {
          columns: { id: { type: 'serial', primaryKey: true }, embedding: { type: 'vector(1536)' }, doc: { type: 'jsonb' }, tags: { type: 'text[]' }, slug: { type: 'text' }, at: { type: 'timestamptz' }, a: { type: 'int' }, b: { type: 'int' } },
          indexes: {
            i_hnsw: { columns: ['embedding'], method: 'hnsw', opclass: 'vector_cosine_ops' },
            i_ivf: { columns: ['embedding'], method: 'ivfflat', opclass: 'vector_ip_ops' },
            i_gin: { columns: ['doc'], method: 'gin', opclass: 'jsonb_path_ops' },
            i_gin_tags: { columns: ['tags'], method: 'gin' },
            i_hash: { columns: ['slug'], method: 'hash' },
            i_gist: { columns: ['at'], method: 'gist' },
            i_multi_unique: { columns: ['a', 'b'], unique: true },
          },
        },
      },
    });
    expect(sql.slice(1)).toEqual([
      'CREATE INDEX "i_hnsw" ON "items" USING hnsw ("embedding" "vector_cosine_ops")',
      'CREATE INDEX "i_ivf" ON "items" USING ivfflat ("embedding" "vector_ip_ops")',
      'CREATE INDEX "i_gin" ON "items" USING gin ("doc" "jsonb_path_ops")',
      'CREATE INDEX "i_gin_tags" ON "items" USING gin ("tags")',
      'CREATE INDEX "i_hash" ON "items" USING hash ("slug")',
      'CREATE INDEX "i_gist" ON "items" USING gist ("at")',
      'CREATE UNIQUE INDEX "i_multi_unique" ON "items" USING btree ("a", "b")',
    ]);
  });

  it('rebuilds an index whose definition changed, by drop then create', () => {
    const changes: [declared: Record<string, unknown>, expected: string][] = [
      [{ columns: ['created_at', 'status'] }, 'CREATE INDEX "idx_posts_status_created" ON "posts" USING btree ("created_at", "status")'],
      [{ columns: ['status', 'created_at'], unique: true }, 'CREATE UNIQUE INDEX "idx_posts_status_created" ON "posts" USING btree ("status", "created_at")'],
      [{ columns: ['status', 'created_at'], method: 'gist' }, 'CREATE INDEX "idx_posts_status_created" ON "posts" USING gist ("status", "created_at")'],
    ];
    for (const [declared, expected] of changes) {
      expect(sqlOf({ tables: { posts: { columns: {}, indexes: { idx_posts_status_created: declared } } } }, [posts])).toEqual([
        'DROP INDEX "idx_posts_status_created"',
        expected,
      ]);
    }
    expect(sqlOf({ tables: { posts: { columns: {}, indexes: { idx_posts_embedding: { columns: ['embedding'], method: 'hnsw', opclass: 'vector_l2_ops' } } } } }, [posts])).toEqual([
      'DROP INDEX "idx_posts_embedding"',
      'CREATE INDEX "idx_posts_embedding" ON "posts" USING hnsw ("embedding" "vector_l2_ops")',
    ]);
  });

  it('marks and unmarks seed tables with bound parameters', () => {
    const t = table('t', []);
    expect(plan({ tables: { t: { columns: {}, _seed: true } } }, [t]).statements).toEqual([
      { sql: 'INSERT INTO butterbase.seed_tables (table_name) VALUES ($1) ON CONFLICT (table_name) DO NOTHING', params: ['t'], description: 'Mark t as seed data', destructive: false },
    ]);
    expect(plan({ tables: { t: { columns: {}, _seed: false } } }, [t], ['t']).statements.map((s) => s.sql)).toEqual(['DELETE FROM butterbase.seed_tables WHERE table_name = $1']);
    expect(plan({ tables: { t: { columns: {} } } }, [t], ['t']).statements).toEqual([]);
  });
});

describe('payloads that do not fit the database', () => {
  const failure = (schema: unknown, tables: CatalogTableDetail[]) => {
    try {
      plan(schema, tables);
    } catch (error) {
      if (error instanceof ApiError) return { code: error.code, paths: (error.details as { path: string }[]).map((d) => d.path) };
      throw error;
    }
    throw new Error('expected an error');
  };
  const cases: { name: string; schema: unknown; path: string }[] = [
    { name: 'reference to a missing table', schema: { tables: { n: { columns: { a: { type: 'uuid', references: 'ghosts.id' } } } } }, path: 'schema.tables.n.columns.a.references' },
    { name: 'reference to a missing column', schema: { tables: { n: { columns: { a: { type: 'uuid', references: 'posts.ghost' } } } } }, path: 'schema.tables.n.columns.a.references' },
    { name: 'reference to a non-unique column', schema: { tables: { n: { columns: { a: { type: 'text', references: 'posts.status' } } } } }, path: 'schema.tables.n.columns.a.references' },
    { name: 'reference to a table being dropped', schema: { tables: { n: { columns: { a: { type: 'uuid', references: 'posts.id' } } } }, _drop: ['posts'] }, path: 'schema.tables.n.columns.a.references' },
    { name: 'reference to a dropped column', schema: { tables: { posts: { columns: {}, _dropColumns: ['slug'] }, n: { columns: { a: { type: 'text', references: 'posts.slug' } } } } }, path: 'schema.tables.n.columns.a.references' },
    { name: 'index over a missing column', schema: { tables: { posts: { columns: {}, indexes: { i: { columns: ['ghost'] } } } } }, path: 'schema.tables.posts.indexes.i.columns[0]' },
    { name: 'ivfflat over a non-vector column', schema: { tables: { posts: { columns: {}, indexes: { i: { columns: ['title'], method: 'ivfflat' } } } } }, path: 'schema.tables.posts.indexes.i.columns[0]' },
    { name: 'index name used by another table', schema: { tables: { n: { columns: { a: { type: 'text' } }, indexes: { idx_posts_title: { columns: ['a'] } } } } }, path: 'schema.tables.n.indexes.idx_posts_title' },
    { name: 'index name declared twice', schema: { tables: { n: { columns: { a: { type: 'text' } }, indexes: { i: { columns: ['a'] } } }, m: { columns: { a: { type: 'text' } }, indexes: { i: { columns: ['a'] } } } } }, path: 'schema.tables.m.indexes.i' },
    { name: 'index name of a constraint with another definition', schema: { tables: { posts: { columns: {}, indexes: { posts_slug_key: { columns: ['title'] } } } } }, path: 'schema.tables.posts.indexes.posts_slug_key' },
  ];
  for (const c of cases) {
    it(`${c.name} → VALIDATION_INVALID_SCHEMA at ${c.path}`, () => {
      const result = failure(c.schema, [posts, comments]);
      expect(result.code).toBe('VALIDATION_INVALID_SCHEMA');
      expect(result.paths).toContain(c.path);
    });
  }

  it('a reference to a column made unique in the same payload is fine', () => {
    expect(sqlOf({ tables: { posts: { columns: { status: { type: 'text', nullable: false, unique: true, default: "'draft'" } } }, n: { columns: { s: { type: 'text', references: 'posts.status' } } } } }, [posts])).toEqual([
      'CREATE TABLE "n" (\n  "s" text\n)',
      'ALTER TABLE "posts" ADD UNIQUE ("status")',
      'ALTER TABLE "n" ADD FOREIGN KEY ("s") REFERENCES "posts" ("status")',
    ]);
  });
});
