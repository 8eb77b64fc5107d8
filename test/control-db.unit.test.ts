/**
 * The control plane's edges, without a platform: the one error boundary every control-plane query
 * passes (driver errors → stable codes, detail kept internal; the real Neon driver against a dead
 * endpoint), NUL refused at the validation edge with field paths, audit text made storable, the ISO
 * dates Postgres accepts, and the config bodies the SDK and CLI send.
 */
import { neon, neonConfig } from '@neondatabase/serverless';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { storableEventData, storableText } from '../workers/shared/audit.ts';
import { controlDbError, guardSql, isUniqueViolation } from '../workers/shared/control-db.ts';
import { ApiError, toApiError } from '../workers/shared/errors.ts';
import { auditLogQuery, isoDate } from '../workers/shared/schemas/audit.ts';
import { corsBody, storageBody } from '../workers/shared/schemas/config.ts';
import { assertNoNul, parseJsonText, parseWith } from '../workers/shared/validation.ts';
import { freePort } from '../scripts/lib/platform.ts';

const pg = (code: string, message = 'x', extra: Record<string, unknown> = {}) => Object.assign(new Error(message), { code, ...extra });

describe('control-plane error boundary', () => {
  const cases: { name: string; error: unknown; code: string; status: number; retry?: boolean; secret?: string }[] = [
    { name: 'a NUL in text (22021)', error: pg('22021', 'invalid byte sequence for encoding "UTF8": 0x00'), code: 'VALIDATION_INVALID_INPUT', status: 400, secret: '0x00' },
    { name: 'a year-0 date (22008)', error: pg('22008', 'date/time field value out of range: "0000-01-01"'), code: 'VALIDATION_INVALID_INPUT', status: 400, secret: 'out of range' },
    { name: 'a duplicate (23505)', error: pg('23505', 'duplicate key value violates unique constraint "apps_subdomain_key"', { constraint: 'apps_subdomain_key', detail: 'Key (subdomain)=(blog) already exists.' }), code: 'VALIDATION_UNIQUE_CONSTRAINT_VIOLATION', status: 409, secret: 'Key (subdomain)' },
    { name: 'a missing reference (23503)', error: pg('23503', 'insert or update on table "api_keys" violates foreign key constraint'), code: 'VALIDATION_FOREIGN_KEY_VIOLATION', status: 400, secret: 'api_keys' },
    { name: 'a serialisation failure (40001)', error: pg('40001'), code: 'RESOURCE_CONFLICT', status: 409 },
    { name: 'a bug in our SQL (42703)', error: pg('42703', 'column "secret_col" does not exist'), code: 'INTERNAL_ERROR', status: 500, secret: 'secret_col' },
    { name: 'refused credentials (28P01)', error: pg('28P01', 'password authentication failed for user "postgres"'), code: 'EXTERNAL_DB_ERROR', status: 502, retry: true, secret: 'postgres' },
    { name: 'too many connections (53300)', error: pg('53300', 'sorry, too many clients already'), code: 'EXTERNAL_DB_ERROR', status: 502, retry: true, secret: 'sorry' },
    { name: 'a server shutting down (57P01)', error: pg('57P01', 'terminating connection due to administrator command'), code: 'EXTERNAL_DB_ERROR', status: 502, retry: true, secret: 'administrator' },
    { name: 'an unreachable endpoint', error: new Error('Error connecting to database: TypeError: fetch failed (db.internal.example:5432)'), code: 'EXTERNAL_DB_ERROR', status: 502, retry: true, secret: 'db.internal.example' },
    { name: 'an endpoint answering 503', error: new Error('Server error (HTTP status 503): database unavailable: ENOENT /srv/pg'), code: 'EXTERNAL_DB_ERROR', status: 502, retry: true, secret: '/srv/pg' },
  ];
  for (const c of cases) {
    it(`maps ${c.name} to ${c.status} ${c.code}${c.retry ? ' with Retry-After' : ''}, keeping the driver's text internal`, () => {
      const mapped = controlDbError(c.error);
      expect(mapped.code).toBe(c.code);
      expect(mapped.status).toBe(c.status);
      expect(mapped.headers?.['retry-after']).toBe(c.retry ? '5' : undefined);
      expect(mapped.internal).toContain((c.error as Error).message);
      if (c.secret) expect(JSON.stringify(mapped.toEnvelope())).not.toContain(c.secret);
    });
  }

  it('says what is down in words a caller may see', () => {
    expect(controlDbError(new Error('Error connecting to database: TypeError: fetch failed')).message)
      .toBe('The control-plane database could not be reached: the connection failed.');
    expect(controlDbError(new Error('Server error (HTTP status 503): database unavailable')).message)
      .toBe('The control-plane database could not be reached: its endpoint answered HTTP 503.');
    expect(controlDbError(pg('28P01')).message).toBe("The control-plane database could not be reached: it refused the platform's credentials.");
  });

  it('passes an ApiError through, also one wrapped as the cause of another error (drizzle)', () => {
    const ours = new ApiError('APP_NOT_FOUND', 'App x not found.');
    expect(controlDbError(ours)).toBe(ours);
    const wrapped = Object.assign(new Error('Failed query: select … params: bb_sk_secret'), { cause: controlDbError(pg('23505', 'dup', { constraint: 'apps_subdomain_key' })) });
    expect(toApiError(wrapped).code).toBe('VALIDATION_UNIQUE_CONSTRAINT_VIOLATION');
    expect(isUniqueViolation(wrapped, 'apps_subdomain_key')).toBe(true);
    expect(isUniqueViolation(wrapped, 'apps_pkey')).toBe(false);
  });

  describe('on the real Neon driver', () => {
    let endpoint: string;
    const before = neonConfig.fetchEndpoint;
    beforeAll(async () => {
      // A port nothing listens on: every statement's fetch fails.
      endpoint = `http://127.0.0.1:${await freePort()}/sql`;
      neonConfig.fetchEndpoint = endpoint;
    });
    afterAll(() => {
      neonConfig.fetchEndpoint = before;
    });

    it('maps query(), tagged templates and transaction() alike, and keeps their query data usable in a transaction', async () => {
      const sql = guardSql(neon('postgresql://postgres:pw@localhost/butterbase_control'), controlDbError);
      const outcomes = await Promise.all([
        sql.query('SELECT 1').then(() => null, (e: unknown) => e),
        sql`SELECT ${1}`.then(() => null, (e: unknown) => e),
        sql.transaction([sql.query('SELECT 1'), sql`SELECT 2`]).then(() => null, (e: unknown) => e),
      ]);
      for (const outcome of outcomes) {
        expect(outcome).toBeInstanceOf(ApiError);
        expect(outcome).toMatchObject({ code: 'EXTERNAL_DB_ERROR', message: 'The control-plane database could not be reached: the connection failed.', headers: { 'retry-after': '5' } });
      }
    });
  });
});

describe('NUL (U+0000) at the validation edge', () => {
  const cases: { name: string; input: unknown; paths: string[] }[] = [
    { name: 'a top-level string', input: { name: 'ci\u0000' }, paths: ['name'] },
    { name: 'a nested string', input: { agent_context: { steps: ['ok', 'bad\u0000'] } }, paths: ['agent_context.steps[1]'] },
    { name: 'an object key', input: { envVars: { 'A\u0000B': 'x' } }, paths: ['envVars.A\\u0000B'] },
    { name: 'several fields', input: { description: '\u0000', proposed_solution: 'x\u0000' }, paths: ['description', 'proposed_solution'] },
    { name: 'a query value', input: { event_type: '\u0000' }, paths: ['event_type'] },
    { name: 'the root itself', input: 'a\u0000', paths: ['(root)'] },
  ];
  for (const c of cases) {
    it(`refuses ${c.name} with VALIDATION_INVALID_INPUT naming ${c.paths.join(', ')}`, () => {
      const error = (() => {
        try {
          assertNoNul(c.input, 'body');
        } catch (e) {
          return e as ApiError;
        }
        throw new Error('expected a refusal');
      })();
      expect(error.code).toBe('VALIDATION_INVALID_INPUT');
      expect(error.status).toBe(400);
      expect((error.details as { path: string }[]).map((d) => d.path).sort()).toEqual([...c.paths].sort());
      expect(error.message).toContain(c.paths[0]);
      expect(error.message).not.toContain('\u0000');
    });
  }

  it('lets every other character through, including other control characters and astral text', () => {
    expect(() => assertNoNul({ a: 'tab\there', b: '\u0001\u001f', c: 'emoji 🧈', d: ['ok'], e: { f: null, g: 1 } })).not.toThrow();
  });

  it('is applied by parseJsonText (bodies) and parseWith (queries and bodies) before the schema runs', () => {
    expect(() => parseJsonText('{"name":"a\\u0000b"}')).toThrow(expect.objectContaining({ code: 'VALIDATION_INVALID_INPUT' }));
    expect(() => parseWith(z.object({ event_type: z.string() }), { event_type: '\u0000' }, 'query')).toThrow(expect.objectContaining({ code: 'VALIDATION_INVALID_INPUT', message: expect.stringMatching(/^Invalid query: event_type/) }));
    expect(parseJsonText('')).toEqual({});
  });

  it('walks a deeply nested body without overflowing the stack', () => {
    const deep = '['.repeat(50_000) + '"\\u0000"' + ']'.repeat(50_000);
    expect(() => parseJsonText(deep)).toThrow(expect.objectContaining({ code: 'VALIDATION_INVALID_INPUT' }));
  });
});

describe('audit text is always storable', () => {
  it('writes U+0000 as a visible escape, replaces lone surrogates and cuts long text', () => {
    expect(storableText('a\u0000b')).toBe('a\\u0000b');
    expect(storableText('x\uD800y\uDC00z')).toBe('x\uFFFDy\uFFFDz');
    expect(storableText('pair 🧈 stays')).toBe('pair 🧈 stays');
    expect(storableText('x'.repeat(10), 4)).toBe('xxxx…[truncated]');
  });
  it('cleans every string and key inside event_data and bounds its size', () => {
    const data = storableEventData({ 'k\u0000': ['v\u0000', { deep: '\uDFFF' }], n: Number.NaN, big: 10n, when: new Date(0), skip: undefined });
    expect(data).toEqual({ 'k\\u0000': ['v\\u0000', { deep: '\uFFFD' }], n: 'NaN', big: '10', when: '1970-01-01T00:00:00.000Z' });
    const huge = storableEventData({ blob: Array.from({ length: 100 }, () => 'y'.repeat(1_000)) });
    expect(huge).toMatchObject({ truncated: true, preview: expect.any(String) });
  });
});

describe('audit-log dates', () => {
  const cases: [string, boolean][] = [
    ['2024-05-01', true],
    ['2024-05-01T12:00:00Z', true],
    ['2024-05-01T12:00:00+02:00', true],
    ['2024-05-01T12:00:00', true],
    ['0000-01-01', false],
    ['0000-01-01T00:00:00Z', false],
    ['2024-05-01T12:00:00+15:00', false],
    ['2024-02-30', false],
    ['1', false],
    ['2024', false],
    ['yesterday', false],
  ];
  for (const [value, accepted] of cases) {
    it(`${accepted ? 'accepts' : 'refuses'} ${value}`, () => {
      expect(isoDate.safeParse(value).success).toBe(accepted);
      const query = auditLogQuery.safeParse({ from: value });
      expect(query.success).toBe(accepted);
    });
  }
});

describe('config bodies the SDK and CLI send', () => {
  const cors: { name: string; body: unknown; ok: boolean; path?: string }[] = [
    { name: 'allowed_origins (API.md §2)', body: { allowed_origins: ['https://a.example/'] }, ok: true },
    { name: 'the SDK\'s camelCase allowedOrigins', body: { allowedOrigins: ['https://a.example'] }, ok: true },
    { name: 'both spellings agreeing', body: { allowed_origins: ['https://a.example'], allowedOrigins: ['https://a.example'] }, ok: true },
    { name: 'both spellings disagreeing', body: { allowed_origins: ['https://a.example'], allowedOrigins: ['https://b.example'] }, ok: false, path: 'allowedOrigins' },
    { name: 'the CLI\'s methods and headers', body: { allowedMethods: ['get', 'POST'], allowedHeaders: ['X-Client-Version'] }, ok: true },
    { name: 'empty methods and headers (= defaults)', body: { allowedMethods: [], allowedHeaders: [] }, ok: true },
    { name: 'allowCredentials', body: { allowCredentials: false }, ok: true },
    { name: 'an unknown method', body: { allowedMethods: ['TRACE'] }, ok: false, path: 'allowedMethods[0]' },
    { name: 'a header name with a space', body: { allowedHeaders: ['x bad'] }, ok: false, path: 'allowedHeaders[0]' },
    { name: 'nothing', body: {}, ok: false, path: '(root)' },
  ];
  for (const c of cors) {
    it(`PATCH config/cors ${c.ok ? 'accepts' : 'refuses'} ${c.name}`, () => {
      const result = corsBody.safeParse(c.body);
      expect(result.success).toBe(c.ok);
      if (!c.ok && c.path) expect(result.error!.issues.map((i) => i.path.join('.') || '(root)').map((p) => p.replace(/\.(\d+)/g, '[$1]'))).toContain(c.path);
    });
  }
  it('normalises CORS methods to upper case and headers to lower case', () => {
    expect(corsBody.parse({ allowedMethods: ['get'], allowedHeaders: ['X-Client'] })).toEqual({ allowedMethods: ['GET'], allowedHeaders: ['x-client'] });
  });

  const storage: { types: unknown; ok: boolean }[] = [
    { types: ['image/png', 'image/*', 'application/vnd.api+json', '*/*'], ok: true },
    { types: ['IMAGE/PNG'], ok: true },
    { types: [], ok: false },
    { types: ['image'], ok: false },
    { types: ['*/png'], ok: false },
    { types: ['image/png; charset=utf-8'], ok: false },
    { types: ['text/plain\r\nx: y'], ok: false },
  ];
  for (const c of storage) {
    it(`PATCH config/storage ${c.ok ? 'accepts' : 'refuses'} allowedContentTypes ${JSON.stringify(c.types)}`, () => {
      expect(storageBody.safeParse({ allowedContentTypes: c.types }).success).toBe(c.ok);
    });
  }
});
