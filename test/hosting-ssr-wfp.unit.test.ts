/**
 * Edge SSR on Workers for Platforms, in-process: the ASSETS grant (services/ssr-grant.ts), what a
 * deployment uploads (ssr-runner.ts `ssrUpload`, shared `uploadForm`), WfpSsrRunner's dispatch call
 * and its upload against the local fake Cloudflare API, and the runner choice (services/ssr.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../workers/shared/errors.ts';
import { uploadForm } from '../workers/shared/dispatch-namespace.ts';
import type { Env } from '../workers/hosting/env.ts';
import { signAssetsGrant, verifyAssetsGrant } from '../workers/hosting/services/ssr-grant.ts';
import { LoaderSsrRunner, ssrUpload, WfpSsrRunner, type SsrWorkerSource } from '../workers/hosting/services/ssr-runner.ts';
import { ssrDispatchConfig, ssrRunner } from '../workers/hosting/services/ssr.ts';
import { startFakeCloudflareApi, type FakeCloudflareApi } from './fakes/cloudflare-api.ts';

const key = Buffer.alloc(32, 9).toString('base64');
const otherKey = Buffer.alloc(32, 3).toString('base64');
const appId = 'app_abcdefghijkl';
const deploymentId = '0b7e6a64-9a51-4c51-9f7e-0d1f3a7c2b11';

describe('the ASSETS grant', () => {
  it('verifies the props it signed, for exactly that app and deployment', async () => {
    const props = await signAssetsGrant(appId, deploymentId, key);
    expect(props).toEqual({ appId, deploymentId, grant: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    expect(await verifyAssetsGrant(props, key)).toEqual({ appId, deploymentId });
  });

  it('refuses changed ids, another key, a flipped MAC and malformed props', async () => {
    const props = await signAssetsGrant(appId, deploymentId, key);
    const refused = [
      { ...props, deploymentId: '11111111-2222-4333-8444-555555555555' },
      { ...props, appId: 'app_zzzzzzzzzzzz' },
      // The separator is part of what is signed: moving characters across it does not verify.
      { ...props, appId: `${appId}\n${deploymentId.slice(0, 4)}`, deploymentId: deploymentId.slice(4) },
      await signAssetsGrant(appId, deploymentId, otherKey),
      { ...props, grant: `${props.grant.slice(0, 10)}${props.grant[10] === 'A' ? 'B' : 'A'}${props.grant.slice(11)}` },
      { ...props, grant: '' },
      { ...props, grant: '!!!' },
      { appId, deploymentId },
      {},
      undefined,
      null,
      'props',
    ];
    for (const candidate of refused) expect(await verifyAssetsGrant(candidate, key), JSON.stringify(candidate)).toBeNull();
  });
});

/** A source as services/ssr.ts builds it, with fixed modules and vars. */
function source(vars: Record<string, string> = { API_KEY: 'sk-secret', ASSETS: 'shadowed' }): SsrWorkerSource {
  return {
    appId,
    deploymentId,
    mainModule: '_worker.js/index.js',
    modules: async () => ({
      '_worker.js/index.js': { js: 'import "./lib.cjs"; export default { fetch() { return new Response("ok"); } };' },
      '_worker.js/lib.cjs': { cjs: 'module.exports = 1;' },
      '_worker.js/page.html': { text: '<p>hi</p>' },
      '_worker.js/blob.bin': { data: new Uint8Array([1, 2, 3]).buffer },
      '_worker.js/add.wasm': { wasm: new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]).buffer },
    }),
    vars: async () => vars,
    assetsProps: () => signAssetsGrant(appId, deploymentId, key),
    assets: () => { throw new Error('not used by the WfP runner'); },
    outbound: () => { throw new Error('not used by the WfP runner'); },
  };
}

describe('what an SSR deployment uploads', () => {
  it('the user modules typed beside the wrapper main module, ASSETS with the signed props, env as secret_text only', async () => {
    const upload = await ssrUpload('butterbase-hosting', source());
    expect(upload.metadata).toEqual({
      main_module: '__butterbase_ssr_main.js',
      compatibility_date: '2026-04-01',
      compatibility_flags: ['nodejs_compat'],
      bindings: [
        { type: 'service', name: 'ASSETS', service: 'butterbase-hosting', entrypoint: 'SsrAssets', props: await signAssetsGrant(appId, deploymentId, key) },
        { type: 'secret_text', name: 'API_KEY', text: 'sk-secret' },
      ],
      tags: [appId, `${appId}-ssr`],
    });
    const form = await new Request('https://x/', { method: 'PUT', body: uploadForm(upload) }).formData();
    const parts = Object.fromEntries([...form.entries()].filter(([name]) => name !== 'metadata').map(([name, value]) => [name, (value as unknown as File).type]));
    expect(parts).toEqual({
      '_worker.js/index.js': 'application/javascript+module',
      '_worker.js/lib.cjs': 'application/javascript',
      '_worker.js/page.html': 'text/plain',
      '_worker.js/blob.bin': 'application/octet-stream',
      '_worker.js/add.wasm': 'application/wasm',
      '__butterbase_ssr_setup.js': 'application/javascript+module',
      '__butterbase_ssr_main.js': 'application/javascript+module',
    });
    expect(new Uint8Array(await (form.get('_worker.js/add.wasm') as unknown as File).arrayBuffer())).toEqual(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
    expect(await (form.get('__butterbase_ssr_main.js') as unknown as File).text()).toContain('import * as user from "./_worker.js/index.js"');
  });
});

describe('WfpSsrRunner', () => {
  const settings = { apiToken: 'tok', accountId: 'acc', namespace: 'ns' };
  let fake: FakeCloudflareApi;
  beforeAll(async () => {
    fake = await startFakeCloudflareApi(settings);
  });
  afterAll(() => fake.close());

  const calls: unknown[] = [];
  const dispatcher = {
    get(name: string, args: unknown, options: unknown) {
      calls.push({ name, args, options });
      return { fetch: async (request: Request) => new Response(`served ${new URL(request.url).pathname}`) };
    },
  } as unknown as DispatchNamespace;
  const runner = () => new WfpSsrRunner(dispatcher, { apiBase: fake.url, ...settings, hostScript: 'butterbase-hosting' }, 150);

  it('prepares a deployment by uploading it under its id; the API\'s refusal is the message', async () => {
    expect(await runner().prepare(source())).toBeNull();
    expect(fake.scripts.get(deploymentId)?.metadata.main_module).toBe('__butterbase_ssr_main.js');
    fake.failNext({ method: 'PUT', status: 400, code: 10021, message: 'Uncaught Error: boom at _worker.js/index.js' });
    expect(await runner().prepare(source())).toBe('The Cloudflare API refused the Edge SSR deployment upload (HTTP 400): Uncaught Error: boom at _worker.js/index.js (code 10021)');
  });

  it('dispatches each request to the deployment\'s script with 30 s CPU, the subrequest limit and the outbound parameters', async () => {
    const response = await runner().fetch(source(), new Request('https://site.example/page'));
    expect(await response.text()).toBe('served /page');
    expect(calls.at(-1)).toEqual({ name: deploymentId, args: {}, options: { limits: { cpuMs: 30_000, subRequests: 150 }, outbound: { appId, deploymentId } } });
  });
});

describe('the runner choice', () => {
  const env = (overrides: Partial<Env>) => ({ PLATFORM_MASTER_KEY: key, LOADER: {} as WorkerLoader, ...overrides }) as Env;
  const dispatcher = {} as DispatchNamespace;

  it('is the Worker Loader without DISPATCHER, Workers for Platforms with it and its settings', () => {
    expect(ssrDispatchConfig(env({}))).toBeNull();
    expect(ssrRunner(env({}))).toBeInstanceOf(LoaderSsrRunner);
    const wfp = env({ DISPATCHER: dispatcher, CLOUDFLARE_ACCOUNT_ID: 'acc', DISPATCH_NAMESPACE: 'ns', CLOUDFLARE_API_TOKEN: 'tok', WFP_SUBREQUEST_LIMIT: '80' });
    expect(ssrDispatchConfig(wfp)).toEqual({ apiBase: 'https://api.cloudflare.com/client/v4', accountId: 'acc', namespace: 'ns', apiToken: 'tok', hostScript: 'butterbase-hosting' });
    expect(ssrDispatchConfig({ ...wfp, CLOUDFLARE_API_URL: 'http://127.0.0.1:9/', HOSTING_SCRIPT_NAME: 'bb-hosting-staging' })).toMatchObject({ apiBase: 'http://127.0.0.1:9', hostScript: 'bb-hosting-staging' });
    expect(ssrRunner(wfp)).toBeInstanceOf(WfpSsrRunner);
  });

  it('refuses a half-configured deployment with INTERNAL_ERROR instead of running user code elsewhere', () => {
    const half = env({ DISPATCHER: dispatcher, CLOUDFLARE_ACCOUNT_ID: 'acc' });
    const error = (() => { try { ssrRunner(half); } catch (e) { return e; } })() as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.code).toBe('INTERNAL_ERROR');
    expect(error.message).toBe('Edge SSR is misconfigured on this deployment.');
  });
});
