/**
 * Pure parts of functions: the user-SQL guard over real libpg-query parse trees, the egress policy,
 * the deploy-time build (sucrase + es-module-lexer) and the caller gate of API.md §8.2.
 */
import { parse } from '@libpg-query/parser';
import { describe, expect, it } from 'vitest';
import { userSqlRefusal } from '../workers/data/sql-guard.ts';
import { buildFunction } from '../workers/functions/services/build.ts';
import { resolveCaller } from '../workers/functions/services/caller.ts';
import { egressDecision } from '../workers/shared/egress.ts';
import { ApiError } from '../workers/shared/errors.ts';

describe('the user-SQL guard', () => {
  const refused = [
    'RESET ROLE', 'SET ROLE butterbase_service', 'set local role butterbase_service', 'SET SESSION AUTHORIZATION DEFAULT',
    "SELECT set_config('request.jwt.claim.sub', 'x', true)", "select pg_catalog.set_config('role', 'postgres', false)",
    "select set_config(current_setting('x'), 'y', true)", 'DO $$ BEGIN NULL; END $$', "COPY notes TO PROGRAM 'cat'",
    'ALTER ROLE butterbase_user SUPERUSER', 'CREATE ROLE evil', 'DROP ROLE butterbase_anon', 'GRANT butterbase_service TO butterbase_user',
    "ALTER SYSTEM SET log_statement = 'all'", 'CREATE EXTENSION dblink', 'DISCARD ALL', 'COMMIT', 'BEGIN',
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'select 1'", 'select 1; select 2',
    "WITH x AS (SELECT set_config('role', 'a', true)) SELECT * FROM x", "ALTER DATABASE app SET role = 'postgres'",
  ];
  for (const sql of refused) {
    it(`refuses ${sql}`, async () => {
      expect(userSqlRefusal(await parse(sql))).not.toBeNull();
    });
  }
  const allowed = [
    'SELECT * FROM notes WHERE user_id = $1', "INSERT INTO notes (body) VALUES ('x') RETURNING id", "select set_config('myapp.flag', 'on', true)",
    'UPDATE notes SET body = $1 WHERE id = $2', "CREATE FUNCTION g() RETURNS int LANGUAGE sql AS 'select 1'",
  ];
  for (const sql of allowed) {
    it(`allows ${sql}`, async () => {
      expect(userSqlRefusal(await parse(sql))).toBeNull();
    });
  }
});

describe('the egress policy', () => {
  const api = 'http://127.0.0.1:8787';
  const cases: [string, string][] = [
    ['http://127.0.0.1:8787/health', 'platform'],
    ['http://127.0.0.1:9999/', 'refused'],
    ['http://10.0.0.1/', 'refused'],
    ['http://192.168.1.1/', 'refused'],
    ['http://172.16.0.5/', 'refused'],
    ['http://169.254.169.254/latest/meta-data/', 'refused'],
    ['http://[::1]/', 'refused'],
    ['http://[::ffff:127.0.0.1]/', 'refused'],
    ['http://[fe80::1]/', 'refused'],
    ['http://0.0.0.0/', 'refused'],
    ['http://2130706433/', 'refused'],
    ['http://localhost/', 'refused'],
    ['http://db.internal/', 'refused'],
    ['http://metadata.google.internal/', 'refused'],
    ['http://ep-cool.neon.tech/sql', 'refused'],
    ['ftp://example.com/', 'refused'],
    ['https://example.com/x', 'internet'],
    ['https://8.8.8.8/', 'internet'],
  ];
  for (const [url, kind] of cases) {
    it(`${url} → ${kind}`, () => {
      expect(egressDecision(new URL(url), api, ['ep-cool.neon.tech']).kind).toBe(kind);
    });
  }
});

describe('the deploy build', () => {
  it('strips types and finds either handler form', async () => {
    expect((await buildFunction('export default async function handler(req: Request): Promise<Response> { const n: number = 1; return new Response(String(n)) }')).code)
      .not.toContain(': number');
    expect((await buildFunction('export async function handler() { return new Response("x") }')).entry).toBe('handler');
  });
  it('names the line of a syntax error', async () => {
    const error = await buildFunction('export async function handler() {\n  return (\n}').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe('FUNCTION_BUILD_FAILED');
    expect((error as ApiError).details).toMatchObject({ line: 3 });
  });
  it('allows node: built-ins and refuses other imports by name', async () => {
    await expect(buildFunction('import { createHash } from "node:crypto";\nexport async function handler() { return new Response(createHash("sha1").digest("hex")) }')).resolves.toBeTruthy();
    await expect(buildFunction('import x from "https://esm.sh/x";\nexport async function handler() { return new Response(x) }')).rejects.toThrow(/https:\/\/esm\.sh\/x/);
  });
});

describe('the caller gate (API.md §8.2)', () => {
  const app = 'app_abcdefghijkl';
  const user = '0f7c6b2a-1d3e-4f5a-8b9c-0d1e2f3a4b5c';
  const appKey = { kind: 'service_key' as const, keyId: 'k', accountId: 'a', scopes: [`app:${app}`] };
  const codeOf = (work: () => unknown) => {
    try {
      work();
      return null;
    } catch (error) {
      return (error as ApiError).code;
    }
  };
  it('applies impersonation before the auth check', () => {
    expect(resolveCaller(appKey, app, user, true, 'required')).toMatchObject({ userId: user, caller: { type: 'service_key', scope: `app:${app}` } });
  });
  const cases: [string, () => unknown, string | null][] = [
    ['anonymous on required', () => resolveCaller({ kind: 'anonymous' }, app, null, true, 'required'), 'AUTH_REQUIRED'],
    ['anonymous on optional', () => resolveCaller({ kind: 'anonymous' }, app, null, true, 'optional'), null],
    ['an end user impersonating', () => resolveCaller({ kind: 'end_user', appId: app, userId: user, email: null, emailVerified: true }, app, user, true, 'none'), 'AUTH_IMPERSONATION_FORBIDDEN'],
    ['another app\'s key impersonating', () => resolveCaller({ ...appKey, scopes: ['app:app_zzzzzzzzzzzz'] }, app, user, true, 'none'), 'AUTH_IMPERSONATION_FORBIDDEN'],
    // API.md §8.2: only an app-scoped key of this app (or loopback) may impersonate, not an account-wide key.
    ['an account-wide key impersonating', () => resolveCaller({ ...appKey, scopes: ['*'] }, app, user, true, 'none'), 'AUTH_IMPERSONATION_FORBIDDEN'],
    ['an account-wide key without the header on required', () => resolveCaller({ ...appKey, scopes: ['*'] }, app, null, true, 'required'), null],
    ['a function that opted out', () => resolveCaller(appKey, app, user, false, 'none'), 'AUTH_IMPERSONATION_DISABLED'],
    ['a malformed user id', () => resolveCaller(appKey, app, 'bob', true, 'none'), 'VALIDATION_INVALID_TYPE'],
    ['another app\'s end user on required', () => resolveCaller({ kind: 'end_user', appId: 'app_zzzzzzzzzzzz', userId: user, email: null, emailVerified: true }, app, null, true, 'required'), 'AUTH_REQUIRED'],
  ];
  for (const [name, work, code] of cases) {
    it(`${name} → ${code ?? 'allowed'}`, () => expect(codeOf(work)).toBe(code));
  }
});
