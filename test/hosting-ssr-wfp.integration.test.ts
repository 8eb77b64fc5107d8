/**
 * Edge SSR on Workers for Platforms (issue 11 item 3, production half), through the real platform:
 * SSR builds go through the hosting Worker's real code path and upload to a local fake of the
 * Cloudflare API (test/fakes/cloudflare-api.ts, which validates the multipart shape); app-host
 * requests go through WfpSsrRunner to a fake DISPATCHER that runs exactly the uploaded script in the
 * Worker Loader (test/fixtures/wfp-hosting), so `ASSETS` reaches the bundle only through the uploaded
 * service binding and its signed props, env only through the uploaded bindings, and egress through
 * the functions-outbound Worker's code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '../scripts/lib/platform.ts';
import type { FakeCloudflareApi } from './fakes/cloudflare-api.ts';
import { startWfpPlatform, wfpSettings, type WfpPlatform } from './helpers/wfp-platform.ts';
import { api, createReadyApp } from './helpers/api.ts';
import { siteRequest, zipOf } from './helpers/hosting.ts';

const settings = wfpSettings;
const greeting = 'a secret greeting value';

let wfp: WfpPlatform;
let fake: FakeCloudflareApi;
let platform: Platform;
let appId: string;
let otherAppId: string;

function call(path: string, options: Parameters<typeof api>[1] = {}) {
  return api(path, { baseUrl: platform.url, token: platform.serviceKey, ...options });
}

/** A `_worker.js/` directory bundle (an ES module, a text and a data module) with a static file. */
function bundle(version: string): Uint8Array {
  return zipOf({
    '_worker.js/index.js': `import { shout } from './lib.js';
import message from './message.txt';
import bytes from './data.bin';
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === '/asset') {
      const r = await env.ASSETS.fetch(new URL('/static.txt', url));
      return new Response(r.status + ':' + (await r.text()));
    }
    if (url.pathname === '/static.txt') return env.ASSETS.fetch(request);
    if (url.pathname === '/egress') {
      const r = await fetch('http://169.254.169.254/latest/meta-data');
      return Response.json({ status: r.status, body: await r.json() });
    }
    return new Response('<h1>' + shout(env.GREETING) + '</h1><p>' + message + '</p><p>bytes ' + bytes.byteLength + '</p><p>version ${version}</p>', { headers: { 'content-type': 'text/html; charset=utf-8' } });
  },
};`,
    '_worker.js/lib.js': 'export const shout = (s) => String(s).toUpperCase() + "!";',
    '_worker.js/message.txt': 'from a text module',
    '_worker.js/data.bin': new Uint8Array([0, 1, 2, 255, 254]),
    'static.txt': `a static file of ${version}`,
  });
}

/** Create → PUT the zip → start → poll, on `app`. Out: the final deployment record. */
async function deploySsr(app: string, zip: Uint8Array): Promise<any> {
  const created = await call(`/v1/${app}/edge-ssr/deployments`, { body: { framework: 'other-edge' } });
  expect(created.status, created.text).toBe(201);
  const put = await fetch(created.body.uploadUrl, { method: 'PUT', headers: { 'content-type': 'application/zip' }, body: zip });
  expect(put.status, await put.text()).toBe(200);
  const started = await call(`/v1/${app}/edge-ssr/deployments/${created.body.id}/start`, { method: 'POST' });
  expect(started.status, started.text).toBe(200);
  for (let i = 0; i < 400; i++) {
    const got = await call(`/v1/${app}/edge-ssr/deployments/${created.body.id}`);
    if (!['WAITING', 'UPLOADING', 'BUILDING'].includes(got.body.status)) return got.body;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`deployment ${created.body.id} did not finish`);
}

/** An app-host request to the site at `url` (`http://{subdomain}.localhost:{port}`) on this test's platform. */
const site = (url: string, path: string) => siteRequest(new URL(url).hostname.split('.')[0]!, path, { platformUrl: platform.url });

beforeAll(async () => {
  wfp = await startWfpPlatform('wfp-ssr', 'hosting');
  ({ platform, fake } = wfp);
  ({ appId } = await createReadyApp('wfpssr', { baseUrl: platform.url, token: platform.serviceKey }));
  ({ appId: otherAppId } = await createReadyApp('wfpssr2', { baseUrl: platform.url, token: platform.serviceKey }));
  const env = await call(`/v1/${appId}/edge-ssr/env`, { method: 'PUT', body: { GREETING: greeting } });
  expect(env.status, env.text).toBe(200);
}, 240_000);

afterAll(async () => {
  await wfp?.stop();
});

let first: any;

describe('an SSR build uploads the deployment to the dispatch namespace', () => {
  it('as the script named by the deployment id: every module typed, ASSETS with signed props, env as secret_text', async () => {
    first = await deploySsr(appId, bundle('v1'));
    expect(first, JSON.stringify(first)).toMatchObject({ status: 'READY', error: null, active: true, workerScriptModuleCount: 4 });
    const script = fake.scripts.get(first.id);
    expect(script, 'script stored under the deployment id').toBeDefined();
    expect(fake.requests).toContainEqual({ method: 'PUT', path: `/accounts/${settings.accountId}/workers/dispatch/namespaces/${settings.namespace}/scripts/${first.id}`, status: 200 });
    expect(script!.metadata).toMatchObject({
      main_module: '__butterbase_ssr_main.js',
      compatibility_date: '2026-04-01',
      compatibility_flags: ['nodejs_compat'],
      tags: [appId, `${appId}-ssr`],
    });
    expect(script!.metadata.bindings).toEqual([
      { type: 'service', name: 'ASSETS', service: 'butterbase-hosting', entrypoint: 'SsrAssets', props: { appId, deploymentId: first.id, grant: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) } },
      { type: 'secret_text', name: 'GREETING', text: greeting },
    ]);
    expect(script!.contentTypes).toEqual({
      '_worker.js/index.js': 'application/javascript+module',
      '_worker.js/lib.js': 'application/javascript+module',
      '_worker.js/message.txt': 'text/plain',
      '_worker.js/data.bin': 'application/octet-stream',
      '__butterbase_ssr_setup.js': 'application/javascript+module',
      '__butterbase_ssr_main.js': 'application/javascript+module',
    });
    expect(Buffer.from(script!.modules['_worker.js/data.bin']!, 'base64')).toEqual(Buffer.from([0, 1, 2, 255, 254]));
    expect(script!.modules['__butterbase_ssr_main.js']).toContain('import * as user from "./_worker.js/index.js"');
    // The env value travels only as a secret_text binding, never as plain text or inside a module.
    expect(script!.metadata.bindings.filter((b) => b.type === 'plain_text')).toEqual([]);
    expect(Object.values(script!.modules).join('\n')).not.toContain(greeting);
  });

  it('serves the page through the dispatcher with the limits and outbound parameters, and ASSETS serving this deployment\'s files', async () => {
    const page = await site(first.url, '/');
    expect(page.status, page.text).toBe(200);
    expect(page.text).toBe(`<h1>${greeting.toUpperCase()}!</h1><p>from a text module</p><p>bytes 5</p><p>version v1</p>`);
    const dispatch = JSON.parse(page.headers['x-fake-dispatch'] as string);
    expect(dispatch).toEqual({ name: first.id, args: {}, options: { limits: { cpuMs: 30_000, subRequests: 200 }, outbound: { appId, deploymentId: first.id } } });
    expect((await site(first.url, '/asset')).text).toBe('200:a static file of v1');
    const asset = await site(first.url, '/static.txt');
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(asset.headers.etag).toBeTruthy();
    expect(asset.text).toBe('a static file of v1');
  });

  it('sends the bundle\'s fetches through the outbound Worker\'s egress policy', async () => {
    const answer = await site(first.url, '/egress');
    expect(answer.status, answer.text).toBe(200);
    const body = JSON.parse(answer.text);
    expect(body.status).toBe(403);
    expect(body.body.error).toContain('egress refused');
  });

  it('makes a deployment the upload API refuses ERROR with the API\'s message, the old site still serving', async () => {
    fake.failNext({ method: 'PUT', status: 400, code: 10021, message: 'Uncaught SyntaxError: Unexpected token at _worker.js/index.js:1' });
    const failed = await deploySsr(appId, bundle('never-live'));
    expect(failed.status).toBe('ERROR');
    expect(failed.active).toBe(false);
    expect(failed.error).toContain('BUILD_FAILED: The worker failed to load: The Cloudflare API refused the Edge SSR deployment upload (HTTP 400): Uncaught SyntaxError: Unexpected token at _worker.js/index.js:1 (code 10021)');
    expect(fake.scripts.has(failed.id)).toBe(false);
    const page = await site(first.url, '/');
    expect(page.text).toContain('version v1');
    expect(JSON.parse(page.headers['x-fake-dispatch'] as string).name).toBe(first.id);
  });

  it('serves a redeploy from its own script at once, and a rollback from the old one', async () => {
    const second = await deploySsr(appId, bundle('v2'));
    expect(second.status).toBe('READY');
    const page = await site(first.url, '/');
    expect(page.text).toContain('version v2');
    expect(JSON.parse(page.headers['x-fake-dispatch'] as string).name).toBe(second.id);
    expect((await site(first.url, '/asset')).text).toBe('200:a static file of v2');
    const rolledBack = await call(`/v1/${appId}/edge-ssr/deployments/${first.id}/activate`, { method: 'POST' });
    expect(rolledBack.status, rolledBack.text).toBe(200);
    const again = await site(first.url, '/');
    expect(again.text).toContain('version v1');
    expect((await site(first.url, '/asset')).text).toBe('200:a static file of v1');
  });
});

describe('the ASSETS entrypoint serves only the deployment its props are signed for', () => {
  let foreign: any;

  beforeAll(async () => {
    foreign = await deploySsr(otherAppId, bundle('other-app'));
    expect(foreign.status).toBe('READY');
  }, 60_000);

  it('serves another app its own files (the positive control)', async () => {
    expect((await site(foreign.url, '/asset')).text).toBe('200:a static file of other-app');
  });

  // Each case uploads a fresh deployment, then changes the props stored with its script before its first
  // request — as if a script had been uploaded with props the hosting Worker did not sign.
  it.each([
    ['another deployment of the same app, with this deployment\'s grant', (props: any) => ({ ...props, deploymentId: first.id })],
    ['another app\'s deployment, with this deployment\'s grant', (props: any) => ({ ...props, appId: otherAppId, deploymentId: foreign.id })],
    ['a forged grant', (props: any) => ({ ...props, grant: Buffer.alloc(32, 1).toString('base64url') })],
    ['no props at all', () => undefined],
  ])('refuses %s with 403 and serves nothing', async (_name, tamper) => {
    const deployment = await deploySsr(appId, bundle(`tampered-${Date.now()}`));
    expect(deployment.status).toBe('READY');
    const binding = fake.scripts.get(deployment.id)!.metadata.bindings.find((b) => b.name === 'ASSETS')!;
    const props = tamper(binding.props);
    if (props === undefined) delete binding.props;
    else binding.props = props;
    const refused = await site(deployment.url, '/asset');
    expect(refused.text).toBe('403:This ASSETS binding is not valid for any deployment.');
    const direct = await site(deployment.url, '/static.txt');
    expect(direct.status).toBe(403);
    expect(direct.text).not.toContain('a static file');
    // The page itself still renders: only the tampered binding is refused.
    expect((await site(deployment.url, '/')).status).toBe(200);
  });
});

describe('deleting deployments deletes their scripts', () => {
  it('on DELETE and when old deployments are pruned, the namespace keeps exactly the READY SSR deployments', async () => {
    const listed = async (app: string) => (await call(`/v1/${app}/edge-ssr/deployments`)).body.deployments as { id: string; status: string; active: boolean }[];
    const before = await listed(appId);
    const victim = before.find((d) => d.status === 'READY' && !d.active)!;
    expect(victim, JSON.stringify(before)).toBeDefined();
    expect(fake.scripts.has(victim.id)).toBe(true);
    const deleted = await call(`/v1/${appId}/edge-ssr/deployments/${victim.id}`, { method: 'DELETE' });
    expect(deleted.body).toEqual({ deleted: true });

    const ready = async () => [...await listed(appId), ...await listed(otherAppId)].filter((d) => d.status === 'READY').map((d) => d.id).sort();
    let expected = await ready();
    for (let i = 0; i < 50 && JSON.stringify([...fake.scripts.keys()].sort()) !== JSON.stringify(expected); i++) {
      await new Promise((r) => setTimeout(r, 100));
      expected = await ready();
    }
    expect([...fake.scripts.keys()].sort()).toEqual(expected);
    // Six READY deployments were built for the first app; at most KEEP_READY_DEPLOYMENTS (3) remain.
    expect((await listed(appId)).filter((d) => d.status === 'READY').length).toBeLessThanOrEqual(3);
    expect(fake.requests.filter((r) => r.method === 'DELETE' && r.status === 200).length).toBeGreaterThanOrEqual(4);
    expect(fake.requests).toContainEqual({ method: 'DELETE', path: `/accounts/${settings.accountId}/workers/dispatch/namespaces/${settings.namespace}/scripts/${victim.id}`, status: 200 });
  });
});
