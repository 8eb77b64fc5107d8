/**
 * No 500 from bad input, and nothing silently lost (issue 7 item 6), through the router — in this
 * process (test/helpers/in-process.ts: router, control and data code over the real database), except
 * the auth route, which goes over real HTTP to the platform: text holding U+0000 is refused at the validation edge with a 400 naming the field, wherever
 * it would reach Postgres (JSON bodies and query strings, control, data and auth routes); dates
 * Postgres refuses are refused up front; and a refused change still lands in the audit log.
 */
import { beforeAll, describe, expect, it, vi, inject } from 'vitest';
import { api as httpApi, createReadyApp, type ApiOptions } from './helpers/api.ts';
import { raiseRateLimit } from './helpers/control-db.ts';
import { inProcessPlatform, type InProcessPlatform } from './helpers/in-process.ts';

let appId = '';
let platform: InProcessPlatform;
/** In-process, except `/auth/…` (the auth Worker runs only in the real platform). */
const api = (path: string, options: ApiOptions = {}) => httpApi(path, path.startsWith('/auth/') ? options : { ...options, via: platform.fetch });

beforeAll(async () => {
  platform = await inProcessPlatform(inject('localSettings'));
  ({ appId } = await createReadyApp('edges', { via: platform.fetch }));
  await raiseRateLimit(appId);
  const applied = await api(`/v1/${appId}/schema/apply`, {
    body: { schema: { tables: { notes: { columns: { id: { type: 'uuid', primaryKey: true, default: 'gen_random_uuid()' }, body: { type: 'text' } } } } } },
  });
  expect(applied.status, applied.text).toBe(200);
});

/** The error code of either envelope (agent `{error:{code}}`, legacy `{error, code}`). */
const codeOf = (body: { error?: { code?: string } | string; code?: string }) => (typeof body.error === 'object' ? body.error.code : body.code);
const detailsOf = (body: { error?: { details?: unknown } | string; details?: unknown }) =>
  ((typeof body.error === 'object' ? body.error.details : body.details) ?? []) as { path: string }[];

describe('U+0000 is refused at the edge with 400 VALIDATION_INVALID_INPUT naming the field', () => {
  const nul = '\u0000';
  // A function of the app id, which is known only once beforeAll has run.
  const cases = (app: string): { name: string; method: string; path: string; body?: unknown; field: string }[] => [
    { name: 'an API key name', method: 'POST', path: '/api-keys', body: { name: `ci${nul}` }, field: 'name' },
    { name: 'a pause reason', method: 'PATCH', path: `/v1/${app}/config/pause`, body: { paused: true, reason: `maintenance${nul}` }, field: 'reason' },
    { name: "a suggestion's description", method: 'POST', path: '/suggestions', body: { category: 'bug_report', description: `long enough text ${nul}` }, field: 'description' },
    { name: "a suggestion's proposed_solution", method: 'POST', path: '/suggestions', body: { category: 'bug_report', description: 'long enough text', proposed_solution: `fix${nul}` }, field: 'proposed_solution' },
    { name: "a suggestion's agent_context, deep inside", method: 'POST', path: '/suggestions', body: { category: 'bug_report', description: 'long enough text', agent_context: { args: [{ q: nul }] } }, field: 'agent_context.args[0].q' },
    { name: 'the event_type filter of audit-logs', method: 'GET', path: `/v1/${app}/audit-logs?event_type=%00`, field: 'event_type' },
    { name: 'the resource_id filter of audit-logs', method: 'GET', path: `/v1/${app}/audit-logs?resource_id=a%00b`, field: 'resource_id' },
    { name: 'an app name on /init', method: 'POST', path: '/init', body: { name: `blog${nul}` }, field: 'name' },
    { name: 'an env var value', method: 'PATCH', path: `/v1/${app}/env`, body: { envVars: { TOKEN: `v${nul}` } }, field: 'envVars.TOKEN' },
    { name: 'an env var name', method: 'PATCH', path: `/v1/${app}/env`, body: { envVars: { [`A${nul}`]: 'v' } }, field: 'envVars.A\\u0000' },
    { name: 'a CORS origin', method: 'PATCH', path: `/v1/${app}/config/cors`, body: { allowedOrigins: [`https://a.example${nul}`] }, field: 'allowedOrigins[0]' },
    { name: 'an RLS policy expression', method: 'POST', path: `/v1/${app}/rls/policies`, body: { table_name: 'notes', policy_name: 'p', using_expression: `true${nul}` }, field: 'using_expression' },
    { name: 'a schema column default', method: 'POST', path: `/v1/${app}/schema/apply`, body: { schema: { tables: { t: { columns: { c: { type: 'text', default: `'x${nul}'` } } } } } }, field: 'schema.tables.t.columns.c.default' },
    { name: 'a data row value', method: 'POST', path: `/v1/${app}/notes`, body: { body: `hello${nul}` }, field: 'body' },
    { name: 'a data filter', method: 'GET', path: `/v1/${app}/notes?body=eq.%00`, field: 'body' },
    { name: 'an end-user sign-up email', method: 'POST', path: `/auth/${app}/signup`, body: { email: `a${nul}@example.com`, password: 'Str0ng!pass-123' }, field: 'email' },
  ];
  for (const { name } of cases('')) {
    it(name, async () => {
      const c = cases(appId).find((x) => x.name === name)!;
      const res = await api(c.path, { method: c.method, body: c.body, token: c.path.startsWith('/auth/') ? null : undefined });
      expect(res.status, res.text).toBe(400);
      expect(codeOf(res.body)).toBe('VALIDATION_INVALID_INPUT');
      expect(detailsOf(res.body).map((d) => d.path)).toContain(c.field);
      expect(res.text).not.toMatch(/at .*\.ts:\d+|SQLSTATE|invalid byte sequence/);
    });
  }

  it('changes nothing when it refuses', async () => {
    const config = await api(`/v1/${appId}/config`);
    expect(config.body).toMatchObject({ paused: false, paused_reason: null, allowed_origins: ['*'] });
    expect((await api(`/v1/${appId}/env`)).body.keys).toEqual([]);
    expect((await api(`/v1/${appId}/notes`)).body).toEqual([]);
  });
});

describe('audit-log dates Postgres refuses are refused up front', () => {
  for (const [param, value] of [['from', '0000-01-01'], ['from', '0000-01-01T00:00:00Z'], ['to', '2024-05-01T00:00:00+15:00'], ['to', '2024-02-30']] as const) {
    it(`${param}=${value} → 400 naming ${param}`, async () => {
      const res = await api(`/v1/${appId}/audit-logs?${param}=${encodeURIComponent(value)}`);
      expect(res.status, res.text).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_INVALID_SCHEMA');
      expect(res.body.error.details[0].path).toBe(param);
    });
  }
  it('the earliest and latest years Postgres accepts still work', async () => {
    const res = await api(`/v1/${appId}/audit-logs?from=0001-01-01&to=9999-12-31`);
    expect(res.status, res.text).toBe(200);
  });
});

describe('a refused change still lands in the audit log', () => {
  it('a body holding U+0000 is recorded with what was sent and why it was refused', async () => {
    const refused = await api(`/v1/${appId}/config/pause`, { method: 'PATCH', body: { paused: true, reason: 'attack\u0000payload' }, headers: { 'x-request-id': 'nul-attempt-1' } });
    expect(refused.status).toBe(400);
    await vi.waitFor(async () => {
      const logs = await api(`/v1/${appId}/audit-logs?event_type=config.pause_updated`);
      const entry = logs.body.logs.find((l: { correlation_id: string }) => l.correlation_id === 'nul-attempt-1');
      expect(entry).toMatchObject({
        success: false, actor_type: 'service_key', resource_id: appId,
        error_message: expect.stringContaining('reason'),
        event_data: { error_code: 'VALIDATION_INVALID_INPUT', via: 'rest' },
      });
      expect(entry.event_data.request_body).toContain('attack\\u0000payload');
    }, { timeout: 10_000, interval: 200 });
  });

  it('a path segment holding U+0000 is recorded with the character made visible', async () => {
    const refused = await api(`/v1/${appId}/rls/bad%00table`, { method: 'DELETE', headers: { 'x-request-id': 'nul-attempt-2' } });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.status).toBeLessThan(500);
    await vi.waitFor(async () => {
      const logs = await api(`/v1/${appId}/audit-logs?event_type=rls.disabled`);
      const entry = logs.body.logs.find((l: { correlation_id: string }) => l.correlation_id === 'nul-attempt-2');
      expect(entry).toMatchObject({ success: false, resource_id: 'bad\\u0000table', event_data: { error_code: refused.body.error.code } });
    }, { timeout: 10_000, interval: 200 });
  });

  it('a refused env change records the variable names, never the values', async () => {
    const refused = await api(`/v1/${appId}/env`, { method: 'PATCH', body: { envVars: { BUTTERBASE_SECRET: 'sk_live_do_not_log' } }, headers: { 'x-request-id': 'env-attempt-1' } });
    expect(refused.status).toBe(400);
    await vi.waitFor(async () => {
      const logs = await api(`/v1/${appId}/audit-logs?event_type=config.env_updated`);
      const entry = logs.body.logs.find((l: { correlation_id: string }) => l.correlation_id === 'env-attempt-1');
      expect(entry).toMatchObject({ success: false, event_data: { keys: ['BUTTERBASE_SECRET'], error_code: 'VALIDATION_INVALID_SCHEMA' } });
      expect(JSON.stringify(logs.body)).not.toContain('sk_live_do_not_log');
    }, { timeout: 10_000, interval: 200 });
  });
});
