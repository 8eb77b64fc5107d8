/**
 * The schema DSL's pure parts: the type grammar, checked default expressions (what is allowed, what is
 * refused, how Postgres's spelling compares), and payload validation (both primary-key and drop forms,
 * field paths, error codes).
 */
import { describe, expect, it } from 'vitest';
import { ApiError } from '../workers/shared/errors.ts';
import { pgErrorToApiError } from '../workers/shared/pg-errors.ts';
import { catalogDefaultKey, checkDefault, displayDefault } from '../workers/control/schema/default-expression.ts';
import { parseApplySchemaBody } from '../workers/control/schema/dsl.ts';
import { dslTypeName, formatTypeName, parseColumnType, type ColumnType } from '../workers/control/schema/types.ts';

function type(text: string): ColumnType {
  const parsed = parseColumnType(text);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.type;
}

describe('column types', () => {
  const cases: [input: string, dsl: string, formatType: string][] = [
    ['text', 'text', 'text'],
    ['TEXT', 'text', 'text'],
    ['varchar', 'varchar', 'character varying'],
    ['VARCHAR(255)', 'varchar(255)', 'character varying(255)'],
    ['character varying(20)', 'varchar(20)', 'character varying(20)'],
    ['char', 'char', 'character(1)'],
    ['char(2)', 'char(2)', 'character(2)'],
    ['uuid', 'uuid', 'uuid'],
    ['bool', 'boolean', 'boolean'],
    ['boolean', 'boolean', 'boolean'],
    ['int', 'integer', 'integer'],
    ['int4', 'integer', 'integer'],
    ['integer', 'integer', 'integer'],
    ['int8', 'bigint', 'bigint'],
    ['int2', 'smallint', 'smallint'],
    ['serial', 'serial', 'integer'],
    ['bigserial', 'bigserial', 'bigint'],
    ['smallserial', 'smallserial', 'smallint'],
    ['float4', 'real', 'real'],
    ['float8', 'double precision', 'double precision'],
    ['Double  Precision', 'double precision', 'double precision'],
    ['numeric', 'numeric', 'numeric'],
    ['decimal(10)', 'numeric(10,0)', 'numeric(10,0)'],
    ['numeric(10, 2)', 'numeric(10,2)', 'numeric(10,2)'],
    ['timestamptz', 'timestamptz', 'timestamp with time zone'],
    ['timestamp with time zone', 'timestamptz', 'timestamp with time zone'],
    ['timestamp', 'timestamp', 'timestamp without time zone'],
    ['time', 'time', 'time without time zone'],
    ['timetz', 'timetz', 'time with time zone'],
    ['date', 'date', 'date'],
    ['interval', 'interval', 'interval'],
    ['jsonb', 'jsonb', 'jsonb'],
    ['json', 'json', 'json'],
    ['bytea', 'bytea', 'bytea'],
    ['vector', 'vector', 'vector'],
    ['vector(1536)', 'vector(1536)', 'vector(1536)'],
    ['uuid[]', 'uuid[]', 'uuid[]'],
    ['text[][]', 'text[]', 'text[]'],
    ['varchar(20)[]', 'varchar(20)[]', 'character varying(20)[]'],
    ['numeric(5,1) []', 'numeric(5,1)[]', 'numeric(5,1)[]'],
  ];
  for (const [input, dsl, formatType] of cases) {
    it(`${input} → ${dsl} (Postgres: ${formatType})`, () => {
      expect(dslTypeName(type(input))).toBe(dsl);
      expect(formatTypeName(type(input))).toBe(formatType);
      // format_type's spelling reads back as the same type, so introspection never shows a spurious change.
      expect(formatTypeName(type(formatType))).toBe(formatType);
    });
  }

  const bad = ['money', 'text); DROP TABLE x; --', 'varchar(0)', 'varchar(1,2)', 'numeric(0)', 'numeric(5,6)', 'vector(0)', 'vector(16001)', 'serial[]', 'integer(4)', 'text(3)', '', 'int4 int4'];
  for (const input of bad) {
    it(`refuses ${JSON.stringify(input)}`, () => {
      expect(parseColumnType(input).ok).toBe(false);
    });
  }
});

describe('default expressions', () => {
  const allowed: [input: string, sql: string][] = [
    ['now()', 'now()'],
    ['NOW()', 'now()'],
    ['gen_random_uuid()', 'gen_random_uuid()'],
    ['uuid_generate_v4()', 'uuid_generate_v4()'],
    ['current_user_id()', 'current_user_id()'],
    ["'pending'", "'pending'"],
    ["'it''s'", "'it''s'"],
    ["'a;b -- not a comment'", "'a;b -- not a comment'"],
    ['0', '0'],
    ['-1', '-1'],
    ['1.5', '1.5'],
    ['false', 'false'],
    ['NULL', 'NULL'],
    ["'{}'::jsonb", "'{}'::jsonb"],
    ["'x'::text", "'x'::text"],
    ["'{}'::text[]", "'{}'::text[]"],
    ['ARRAY[1, 2]', 'ARRAY[1, 2]'],
    ['CURRENT_TIMESTAMP', 'CURRENT_TIMESTAMP'],
    ["now() + interval '1 day'", "now() + '1 day'::interval"],
    ["timezone('utc', now())", "timezone('utc', now())"],
    ["'a' || 'b'", "'a' || 'b'"],
    ["encode(gen_random_bytes(16), 'hex')", "encode(gen_random_bytes(16), 'hex')"],
    ["nextval('posts_id_seq'::regclass)", "nextval('posts_id_seq'::regclass)"],
    ['(1 + 2) * 3', '(1 + 2) * 3'],
    ['-1::integer', '(-1)::integer'],
  ];
  for (const [input, sql] of allowed) {
    it(`allows ${input} as ${sql}`, () => {
      const checked = checkDefault(input);
      expect(checked).toMatchObject({ ok: true, sql });
    });
  }

  const refused: [input: string, reason: RegExp][] = [
    ["'x'; DROP TABLE posts", /";"/],
    ['now(); DROP TABLE posts', /";"/],
    ["now() -- comment", /comments/],
    ['now() /* c */', /comments/],
    ['$$x$$', /"\$"/],
    ['$1', /"\$"/],
    ['(SELECT 1)', /sub-queries/],
    ['ARRAY(SELECT 1)', /./],
    ['title', /cannot reference columns/],
    ["pg_read_file('/etc/passwd')", /function "pg_read_file" is not allowed/],
    ["pg_sleep(10)", /not allowed/],
    ["set_config('role', 'x', false)", /not allowed/],
    ['public.evil()', /not allowed/],
    ['other_schema.now()', /not allowed/],
    ['count(*)', /not allowed/],
    ['now() OVER ()', /./],
    ["'x'::pg_catalog.regrole", /not allowed/],
    ["'x'::money", /not allowed/],
    ['CASE WHEN true THEN 1 END', /not allowed/],
    ['1 = 1', /operator "=" is not allowed/],
    ['current_user', /not allowed/],
    ['9007199254740993', /out of range/],
    ['', /empty/],
    ['x'.repeat(1001), /longer than/],
    ["'unterminated", /not a valid SQL expression/],
  ];
  for (const [input, reason] of refused) {
    it(`refuses ${input.slice(0, 40)}`, () => {
      const checked = checkDefault(input);
      expect(checked.ok).toBe(false);
      if (!checked.ok) expect(checked.message).toMatch(reason);
    });
  }

  // What Postgres stores (pg_get_expr) for a DSL default must compare equal to it, or every apply would re-set it.
  const sameAsStored: [dsl: string, stored: string][] = [
    ["'pending'", "'pending'::text"],
    ["'draft'", "'draft'::character varying"],
    ['0', '0'],
    ['-1', "'-1'::integer"],
    ["'0'", '0'],
    ['1.50', '1.50'],
    ['false', 'false'],
    ["'{}'", "'{}'::jsonb"],
    ["'{}'", "'{}'::text[]"],
    ["ARRAY['a', 'b']", "ARRAY['a'::text, 'b'::text]"],
    ['now()', 'now()'],
    ['current_timestamp', 'CURRENT_TIMESTAMP'],
    ["now() + interval '7 days'", "(now() + '7 days'::interval)"],
    ["'x' || 'y'", "('x'::text || 'y'::text)"],
    ["timezone('utc', now())", "timezone('utc'::text, now())"],
    ['now()::date', '(now())::date'],
  ];
  for (const [dsl, stored] of sameAsStored) {
    it(`${dsl} equals the stored ${stored}`, () => {
      const checked = checkDefault(dsl);
      expect(checked.ok && checked.key).toBe(catalogDefaultKey(stored));
    });
  }

  const differentFromStored: [dsl: string, stored: string][] = [
    ["'pending'", "'draft'::text"],
    ['now()', 'CURRENT_TIMESTAMP'],
    ['1', '2'],
    ["now() + interval '1 day'", "(now() + '7 days'::interval)"],
    ['now()::date', 'now()'],
  ];
  for (const [dsl, stored] of differentFromStored) {
    it(`${dsl} differs from the stored ${stored}`, () => {
      const checked = checkDefault(dsl);
      expect(checked.ok && checked.key).not.toBe(catalogDefaultKey(stored));
    });
  }

  it('a NULL default is no default (Postgres does not store one)', () => {
    expect(checkDefault('NULL')).toMatchObject({ ok: true, key: null });
    expect(checkDefault("NULL::text")).toMatchObject({ ok: true, key: null });
  });

  const displayed: [stored: string, column: string, shown: string][] = [
    ["'pending'::text", 'text', "'pending'"],
    ["'draft'::character varying", 'varchar(20)', "'draft'"],
    ["'-1'::integer", 'integer', '-1'],
    ["'-1'::integer", 'numeric(10,2)', '-1'],
    ["'{}'::jsonb", 'jsonb', "'{}'"],
    ["'{}'::text[]", 'text[]', "'{}'"],
    ['now()', 'timestamptz', 'now()'],
    ["(now() + '7 days'::interval)", 'timestamptz', "(now() + '7 days'::interval)"],
    ["'x'::text", 'varchar', "'x'::text"],
  ];
  for (const [stored, column, shown] of displayed) {
    it(`shows the stored ${stored} on a ${column} column as ${shown}`, () => {
      expect(displayDefault(stored, type(column))).toBe(shown);
    });
  }
});

describe('apply body validation', () => {
  const parse = (schema: unknown, extra: Record<string, unknown> = {}) => parseApplySchemaBody({ schema, ...extra });
  const failure = (body: unknown) => {
    try {
      parseApplySchemaBody(body);
    } catch (error) {
      if (error instanceof ApiError) return error;
      throw error;
    }
    throw new Error('expected a validation error');
  };
  const paths = (error: ApiError) => (error.details as { path: string }[]).map((d) => d.path);

  it('normalises a table: defaults, both primary-key spellings, short and long references', () => {
    const body = parse({
      tables: {
        posts: { columns: { id: { type: 'UUID', primary: true }, author: { type: 'uuid', references: 'users.id' } } },
        notes: {
          columns: {
            id: { type: 'serial', primaryKey: true },
            post_id: { type: 'uuid', nullable: false, references: { table: 'posts', column: 'id', onDelete: 'cascade', onUpdate: 'SET  NULL' } },
          },
        },
      },
    });
    const [posts, notes] = body.schema.tables;
    expect(posts!.columns[0]).toMatchObject({ name: 'id', primaryKey: true, nullable: false, unique: false, default: null, references: null });
    expect(posts!.columns[1]!.references).toEqual({ table: 'users', column: 'id', onDelete: 'NO ACTION', onUpdate: 'NO ACTION' });
    expect(notes!.columns[0]).toMatchObject({ primaryKey: true, type: { base: 'integer', serial: true } });
    expect(notes!.columns[1]!.references).toEqual({ table: 'posts', column: 'id', onDelete: 'CASCADE', onUpdate: 'SET NULL' });
    expect(body.dry_run).toBeUndefined();
  });

  it('merges both drop forms and keeps indexes with their defaults', () => {
    const body = parse({ tables: { old: { _drop: true }, t: { columns: { a: { type: 'text' } }, indexes: { i: { columns: ['a'], method: 'GIN' } } } }, _drop: ['older', 'old'] });
    expect(body.schema.drop.sort()).toEqual(['old', 'older']);
    expect(body.schema.tables.map((t) => t.name)).toEqual(['t']);
    expect(body.schema.tables[0]!.indexes).toEqual([{ name: 'i', columns: ['a'], unique: false, method: 'gin', opclass: null }]);
  });

  it('takes the docs form with tables at the top level, and an empty schema', () => {
    expect(parse({ t: { columns: {} }, _drop: ['x'] }).schema).toMatchObject({ tables: [{ name: 't' }], drop: ['x'] });
    expect(parse({}).schema).toEqual({ tables: [], drop: [] });
  });

  it('_seed is left alone unless given', () => {
    const body = parse({ tables: { a: { columns: {} }, b: { columns: {}, _seed: true }, c: { columns: {}, _seed: false } } });
    expect(body.schema.tables.map((t) => t.seed)).toEqual([undefined, true, false]);
  });

  const cases: { name: string; body: unknown; code: string; path: string }[] = [
    { name: 'unknown column key', body: { schema: { tables: { t: { columns: { a: { type: 'text', length: 3 } } } } } }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.t.columns.a.length' },
    { name: 'missing columns', body: { schema: { tables: { t: { indexes: {} } } } }, code: 'VALIDATION_MISSING_FIELD', path: 'schema.tables.t.columns' },
    { name: 'missing columns (docs form)', body: { schema: { t: {} } }, code: 'VALIDATION_MISSING_FIELD', path: 'schema.tables.t.columns' },
    { name: 'wrong type in docs form', body: { schema: { t: { columns: { a: { type: 5 } } } } }, code: 'VALIDATION_INVALID_TYPE', path: 'schema.tables.t.columns.a.type' },
    { name: 'reserved table', body: { schema: { tables: { _t: { columns: {} } } } }, code: 'VALIDATION_RESERVED_TABLE', path: 'schema.tables._t' },
    { name: 'reserved drop', body: { schema: { _drop: ['_t'] } }, code: 'VALIDATION_RESERVED_TABLE', path: 'schema._drop[0]' },
    { name: 'table named like a route (config)', body: { schema: { tables: { config: { columns: {} } } } }, code: 'VALIDATION_RESERVED_TABLE', path: 'schema.tables.config' },
    { name: 'table named like a route (images, docs form)', body: { schema: { images: { columns: {} } } }, code: 'VALIDATION_RESERVED_TABLE', path: 'schema.tables.images' },
    { name: 'column starting with _', body: { schema: { tables: { t: { columns: { _secret: { type: 'text' } } } } } }, code: 'VALIDATION_INVALID_NAME', path: 'schema.tables.t.columns._secret' },
    { name: 'index on a column starting with _', body: { schema: { tables: { t: { columns: {}, indexes: { i: { columns: ['_x'] } } } } } }, code: 'VALIDATION_INVALID_NAME', path: 'schema.tables.t.indexes.i.columns[0]' },
    { name: 'bad table name', body: { schema: { tables: { 'a b': { columns: {} } } } }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.a b' },
    { name: 'too long a name', body: { schema: { tables: { ['a'.repeat(64)]: { columns: {} } } } }, code: 'VALIDATION_INVALID_SCHEMA', path: `schema.tables.${'a'.repeat(64)}` },
    { name: 'drop form with columns', body: { schema: { tables: { t: { _drop: true, columns: {} } } } }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.t.columns' },
    { name: '_drop: false', body: { schema: { tables: { t: { _drop: false, columns: {} } } } }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.t._drop' },
    { name: 'table kept and dropped', body: { schema: { tables: { t: { columns: {} } }, _drop: ['t'] } }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema._drop[0]' },
    { name: 'pk column nullable', body: { schema: { tables: { t: { columns: { a: { type: 'int', primaryKey: true, nullable: true } } } } } }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.t.columns.a.nullable' },
    { name: 'serial with default', body: { schema: { tables: { t: { columns: { a: { type: 'serial', default: '1' } } } } } }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.t.columns.a.default' },
    { name: 'unique hash index', body: { schema: { tables: { t: { columns: { a: { type: 'int' } }, indexes: { i: { columns: ['a'], unique: true, method: 'hash' } } } } } }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.t.indexes.i.unique' },
    { name: 'index column twice', body: { schema: { tables: { t: { columns: { a: { type: 'int' } }, indexes: { i: { columns: ['a', 'a'] } } } } } }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.t.indexes.i.columns' },
    { name: 'empty index columns', body: { schema: { tables: { t: { columns: {}, indexes: { i: { columns: [] } } } } } }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.t.indexes.i.columns' },
    { name: 'reference neither string nor object', body: { schema: { tables: { t: { columns: { a: { type: 'int', references: 5 } } } } } }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.t.columns.a.references' },
    { name: 'long reference missing column', body: { schema: { tables: { t: { columns: { a: { type: 'int', references: { table: 'u' } } } } } } }, code: 'VALIDATION_MISSING_FIELD', path: 'schema.tables.t.columns.a.references.column' },
    { name: 'long reference unknown key', body: { schema: { tables: { t: { columns: { a: { type: 'int', references: { table: 'u', column: 'id', onDelete: 'CASCADE', deferrable: true } } } } } } }, code: 'VALIDATION_INVALID_SCHEMA', path: 'schema.tables.t.columns.a.references.deferrable' },
    { name: 'name with a control character', body: { schema: {}, name: 'a\nb' }, code: 'VALIDATION_INVALID_SCHEMA', path: 'name' },
    { name: 'dry_run not boolean', body: { schema: {}, dry_run: 'yes' }, code: 'VALIDATION_INVALID_TYPE', path: 'dry_run' },
    { name: 'schema not an object', body: { schema: [] }, code: 'VALIDATION_INVALID_TYPE', path: 'schema' },
  ];
  for (const c of cases) {
    it(`${c.name} → ${c.code} at ${c.path}`, () => {
      const error = failure(c.body);
      expect(error.code).toBe(c.code);
      expect(paths(error)).toContain(c.path);
    });
  }

  it('names the reserved route word and says what to do instead', () => {
    const error = failure({ schema: { tables: { functions: { columns: { id: { type: 'uuid', primaryKey: true } } } } } });
    expect(error.message).toContain('"functions" is reserved');
    expect(error.message).toContain('/v1/{app_id}/functions');
    expect(error.remediation).toMatch(/Rename the table/);
  });

  it('still drops, references and drops columns of names an older build allowed', () => {
    const body = parse({ tables: { posts: { columns: { image_id: { type: 'uuid', references: 'images.id' } }, _dropColumns: ['_legacy'] } }, _drop: ['config'] });
    expect(body.schema.drop).toEqual(['config']);
    expect(body.schema.tables[0]!.columns[0]!.references?.table).toBe('images');
    expect(body.schema.tables[0]!.dropColumns).toEqual(['_legacy']);
  });

  it('lists every problem, not just the first', () => {
    const error = failure({ schema: { tables: { t: { columns: { a: { type: 'nope' }, b: { type: 'text', unique: 'yes' } } } } } });
    expect(paths(error)).toEqual(expect.arrayContaining(['schema.tables.t.columns.a.type', 'schema.tables.t.columns.b.unique']));
  });
});

describe('Postgres diagnostics for trusted callers', () => {
  it('survive the RPC wire but are never rendered to HTTP callers', () => {
    const pgError = Object.assign(new Error('column "x" of relation "t" contains null values'), { code: '23502', severity: 'ERROR', column: 'x' });
    const mapped = pgErrorToApiError(pgError);
    const back = ApiError.fromWire(structuredClone(mapped.toWire()));
    expect(back.pg).toMatchObject({ code: '23502', severity: 'ERROR', message: 'column "x" of relation "t" contains null values' });
    expect(JSON.stringify(back.toEnvelope())).not.toContain('contains null values');
  });
});
