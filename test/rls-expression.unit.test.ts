/**
 * The lexical safety check for RLS policy expressions (workers/control/rls/expression.ts):
 * what a policy may say, and every way text could escape `USING (…)` or do more than compute a boolean.
 */
import { describe, expect, it } from 'vitest';
import { findUnsafeExpression, maxExpressionLength, type UnsafeReason } from '../workers/control/rls/expression.ts';

describe('safe policy expressions pass', () => {
  const safe = [
    'user_id = current_user_id()::uuid',
    'author_id::text = current_user_id()',
    'published = true',
    'published IS TRUE AND deleted_at IS NULL',
    "status IN ('draft', 'published')",
    "title <> 'a;b -- not a comment /* nor this */ $$ nor this'",
    "note = E'it\\'s; fine'",
    'room_id IN (SELECT room_id FROM members WHERE user_id = current_user_id()::uuid)',
    'EXISTS (SELECT 1 FROM posts p WHERE p.id = post_id AND p.published)',
    'coalesce(is_public, false) OR owner = current_user_id()',
    "lower(email) = lower(current_setting('request.jwt.claims', true)::jsonb ->> 'email')",
    "created_at > now() - interval '7 days'",
    'price::numeric(10,2) > 0',
    'CAST(owner AS varchar(64)) = current_user_id()',
    'pg_catalog.lower(name) = name',
    'public.current_user_id() IS NOT NULL',
    "tags @> ARRAY['x']::text[]",
    'user_id = ANY (ARRAY(SELECT id FROM admins))',
    '"update" = 1',
    'CASE WHEN kind = 1 THEN true ELSE false END',
    "data ->> 'owner' = current_user_id()",
    '(a + 1) * 2 > 3',
    'score BETWEEN 1.5e2 AND .5',
    'x IS DISTINCT FROM (y)',
    "name SIMILAR TO ('a%')",
  ];
  for (const expression of safe) {
    it(expression, () => {
      expect(findUnsafeExpression(expression)).toBeNull();
    });
  }
});

describe('unsafe policy expressions are refused with a reason', () => {
  const cases: { expression: string; reason: UnsafeReason; token?: string }[] = [
    { expression: 'true; drop table x', reason: 'semicolon', token: ';' },
    { expression: "true; select pg_sleep(10)", reason: 'semicolon' },
    { expression: 'true -- and then', reason: 'comment', token: '--' },
    { expression: 'true /* hidden */', reason: 'comment', token: '/*' },
    { expression: 'a <--b', reason: 'comment', token: '--' },
    { expression: 'a =/*x*/ 1', reason: 'comment', token: '/*' },
    { expression: 'pg_sleep(1) is not null', reason: 'function', token: 'pg_sleep' },
    { expression: "set_config('app.role', 'service', false) = 'x'", reason: 'function', token: 'set_config' },
    { expression: "dblink('host=evil', 'select 1') is not null", reason: 'function', token: 'dblink' },
    { expression: "lo_import('/etc/passwd') > 0", reason: 'function', token: 'lo_import' },
    { expression: "pg_read_file('/etc/passwd') <> ''", reason: 'function', token: 'pg_read_file' },
    { expression: "nextval('s') > 0", reason: 'function', token: 'nextval' },
    { expression: '"pg_sleep"(1) IS NULL', reason: 'function', token: 'pg_sleep' },
    { expression: 'pg_catalog.pg_sleep (1) IS NULL', reason: 'function', token: 'pg_sleep' },
    { expression: 'auth.lower(x) = x', reason: 'function' },
    { expression: "query_to_xml('select 1', true, true, '') IS NULL", reason: 'function', token: 'query_to_xml' },
    { expression: 'EXISTS (SELECT 1 FROM generate_series(1, 1000000000))', reason: 'function', token: 'generate_series' },
    { expression: '$$x$$ = name', reason: 'dollar_quote' },
    { expression: 'id = $1', reason: 'dollar_quote' },
    { expression: "U&'\\0070g_sleep' = name", reason: 'unicode_escape' },
    { expression: 'u&"d\\0061ta" = 1', reason: 'unicode_escape' },
    { expression: 'true) WITH CHECK (true', reason: 'unbalanced', token: ')' },
    { expression: 'true) OR (true', reason: 'unbalanced' },
    { expression: '(true', reason: 'unbalanced' },
    { expression: "name = 'unterminated", reason: 'unterminated' },
    { expression: 'name = "unterminated', reason: 'unterminated' },
    { expression: "note = E'escaped quote \\' still open", reason: 'unterminated' },
    { expression: 'EXISTS (DELETE FROM posts RETURNING 1)', reason: 'statement_keyword', token: 'delete' },
    { expression: 'EXISTS (WITH x AS (UPDATE posts SET a = 1 RETURNING 1) SELECT 1 FROM x)', reason: 'statement_keyword', token: 'update' },
    { expression: 'EXISTS (SELECT 1 FROM posts FOR UPDATE)', reason: 'statement_keyword', token: 'update' },
    { expression: 'EXISTS (SELECT 1 FROM posts FOR SHARE)', reason: 'statement_keyword', token: 'share' },
    { expression: 'EXISTS (WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT 1 FROM r)', reason: 'statement_keyword', token: 'recursive' },
    { expression: 'true \\g', reason: 'character', token: '\\' },
    { expression: 'a = 1 \u0000', reason: 'character' },
    { expression: '', reason: 'empty' },
    { expression: '   ', reason: 'empty' },
    { expression: `a = '${'x'.repeat(maxExpressionLength)}'`, reason: 'too_long' },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.expression.slice(0, 60))} → ${c.reason}`, () => {
      const result = findUnsafeExpression(c.expression);
      expect(result?.reason).toBe(c.reason);
      expect(result?.message).toEqual(expect.any(String));
      if (c.token !== undefined) expect(result?.token).toBe(c.token);
    });
  }
});
