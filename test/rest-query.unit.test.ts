/**
 * The data API's query grammar and SQL builder (workers/data/query/*): what each query string means,
 * what it is refused with, and that no user string ever reaches the SQL text.
 */
import { describe, expect, it } from 'vitest';
import type { CatalogColumn, CatalogTable } from '../workers/shared/catalog.ts';
import { ApiError } from '../workers/shared/errors.ts';
import { parseInList, parsePrefer, parseRestQuery, type RestQuery } from '../workers/data/query/grammar.ts';
import {
  buildDelete, buildGetByKey, buildInsert, buildSelect, buildUpdate, checkQuery, columnValue, pickColumns, quoteIdent,
} from '../workers/data/query/sql.ts';

function column(name: string, udt: string, extra: Partial<CatalogColumn> = {}): CatalogColumn {
  return { name, type: udt, udt, nullable: true, default: null, identity: '', generated: '', isArray: false, ...extra };
}

const posts: CatalogTable = {
  name: 'posts',
  columns: [
    column('id', 'int4'), column('title', 'text'), column('views', 'int8'), column('published', 'bool'),
    column('meta', 'jsonb'), column('raw', 'json'), column('tags', '_text', { isArray: true }), column('embedding', 'vector'),
    column('search', 'tsvector'), column('slug', 'text', { generated: 's' }), column('seq', 'int4', { identity: 'a' }),
  ],
  primaryKey: ['id'],
  rlsEnabled: false,
  rlsForced: false,
};

const list = { reserved: ['select', 'order', 'limit', 'offset'] as const, filters: true, route: 'GET /{table}' };

function parse(qs: string, allowed: Parameters<typeof parseRestQuery>[1] = list): RestQuery {
  return parseRestQuery(new URLSearchParams(qs), allowed);
}

function refusal(work: () => unknown): ApiError {
  try {
    work();
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('expected an ApiError');
}

describe('filters', () => {
  const cases: [string, string, unknown[]][] = [
    ['title=eq.hello', '"title" = $1', ['hello']],
    ['title=neq.hello', '"title" <> $1', ['hello']],
    ['views=gt.5', '"views" > $1', ['5']],
    ['views=gte.5', '"views" >= $1', ['5']],
    ['views=lt.5', '"views" < $1', ['5']],
    ['views=lte.5', '"views" <= $1', ['5']],
    ['title=like.%25foo%25', '"title" LIKE $1', ['%foo%']],
    ['title=ilike.FOO%25', '"title" ILIKE $1', ['FOO%']],
    ['views=like.1%25', '"views"::text LIKE $1', ['1%']],
    ['title=fts.cats jumping', `to_tsvector('english', "title") @@ plainto_tsquery('english', $1)`, ['cats jumping']],
    ['search=fts.cats', `"search" @@ plainto_tsquery('english', $1)`, ['cats']],
    ['meta=fts.cats', `to_tsvector('english', "meta"::text) @@ plainto_tsquery('english', $1)`, ['cats']],
    ['title=is.null', '"title" IS NULL', []],
    ['published=is.true', '"published" IS TRUE', []],
    ['published=is.false', '"published" IS FALSE', []],
    ['id=in.(1,2,3)', '"id" IN ($1, $2, $3)', ['1', '2', '3']],
    ['title=in.( a , "b,c", "say \\"hi\\"" )', '"title" IN ($1, $2, $3)', ['a', 'b,c', 'say "hi"']],
    ['id=in.()', 'false', []],
    ['title=eq.', '"title" = $1', ['']],
    ['title=eq.a.b.c', '"title" = $1', ['a.b.c']],
  ];
  for (const [qs, where, params] of cases) {
    it(`${qs} → ${where}`, () => {
      const query = parse(qs);
      checkQuery(posts, query);
      const statement = buildSelect(posts, query);
      expect(statement.query).toBe(`SELECT * FROM "public"."posts" WHERE ${where}`);
      expect(statement.params).toEqual(params);
    });
  }

  it('ANDs several filters, including two on one column, in order', () => {
    const statement = buildSelect(posts, parse('views=gt.1&views=lt.9&title=eq.x'));
    expect(statement.query).toBe('SELECT * FROM "public"."posts" WHERE "views" > $1 AND "views" < $2 AND "title" = $3');
    expect(statement.params).toEqual(['1', '9', 'x']);
  });

  const refused: [string, string][] = [
    ['title=hello', 'no dot'],
    ['title=equals.hello', 'unknown op'],
    ['title=EQ.hello', 'ops are lowercase'],
    ['published=is.maybe', 'is takes null/true/false only'],
    ['published=is.NULL', 'is value is lowercase'],
    ['id=in.1,2', 'in needs parentheses'],
    ['id=in.(1,,2)', 'empty in item'],
    ['id=in.(1,2,)', 'trailing comma'],
    ['id=in.("a)', 'unterminated quote'],
    ['id=in.("a"b)', 'text after quoted item'],
    ['id=in.(a"b)', 'stray quote'],
    ['Title=eq.x', 'uppercase column'],
    ['ti tle=eq.x', 'space in column'],
    ['title;drop table posts=eq.x', 'statement in column'],
    ['"title"=eq.x', 'quoted column'],
  ];
  for (const [qs, why] of refused) {
    it(`refuses ${qs} (${why}) with details.invalidFilters`, () => {
      const error = refusal(() => parse(qs));
      expect(error.code).toBe('VALIDATION_INVALID_SCHEMA');
      expect(error.status).toBe(400);
      const name = [...new URLSearchParams(qs).keys()][0];
      expect((error.details as { invalidFilters: string[] }).invalidFilters).toEqual([name]);
    });
  }

  it('lists every bad filter at once', () => {
    const error = refusal(() => parse('a=x&b=nope.1&c=eq.fine&d=is.maybe'));
    expect((error.details as { invalidFilters: string[] }).invalidFilters).toEqual(['a', 'b', 'd']);
    expect((error.details as { issues: unknown[] }).issues).toHaveLength(3);
  });

  const typeRefusals: [string, string][] = [
    ['nope=eq.1', 'unknown column'],
    ['title=is.true', 'is.true on text'],
    ['raw=eq.{}', 'json has no equality'],
    ['raw=in.(1)', 'json has no equality'],
  ];
  for (const [qs, why] of typeRefusals) {
    it(`checkQuery refuses ${qs} (${why}) as an invalid filter`, () => {
      const error = refusal(() => checkQuery(posts, parse(qs)));
      expect(error.code).toBe('VALIDATION_INVALID_SCHEMA');
      expect((error.details as { invalidFilters: string[] }).invalidFilters).toEqual([qs.split('=')[0]]);
    });
  }

  it('allows like and is.null on json, and comparisons on jsonb', () => {
    expect(() => checkQuery(posts, parse('raw=like.%25x%25&raw=is.null&meta=eq.{}'))).not.toThrow();
  });
});

describe('in lists', () => {
  it('parses quoted and unquoted items', () => {
    expect(parseInList('(1, 2 ,3)')).toEqual(['1', '2', '3']);
    expect(parseInList('("",x)')).toEqual(['', 'x']);
    expect(parseInList('(" padded ")')).toEqual([' padded ']);
    expect(parseInList('("a\\\\b")')).toEqual(['a\\b']);
    expect(parseInList('( )')).toEqual([]);
  });
});

describe('select, order, limit, offset', () => {
  it('builds select lists, multi-column order, limit and offset as parameters', () => {
    const query = parse('select=id, title&order=views.desc,title,id.asc.nullsfirst&limit=10&offset=20&published=is.true');
    checkQuery(posts, query);
    const statement = buildSelect(posts, query);
    expect(statement.query).toBe(
      'SELECT "id", "title" FROM "public"."posts" WHERE "published" IS TRUE ORDER BY "views" DESC, "title" ASC, "id" ASC NULLS FIRST LIMIT $1 OFFSET $2',
    );
    expect(statement.params).toEqual([10, 20]);
  });

  it('treats select=* and an empty select as every column', () => {
    expect(buildSelect(posts, parse('select=*')).query).toBe('SELECT * FROM "public"."posts"');
    expect(buildSelect(posts, parse('select=')).query).toBe('SELECT * FROM "public"."posts"');
  });

  it('accepts limit=0 and offset=0', () => {
    const statement = buildSelect(posts, parse('limit=0&offset=0'));
    expect(statement.params).toEqual([0, 0]);
  });

  const refused: [string, string][] = [
    ['select=id,(select 1)', 'subquery in select'],
    ['select=id;drop table posts', 'statement in select'],
    ['select=count(*)', 'function in select'],
    ['select=author(name)', 'embedding'],
    ['select=t:title', 'alias'],
    ['select=title::int', 'cast'],
    ['order=views.down', 'unknown direction'],
    ['order=views.desc.asc', 'two directions'],
    ['order=views;drop table posts', 'statement in order'],
    ['order=random()', 'function in order'],
    ['order=', 'empty order'],
    ['order=1', 'ordinal'],
    ['limit=-1', 'negative limit'],
    ['limit=ten', 'garbage limit'],
    ['limit=1.5', 'fractional limit'],
    ['limit=1 union select 1', 'injection in limit'],
    ['offset=-5', 'negative offset'],
    ['offset=', 'empty offset'],
    ['limit=1&limit=2', 'repeated limit'],
    ['limit=99999999999999999', 'huge limit'],
  ];
  for (const [qs, why] of refused) {
    it(`refuses ${qs} (${why})`, () => {
      const error = refusal(() => parse(qs));
      expect(error.code).toBe('VALIDATION_INVALID_SCHEMA');
      expect(error.details).toMatchObject({ issues: [expect.objectContaining({ path: expect.stringMatching(/^query\.(select|order|limit|offset)$/) })] });
    });
  }

  it('refuses unknown select and order columns with VALIDATION_COLUMN_NOT_FOUND', () => {
    const error = refusal(() => checkQuery(posts, parse('select=id,nope&order=zzz.desc')));
    expect(error.code).toBe('VALIDATION_COLUMN_NOT_FOUND');
    expect(error.details).toEqual({ table: 'posts', columns: ['nope', 'zzz'] });
  });

  it('refuses parameters a route does not take', () => {
    const post = { reserved: ['select'] as const, filters: false, route: 'POST /{table}' };
    expect(refusal(() => parse('limit=1', post)).message).toMatch(/"limit" is not accepted on POST/);
    expect((refusal(() => parse('id=eq.1', post)).details as { invalidFilters: string[] }).invalidFilters).toEqual(['id']);
    expect(() => parse('select=id', post)).not.toThrow();
  });
});

describe('writes', () => {
  it('builds a bulk insert over the union of columns with DEFAULT for missing ones', () => {
    const rows = [pickColumns(posts, { title: 'a', views: 1 }, '[0]'), pickColumns(posts, { published: true, extra: 1 }, '[1]')];
    expect(rows[1]!.dropped).toEqual(['extra']);
    const statement = buildInsert(posts, rows, null);
    expect(statement.query).toBe('INSERT INTO "public"."posts" ("title", "views", "published") VALUES ($1, $2, DEFAULT), (DEFAULT, DEFAULT, $3) RETURNING *');
    expect(statement.params).toEqual(['a', 1, true]);
  });

  it('omits RETURNING for return=minimal and narrows it with select', () => {
    const row = pickColumns(posts, { title: 'a' }, '');
    expect(buildInsert(posts, [row], 'none').query).not.toMatch(/RETURNING/);
    expect(buildInsert(posts, [row], ['id']).query).toMatch(/RETURNING "id"$/);
  });

  it('updates and deletes by key or by filters, never without a WHERE', () => {
    const row = pickColumns(posts, { title: 'b' }, '');
    expect(buildUpdate(posts, row, { key: { id: '7' } }, null)).toEqual({ query: 'UPDATE "public"."posts" SET "title" = $1 WHERE "id" = $2 RETURNING *', params: ['b', '7'] });
    expect(buildUpdate(posts, row, { filters: parse('views=lt.3').filters }, 'none').query).toBe('UPDATE "public"."posts" SET "title" = $1 WHERE "views" < $2');
    expect(buildDelete(posts, { key: { id: '7' } }, 'none')).toEqual({ query: 'DELETE FROM "public"."posts" WHERE "id" = $1', params: ['7'] });
    expect(refusal(() => buildDelete(posts, { filters: [] }, 'none')).code).toBe('VALIDATION_INVALID_SCHEMA');
    expect(refusal(() => buildUpdate(posts, row, { filters: [] }, 'none')).code).toBe('VALIDATION_INVALID_SCHEMA');
  });

  it('needs a single-column primary key for /{id}', () => {
    const noKey = { ...posts, primaryKey: [] };
    const composite = { ...posts, primaryKey: ['id', 'title'] };
    expect(refusal(() => buildGetByKey(noKey, { id: '1' }, null)).message).toMatch(/has no primary key/);
    expect(refusal(() => buildGetByKey(composite, { id: '1' }, null)).message).toMatch(/composite primary key \(id, title\)/);
  });

  it('refuses writes to generated and identity-always columns', () => {
    expect(refusal(() => pickColumns(posts, { slug: 'x' }, '')).code).toBe('VALIDATION_INVALID_SCHEMA');
    expect(refusal(() => pickColumns(posts, { seq: 1 }, '[2]')).details).toEqual([expect.objectContaining({ path: '[2].seq' })]);
  });

  it('sends json as JSON text, vectors as [..], arrays of other columns to the driver', () => {
    const byName = (name: string) => posts.columns.find((c) => c.name === name)!;
    expect(columnValue(byName('meta'), [1, 2])).toBe('[1,2]');
    expect(columnValue(byName('meta'), { a: 1 })).toBe('{"a":1}');
    expect(columnValue(byName('meta'), 5)).toBe('5');
    expect(columnValue(byName('meta'), '{"a":1}')).toBe('{"a":1}');
    expect(columnValue(byName('meta'), null)).toBeNull();
    expect(columnValue(byName('embedding'), [1, 2, 3])).toBe('[1,2,3]');
    expect(columnValue(byName('tags'), ['a', 'b'])).toEqual(['a', 'b']);
  });
});

describe('identifiers', () => {
  it('never quotes a non-identifier', () => {
    for (const bad of ['a"b', 'a b', 'A', '1a', '', 'a;b', 'a'.repeat(64)]) {
      expect(refusal(() => quoteIdent(bad)).code).toBe('VALIDATION_INVALID_NAME');
    }
    expect(quoteIdent('_ok_1')).toBe('"_ok_1"');
  });

  it('keeps every filter value out of the SQL text', () => {
    const evil = `x'); DROP TABLE posts; --`;
    const query = parse(new URLSearchParams({ title: `eq.${evil}`, views: `in.(1,${evil.replaceAll(',', '')})` }).toString());
    const statement = buildSelect(posts, query);
    expect(statement.query).not.toContain('DROP');
    expect(statement.params).toContain(evil);
  });
});

describe('Prefer', () => {
  const cases: [string | null, string | null][] = [
    [null, null],
    ['return=minimal', 'minimal'],
    ['return=representation', 'representation'],
    ['count=exact, return=minimal', 'minimal'],
    ['Return = Minimal', 'minimal'],
    ['return=headers-only', null],
    ['handling=strict', null],
  ];
  for (const [header, expected] of cases) {
    it(`${header ?? '(none)'} → ${expected ?? 'default'}`, () => expect(parsePrefer(header)).toBe(expected));
  }
});
