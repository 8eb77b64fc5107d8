/**
 * Pure pieces of the foundation: the routing table, CORS decisions, zod → field-path errors,
 * SQLSTATE → error code mapping, migration splitting and the error envelope.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { corsHeaders, originAllowed, preflightHeaders } from '../workers/router/cors.ts';
import { appSubdomainOf, classify, classifyPath } from '../workers/router/routes.ts';
import { ApiError, documentationUrl, errorCodes, toApiError } from '../workers/shared/errors.ts';
import { splitStatements } from '../workers/shared/migrator.ts';
import { pgErrorToApiError } from '../workers/shared/pg-errors.ts';
import { decodeAppGate, encodeAppGate } from '../workers/shared/http.ts';
import { decodePrincipal, encodePrincipal } from '../workers/shared/principal.ts';
import { parseWith } from '../workers/shared/validation.ts';

describe('routing table', () => {
  const app = 'app_abcdefghijkl';
  const cases: [string, unknown][] = [
    ['/health', { kind: 'health', ready: false }],
    ['/health/ready', { kind: 'health', ready: true }],
    ['/init', { kind: 'forward', target: 'CONTROL', family: 'platform' }],
    ['/apps/app_abcdefghijkl/status', { kind: 'forward', target: 'CONTROL', appId: null }],
    ['/api-keys/123', { kind: 'forward', target: 'CONTROL' }],
    ['/mcp', { kind: 'forward', target: 'MCP' }],
    [`/v1/${app}/schema/apply`, { kind: 'forward', target: 'CONTROL', appId: app, family: 'app', dataPlane: false }],
    [`/v1/${app}/config/pause`, { kind: 'forward', target: 'CONTROL', dataPlane: false }],
    [`/v1/${app}/admin/auth/users`, { kind: 'forward', target: 'AUTH', family: 'app' }],
    [`/v1/${app}/posts`, { kind: 'forward', target: 'DATA', appId: app, dataPlane: true }],
    [`/v1/${app}/posts/42`, { kind: 'forward', target: 'DATA', dataPlane: true }],
    [`/auth/${app}/login`, { kind: 'forward', target: 'AUTH', appId: app, family: 'auth', dataPlane: false }],
    [`/v1/${app}/fn/hello`, { kind: 'forward', target: 'FUNCTIONS', appId: app, dataPlane: true }],
    [`/v1/${app}/webhook/stripe`, { kind: 'forward', target: 'FUNCTIONS', dataPlane: true }],
    [`/v1/${app}/images`, { kind: 'unavailable', feature: 'ai', dataPlane: true }],
    [`/v1/${app}/functions`, { kind: 'forward', target: 'FUNCTIONS', dataPlane: false }],
    [`/storage/${app}/upload`, { kind: 'forward', target: 'STORAGE', appId: app, family: 'app', dataPlane: true }],
    [`/storage/${app}/download/0f7c6b2a-1d3e-4f5a-8b9c-0d1e2f3a4b5c`, { kind: 'forward', target: 'STORAGE', appId: app, dataPlane: true }],
    ['/s3/butterbase-storage/app_abcdefghijkl/service/x.png', { kind: 'object_store', target: 'STORAGE' }],
    ['/s3/butterbase-storage', { kind: 'object_store', target: 'STORAGE' }],
    ['/v1/regions', { kind: 'forward', target: 'CONTROL', appId: null }],
    [`/v1/apps/${app}/move`, { kind: 'unavailable', feature: 'region moves', family: 'platform' }],
    [`/v1/apps/${app}/migrations/active`, { kind: 'unavailable', feature: 'region moves' }],
    ['/v1/source-replicas', { kind: 'unavailable', feature: 'region moves' }],
    ['/v1/not_an_app/posts', { kind: 'not_found' }],
    [`/v1/${app}`, { kind: 'not_found' }],
    ['/', { kind: 'not_found' }],
  ];
  for (const [path, expected] of cases) {
    it(path, () => expect(classifyPath(path)).toMatchObject(expected as object));
  }
});

describe('routing by host', () => {
  const hosts = { appsDomain: 'localhost' };
  it('sends {subdomain}.{apps domain} (any port, any case) to the app host', () => {
    expect(classify(new URL('http://blog.localhost:8787/x'), 'blog.localhost:8787', hosts)).toEqual({ kind: 'app_host', subdomain: 'blog' });
    expect(classify(new URL('http://127.0.0.1:8787/'), 'My-Blog.LOCALHOST:8787', hosts)).toEqual({ kind: 'app_host', subdomain: 'my-blog' });
    expect(appSubdomainOf('shop.butterbase.dev', { appsDomain: 'butterbase.dev' })).toBe('shop');
  });
  it('keeps the API host, reserved labels, nested labels and other domains on path routing', () => {
    for (const host of ['127.0.0.1:8787', 'localhost:8787', 'api.localhost:8787', 'a.b.localhost', 'blog.localhost.evil.com', '-x.localhost', null]) {
      expect(classify(new URL(`http://127.0.0.1:8787/v1/app_abcdefghijkl/posts`), host, hosts)).toMatchObject({ kind: 'forward', target: 'DATA' });
    }
  });
  it('does nothing with hosts when no apps domain is configured', () => {
    expect(appSubdomainOf('blog.localhost', { appsDomain: '' })).toBeNull();
  });
});

describe('CORS', () => {
  it('allows listed origins (ignoring a trailing slash) and * ', () => {
    expect(originAllowed('https://a.example', ['https://a.example/'])).toBe(true);
    expect(originAllowed('https://b.example', ['https://a.example'])).toBe(false);
    expect(originAllowed('https://b.example', ['*'])).toBe(true);
  });

  // Never credentials with a wildcard or a reflected origin: only an explicitly listed origin is echoed.
  const cases: { name: string; origin: string | null; allowed: string[] | null; credentials?: boolean; allowOrigin: string | undefined; allowCredentials: string | undefined }[] = [
    { name: 'a platform route', origin: 'https://any.example', allowed: null, allowOrigin: '*', allowCredentials: undefined },
    { name: 'an app left at the default ["*"]', origin: 'https://any.example', allowed: ['*'], allowOrigin: '*', allowCredentials: undefined },
    { name: 'an explicitly listed origin', origin: 'https://a.example', allowed: ['https://a.example'], allowOrigin: 'https://a.example', allowCredentials: 'true' },
    { name: 'a listed origin next to "*"', origin: 'https://a.example', allowed: ['*', 'https://a.example'], allowOrigin: 'https://a.example', allowCredentials: 'true' },
    { name: 'an unlisted origin next to "*"', origin: 'https://b.example', allowed: ['*', 'https://a.example'], allowOrigin: '*', allowCredentials: undefined },
    { name: 'a listed origin of an app that turned credentials off', origin: 'https://a.example', allowed: ['https://a.example'], credentials: false, allowOrigin: 'https://a.example', allowCredentials: undefined },
    { name: 'an origin the app does not list', origin: 'https://evil.example', allowed: ['https://a.example'], allowOrigin: undefined, allowCredentials: undefined },
    { name: 'the literal origin "null"', origin: 'null', allowed: ['https://a.example'], allowOrigin: undefined, allowCredentials: undefined },
  ];
  for (const c of cases) {
    it(`${c.name} → Allow-Origin ${c.allowOrigin ?? '(none)'}, Allow-Credentials ${c.allowCredentials ?? '(none)'}`, () => {
      const headers = corsHeaders(c.origin, c.allowed, { allowCredentials: c.credentials });
      expect(headers['access-control-allow-origin']).toBe(c.allowOrigin);
      expect(headers['access-control-allow-credentials']).toBe(c.allowCredentials);
      expect(headers.vary).toBe('Origin');
      if (headers['access-control-allow-credentials']) expect(headers['access-control-allow-origin']).not.toBe('*');
    });
  }
  it('adds nothing without an Origin header', () => {
    expect(corsHeaders(null, ['*'])).toEqual({});
    expect(corsHeaders(null, null)).toEqual({});
  });
  it("answers a preflight with the app's methods and headers, or the defaults when it set none", () => {
    expect(preflightHeaders('x-custom')).toMatchObject({ 'access-control-allow-methods': 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS', 'access-control-allow-headers': 'x-custom' });
    expect(preflightHeaders(null)['access-control-allow-headers']).toContain('authorization');
    expect(preflightHeaders('x-custom', { allowedMethods: [], allowedHeaders: [] })['access-control-allow-headers']).toBe('x-custom');
    expect(preflightHeaders('x-custom', { allowedMethods: ['GET', 'POST'], allowedHeaders: ['authorization', 'x-client'] })).toMatchObject({
      'access-control-allow-methods': 'GET, POST', 'access-control-allow-headers': 'authorization, x-client',
    });
  });
});

describe('validation errors', () => {
  const schema = z.object({ name: z.string(), nested: z.object({ count: z.number().int() }).strict() }).strict();
  const failure = (input: unknown) => {
    try {
      parseWith(schema, input);
    } catch (error) {
      return error as ApiError;
    }
    throw new Error('expected a failure');
  };
  it('names a missing field with VALIDATION_MISSING_FIELD', () => {
    const error = failure({ nested: { count: 1 } });
    expect(error.code).toBe('VALIDATION_MISSING_FIELD');
    expect(error.details).toEqual([{ path: 'name', message: 'required field is missing', code: 'missing' }]);
  });
  it('names a wrongly typed field with VALIDATION_INVALID_TYPE and its nested path', () => {
    const error = failure({ name: 'x', nested: { count: 'three' } });
    expect(error.code).toBe('VALIDATION_INVALID_TYPE');
    expect((error.details as { path: string }[])[0]!.path).toBe('nested.count');
  });
  it('names each unknown key', () => {
    const error = failure({ name: 'x', nested: { count: 1, extra: true }, other: 1 });
    expect(error.code).toBe('VALIDATION_INVALID_SCHEMA');
    expect((error.details as { path: string }[]).map((d) => d.path).sort()).toEqual(['nested.extra', 'other']);
  });
});

describe('SQLSTATE mapping', () => {
  const pg = (code: string, message = 'x', extra: Record<string, unknown> = {}) => Object.assign(new Error(message), { code, ...extra });
  const cases: [Error, string, number][] = [
    [pg('23505', 'duplicate', { constraint: 'posts_slug_key' }), 'VALIDATION_UNIQUE_CONSTRAINT_VIOLATION', 409],
    [pg('23503'), 'VALIDATION_FOREIGN_KEY_VIOLATION', 400],
    [pg('23514'), 'VALIDATION_CHECK_CONSTRAINT_VIOLATION', 400],
    [pg('23502', 'null value in column "title" violates not-null constraint'), 'VALIDATION_NOT_NULL_VIOLATION', 400],
    [pg('23P01'), 'VALIDATION_CONSTRAINT_VIOLATION', 400],
    [pg('22P02', 'invalid input syntax for type uuid'), 'VALIDATION_INVALID_INPUT', 400],
    [pg('42501', 'new row violates row-level security policy for table "posts"'), 'AUTH_RLS_POLICY_VIOLATION', 403],
    [pg('42501', 'permission denied for table posts'), 'AUTH_INSUFFICIENT_PERMISSIONS', 403],
    [pg('42P01'), 'VALIDATION_TABLE_NOT_FOUND', 404],
    [pg('42703'), 'VALIDATION_COLUMN_NOT_FOUND', 400],
    [pg('42P17'), 'RLS_INVALID_EXPRESSION', 400],
    [pg('3D000'), 'APP_NOT_READY', 503],
    [pg('40001'), 'RESOURCE_CONFLICT', 409],
    [pg('42601'), 'INTERNAL_ERROR', 500],
    [pg('08006'), 'EXTERNAL_DB_ERROR', 502],
    [pg('28P01'), 'EXTERNAL_DB_ERROR', 502],
    [pg('53300'), 'EXTERNAL_DB_ERROR', 502],
    [pg('57P03'), 'EXTERNAL_DB_ERROR', 502],
    [new Error('fetch failed'), 'EXTERNAL_DB_ERROR', 502],
  ];
  for (const [error, code, status] of cases) {
    it(`${(error as { code?: string }).code ?? 'network'} → ${code}`, () => {
      const mapped = pgErrorToApiError(error);
      expect(mapped.code).toBe(code);
      expect(mapped.status).toBe(status);
      // An unavailable database is worth retrying; the answer says when.
      expect(mapped.headers?.['retry-after']).toBe(code === 'EXTERNAL_DB_ERROR' ? '5' : undefined);
    });
  }
  it('keeps the NOT NULL column for the caller and the SQL detail private', () => {
    const mapped = pgErrorToApiError(pg('23502', 'null value in column "title" of relation "posts" violates not-null constraint'));
    expect(mapped.details).toMatchObject({ column: 'title' });
    expect(JSON.stringify(mapped.toEnvelope())).not.toContain('relation "posts"');
  });
});

describe('error envelope', () => {
  it('renders code, message, remediation and the kebab-case documentation URL; the status comes from the table', () => {
    const error = new ApiError('APP_PAUSED', 'paused', { details: { paused_reason: 'x' } });
    expect(error.status).toBe(errorCodes.APP_PAUSED.status);
    expect(error.toEnvelope()).toEqual({
      error: { code: 'APP_PAUSED', message: 'paused', remediation: errorCodes.APP_PAUSED.remediation, documentation_url: 'https://docs.butterbase.ai/errors#app-paused', details: { paused_reason: 'x' } },
    });
    expect(documentationUrl('VALIDATION_INVALID_SCHEMA')).toBe('https://docs.butterbase.ai/errors#validation-invalid-schema');
  });
  it('hides unexpected errors behind INTERNAL_ERROR, keeping the detail internal', () => {
    const error = toApiError(new TypeError('secret stack detail'));
    expect(error.code).toBe('INTERNAL_ERROR');
    expect(JSON.stringify(error.toEnvelope())).not.toContain('secret');
    expect(error.internal).toContain('secret stack detail');
  });
  it('survives an RPC round trip', () => {
    const wire = new ApiError('QUOTA_RATE_LIMIT', 'slow down', { headers: { 'retry-after': '3' } }).toWire();
    const back = toApiError(structuredClone(wire));
    expect(back).toBeInstanceOf(ApiError);
    expect(back.code).toBe('QUOTA_RATE_LIMIT');
    expect(back.headers).toEqual({ 'retry-after': '3' });
  });
});

describe('principal header', () => {
  it('round-trips and treats garbage as anonymous', () => {
    const p = { kind: 'service_key' as const, keyId: 'k', accountId: 'a', scopes: ['*'] };
    expect(decodePrincipal(encodePrincipal(p))).toEqual(p);
    expect(decodePrincipal('!!!')).toEqual({ kind: 'anonymous' });
    expect(decodePrincipal(btoa(JSON.stringify({ kind: 'root' })))).toEqual({ kind: 'anonymous' });
  });

  it('carries text beyond Latin-1 (an email, a pause reason) in both internal headers', () => {
    const user = { kind: 'end_user' as const, appId: 'app_abcdefghijkl', userId: 'u', email: 'zoë@例え.jp', emailVerified: true };
    expect(decodePrincipal(encodePrincipal(user))).toEqual(user);
    const app = {
      id: 'app_abcdefghijkl', accountId: 'a', name: 'n', subdomain: 'n', provisioningStatus: 'ready' as const, paused: true,
      pausedReason: 'Wartung — zurück um 10:00 ☕', allowedOrigins: ['*'], accessMode: 'public' as const, rateLimitPerMinute: 100,
      cors: { allowedMethods: [], allowedHeaders: [], allowCredentials: true },
    };
    expect(decodeAppGate(encodeAppGate(app))).toEqual(app);
  });
});

describe('migration files', () => {
  it('splits on statement breakpoints and drops comment-only chunks', () => {
    const sql = `-- header\nCREATE TABLE a (x int);\n--> statement-breakpoint\n-- only a comment\n--> statement-breakpoint\nDO $$ BEGIN PERFORM 1; END $$`;
    expect(splitStatements(sql)).toEqual(['-- header\nCREATE TABLE a (x int);', 'DO $$ BEGIN PERFORM 1; END $$']);
  });
});
