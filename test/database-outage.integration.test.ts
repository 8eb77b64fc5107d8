/**
 * A database outage (issue 7 item 6): a dedicated platform whose Workers reach the embedded database
 * through a relay the test can switch off (connections refused, as when the database host is down).
 * While it is off, every route that needs the control plane answers 502 EXTERNAL_DB_ERROR with
 * Retry-After — never a 500 or a driver message — `/health/ready` says what is down, and once it is
 * back the same routes work again.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startPlatform, type Platform } from '../scripts/lib/platform.ts';
import { api, createReadyApp } from './helpers/api.ts';
import { sharedTemplateDir, testLog } from './helpers/platform-process.ts';

/** An HTTP relay on a fixed port to the database endpoint; `down()` refuses connections until `up()`. */
class Relay {
  #server: Server | undefined;
  constructor(readonly port: number, private readonly targetPort: number) {}

  async up(): Promise<void> {
    const server = createServer((req, res) => {
      const upstream = httpRequest({ host: '127.0.0.1', port: this.targetPort, path: req.url, method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
  }

  async down(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }
}

let stateDir: string;
let platform: Platform;
let relay: Relay;
let appId = '';

const call = (path: string, options: Parameters<typeof api>[1] = {}) => api(path, { baseUrl: platform.url, token: platform.serviceKey, ...options });

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'bb-outage-'));
  const dbPort = await freePort();
  relay = new Relay(await freePort(), dbPort);
  await relay.up();
  const viaRelay = { NEON_FETCH_ENDPOINT: `http://127.0.0.1:${relay.port}/sql` };
  platform = await startPlatform({
    stateDir,
    port: 0,
    dbPort,
    templateDir: sharedTemplateDir,
    log: testLog('outage-platform'),
    vars: { control: viaRelay, data: viaRelay, auth: viaRelay },
  });
  ({ appId } = await createReadyApp('outage', { baseUrl: platform.url, token: platform.serviceKey }));
  const applied = await call(`/v1/${appId}/schema/apply`, { body: { schema: { tables: { notes: { columns: { id: { type: 'uuid', primaryKey: true, default: 'gen_random_uuid()' }, body: { type: 'text' } } } } } } });
  expect(applied.status, applied.text).toBe(200);
});

afterAll(async () => {
  await platform?.stop();
  await relay?.down();
  await rm(stateDir, { recursive: true, force: true });
});

/** The error code of either envelope (agent `{error:{code}}`, legacy `{error, code}`). */
const codeOf = (body: { error?: { code?: string } | string; code?: string } | undefined) => (typeof body?.error === 'object' ? body.error.code : body?.code);

describe('while the database is down', () => {
  const routes: { name: string; method: string; path: () => string; body?: () => unknown; token?: 'none' }[] = [
    { name: 'GET /apps', method: 'GET', path: () => '/apps' },
    { name: 'POST /init', method: 'POST', path: () => '/init', body: () => ({ name: 'during-outage' }) },
    { name: 'GET /v1/{app}/schema', method: 'GET', path: () => `/v1/${appId}/schema` },
    { name: 'service-key REST read', method: 'GET', path: () => `/v1/${appId}/notes` },
    { name: 'service-key REST write', method: 'POST', path: () => `/v1/${appId}/notes`, body: () => ({ body: 'lost?' }) },
    { name: 'POST /auth/{app}/login', method: 'POST', path: () => `/auth/${appId}/login`, body: () => ({ email: 'a@example.com', password: 'whatever-123' }), token: 'none' },
    { name: 'POST /mcp', method: 'POST', path: () => '/mcp', body: () => ({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) },
  ];

  beforeAll(async () => {
    await relay.down();
  });

  for (const route of routes) {
    it(`${route.name} → 502 EXTERNAL_DB_ERROR with Retry-After, no driver detail`, async () => {
      const res = await call(route.path(), {
        method: route.method,
        body: route.body?.(),
        token: route.token === 'none' ? null : undefined,
        headers: route.path() === '/mcp' ? { accept: 'application/json, text/event-stream' } : {},
      });
      expect(res.status, res.text).toBe(502);
      expect(codeOf(res.body), res.text).toBe('EXTERNAL_DB_ERROR');
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(res.text).not.toMatch(/127\.0\.0\.1|fetch failed|ECONNREFUSED|at .*\.ts:\d+/);
    });
  }

  it('/health/ready answers 503 and says the control-plane database cannot be reached', async () => {
    const ready = await call('/health/ready', { token: null });
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({
      status: 'unavailable',
      database: { ok: false, error: 'The control-plane database could not be reached: the connection failed.' },
    });
    // Liveness does not depend on the database.
    expect((await call('/health', { token: null })).status).toBe(200);
  });

  it('once the database is back, the same routes work again', async () => {
    await relay.up();
    expect((await call('/health/ready', { token: null })).status).toBe(200);
    expect((await call('/apps')).status).toBe(200);
    expect((await call(`/v1/${appId}/notes`)).status).toBe(200);
    const listed = await call('/apps');
    expect(listed.body.apps.map((a: { name: string }) => a.name)).not.toContain('during-outage');
  });
});
