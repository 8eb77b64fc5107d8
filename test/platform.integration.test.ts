/**
 * The foundation through the router over real HTTP: credentials, bad input, apps and their config,
 * the pause gate, the per-app rate limit, service keys, CORS and the audit log (API.md §1–2).
 */
import { request as httpRequest } from 'node:http';
import { describe, expect, inject, it } from 'vitest';
import { api, createReadyApp, uniqueName, waitForApp } from './helpers/api.ts';
import { createOtherAccount } from './helpers/control-db.ts';
import { signedInUser } from './helpers/realtime.ts';

describe('health', () => {
  it('answers /health and checks the database on /health/ready', async () => {
    const health = await api('/health', { token: null });
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('ok');
    const ready = await api('/health/ready', { token: null });
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ready', database: { ok: true } });
  });

  it('gives every response a request id, keeping a sane one the client sent', async () => {
    const mine = await api('/health', { token: null, headers: { 'x-request-id': 'trace-123' } });
    expect(mine.headers.get('x-request-id')).toBe('trace-123');
    const bogus = await api('/health', { token: null, headers: { 'x-request-id': 'bad id with spaces' } });
    expect(bogus.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers unknown paths with RESOURCE_NOT_FOUND in the agent envelope', async () => {
    const res = await api('/nope', { token: null });
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: 'RESOURCE_NOT_FOUND' });
    expect(res.body.error.remediation).toEqual(expect.any(String));
  });
});

describe('credentials', () => {
  const cases: { name: string; token: string | null; code: string }[] = [
    { name: 'no key', token: null, code: 'AUTH_REQUIRED' },
    { name: 'unknown key', token: `bb_sk_${'0'.repeat(40)}`, code: 'AUTH_INVALID_API_KEY' },
    { name: 'malformed key', token: 'bb_sk_short', code: 'AUTH_INVALID_API_KEY' },
    { name: 'foreign JWT', token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln', code: 'AUTH_INVALID_TOKEN' },
    { name: 'opaque garbage', token: 'not-a-token', code: 'AUTH_INVALID_TOKEN' },
  ];
  for (const c of cases) {
    it(`${c.name} → 401 ${c.code} on every control route`, async () => {
      for (const [method, path] of [['GET', '/apps'], ['POST', '/init'], ['GET', '/api-keys']] as const) {
        const res = await api(path, { method, token: c.token, body: method === 'POST' ? { name: 'x' } : undefined });
        expect(res.status, `${method} ${path}`).toBe(401);
        expect(res.body.error.code, `${method} ${path}`).toBe(c.code);
      }
    });
  }

  it('a revoked key stops working on the very next request', async () => {
    const created = await api('/api-keys', { body: { name: 'short-lived' } });
    expect(created.status).toBe(201);
    expect(created.body.key).toMatch(/^bb_sk_[0-9a-f]{40}$/);
    expect((await api('/apps', { token: created.body.key })).status).toBe(200);
    const revoked = await api(`/api-keys/${created.body.keyId}`, { method: 'DELETE' });
    expect(revoked.body).toEqual({ revoked: true });
    const after = await api('/apps', { token: created.body.key });
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('AUTH_INVALID_API_KEY');
  });
});

describe('bad input', () => {
  const cases: { name: string; path: string; method?: string; body: unknown; code: string; field: string }[] = [
    { name: 'unknown field', path: '/init', body: { name: 'ok-name', colour: 'red' }, code: 'VALIDATION_INVALID_SCHEMA', field: 'colour' },
    { name: 'missing field', path: '/init', body: {}, code: 'VALIDATION_MISSING_FIELD', field: 'name' },
    { name: 'wrong type', path: '/init', body: { name: 42 }, code: 'VALIDATION_INVALID_TYPE', field: 'name' },
    { name: 'bad name pattern', path: '/init', body: { name: 'Bad Name!' }, code: 'VALIDATION_INVALID_SCHEMA', field: 'name' },
    { name: 'bad subdomain', path: '/init', body: { name: 'ok', subdomain: '-x-' }, code: 'VALIDATION_INVALID_SCHEMA', field: 'subdomain' },
    { name: 'unknown region', path: '/init', body: { name: 'ok', region: 'mars-1' }, code: 'VALIDATION_INVALID_SCHEMA', field: 'region' },
    { name: 'malformed JSON', path: '/init', body: '{"name": ', code: 'VALIDATION_INVALID_SCHEMA', field: '(root)' },
    { name: 'JSON array body', path: '/init', body: '[1,2]', code: 'VALIDATION_INVALID_TYPE', field: '(root)' },
    { name: 'key scope app without target', path: '/api-keys', body: { name: 'k', key_scope: 'app' }, code: 'VALIDATION_INVALID_SCHEMA', field: 'target_app_id' },
  ];
  for (const c of cases) {
    it(`${c.name} → 400 ${c.code} naming ${c.field}`, async () => {
      const res = await api(c.path, { method: c.method ?? 'POST', body: c.body });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe(c.code);
      expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(c.field);
      expect(res.text).not.toMatch(/at .*\.ts:\d+/);
    });
  }

  it('rejects bad config values with field paths and changes nothing', async () => {
    const { appId } = await createReadyApp('badcfg');
    const before = await api(`/v1/${appId}/config`);
    const cases: [string, unknown, string][] = [
      ['cors', { allowed_origins: [] }, 'allowed_origins'],
      ['cors', { allowed_origins: ['https://ok.example', 'ftp://nope'] }, 'allowed_origins[1]'],
      ['cors', { allowed_origins: ['https://a.example/path'] }, 'allowed_origins[0]'],
      ['jwt', { accessTokenTtl: '10 minutes' }, 'accessTokenTtl'],
      ['jwt', { refreshTokenTtlDays: 0 }, 'refreshTokenTtlDays'],
      ['storage', { maxFileSizeMb: 'big' }, 'maxFileSizeMb'],
      ['storage', {}, '(root)'],
      ['pause', { paused: 'yes' }, 'paused'],
      ['pause', { paused: true, reason: 'x'.repeat(501) }, 'reason'],
      ['access-mode', { access_mode: 'private' }, 'access_mode'],
    ];
    for (const [route, body, field] of cases) {
      const res = await api(`/v1/${appId}/config/${route}`, { method: 'PATCH', body });
      expect(res.status, `${route} ${JSON.stringify(body)}`).toBe(400);
      expect(res.body.error.details.map((d: { path: string }) => d.path), route).toContain(field);
    }
    const after = await api(`/v1/${appId}/config`);
    expect({ ...after.body, updated_at: null }).toEqual({ ...before.body, updated_at: null });
  });
});

describe('apps', () => {
  it('creates an app, reports it ready, lists it, and /init again returns the same app', async () => {
    const name = uniqueName('life');
    const created = await api('/init', { body: { name } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name, db_provisioned: false, provisioning_status: 'provisioning' });
    expect(created.body.app_id).toMatch(/^app_[0-9a-z]{12}$/);
    expect(created.body.api_url).toMatch(new RegExp(`/v1/${created.body.app_id}$`));
    expect(created.body.subdomain).toBe(name);
    const status = await waitForApp(created.body.app_id);
    expect(status).toMatchObject({ app_id: created.body.app_id, provisioning_status: 'ready', db_provisioned: true, provisioning_error: null });

    const again = await api('/init', { body: { name } });
    expect(again.status).toBe(200);
    expect(again.body.app_id).toBe(created.body.app_id);
    expect(again.body.provisioning_status).toBe('ready');

    const list = await api('/apps');
    const listed = list.body.apps.find((a: { id: string }) => a.id === created.body.app_id);
    expect(listed).toMatchObject({ name, provisioning_status: 'ready', db_name: created.body.app_id });
  });

  it('two concurrent /init calls with one name create one app', async () => {
    const name = uniqueName('race');
    const [a, b] = await Promise.all([api('/init', { body: { name } }), api('/init', { body: { name } })]);
    expect([a.status, b.status].sort()).toEqual([200, 201]);
    expect(a.body.app_id).toBe(b.body.app_id);
    await waitForApp(a.body.app_id);
  });

  it('derives the subdomain from the name, suffixes a taken one, and refuses a taken explicit one', async () => {
    const base = uniqueName('sub');
    const first = await api('/init', { body: { name: `${base}_x` } });
    expect(first.body.subdomain).toBe(`${base}-x`);
    const second = await api('/init', { body: { name: `${base}-x` } });
    expect(second.status).toBe(201);
    expect(second.body.subdomain).toMatch(new RegExp(`^${base}-x-[a-z0-9]{4}$`));
    const explicit = await api('/init', { body: { name: uniqueName('sub3'), subdomain: `${base}-x` } });
    expect(explicit.status).toBe(409);
    expect(explicit.body.error.code).toBe('RESOURCE_ALREADY_EXISTS');
    await Promise.all([waitForApp(first.body.app_id), waitForApp(second.body.app_id)]);
  });

  it('changes every config section and reads the change back', async () => {
    const { appId } = await createReadyApp('cfg');
    const cors = await api(`/v1/${appId}/config/cors`, { method: 'PATCH', body: { allowed_origins: ['https://shop.example/', 'http://localhost:5173'] } });
    expect(cors.body).toMatchObject({ app_id: appId, allowed_origins: ['https://shop.example', 'http://localhost:5173'] });
    const jwt = await api(`/v1/${appId}/config/jwt`, { method: 'PATCH', body: { accessTokenTtl: '15m' } });
    expect(jwt.body.jwt_config).toEqual({ accessTokenTtl: '15m', refreshTokenTtlDays: 7 });
    const storage = await api(`/v1/${appId}/config/storage`, { method: 'PATCH', body: { publicReadEnabled: true, maxFileSizeMb: 25 } });
    expect(storage.body.storage_config).toMatchObject({ publicReadEnabled: true, maxFileSizeMb: 25, allowedContentTypes: ['*/*'] });
    const mode = await api(`/v1/${appId}/config/access-mode`, { method: 'PATCH', body: { access_mode: 'authenticated' } });
    expect(mode.body).toMatchObject({ app_id: appId, access_mode: 'authenticated' });
    const config = await api(`/v1/${appId}/config`);
    expect(config.body).toMatchObject({
      id: appId,
      allowed_origins: ['https://shop.example', 'http://localhost:5173'],
      jwt_config: { accessTokenTtl: '15m', refreshTokenTtlDays: 7 },
      access_mode: 'authenticated',
      storage_config: { publicReadEnabled: true, maxFileSizeMb: 25 },
    });
  });

  it('keeps env values secret: names only come back', async () => {
    const { appId } = await createReadyApp('env');
    const patched = await api(`/v1/${appId}/env`, { method: 'PATCH', body: { envVars: { STRIPE_KEY: 'sk_live_secret', OTHER: 'x' } } });
    expect(patched.status).toBe(200);
    expect(patched.body.updatedKeys).toEqual(['OTHER', 'STRIPE_KEY']);
    const removed = await api(`/v1/${appId}/env`, { method: 'PATCH', body: { envVars: { OTHER: null } } });
    expect(removed.status).toBe(200);
    const env = await api(`/v1/${appId}/env`);
    expect(env.body.keys).toEqual(['STRIPE_KEY']);
    expect(env.text).not.toContain('sk_live_secret');
    const reserved = await api(`/v1/${appId}/env`, { method: 'PATCH', body: { envVars: { BUTTERBASE_APP_ID: 'x' } } });
    expect(reserved.status).toBe(400);
  });

  it('deletes an app: its routes answer 404 APP_NOT_FOUND afterwards', async () => {
    const { appId } = await createReadyApp('del');
    const deleted = await api(`/apps/${appId}`, { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    expect(deleted.body.message).toEqual(expect.any(String));
    for (const path of [`/apps/${appId}/status`, `/v1/${appId}/config`, `/v1/${appId}/posts`]) {
      const res = await api(path);
      expect(res.status, path).toBe(404);
      expect(res.body.error.code, path).toBe('APP_NOT_FOUND');
    }
    expect((await api('/apps')).body.apps.some((a: { id: string }) => a.id === appId)).toBe(false);
  });

  it("hides other accounts' apps behind 404 APP_NOT_FOUND", async () => {
    const { appId } = await createReadyApp('mine');
    const other = await createOtherAccount('intruder');
    for (const [method, path, body] of [
      ['GET', `/apps/${appId}/status`, undefined],
      ['GET', `/v1/${appId}/config`, undefined],
      ['PATCH', `/v1/${appId}/config/pause`, { paused: true }],
      ['DELETE', `/apps/${appId}`, undefined],
    ] as const) {
      const res = await api(path, { method, token: other.key, body });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.error.code).toBe('APP_NOT_FOUND');
    }
    expect((await api(`/v1/${appId}/config`)).body.paused).toBe(false);
    expect((await api('/apps', { token: other.key })).body.apps).toEqual([]);
    const key = await api('/api-keys', { token: other.key, body: { name: 'sneaky', key_scope: 'app', target_app_id: appId } });
    expect(key.body.error.code).toBe('APP_NOT_FOUND');

    // The refused attempts stay out of the owner's audit log. A later change of the owner's is the
    // marker that the (asynchronous) audit writes before it have landed.
    await api(`/v1/${appId}/config/access-mode`, { method: 'PATCH', body: { access_mode: 'public' } });
    let logs;
    for (let i = 0; i < 20; i++) {
      logs = await api(`/v1/${appId}/audit-logs`);
      if (logs.body.logs.some((l: { event_type: string }) => l.event_type === 'config.access_mode_updated')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(logs!.body.logs.map((l: { event_type: string }) => l.event_type)).toEqual(['config.access_mode_updated', 'app.created']);
  });

  it('answers an unknown app id with 404 APP_NOT_FOUND', async () => {
    const res = await api('/v1/app_000000000000/config');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('APP_NOT_FOUND');
  });
});

/** GET with an explicit Host header (Node's fetch cannot set one), as `curl -H 'Host: …'` does. */
function getWithHost(path: string, host: string): Promise<{ status: number; type: string; text: string }> {
  const target = new URL(path, inject('platformUrl'));
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: target.hostname, port: target.port, path: target.pathname, headers: { host } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), text }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('app hosts', () => {
  it('routes {subdomain}.localhost:{port} to the app host with the app resolved, and the API host by path', async () => {
    const { appId, name } = await createReadyApp('host');
    const config = await api(`/v1/${appId}/config`);
    const subdomain = config.body.subdomain as string;
    const port = new URL(inject('platformUrl')).port;
    const site = await getWithHost('/', `${subdomain}.localhost:${port}`);
    expect(site.status).toBe(404);
    expect(site.type).toContain('text/html');
    expect(site.text).toContain(name);
    expect(site.text).toContain(appId);
    const deep = await getWithHost('/settings/profile', `${subdomain.toUpperCase()}.LOCALHOST:${port}`);
    expect(deep.text).toContain(appId);
    const unknown = await getWithHost('/', `no-such-app-${Date.now()}.localhost:${port}`);
    expect(unknown.status).toBe(404);
    expect(unknown.text).toContain('No app is served at');
    // The API host and reserved labels keep path routing.
    const apiHost = await getWithHost('/health', `api.localhost:${port}`);
    expect(JSON.parse(apiHost.text)).toMatchObject({ status: 'ok' });
  });
});

describe('pause gate', () => {
  it('paused: data plane gets 503 APP_PAUSED with Retry-After; control plane keeps working; resume restores it', async () => {
    const { appId } = await createReadyApp('pause');
    // Beyond Latin-1 on purpose: the reason travels to the concern Workers in an internal header.
    const reason = 'maintenance — back at 10:00 ☕';
    const paused = await api(`/v1/${appId}/config/pause`, { method: 'PATCH', body: { paused: true, reason } });
    expect(paused.body).toMatchObject({ app_id: appId, paused: true, paused_reason: reason });
    expect(paused.body.paused_at).toEqual(expect.any(String));

    const data = await api(`/v1/${appId}/posts`);
    expect(data.status).toBe(503);
    expect(data.headers.get('retry-after')).toBe('60');
    expect(data.body.error).toMatchObject({ code: 'APP_PAUSED', details: { paused_reason: reason } });
    expect((await api(`/v1/${appId}/config`)).status).toBe(200);

    const resumed = await api(`/v1/${appId}/config/pause`, { method: 'PATCH', body: { paused: false } });
    expect(resumed.body).toMatchObject({ paused: false, paused_at: null, paused_reason: null });
    expect((await api(`/v1/${appId}/posts`)).status).not.toBe(503);
  });
});

describe('pause gate for cached callers', () => {
  it('applies a pause at once to anonymous traffic the gate has just cached', async () => {
    const { appId } = await createReadyApp('pausecache');
    for (let i = 0; i < 3; i++) expect((await api(`/v1/${appId}/posts`, { token: null })).status).not.toBe(503);
    await api(`/v1/${appId}/config/pause`, { method: 'PATCH', body: { paused: true } });
    const paused = await api(`/v1/${appId}/posts`, { token: null });
    expect(paused.status).toBe(503);
    expect(paused.body.error.code).toBe('APP_PAUSED');
    await api(`/v1/${appId}/config/pause`, { method: 'PATCH', body: { paused: false } });
    expect((await api(`/v1/${appId}/posts`, { token: null })).status).not.toBe(503);
  });
});

describe('rate limit', () => {
  it('allows the per-app budget of 100 per minute, then answers 429 QUOTA_RATE_LIMIT with Retry-After', async () => {
    const { appId } = await createReadyApp('rate');
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 100; i++) {
      last = await api(`/v1/${appId}/config`);
      statuses.push(last.status);
    }
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(last!.headers.get('x-ratelimit-limit')).toBe('100');
    const over = await api(`/v1/${appId}/config`);
    expect(over.status).toBe(429);
    expect(over.body.error.code).toBe('QUOTA_RATE_LIMIT');
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(over.headers.get('x-ratelimit-remaining')).toBe('0');
    // Budgets are per app: another app is unaffected.
    const { appId: other } = await createReadyApp('rate2');
    expect((await api(`/v1/${other}/config`)).status).toBe(200);
  });

  it('10,000 anonymous requests from one IP spend only that IP\'s budget: the owner\'s key and a signed-in user are unaffected', async () => {
    const { appId } = await createReadyApp('flood');
    const user = await signedInUser(appId, 'flood', { baseUrl: inject('platformUrl') });
    const statuses = new Map<number, number>();
    let retryAfter: string | null = null;
    let next = 0;
    const worker = async () => {
      while (next < 10_000) {
        next += 1;
        const res = await fetch(`${inject('platformUrl')}/v1/${appId}/anything`);
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 429) retryAfter = res.headers.get('retry-after');
      }
    };
    const startedMs = Date.now();
    await Promise.all(Array.from({ length: 32 }, worker));
    // The budget is 100 a minute from the window's first request: a flood that outlasts a minute on a
    // busy machine legitimately gets 100 more per window it reaches (plus the 32 in flight).
    const windows = Math.ceil((Date.now() - startedMs) / 60_000);
    expect(statuses.get(429)).toBeGreaterThanOrEqual(10_000 - 100 * windows - 32);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    const owner = await api(`/v1/${appId}/config`);
    expect(owner.status).toBe(200);
    expect(Number(owner.headers.get('x-ratelimit-remaining'))).toBeGreaterThan(90);
    const asUser = await api(`/v1/${appId}/anything`, { token: user.token });
    expect(asUser.status).not.toBe(429);
    const stillFlooding = await api(`/v1/${appId}/anything`, { token: null });
    expect(stillFlooding.status).toBe(429);
    expect(stillFlooding.body.error).toMatchObject({ code: 'QUOTA_RATE_LIMIT', details: { scope: 'principal' } });
  }, 180_000);
});

describe('service keys', () => {
  it('lists keys by prefix without ever returning the key', async () => {
    const created = await api('/api-keys', { body: { name: 'listing' } });
    const list = await api('/api-keys');
    const entry = list.body.keys.find((k: { id: string }) => k.id === created.body.keyId);
    expect(entry).toMatchObject({ name: 'listing', key_prefix: created.body.key.slice(0, 12), scopes: ['*'] });
    expect(list.text).not.toContain(created.body.key);
  });

  it('an app-scoped key reaches only its app and cannot create apps or keys', async () => {
    const { appId } = await createReadyApp('scoped');
    const { appId: otherApp } = await createReadyApp('scoped2');
    const created = await api('/api-keys', { body: { name: 'app-only', key_scope: 'app', target_app_id: appId } });
    expect(created.status).toBe(201);
    expect(created.body.scopes).toEqual([`app:${appId}`]);
    const key = created.body.key;
    expect((await api(`/v1/${appId}/config`, { token: key })).status).toBe(200);
    expect((await api(`/v1/${otherApp}/config`, { token: key })).body.error.code).toBe('APP_NOT_FOUND');
    expect((await api('/apps', { token: key })).body.apps.map((a: { id: string }) => a.id)).toEqual([appId]);
    const init = await api('/init', { token: key, body: { name: uniqueName('nope') } });
    expect(init.status).toBe(403);
    expect(init.body.error.code).toBe('AUTH_INSUFFICIENT_PERMISSIONS');
  });

  it('refuses to scope a key to an app of another account', async () => {
    const other = await createOtherAccount('keys');
    const { appId } = await createReadyApp('keyown');
    const res = await api('/api-keys', { token: other.key, body: { name: 'x', key_scope: 'app', target_app_id: appId } });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('APP_NOT_FOUND');
  });

  it('revoking an unknown or malformed key id is 404', async () => {
    for (const id of [crypto.randomUUID(), '-'.repeat(36), 'not-a-uuid']) {
      const res = await api(`/api-keys/${id}`, { method: 'DELETE' });
      expect(res.status, id).toBe(404);
      expect(res.body.error.code, id).toBe('RESOURCE_NOT_FOUND');
    }
  });
});

describe('wire shapes the unmodified SDK and CLI expect (API.md §2, §14)', () => {
  it('GET /v1/regions answers { regions: string[] }, with the detail in region_details', async () => {
    const res = await api('/v1/regions', { token: null });
    expect(res.status).toBe(200);
    expect(res.body.regions).toEqual(expect.arrayContaining(['us-east-1']));
    expect(res.body.regions.every((r: unknown) => typeof r === 'string')).toBe(true);
    expect(res.body.region_details).toEqual(res.body.regions.map((id: string) => ({ id, open: true, default: id === res.body.default_region })));
  });

  it('PATCH config/cors takes the SDK\'s allowedOrigins and the CLI\'s methods, headers and credentials; GET config carries cors_allowed_origins', async () => {
    const { appId } = await createReadyApp('sdkcors');
    const camel = await api(`/v1/${appId}/config/cors`, {
      method: 'PATCH',
      body: { allowedOrigins: ['https://app.example/'], allowedMethods: ['get', 'POST'], allowedHeaders: ['X-Client-Version'], allowCredentials: false },
    });
    expect(camel.status, camel.text).toBe(200);
    expect(camel.body).toMatchObject({ app_id: appId, allowed_origins: ['https://app.example'], allowed_methods: ['GET', 'POST'], allowed_headers: ['x-client-version'], allow_credentials: false });
    // Only the fields sent change; empty lists mean the defaults again.
    const reset = await api(`/v1/${appId}/config/cors`, { method: 'PATCH', body: { allowedMethods: [], allowedHeaders: [] } });
    expect(reset.body).toMatchObject({ allowed_origins: ['https://app.example'], allowed_methods: [], allowed_headers: [], allow_credentials: false });
    const config = await api(`/v1/${appId}/config`);
    expect(config.body).toMatchObject({ allowed_origins: ['https://app.example'], cors_allowed_origins: ['https://app.example'], cors_allowed_methods: [], cors_allowed_headers: [], cors_allow_credentials: false });
    const conflicting = await api(`/v1/${appId}/config/cors`, { method: 'PATCH', body: { allowed_origins: ['https://a.example'], allowedOrigins: ['https://b.example'] } });
    expect(conflicting.status).toBe(400);
    expect(conflicting.body.error.details.map((d: { path: string }) => d.path)).toContain('allowedOrigins');
  });

  it('PATCH config/storage takes the CLI\'s allowedContentTypes (MIME types, type/* wildcards) and refuses malformed ones', async () => {
    const { appId } = await createReadyApp('sdkstore');
    const ok = await api(`/v1/${appId}/config/storage`, { method: 'PATCH', body: { allowedContentTypes: ['image/*', 'Application/PDF'] } });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.storage_config).toMatchObject({ allowedContentTypes: ['image/*', 'application/pdf'], maxFileSizeMb: 10 });
    expect((await api(`/v1/${appId}/config`)).body.storage_config.allowedContentTypes).toEqual(['image/*', 'application/pdf']);
    for (const bad of [[], ['image'], ['*/png'], ['text/plain; charset=utf-8']]) {
      const res = await api(`/v1/${appId}/config/storage`, { method: 'PATCH', body: { allowedContentTypes: bad } });
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(res.body.error.details[0].path, JSON.stringify(bad)).toMatch(/^allowedContentTypes/);
    }
  });
});

describe('CORS', () => {
  it('never sends credentials with a wildcard: platform routes and default apps answer *, listed origins get themselves', async () => {
    const { appId } = await createReadyApp('corscred');
    const cases: { name: string; path: string; origin: string; allowOrigin: string | null; credentials: string | null }[] = [
      { name: 'platform route', path: '/apps', origin: 'https://evil.example', allowOrigin: '*', credentials: null },
      { name: 'app at the default ["*"]', path: `/v1/${appId}/config`, origin: 'https://evil.example', allowOrigin: '*', credentials: null },
    ];
    for (const c of cases) {
      const res = await api(c.path, { headers: { origin: c.origin } });
      expect(res.headers.get('access-control-allow-origin'), c.name).toBe(c.allowOrigin);
      expect(res.headers.get('access-control-allow-credentials'), c.name).toBe(c.credentials);
    }
    await api(`/v1/${appId}/config/cors`, { method: 'PATCH', body: { allowed_origins: ['https://good.example'] } });
    const listed = await api(`/v1/${appId}/config`, { headers: { origin: 'https://good.example' } });
    expect(listed.headers.get('access-control-allow-origin')).toBe('https://good.example');
    expect(listed.headers.get('access-control-allow-credentials')).toBe('true');
    const other = await api(`/v1/${appId}/config`, { headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    expect(other.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('answers preflight for allowed origins and withholds the header from others', async () => {
    const { appId } = await createReadyApp('cors');
    await api(`/v1/${appId}/config/cors`, { method: 'PATCH', body: { allowed_origins: ['https://good.example'] } });
    const preflight = await api(`/v1/${appId}/posts`, {
      method: 'OPTIONS', token: null,
      headers: { origin: 'https://good.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://good.example');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('PATCH');
    const evil = await api(`/v1/${appId}/config`, { headers: { origin: 'https://evil.example' } });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    const good = await api(`/v1/${appId}/config`, { headers: { origin: 'https://good.example' } });
    expect(good.headers.get('access-control-allow-origin')).toBe('https://good.example');
  });

  it("applies the CLI's allowedMethods / allowedHeaders to preflights, and empty lists restore the defaults", async () => {
    const { appId } = await createReadyApp('corsset');
    const preflight = () => api(`/v1/${appId}/posts`, {
      method: 'OPTIONS', token: null,
      headers: { origin: 'https://good.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-anything' },
    });
    const set = await api(`/v1/${appId}/config/cors`, { method: 'PATCH', body: { allowedOrigins: ['https://good.example'], allowedMethods: ['GET', 'POST'], allowedHeaders: ['X-Client-Version'] } });
    expect(set.status, set.text).toBe(200);
    await new Promise((r) => setTimeout(r, 1_100)); // anonymous gate lookups may be cached for 1 s
    const narrowed = await preflight();
    expect(narrowed.headers.get('access-control-allow-methods')).toBe('GET, POST');
    expect(narrowed.headers.get('access-control-allow-headers')).toBe('x-client-version');
    await api(`/v1/${appId}/config/cors`, { method: 'PATCH', body: { allowed_origins: ['https://good.example'], allowedMethods: [], allowedHeaders: [] } });
    await new Promise((r) => setTimeout(r, 1_100));
    const defaults = await preflight();
    expect(defaults.headers.get('access-control-allow-methods')).toContain('PATCH');
    expect(defaults.headers.get('access-control-allow-headers')).toBe('x-anything');
  });
});

describe('audit log', () => {
  it('records config changes with the acting key, and filters by event type', async () => {
    const { appId } = await createReadyApp('audit');
    await api(`/v1/${appId}/config/access-mode`, { method: 'PATCH', body: { access_mode: 'authenticated' } });
    await api(`/v1/${appId}/config/access-mode`, { method: 'PATCH', body: { access_mode: 'nope' } });
    // Audit writes happen after the response; give them a moment.
    let logs;
    for (let i = 0; i < 20; i++) {
      logs = await api(`/v1/${appId}/audit-logs?event_type=config.access_mode_updated`);
      if (logs.body.total >= 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // The refused attempt is in the log too, with what was sent and why it was refused.
    expect(logs!.body.total).toBe(2);
    const [refused, applied] = [logs!.body.logs.find((l: { success: boolean }) => !l.success), logs!.body.logs.find((l: { success: boolean }) => l.success)];
    expect(applied).toMatchObject({
      app_id: appId, category: 'admin', action: 'update', actor_type: 'service_key', success: true,
      event_data: { change: { access_mode: 'authenticated' }, via: 'rest' },
    });
    expect(refused).toMatchObject({
      app_id: appId, actor_type: 'service_key', success: false,
      event_data: { request_body: '{"access_mode":"nope"}', error_code: 'VALIDATION_INVALID_SCHEMA', via: 'rest' },
    });
    const all = await api(`/v1/${appId}/audit-logs?limit=1`);
    expect(all.body).toMatchObject({ limit: 1, offset: 0 });
    expect(all.body.total).toBeGreaterThanOrEqual(2);
    expect(all.body.nextOffset).toBe(1);
    const bad = await api(`/v1/${appId}/audit-logs?limit=9999`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].path).toBe('limit');
    // JavaScript's Date.parse takes "1" and "2024"; Postgres does not, so they are refused up front.
    for (const from of ['1', '2024', 'yesterday']) {
      const res = await api(`/v1/${appId}/audit-logs?from=${from}`);
      expect(res.status, from).toBe(400);
      expect(res.body.error.details[0].path, from).toBe('from');
    }
    const ranged = await api(`/v1/${appId}/audit-logs?from=2000-01-01&to=${encodeURIComponent('2999-01-01T00:00:00+02:00')}`);
    expect(ranged.status).toBe(200);
    expect(ranged.body.total).toBe(all.body.total);
  });
});
