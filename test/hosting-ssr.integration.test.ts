/**
 * Edge SSR through the real platform (router → hosting Worker → Worker Loader → the bundle, and back
 * through the egress policy to the REST API): the SvelteKit fixture built with
 * @sveltejs/adapter-cloudflare (test/fixtures/ssr-app/output, built by scripts/build-ssr-fixture.ts)
 * renders a note read from the app's REST API at request time, serves its assets via ASSETS, takes
 * its env from the env route; SSR and static deploys replace each other and roll back; bundles that
 * throw at load, are too large or have no _worker.js are refused with the old site still serving;
 * its fetches to loopback and metadata addresses are refused.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { repoRoot } from '../scripts/lib/platform.ts';
import { api, createReadyApp } from './helpers/api.ts';
import { raiseRateLimit } from './helpers/control-db.ts';
import { createAndUpload, deploy, inspectorCall, siteRequest, subdomainOf, zipOf } from './helpers/hosting.ts';

const fixtureDir = join(repoRoot, 'test/fixtures/ssr-app/output');

/** The committed build output of the fixture, zipped as an agent would (`cd output && zip -r`). */
function fixtureZip(): Uint8Array {
  const files: Record<string, Uint8Array> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else files[relative(fixtureDir, path)] = readFileSync(path);
    }
  };
  walk(fixtureDir);
  return zipOf(files);
}

const ssrDeploy = (appId: string, zip: Uint8Array) => deploy(appId, zip, 'other-edge', 'edge-ssr');

/** A hand-written advanced-mode worker. */
const tinyWorker = (body: string) => zipOf({
  '_worker.js': `export default { async fetch(request, env, ctx) { ${body} } };`,
  'static.txt': 'a static file',
});

let appId: string;
let subdomain: string;
let noteId: string;
let fixture: any;

beforeAll(async () => {
  ({ appId } = await createReadyApp('ssr'));
  await raiseRateLimit(appId, 100_000);
  subdomain = await subdomainOf(appId);
  const applied = await api(`/v1/${appId}/schema/apply`, {
    body: { schema: { tables: { notes: { columns: { id: { type: 'uuid', primaryKey: true, default: 'gen_random_uuid()' }, title: { type: 'text', nullable: false }, body: { type: 'text', nullable: false } } } } } },
  });
  expect(applied.status, applied.text).toBe(200);
  const inserted = await api(`/v1/${appId}/notes`, { body: { title: 'First note', body: 'written before the deploy' } });
  expect(inserted.status, inserted.text).toBe(201);
  noteId = inserted.body.id;
}, 120_000);

describe('the SvelteKit fixture (adapter-cloudflare) on the app host', () => {
  it('takes its env from the env route (keys only on read)', async () => {
    const put = await api(`/v1/${appId}/edge-ssr/env`, {
      method: 'PUT',
      body: { BUTTERBASE_URL: inject('platformUrl'), BUTTERBASE_APP_ID: appId, BUTTERBASE_KEY: inject('serviceKey') },
    });
    expect(put.status, put.text).toBe(200);
    expect(put.body.keys).toEqual(['BUTTERBASE_URL', 'BUTTERBASE_APP_ID', 'BUTTERBASE_KEY']);
    const read = await api(`/v1/${appId}/edge-ssr/env`);
    expect(read.status).toBe(200);
    expect(read.body.envVars.map((v: any) => v.key)).toEqual(['BUTTERBASE_APP_ID', 'BUTTERBASE_KEY', 'BUTTERBASE_URL']);
    expect(read.text).not.toContain(inject('serviceKey'));
    expect((await api(`/v1/${appId}/edge-ssr/env`, { method: 'PUT', body: { BAD: '' } })).body.error.code).toBe('VALIDATION_INVALID_SCHEMA');
  });

  it('deploys to READY with the §10.3 fields', async () => {
    const created = await api(`/v1/${appId}/edge-ssr/deployments`, { body: {} });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ expiresIn: 900, maxSizeBytes: 104857600, uploadUrl: expect.stringContaining(`/v1/${appId}/edge-ssr/deployments/${created.body.id}/upload?expires=`) });
    expect((await api(`/v1/${appId}/edge-ssr/deployments/${created.body.id}`)).body.framework).toBe('nextjs-edge');
    expect((await api(`/v1/${appId}/edge-ssr/deployments/${created.body.id}`, { method: 'DELETE' })).body).toEqual({ deleted: true });

    const { id, uploadStatus } = await createAndUpload(appId, fixtureZip(), 'other-edge', 'edge-ssr');
    expect(uploadStatus).toBe(200);
    const started = await api(`/v1/${appId}/edge-ssr/deployments/${id}/start`, { method: 'POST' });
    expect(started.status, started.text).toBe(200);
    expect(started.body).toEqual({ id, status: 'UPLOADING' });
    const { waitForDeployment } = await import('./helpers/hosting.ts');
    fixture = await waitForDeployment(appId, id, 60_000, 'edge-ssr');
    expect(fixture, JSON.stringify(fixture)).toMatchObject({
      id, status: 'READY', error: null, framework: 'other-edge', active: true, workerScriptModuleCount: 1,
      url: expect.stringContaining(`${subdomain}.localhost`), cloudflareProjectName: null, buildConfig: { framework: 'other-edge' },
    });
    expect(fixture.workerScriptSizeBytes).toBeGreaterThan(10_000);
    expect(fixture.workerScriptSizeBytes).toBeLessThan(statSync(join(fixtureDir, '_worker.js')).size);
    expect(fixture.fileCount).toBeGreaterThan(5);
    const list = await api(`/v1/${appId}/edge-ssr/deployments`);
    expect(list.body.deployments.map((d: any) => [d.id, d.status, d.active])).toEqual([[id, 'READY', true]]);
    expect(Object.keys(list.body.deployments[0]).sort()).toEqual(['active', 'completedAt', 'createdAt', 'error', 'fileCount', 'framework', 'id', 'startedAt', 'status', 'totalSizeBytes', 'updatedAt', 'url', 'workerScriptModuleCount', 'workerScriptSizeBytes']);
    // Static and SSR deployments are listed under their own base only.
    expect((await api(`/v1/${appId}/frontend/deployments`)).body.deployments).toEqual([]);
    expect((await api(`/v1/${appId}/frontend/deployments/${id}`)).status).toBe(404);
  });

  it('renders the note server-side, reading it through the REST API on each request', async () => {
    const page = await siteRequest(subdomain, `/notes/${noteId}`);
    expect(page.status, page.text).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toContain('<h1 id="title">First note</h1>');
    expect(page.text).toContain('written before the deploy');
    const patched = await api(`/v1/${appId}/notes/${noteId}`, { method: 'PATCH', body: { title: 'Edited note', body: 'changed after the deploy' } });
    expect(patched.status, patched.text).toBe(200);
    const again = await siteRequest(subdomain, `/notes/${noteId}`);
    expect(again.text).toContain('<h1 id="title">Edited note</h1>');
    expect(again.text).toContain('changed after the deploy');
    const missing = await siteRequest(subdomain, '/notes/00000000-0000-4000-8000-000000000000');
    expect(missing.status).toBe(404);
    const home = await siteRequest(subdomain, '/');
    expect(home.status).toBe(200);
    expect(home.text).toContain(`<span id="app-id">${appId}</span>`);
  });

  it('serves the bundle\'s static assets through ASSETS with the static serving rules', async () => {
    const css = await siteRequest(subdomain, '/site.css');
    expect(css.status).toBe(200);
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(css.text).toContain('font-family');
    expect(css.headers.etag).toMatch(/^"[0-9a-f]+"$/);
    expect((await siteRequest(subdomain, '/site.css', { headers: { 'if-none-match': css.headers.etag as string } })).status).toBe(304);
    const immutable = readdirSync(join(fixtureDir, '_app/immutable/entry'))[0]!;
    const chunk = await siteRequest(subdomain, `/_app/immutable/entry/${immutable}`);
    expect(chunk.status).toBe(200);
    expect(chunk.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(chunk.headers['cache-control']).toBe('public, immutable, max-age=31536000');
    // Excluded in _routes.json: served from the assets without running the worker.
    expect((await siteRequest(subdomain, '/_app/version.json')).status).toBe(200);
    // The worker itself and _routes.json are never served as files (the app answers those paths).
    expect((await siteRequest(subdomain, '/_worker.js')).text).not.toContain('__getOwnPropNames');
    expect((await siteRequest(subdomain, '/_routes.json')).text).not.toContain('"include"');
  });
});

describe('one active frontend per app', () => {
  it('a static deploy replaces SSR, an SSR deploy replaces static, and activate rolls back across kinds', async () => {
    const staticSite = await deploy(appId, zipOf({ 'index.html': '<h1>static v1</h1>' }), 'static');
    expect(staticSite.status).toBe('READY');
    expect((await siteRequest(subdomain, '/')).text).toBe('<h1>static v1</h1>');
    expect((await siteRequest(subdomain, `/notes/${noteId}`)).status).toBe(404);
    expect((await api(`/v1/${appId}/edge-ssr/deployments/${fixture.id}`)).body.active).toBe(false);

    const back = await api(`/v1/${appId}/edge-ssr/deployments/${fixture.id}/activate`, { method: 'POST' });
    expect(back.status, back.text).toBe(200);
    expect(back.body).toMatchObject({ id: fixture.id, active: true, workerScriptModuleCount: 1 });
    expect((await siteRequest(subdomain, `/notes/${noteId}`)).text).toContain('Edited note');

    expect((await api(`/v1/${appId}/frontend/deployments/${staticSite.id}/activate`, { method: 'POST' })).status).toBe(200);
    expect((await siteRequest(subdomain, '/')).text).toBe('<h1>static v1</h1>');

    const second = await ssrDeploy(appId, tinyWorker(`return new Response('ssr v2 ' + new URL(request.url).pathname + ' ' + env.BUTTERBASE_APP_ID);`));
    expect(second.status, second.error).toBe('READY');
    expect((await siteRequest(subdomain, '/x')).text).toBe(`ssr v2 /x ${appId}`);
    expect((await api(`/v1/${appId}/frontend/deployments/${staticSite.id}`)).body.active).toBe(false);

    expect((await api(`/v1/${appId}/edge-ssr/deployments/${fixture.id}/activate`, { method: 'POST' })).status).toBe(200);
    expect((await siteRequest(subdomain, `/notes/${noteId}`)).text).toContain('Edited note');
  });
});

describe('refused bundles leave the old site serving', () => {
  const stillServing = async () => expect((await siteRequest(subdomain, `/notes/${noteId}`)).text).toContain('Edited note');

  it('a _worker.js that throws at load → ERROR with the runtime\'s message', async () => {
    const broken = await ssrDeploy(appId, zipOf({ '_worker.js': 'throw new Error("boom at load time");\nexport default { fetch() { return new Response("never"); } };' }));
    expect(broken.status).toBe('ERROR');
    expect(broken.error).toMatch(/^BUILD_FAILED: The worker failed to load: [^]*boom at load time/);
    expect(broken.active).toBe(false);
    await stillServing();
  });

  it('a _worker.js without a fetch handler → ERROR', async () => {
    const result = await ssrDeploy(appId, zipOf({ '_worker.js': 'export default {};' }));
    expect(result.status).toBe('ERROR');
    expect(result.error).toMatch(/^BUILD_FAILED: [^]*no default export with a fetch/);
    await stillServing();
  });

  it('a worker above 5 MB compressed → WORKER_TOO_LARGE', async () => {
    // 8 MB of random base64 compresses to ~6 MB.
    const random = Buffer.alloc(6 * 1024 * 1024);
    for (let i = 0; i < random.length; i += 65536) crypto.getRandomValues(random.subarray(i, i + 65536));
    const result = await ssrDeploy(appId, zipOf({ '_worker.js': `const blob = "${random.toString('base64')}";\nexport default { fetch() { return new Response(blob.slice(0, 10)); } };` }));
    expect(result.status).toBe('ERROR');
    expect(result.error).toMatch(/^WORKER_TOO_LARGE: The worker \(_worker\.js\) is \d+ bytes gzip-compressed; at most 5242880 bytes/);
    await stillServing();
  }, 120_000);

  it('a zip without _worker.js → BUILD_FAILED', async () => {
    const result = await ssrDeploy(appId, zipOf({ 'index.html': '<h1>no worker</h1>' }));
    expect(result.status).toBe('ERROR');
    expect(result.error).toMatch(/^BUILD_FAILED: The zip has no _worker\.js at its root/);
    await stillServing();
  });

  it('a _worker.js/ directory without index.js → BUILD_FAILED', async () => {
    const result = await ssrDeploy(appId, zipOf({ '_worker.js/main.js': 'export default { fetch() { return new Response("x"); } };' }));
    expect(result.error).toMatch(/^BUILD_FAILED: The _worker\.js\/ directory has no index\.js/);
    await stillServing();
  });
});

describe('a _worker.js/ directory of modules, egress and limits', () => {
  let app: string;
  let sub: string;
  beforeAll(async () => {
    ({ appId: app } = await createReadyApp('ssr-egress'));
    sub = await subdomainOf(app);
  });

  it('runs a directory of modules with its static files and text modules', async () => {
    const result = await ssrDeploy(app, zipOf({
      '_worker.js/index.js': `import { greet } from './lib/greet.js';\nimport note from './lib/note.txt';\nexport default { async fetch(request, env) {\n  const url = new URL(request.url);\n  if (url.pathname === '/asset') return env.ASSETS.fetch(new Request(new URL('/static.txt', url), request));\n  if (url.pathname === '/headers') return Response.json([...request.headers.keys()]);\n  if (url.pathname === '/echo') return new Response(request.method + ' ' + (await request.text()));\n  if (url.pathname === '/slow') { await new Promise((r) => setTimeout(r, 40000)); return new Response('too late'); }\n  if (url.pathname === '/fetch') { const target = url.searchParams.get('url'); try { const r = await fetch(target); return new Response(r.status + ' ' + (await r.text()), { status: 200 }); } catch (e) { return new Response('threw ' + e.message); } }\n  return new Response(greet('ssr') + ' ' + note.trim());\n} };`,
      '_worker.js/lib/greet.js': 'export const greet = (name) => `hello ${name}`;',
      '_worker.js/lib/note.txt': 'from a text module\n',
      'static.txt': 'a static file',
    }));
    expect(result, JSON.stringify(result)).toMatchObject({ status: 'READY', workerScriptModuleCount: 3, fileCount: 1 });
    expect((await siteRequest(sub, '/')).text).toBe('hello ssr from a text module');
    const asset = await siteRequest(sub, '/asset');
    expect(asset.text).toBe('a static file');
    expect(asset.headers['content-type']).toBe('text/plain; charset=utf-8');
    const headers = JSON.parse((await siteRequest(sub, '/headers')).text) as string[];
    expect(headers.filter((h) => h.startsWith('x-bb-'))).toEqual([]);
    expect((await siteRequest(sub, '/echo', { method: 'POST', body: 'form=1' })).text).toBe('POST form=1');
  });

  it('gives a request 30 s, then answers 504', async () => {
    const started = Date.now();
    const slow = await siteRequest(sub, '/slow');
    expect(slow.status).toBe(504);
    expect(slow.text).toContain('longer than 30 s');
    expect(Date.now() - started).toBeGreaterThanOrEqual(29_000);
    expect(Date.now() - started).toBeLessThan(39_000);
  }, 60_000);

  for (const target of ['http://127.0.0.1:1/secret', 'http://169.254.169.254/latest/meta-data/', 'http://localhost:8787/', 'http://[::1]/']) {
    it(`refuses a fetch of ${target}`, async () => {
      const res = await siteRequest(sub, `/fetch?url=${encodeURIComponent(target)}`);
      expect(res.text).toMatch(/^403 \{"error":"egress refused: /);
    });
  }

  it('reaches the platform API (PUBLIC_API_URL) through the router', async () => {
    const res = await siteRequest(sub, `/fetch?url=${encodeURIComponent(`${inject('platformUrl')}/health`)}`);
    expect(res.text).toMatch(/^200 /);
  });
});

describe('manage_edge_ssr through the MCP Inspector CLI', () => {
  it('sets env, creates, uploads, starts (waits for READY), lists and activates with the REST answers', async () => {
    const { appId: app } = await createReadyApp('ssr-mcp');
    const sub = await subdomainOf(app);
    const env = await inspectorCall('manage_edge_ssr', { action: 'set_env', app_id: app, vars: { GREETING: 'hi from mcp' } });
    expect(env.isError, env.text).toBe(false);
    expect(env.json.keys).toEqual(['GREETING']);
    const created = await inspectorCall('manage_edge_ssr', { action: 'create', app_id: app, framework: 'other-edge' });
    expect(created.isError, created.text).toBe(false);
    expect(created.json).toMatchObject({ deployment_id: expect.any(String), expiresIn: 900, maxSizeBytes: 104857600 });
    const put = await fetch(created.json.uploadUrl, { method: 'PUT', headers: { 'content-type': 'application/zip' }, body: tinyWorker('return new Response(env.GREETING);') });
    expect(put.status).toBe(200);
    const started = await inspectorCall('manage_edge_ssr', { action: 'start', app_id: app, deployment_id: created.json.deployment_id });
    expect(started.isError, started.text).toBe(false);
    expect(started.json).toMatchObject({ id: created.json.deployment_id, status: 'READY', active: true, workerScriptModuleCount: 1 });
    expect((await siteRequest(sub, '/')).text).toBe('hi from mcp');
    const listed = await inspectorCall('manage_edge_ssr', { action: 'list', app_id: app, limit: 1 });
    expect(listed.json.deployments.map((d: any) => d.id)).toEqual([created.json.deployment_id]);
    const activated = await inspectorCall('manage_edge_ssr', { action: 'activate', app_id: app, deployment_id: created.json.deployment_id });
    expect(activated.json.active).toBe(true);
    const missing = await inspectorCall('manage_edge_ssr', { action: 'start', app_id: app });
    expect(missing.isError).toBe(true);
    expect(missing.json.error.code).toBe('VALIDATION_MISSING_FIELD');
  });
});

describe('§10.3 error paths', () => {
  it('answers each failure with its code', async () => {
    const cases: [string, () => Promise<{ status: number; body: any }>, number, string][] = [
      ['bad framework', () => api(`/v1/${appId}/edge-ssr/deployments`, { body: { framework: 'react-vite' } }), 400, 'VALIDATION_INVALID_SCHEMA'],
      ['unknown deployment', () => api(`/v1/${appId}/edge-ssr/deployments/00000000-0000-4000-8000-000000000000`), 404, 'RESOURCE_NOT_FOUND'],
      ['a static id under edge-ssr', async () => {
        const list = await api(`/v1/${appId}/frontend/deployments`);
        return api(`/v1/${appId}/edge-ssr/deployments/${list.body.deployments[0].id}`);
      }, 404, 'RESOURCE_NOT_FOUND'],
      ['anonymous', () => api(`/v1/${appId}/edge-ssr/deployments`, { token: null }), 401, 'AUTH_REQUIRED'],
      ['from-source', () => api(`/v1/${appId}/edge-ssr/deployments/from-source`, { body: {} }), 501, 'FEATURE_NOT_AVAILABLE'],
      ['start before upload', async () => {
        const created = await api(`/v1/${appId}/edge-ssr/deployments`, { body: { framework: 'other-edge' } });
        return api(`/v1/${appId}/edge-ssr/deployments/${created.body.id}/start`, { method: 'POST' });
      }, 409, 'STATE_PREREQUISITE_MISSING'],
      ['activate an ERROR deployment', async () => {
        const list = await api(`/v1/${appId}/edge-ssr/deployments`);
        const failed = list.body.deployments.find((d: any) => d.status === 'ERROR');
        return api(`/v1/${appId}/edge-ssr/deployments/${failed.id}/activate`, { method: 'POST' });
      }, 409, 'INVALID_STATUS'],
    ];
    for (const [name, call, status, code] of cases) {
      const res = await call();
      expect([name, res.status, res.body?.error?.code]).toEqual([name, status, code]);
    }
  });
});
