/**
 * Hosting through the real platform (router → hosting Worker → R2 and the control database): static
 * SPA deploys served on the app host with their types and caching headers, 304s, ranges, Pages
 * `_redirects`/`_headers`, atomic redeploys and rollback, hostile zips refused with nothing served,
 * and every §10.2 error path.
 */
import { zipSync } from 'fflate';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { api, createReadyApp } from './helpers/api.ts';
import { raiseRateLimit } from './helpers/control-db.ts';
import { createAndUpload, deploy, inspectorCall, putDeclaringLength, siteRequest, subdomainOf, zipOf } from './helpers/hosting.ts';

let appId: string;
let subdomain: string;

const spa = (marker: string) => zipOf({
  'index.html': `<!doctype html><html><head><script type="module" src="/assets/index-B7x9Qa2c.js"></script></head><body><div id="root">${marker}</div></body></html>`,
  'assets/index-B7x9Qa2c.js': `document.getElementById('root').dataset.ready = '${marker}';`,
  'assets/style-9f8e7d6c.css': 'body { color: red }',
  'favicon.svg': '<svg xmlns="http://www.w3.org/2000/svg"></svg>',
  'robots.txt': 'User-agent: *\n',
  'docs/index.html': '<h1>docs</h1>',
  'about.html': '<h1>about</h1>',
});

beforeAll(async () => {
  ({ appId } = await createReadyApp('host'));
  await raiseRateLimit(appId, 100_000);
  subdomain = await subdomainOf(appId);
});

describe('a React SPA deploy', () => {
  let first: any;
  it('deploys to READY and serves the site at the app host', async () => {
    const none = await siteRequest(subdomain, '/');
    expect(none.status).toBe(404);
    expect(none.text).toContain('has no site yet');

    first = await deploy(appId, spa('v1'));
    expect(first).toMatchObject({ status: 'READY', error: null, fileCount: 7, framework: 'react-vite', active: true, url: expect.stringContaining(`${subdomain}.localhost`) });
    const home = await siteRequest(subdomain, '/');
    expect(home.status).toBe(200);
    expect(home.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(home.headers['cache-control']).toBe('public, max-age=0, must-revalidate');
    expect(home.text).toContain('v1');
  });

  it('serves index.html for deep links (SPA fallback) and directories, and pretty URLs', async () => {
    const deep = await siteRequest(subdomain, '/settings/profile');
    expect(deep.status).toBe(200);
    expect(deep.text).toContain('<div id="root">v1</div>');
    expect((await siteRequest(subdomain, '/docs/')).text).toBe('<h1>docs</h1>');
    expect((await siteRequest(subdomain, '/docs')).text).toBe('<h1>docs</h1>');
    expect((await siteRequest(subdomain, '/about')).text).toBe('<h1>about</h1>');
  });

  it('gives assets their types and caching headers, 304 on If-None-Match, ranges and HEAD', async () => {
    const js = await siteRequest(subdomain, '/assets/index-B7x9Qa2c.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.headers.etag).toMatch(/^"[0-9a-f]+"$/);
    expect((await siteRequest(subdomain, '/assets/style-9f8e7d6c.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await siteRequest(subdomain, '/favicon.svg')).headers['content-type']).toBe('image/svg+xml; charset=utf-8');
    const robots = await siteRequest(subdomain, '/robots.txt');
    expect(robots.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(robots.headers['cache-control']).toBe('public, max-age=0, must-revalidate');

    const again = await siteRequest(subdomain, '/assets/index-B7x9Qa2c.js', { headers: { 'if-none-match': js.headers.etag as string } });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);

    const range = await siteRequest(subdomain, '/robots.txt', { headers: { range: 'bytes=0-3' } });
    expect(range.status).toBe(206);
    expect(range.text).toBe('User');
    expect(range.headers['content-range']).toBe('bytes 0-3/14');
    const suffix = await siteRequest(subdomain, '/robots.txt', { headers: { range: 'bytes=-2' } });
    expect(suffix.text).toBe('*\n');
    expect((await siteRequest(subdomain, '/robots.txt', { headers: { range: 'bytes=100-' } })).status).toBe(416);

    const head = await siteRequest(subdomain, '/robots.txt', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('14');
    expect(head.body.length).toBe(0);
    expect((await siteRequest(subdomain, '/', { method: 'POST' })).status).toBe(405);
  });

  it('swaps atomically on redeploy and rolls back with activate', async () => {
    const second = await deploy(appId, spa('v2'));
    expect(second.status).toBe('READY');
    expect((await siteRequest(subdomain, '/')).text).toContain('v2');
    const list = await api(`/v1/${appId}/frontend/deployments`);
    expect(list.status).toBe(200);
    expect(list.body.deployments.map((d: any) => [d.id, d.status, d.active])).toEqual(expect.arrayContaining([[second.id, 'READY', true], [first.id, 'READY', false]]));

    const rolledBack = await api(`/v1/${appId}/frontend/deployments/${first.id}/activate`, { method: 'POST' });
    expect(rolledBack.status, rolledBack.text).toBe(200);
    expect(rolledBack.body).toMatchObject({ id: first.id, active: true });
    expect((await siteRequest(subdomain, '/')).text).toContain('v1');
    expect((await api(`/v1/${appId}/frontend/deployments/${second.id}/activate`, { method: 'POST' })).status).toBe(200);
    expect((await siteRequest(subdomain, '/')).text).toContain('v2');
  });

  it('keeps serving the old site while a new deployment has not finished, and after a failed one', async () => {
    const { id } = await createAndUpload(appId, spa('v3'));
    expect((await siteRequest(subdomain, '/')).text).toContain('v2');
    expect((await api(`/v1/${appId}/frontend/deployments/${id}/cancel`, { method: 'POST' })).body.status).toBe('CANCELED');
    const broken = await deploy(appId, zipOf({ '../evil.html': 'x' }));
    expect(broken.status).toBe('ERROR');
    expect((await siteRequest(subdomain, '/')).text).toContain('v2');
  });
});

describe('Pages rules and plain static sites', () => {
  it('applies _redirects and _headers, serves 404.html, and injects no SPA fallback for static', async () => {
    const { appId: app } = await createReadyApp('host-rules');
    const sub = await subdomainOf(app);
    const result = await deploy(app, zipOf({
      'index.html': 'home',
      '404.html': 'custom not found',
      'blog/post.html': 'post',
      _redirects: '# comments are fine\n/old /new-place 301\n/news/:year/* /blog/:splat 302\n/app/* /index.html 200\n',
      _headers: '/*\n  X-Frame-Options: DENY\n/blog/*\n  Cache-Control: no-store\n  X-Extra: a\n',
    }), 'static');
    expect(result.status, result.error).toBe('READY');
    const moved = await siteRequest(sub, '/old?x=1');
    expect(moved.status).toBe(301);
    expect(moved.headers.location).toBe(`http://${sub}.localhost:${new URL(inject('platformUrl')).port}/new-place?x=1`);
    const splat = await siteRequest(sub, '/news/2024/post');
    expect(splat.status).toBe(302);
    expect(splat.headers.location).toMatch(/\/blog\/post$/);
    const rewritten = await siteRequest(sub, '/app/anything');
    expect(rewritten.status).toBe(200);
    expect(rewritten.text).toBe('home');
    const missing = await siteRequest(sub, '/nope');
    expect(missing.status).toBe(404);
    expect(missing.text).toBe('custom not found');
    const blog = await siteRequest(sub, '/blog/post');
    expect(blog.text).toBe('post');
    expect(blog.headers['cache-control']).toBe('no-store');
    expect(blog.headers['x-frame-options']).toBe('DENY');
    expect(blog.headers['x-extra']).toBe('a');
  });

  it('refuses a malformed _redirects with the line', async () => {
    const { appId: app } = await createReadyApp('host-badrules');
    const result = await deploy(app, zipOf({ 'index.html': 'x', _redirects: '/a /b 418\n' }), 'static');
    expect(result.status).toBe('ERROR');
    expect(result.error).toContain('_redirects line 1');
  });
});

describe('hostile archives are refused and nothing is served', () => {
  // A Unix symlink entry: external attributes carry mode 0120777 in their upper 16 bits.
  const symlinkZip = () => zipSync({
    'index.html': new TextEncoder().encode('x'),
    'secrets': [new TextEncoder().encode('/etc/passwd'), { os: 3, attrs: 0o120777 * 65536 }],
  });
  const cases: [string, () => Uint8Array, RegExp][] = [
    ['zip-slip', () => zipOf({ 'index.html': 'x', '../../etc/cron.d/x': 'evil' }), /climbs out of the site/],
    ['absolute path', () => zipOf({ '/etc/passwd': 'evil' }), /absolute path/],
    ['backslash path', () => zipOf({ 'assets\\app.js': 'x' }), /backslash/],
    ['zip bomb', () => zipOf({ 'index.html': new Uint8Array(20 * 1024 * 1024) }, { level: 9 }), /zip bomb/],
    ['symlink', symlinkZip, /symbolic link/],
    ['too large a file', () => zipOf({ 'index.html': 'x', 'video.bin': new Uint8Array(26 * 1024 * 1024).map((_, i) => (i * 7919) % 251) }, { level: 0 }), /at most 26214400 bytes/],
    ['not a zip', () => new TextEncoder().encode('this is not a zip'), /not a readable zip/],
  ];
  for (const [name, make, message] of cases) {
    it(`refuses ${name}`, async () => {
      const { appId: app } = await createReadyApp('host-bad');
      const sub = await subdomainOf(app);
      const result = await deploy(app, make(), 'static');
      expect(result.status).toBe('ERROR');
      expect(result.error).toMatch(message);
      expect((await siteRequest(sub, '/')).text).toContain('has no site yet');
    });
  }
});

describe('§10.2 error paths', () => {
  it('answers each failure with its code', async () => {
    const created = await api(`/v1/${appId}/frontend/deployments`, { body: { framework: 'static' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ expiresIn: 900, maxSizeBytes: 104857600, uploadUrl: expect.stringContaining('/upload?expires=') });
    const id = created.body.id as string;
    const upload = new URL(created.body.uploadUrl);
    const cases: [string, () => Promise<{ status: number; body: any }>, number, string][] = [
      ['start before upload', () => api(`/v1/${appId}/frontend/deployments/${id}/start`, { method: 'POST' }), 409, 'STATE_PREREQUISITE_MISSING'],
      ['bad framework', () => api(`/v1/${appId}/frontend/deployments`, { body: { framework: 'angular' } }), 400, 'VALIDATION_INVALID_SCHEMA'],
      ['unknown field', () => api(`/v1/${appId}/frontend/deployments`, { body: { frameworx: 'static' } }), 400, 'VALIDATION_INVALID_SCHEMA'],
      ['unknown deployment', () => api(`/v1/${appId}/frontend/deployments/00000000-0000-4000-8000-000000000000`), 404, 'RESOURCE_NOT_FOUND'],
      ['malformed id', () => api(`/v1/${appId}/frontend/deployments/nope`), 404, 'RESOURCE_NOT_FOUND'],
      ['anonymous', () => api(`/v1/${appId}/frontend/deployments`, { token: null }), 401, 'AUTH_REQUIRED'],
      ['forged upload signature', async () => {
        const res = await fetch(upload.toString().replace(/signature=[0-9a-f]{4}/, 'signature=0000'), { method: 'PUT', headers: { 'content-type': 'application/zip' }, body: 'x' });
        return { status: res.status, body: await res.json() };
      }, 401, 'AUTH_INVALID_TOKEN'],
      ['wrong upload type', async () => {
        const res = await fetch(upload, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'x' });
        return { status: res.status, body: await res.json() };
      }, 400, 'VALIDATION_INVALID_TYPE'],
      ['oversize upload', () => putDeclaringLength(upload.toString(), 104857601), 400, 'QUOTA_FILE_SIZE_EXCEEDED'],
      ['from-source', () => api(`/v1/${appId}/frontend/deployments/from-source`, { method: 'POST' }), 501, 'FEATURE_NOT_AVAILABLE'],
      ['activate a WAITING deployment', () => api(`/v1/${appId}/frontend/deployments/${id}/activate`, { method: 'POST' }), 409, 'INVALID_STATUS'],
      ['a static id under edge-ssr (test/hosting-ssr.integration.test.ts covers SSR)', () => api(`/v1/${appId}/edge-ssr/deployments/${id}`), 404, 'RESOURCE_NOT_FOUND'],
    ];
    for (const [name, call, status, code] of cases) {
      const res = await call();
      expect({ name, status: res.status, code: res.body?.error?.code }).toEqual({ name, status, code });
    }
    expect((await api(`/v1/${appId}/frontend/deployments/${id}/cancel`, { method: 'POST' })).body.status).toBe('CANCELED');
    const again = await api(`/v1/${appId}/frontend/deployments/${id}/cancel`, { method: 'POST' });
    expect([again.status, again.body.error.code]).toEqual([409, 'INVALID_STATUS']);
    const late = await fetch(upload, { method: 'PUT', headers: { 'content-type': 'application/zip' }, body: 'PK' });
    expect([late.status, ((await late.json()) as any).error.code]).toEqual([409, 'INVALID_STATUS']);
    const deleted = await api(`/v1/${appId}/frontend/deployments/${id}`, { method: 'DELETE' });
    expect([deleted.status, deleted.body]).toEqual([200, { deleted: true }]);
  });

  it('expired upload URLs are refused with UPLOAD_EXPIRED', async () => {
    const created = await api(`/v1/${appId}/frontend/deployments`, { body: {} });
    const { controlDb } = await import('./helpers/control-db.ts');
    await controlDb().query(`UPDATE frontend_deployments SET upload_expires_at = now() - interval '1 minute' WHERE id = $1`, [created.body.id]);
    const start = await api(`/v1/${appId}/frontend/deployments/${created.body.id}/start`, { method: 'POST' });
    expect([start.status, start.body.error.code]).toEqual([410, 'UPLOAD_EXPIRED']);
  });

  it('stores env keys and returns keys only', async () => {
    const put = await api(`/v1/${appId}/frontend/env`, { method: 'PUT', body: { VITE_API_URL: 'http://x', VITE_APP_ID: appId } });
    expect(put.status, put.text).toBe(200);
    expect(put.body.keys).toEqual(['VITE_API_URL', 'VITE_APP_ID']);
    expect((await api(`/v1/${appId}/frontend/env`, { method: 'PATCH', body: { VITE_API_URL: 'http://y' } })).status).toBe(200);
    const read = await api(`/v1/${appId}/frontend/env`);
    expect(read.body.envVars.map((v: any) => v.key)).toEqual(['VITE_API_URL', 'VITE_APP_ID']);
    expect(read.text).not.toContain('http://');
    const empty = await api(`/v1/${appId}/frontend/env`, { method: 'PUT', body: { A: '' } });
    expect([empty.status, empty.body.error.code]).toEqual([400, 'VALIDATION_INVALID_SCHEMA']);
  });
});

describe('a real browser', () => {
  it('loads the deployed SPA at a deep link; the app signs a user up and reads rows through the REST API (CORS)', async () => {
    const { chromium } = await import('playwright-core');
    const { appId: app } = await createReadyApp('host-browser');
    await raiseRateLimit(app, 100_000);
    const sub = await subdomainOf(app);
    const schema = { tables: { notes: { columns: { id: { type: 'serial', primaryKey: true }, body: { type: 'text' } } } } };
    expect((await api(`/v1/${app}/schema/apply`, { body: { schema, name: 'notes' } })).status).toBe(200);
    expect((await api(`/v1/${app}/notes`, { body: { body: 'hello from the database' } })).status).toBe(201);
    const apiBase = inject('platformUrl');
    const script = `
      const api = ${JSON.stringify(apiBase)}, app = ${JSON.stringify(app)};
      const post = (path, body) => fetch(api + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      (async () => {
        const email = 'browser-' + Math.random().toString(36).slice(2) + '@example.com', password = 'Str0ng!pass-for-tests';
        const signup = await post('/auth/' + app + '/signup', { email, password });
        const login = await (await post('/auth/' + app + '/login', { email, password })).json();
        const rows = await (await fetch(api + '/v1/' + app + '/notes', { headers: { authorization: 'Bearer ' + login.access_token } })).json();
        document.getElementById('root').textContent = JSON.stringify({ route: location.pathname, signup: signup.status, rows });
        document.body.dataset.done = '1';
      })().catch((e) => { document.getElementById('root').textContent = 'failed: ' + e; document.body.dataset.done = '1'; });`;
    const result = await deploy(app, zipOf({
      'index.html': '<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="/assets/index-C1d2E3f4.css"><script type="module" src="/assets/index-A1b2C3d4.js"></script></head><body><div id="root">loading</div></body></html>',
      'assets/index-A1b2C3d4.js': script,
      'assets/index-C1d2E3f4.css': '#root { font-family: sans-serif }',
    }));
    expect(result.status, result.error).toBe('READY');
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
    try {
      const page = await browser.newPage();
      const failures: string[] = [];
      page.on('requestfailed', (r) => failures.push(r.url()));
      const response = await page.goto(`http://${sub}.localhost:${new URL(apiBase).port}/settings/profile`);
      expect(response?.status()).toBe(200);
      await page.waitForSelector('body[data-done="1"]', { timeout: 30_000 });
      const shown = await page.textContent('#root');
      expect(JSON.parse(shown!)).toEqual({ route: '/settings/profile', signup: 201, rows: [{ id: 1, body: 'hello from the database' }] });
      expect(failures).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 150_000);
});

describe('MCP tools through the Inspector CLI', () => {
  it('create_frontend_deployment + manage_frontend start_deployment put a site live; list, activate, set_env; from-source is 501', async () => {
    const { appId: app } = await createReadyApp('host-mcp');
    const sub = await subdomainOf(app);
    const created = await inspectorCall('create_frontend_deployment', { app_id: app, framework: 'react-vite' });
    expect(created.isError, created.text).toBe(false);
    expect(created.json).toMatchObject({ deployment_id: expect.any(String), uploadUrl: expect.any(String), expiresIn: 900, maxSizeBytes: 104857600 });
    const put = await fetch(created.json.uploadUrl, { method: 'PUT', headers: { 'content-type': 'application/zip' }, body: spa('via-mcp') });
    expect(put.status).toBe(200);
    const started = await inspectorCall('manage_frontend', { action: 'start_deployment', app_id: app, deployment_id: created.json.deployment_id });
    expect(started.isError, started.text).toBe(false);
    expect(started.json).toMatchObject({ id: created.json.deployment_id, status: 'READY', active: true, url: `http://${sub}.localhost:${new URL(inject('platformUrl')).port}` });
    expect((await siteRequest(sub, '/settings/profile')).text).toContain('via-mcp');

    const listed = await inspectorCall('manage_frontend', { action: 'list_deployments', app_id: app });
    expect(listed.json.deployments).toHaveLength(1);
    const activated = await inspectorCall('manage_frontend', { action: 'activate_deployment', app_id: app, deployment_id: created.json.deployment_id });
    expect(activated.isError, activated.text).toBe(false);
    const env = await inspectorCall('manage_frontend', { action: 'set_env', app_id: app, vars: { VITE_APP_ID: app } });
    expect(env.json).toMatchObject({ keys: ['VITE_APP_ID'] });
    const source = await inspectorCall('manage_frontend', { action: 'create_from_source', app_id: app });
    expect(source.isError).toBe(true);
    expect(source.json.error).toMatchObject({ code: 'FEATURE_NOT_AVAILABLE', remediation: expect.stringContaining('zip') });
    const missing = await inspectorCall('manage_frontend', { action: 'start_deployment', app_id: app });
    expect(missing.json.error.code).toBe('VALIDATION_MISSING_FIELD');
  });
});

describe('custom domains', () => {
  it('adds a hostname that is then routed by Host to the app\'s site; status, verify, list, delete; error paths', async () => {
    const hostname = `www.${Date.now().toString(36)}.example.test`;
    const added = await api(`/v1/${appId}/custom-domains`, { body: { hostname } });
    expect(added.status, added.text).toBe(201);
    expect(added.body).toMatchObject({ domain: { hostname, status: 'active', ssl_status: 'active', app_id: appId, domain_type: 'subdomain', is_primary: false }, cname_target: 'butterbase.dev', validation_method: 'http' });
    const id = added.body.domain.id;
    const port = new URL(inject('platformUrl')).port;
    const { request } = await import('node:http');
    const viaCustomHost = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/settings/profile', headers: { host: `${hostname}:${port}` } }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      }).on('error', reject).end();
    });
    expect(viaCustomHost.status).toBe(200);
    expect(viaCustomHost.text).toContain('<div id="root">');
    expect((await api(`/v1/${appId}/custom-domains/${id}/status`)).body).toMatchObject({ domain: { id }, verification: { type: 'http', errors: [] } });
    expect((await api(`/v1/${appId}/custom-domains/${id}/verify`, { method: 'POST' })).status).toBe(200);
    expect((await api(`/v1/${appId}/custom-domains`)).body).toMatchObject({ domains: [expect.objectContaining({ id, hostname })], cname_target: 'butterbase.dev' });
    const cases: [string, Parameters<typeof api>[1], string, number, string][] = [
      ['duplicate', { body: { hostname } }, '', 409, 'RESOURCE_ALREADY_EXISTS'],
      ['not a hostname', { body: { hostname: 'not a host' } }, '', 400, 'VALIDATION_INVALID_NAME'],
      ['under the apps domain', { body: { hostname: 'x.butterbase.dev' } }, '', 400, 'VALIDATION_INVALID_NAME'],
      ['bad method', { body: { hostname: 'a.example.test', validation_method: 'dns' } }, '', 400, 'VALIDATION_INVALID_SCHEMA'],
      ['unknown id', {}, '/00000000-0000-4000-8000-000000000000/status', 404, 'RESOURCE_NOT_FOUND'],
    ];
    for (const [name, options, suffix, status, code] of cases) {
      const res = await api(`/v1/${appId}/custom-domains${suffix}`, options);
      expect({ name, status: res.status, code: res.body?.error?.code }).toEqual({ name, status, code });
    }
    expect((await api(`/v1/${appId}/custom-domains/${id}`, { method: 'DELETE' })).body).toEqual({ deleted: true, id });
  });
});
