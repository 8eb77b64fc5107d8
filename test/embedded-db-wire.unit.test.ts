/**
 * The direct PGlite driver's statement encoding is node-postgres's, byte for byte: `extendedQuery`
 * against PGlite's copy of node-postgres's serializer fed node-postgres's own parameter conversion —
 * what the node-postgres driver sent through PGlite's shim for the same statement.
 */
import { createRequire } from 'node:module';
import { protocol } from '@electric-sql/pglite';
import { describe, expect, it } from 'vitest';
import { extendedQuery } from '../embedded-db/wire.ts';

const { serialize } = protocol;
const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils.js') as { prepareValue: (value: unknown) => string | null };

/** node-postgres's messages for the statement, then (for a COPY) the CopyFail and Sync the direct driver adds. */
function nodePostgresBytes(query: string, params: unknown[], copyGuard: boolean): Buffer {
  return Buffer.concat([
    serialize.parse({ text: query }),
    serialize.bind({ values: params as never[], valueMapper: prepareValue as never }),
    serialize.describe({ type: 'P', name: '' }),
    serialize.execute({}),
    serialize.sync(),
    ...(copyGuard ? [serialize.copyFail('No source stream defined'), serialize.sync()] : []),
  ]);
}

const cases: { name: string; query: string; params: unknown[]; copy?: true }[] = [
  { name: 'no parameters', query: 'SELECT 1', params: [] },
  { name: 'an empty query', query: '', params: [] },
  { name: 'text, numbers, booleans and null', query: 'SELECT $1, $2, $3, $4, $5, $6', params: ['text', 42, -0.5, 1e21, true, null] },
  { name: 'non-ASCII text in the query and a parameter', query: "SELECT 'é✓😀', $1", params: ['héllo ✓ 😀'] },
  { name: 'empty strings', query: 'SELECT $1', params: [''] },
  { name: 'arrays: nested, with NULL, quotes, backslashes and objects', query: 'SELECT $1, $2', params: [[[1, 2], [3, null]], ['a "q"', 'back\\slash', null, { k: 1 }, true]] },
  { name: 'an object as JSON', query: 'SELECT $1::jsonb', params: [{ nested: { list: [1, 'two', null] }, s: 'x"y' }] },
  { name: 'many parameters', query: 'SELECT 1', params: Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? null : `value ${i}`)) },
  { name: 'a COPY (with the guard that ends copy-in mode)', query: 'copy t FROM STDIN', params: [], copy: true },
  { name: 'a statement merely naming copy (the guard is harmless)', query: "SELECT 'Copy' AS word", params: [], copy: true },
];

describe('extendedQuery', () => {
  for (const { name, query, params, copy } of cases) {
    it(`encodes ${name} as node-postgres does`, () => {
      expect(Buffer.from(extendedQuery({ query, params })).equals(nodePostgresBytes(query, params, copy === true))).toBe(true);
    });
  }
});

describe('extendedQuery with a prepared statement', () => {
  const statement = { query: 'SELECT $1::int + 1, $2', params: [41, 'é'] };
  it('parses under the name and binds to it the first time', () => {
    const expected = Buffer.concat([
      serialize.parse({ name: '_bb_stmt_7', text: statement.query }),
      serialize.bind({ statement: '_bb_stmt_7', values: statement.params as never[], valueMapper: prepareValue as never }),
      serialize.describe({ type: 'P', name: '' }),
      serialize.execute({}),
      serialize.sync(),
    ]);
    expect(Buffer.from(extendedQuery(statement, { name: '_bb_stmt_7', parse: true })).equals(expected)).toBe(true);
  });
  it('only binds to the name afterwards', () => {
    const expected = Buffer.concat([
      serialize.bind({ statement: '_bb_stmt_7', values: statement.params as never[], valueMapper: prepareValue as never }),
      serialize.describe({ type: 'P', name: '' }),
      serialize.execute({}),
      serialize.sync(),
    ]);
    expect(Buffer.from(extendedQuery(statement, { name: '_bb_stmt_7', parse: false })).equals(expected)).toBe(true);
  });
});
