/**
 * Route scenarios in this process (issue 7 item 10): the real router, control and data code over
 * the real embedded database, without workerd or HTTP hops (test/helpers/in-process.ts). The same
 * `api()` client the black-box tests use sends them, so a scenario moves between the two layers by
 * its `via` option. Each scenario here is a behaviour a client sees on the wire.
 */
import { beforeAll, describe, expect, it, inject } from 'vitest';
import { api as httpApi, createReadyApp, type ApiOptions } from './helpers/api.ts';
import { inProcessPlatform, type InProcessPlatform } from './helpers/in-process.ts';

let platform: InProcessPlatform;
let appId = '';
const api = (path: string, options: ApiOptions = {}) => httpApi(path, { ...options, via: platform.fetch });

beforeAll(async () => {
  platform = await inProcessPlatform(inject('localSettings'));
  ({ appId } = await createReadyApp('inproc', { via: platform.fetch }));
  const applied = await api(`/v1/${appId}/schema/apply`, {
    body: { schema: { tables: { notes: { columns: { id: { type: 'uuid', primaryKey: true, default: 'gen_random_uuid()' }, body: { type: 'text' }, stars: { type: 'integer', default: '0' } } } } } },
  });
  expect(applied.status, applied.text).toBe(200);
});

describe('platform routes', () => {
  it('GET /v1/regions answers { regions: string[] } without a key', async () => {
    const res = await api('/v1/regions', { token: null });
    expect(res.status, res.text).toBe(200);
    expect(res.body.regions.length).toBeGreaterThan(0);
    expect(res.body.regions.every((r: unknown) => typeof r === 'string')).toBe(true);
  });

  it('a wrong service key is 401 AUTH_INVALID_API_KEY, with the request id echoed', async () => {
    const res = await api('/apps', { token: 'bb_sk_0000000000000000000000000000000000000000' });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('AUTH_INVALID_API_KEY');
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a reserved route of an unbuilt feature answers 501 FEATURE_NOT_AVAILABLE', async () => {
    const res = await api(`/v1/apps/${appId}/move`, { body: { region: 'us-west-2' } });
    expect(res.status, res.text).toBe(501);
    expect(res.body.error.code).toBe('FEATURE_NOT_AVAILABLE');
  });
});

describe('request bodies', () => {
  /** A body of `bytes` bytes sent in 1 KiB chunks; `done()` says whether it was read to its end. */
  function trackedBody(bytes: number) {
    let sent = 0;
    let ended = false;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= bytes) { ended = true; controller.close(); return; }
        const chunk = new Uint8Array(Math.min(1024, bytes - sent)).fill(0x61);
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    return { stream, done: () => ended };
  }

  it('a small body is read to its end although the Worker behind ignores it (here functions, which answers 501 in-process)', async () => {
    // An unread body makes workerd close the client's keep-alive connection; wrangler dev's proxy then
    // loses the next request sent on it (workers/router/handler.ts onward).
    const body = trackedBody(20_000);
    const res = await platform.fetch(`/v1/${appId}/fn/ignores-body`, { method: 'POST', body: body.stream, headers: { 'content-length': '20000', 'content-type': 'application/octet-stream' }, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(501);
    expect(body.done()).toBe(true);
  });

  it('so is one the router refuses itself (an unknown app)', async () => {
    const body = trackedBody(5_000);
    const res = await platform.fetch('/v1/app_doesnotexist/items', { method: 'POST', body: body.stream, headers: { 'content-length': '5000', 'content-type': 'application/json' }, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(404);
    expect(body.done()).toBe(true);
  });
});

describe('config routes take what the SDK and CLI send', () => {
  it('PATCH config/cors accepts camelCase allowedOrigins and allowedMethods; GET config carries cors_allowed_origins', async () => {
    const patched = await api(`/v1/${appId}/config/cors`, { method: 'PATCH', body: { allowedOrigins: ['https://a.example'], allowedMethods: ['GET', 'POST'] } });
    expect(patched.status, patched.text).toBe(200);
    const config = await api(`/v1/${appId}/config`);
    expect(config.body.cors_allowed_origins).toEqual(['https://a.example']);
  });

  it('a disallowed origin gets no Access-Control-Allow-Credentials; the allowed one does', async () => {
    const refused = await api(`/v1/${appId}/notes`, { headers: { origin: 'https://evil.example' } });
    expect(refused.headers.get('access-control-allow-credentials')).toBeNull();
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    const allowed = await api(`/v1/${appId}/notes`, { headers: { origin: 'https://a.example' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://a.example');
  });

  it('PATCH config/storage accepts the CLI\'s allowedContentTypes', async () => {
    const res = await api(`/v1/${appId}/config/storage`, { method: 'PATCH', body: { allowedContentTypes: ['image/png'] } });
    expect(res.status, res.text).toBe(200);
  });

  it('a pause reason holding U+0000 is 400 naming the field, and the pause did not happen', async () => {
    const res = await api(`/v1/${appId}/config/pause`, { method: 'PATCH', body: { paused: true, reason: 'x\u0000' } });
    expect(res.status, res.text).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_INVALID_INPUT');
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain('reason');
    expect((await api(`/v1/${appId}/notes`)).status).toBe(200);
  });

  it('a paused app answers 503 APP_PAUSED with Retry-After on the data plane until resumed', async () => {
    expect((await api(`/v1/${appId}/config/pause`, { method: 'PATCH', body: { paused: true, reason: 'maintenance' } })).status).toBe(200);
    const paused = await api(`/v1/${appId}/notes`);
    expect(paused.status).toBe(503);
    expect(paused.body.error.code).toBe('APP_PAUSED');
    expect(paused.headers.get('retry-after')).toBe('60');
    expect((await api(`/v1/${appId}/config/pause`, { method: 'PATCH', body: { paused: false } })).status).toBe(200);
    expect((await api(`/v1/${appId}/notes`)).status).toBe(200);
  });
});

describe('schema and REST', () => {
  it('a table named after a reserved segment is refused naming the word', async () => {
    const res = await api(`/v1/${appId}/schema/apply`, { body: { schema: { tables: { config: { columns: { id: { type: 'uuid', primaryKey: true } } } } } } });
    expect(res.status, res.text).toBe(400);
    expect(res.text).toContain('config');
    expect(res.body.error.code).toMatch(/^VALIDATION_/);
  });

  it('insert, get by id, filtered list and update round-trip through the REST API', async () => {
    const created = await api(`/v1/${appId}/notes`, { body: { body: 'first', stars: 3 } });
    expect(created.status, created.text).toBe(201);
    const id = created.body.id;
    const got = await api(`/v1/${appId}/notes/${id}`);
    expect(got.body).toMatchObject({ id, body: 'first', stars: 3 });
    await api(`/v1/${appId}/notes`, { body: { body: 'second', stars: 1 } });
    const list = await api(`/v1/${appId}/notes?stars=gte.2&order=stars.desc`);
    expect(list.status, list.text).toBe(200);
    expect(list.body.map((n: { body: string }) => n.body)).toContain('first');
    expect(list.body.map((n: { body: string }) => n.body)).not.toContain('second');
    const updated = await api(`/v1/${appId}/notes/${id}`, { method: 'PATCH', body: { stars: 5 } });
    expect(updated.status, updated.text).toBe(200);
    expect((await api(`/v1/${appId}/notes/${id}`)).body.stars).toBe(5);
  });

  it('a filter on an unknown column is a 400 naming it, not a 500', async () => {
    const res = await api(`/v1/${appId}/notes?nope=eq.1`);
    expect(res.status, res.text).toBe(400);
    expect(res.text).toContain('nope');
  });

  it('a refused write lands in the audit log with what was sent', async () => {
    const res = await api(`/v1/${appId}/config/pause`, { method: 'PATCH', body: { paused: 'yes' } });
    expect(res.status).toBe(400);
    await platform.settle();
    const logs = await api(`/v1/${appId}/audit-logs?limit=20`);
    expect(logs.status, logs.text).toBe(200);
    const refused = (logs.body.logs ?? logs.body.data ?? logs.body).find((entry: { status?: string; event_data?: { request_body?: string } }) =>
      JSON.stringify(entry).includes('"paused":"yes"') || JSON.stringify(entry).includes('\\"paused\\":\\"yes\\"'));
    expect(refused, logs.text.slice(0, 2000)).toBeDefined();
  });
});
