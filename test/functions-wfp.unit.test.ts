/**
 * The pure parts of the Workers for Platforms runner: session tokens (sign/verify, expiry, tampering,
 * keys), the multipart upload body (parsed back as the Cloudflare API would), the deployment's
 * dispatch settings, the per-call limits and the choice of runner.
 */
import { describe, expect, it } from 'vitest';
import { ApiError } from '../workers/shared/errors.ts';
import type { Env } from '../workers/functions/env.ts';
import { dispatchConfig, uploadForm, versionUpload, type DispatchConfig } from '../workers/functions/services/dispatch-namespace.ts';
import { runnerOf } from '../workers/functions/services/invoke.ts';
import { dispatchLimits, LoaderRunner, WfpRunner } from '../workers/functions/services/runner.ts';
import { signSession, verifySession } from '../workers/shared/function-session.ts';

const key = Buffer.alloc(32, 1).toString('base64');
const otherKey = Buffer.alloc(32, 2).toString('base64');
const props = { appId: 'app_abcdefghijkl', functionName: 'f', role: 'user' as const, userId: '0b6a3f2e-5d0c-4d7e-9a51-3f7f1c2e8a90', depth: 1, requestId: 'r1' };

async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(ApiError);
  expect((error as ApiError).code).toBe('AUTH_INVALID_TOKEN');
  expect((error as ApiError).status).toBe(401);
  return error as ApiError;
}

describe('session tokens', () => {
  it('round-trips the invocation claims and sets the expiry from the lifetime', async () => {
    const now = 1_800_000_000_000;
    const token = await signSession(props, 5_000, key, now);
    expect(await verifySession(token, key, now + 4_999)).toEqual({ ...props, expMs: now + 5_000 });
  });

  it('refuses expiry, another key, changed claims, a changed signature and garbage', async () => {
    const now = 1_800_000_000_000;
    const token = await signSession(props, 5_000, key, now);
    expect((await refusal(verifySession(token, key, now + 5_000))).message).toContain('expired');
    expect((await refusal(verifySession(token, otherKey, now))).message).toContain('bad signature');
    const [body, mac] = token.split('.');
    const claims = JSON.parse(Buffer.from(body!, 'base64url').toString('utf8'));
    for (const change of [{ appId: 'app_zzzzzzzzzzzz' }, { role: 'service' }, { userId: null }, { depth: 0 }, { expMs: now + 10 ** 9 }]) {
      const forged = `${Buffer.from(JSON.stringify({ ...claims, ...change })).toString('base64url')}.${mac}`;
      expect((await refusal(verifySession(forged, key, now))).message).toContain('bad signature');
    }
    const flipped = `${body}.${mac!.slice(0, 5)}${mac![5] === 'A' ? 'B' : 'A'}${mac!.slice(6)}`;
    await refusal(verifySession(flipped, key, now));
    for (const garbage of [undefined, null, 42, '', 'a', 'a.b.c', `${body}.`, '.x']) await refusal(verifySession(garbage, key, now));
  });

  it('refuses a well-signed token whose claims are not the expected shape', async () => {
    // Signed by the right key over claims without a role: still refused (the claims are checked too).
    const token = await signSession({ ...props, role: 'owner' as never }, 5_000, key);
    expect((await refusal(verifySession(token, key))).message).toContain('malformed claims');
  });
});

const config: DispatchConfig = { apiBase: 'https://api.cloudflare.com/client/v4', accountId: 'acc', namespace: 'ns', apiToken: 't', hostScript: 'butterbase-functions' };

describe('the upload body', () => {
  it('is multipart with a JSON metadata part naming the main module, and every module an ES module file', async () => {
    const upload = versionUpload(config, 'export default async function handler() { return new Response("ok"); }', { appId: 'app_abcdefghijkl', functionName: 'hello' });
    const request = new Request('https://x/', { method: 'PUT', body: uploadForm(upload) });
    expect(request.headers.get('content-type')).toMatch(/^multipart\/form-data; boundary=/);
    const form = await request.formData();
    const metadata = form.get('metadata') as unknown as File;
    expect(metadata.type).toBe('application/json');
    const parsed = JSON.parse(await metadata.text());
    expect(parsed).toEqual({
      main_module: 'dispatch.js',
      compatibility_date: '2026-04-01',
      compatibility_flags: ['nodejs_compat'],
      bindings: [{ type: 'service', name: 'BUTTERBASE_HOST', service: 'butterbase-functions', entrypoint: 'FunctionSession' }],
      tags: ['app_abcdefghijkl', 'app_abcdefghijkl-hello'],
    });
    const modules = [...form.entries()].filter(([name]) => name !== 'metadata');
    expect(modules.map(([name]) => name).sort()).toEqual(['dispatch.js', 'runtime.js', 'setup.js', 'user.js']);
    for (const [name, value] of modules) {
      const file = value as unknown as File;
      expect(file.type, name).toBe('application/javascript+module');
      expect(file.name, name).toBe(name);
    }
    expect(await (form.get('user.js') as unknown as File).text()).toContain('new Response("ok")');
    expect(await (form.get('dispatch.js') as unknown as File).text()).toContain("import { runInvocation } from './runtime.js'");
  });
});

function env(overrides: Partial<Env>): Env {
  return { PLATFORM_MASTER_KEY: key, LOADER: {} as WorkerLoader, ...overrides } as Env;
}

const dispatcher = { get: () => { throw new Error('unused'); } } as unknown as DispatchNamespace;

describe('dispatch settings and runner choice', () => {
  it('uses the Worker Loader without DISPATCHER, the dispatch namespace with it and its settings', () => {
    expect(dispatchConfig(env({}))).toBeNull();
    expect(runnerOf(env({}))).toBeInstanceOf(LoaderRunner);
    const wfp = env({ DISPATCHER: dispatcher, CLOUDFLARE_ACCOUNT_ID: 'acc', DISPATCH_NAMESPACE: 'ns', CLOUDFLARE_API_TOKEN: 'tok' });
    expect(dispatchConfig(wfp)).toEqual({ apiBase: 'https://api.cloudflare.com/client/v4', accountId: 'acc', namespace: 'ns', apiToken: 'tok', hostScript: 'butterbase-functions' });
    expect(runnerOf(wfp)).toBeInstanceOf(WfpRunner);
  });

  it('refuses a half-configured deployment instead of silently running user code in the loader', () => {
    const half = env({ DISPATCHER: dispatcher, CLOUDFLARE_ACCOUNT_ID: 'acc' });
    const error = (() => { try { dispatchConfig(half); } catch (e) { return e; } })() as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.code).toBe('INTERNAL_ERROR');
    expect(error.internal).toContain('DISPATCH_NAMESPACE, CLOUDFLARE_API_TOKEN');
  });

  it('gives each call the function timeout as CPU limit (at most 30 s) and the subrequest budget', () => {
    expect(dispatchLimits({ timeoutMs: 5_000 }, 50)).toEqual({ cpuMs: 5_000, subRequests: 50 });
    expect(dispatchLimits({ timeoutMs: 300_000 }, 20)).toEqual({ cpuMs: 30_000, subRequests: 20 });
  });
});
