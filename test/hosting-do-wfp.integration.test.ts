/**
 * User Durable Object classes on Workers for Platforms (issue 11), through the real platform: the
 * hosting Worker runs its WfP fixture (test/fixtures/wfp-hosting) against the fake Cloudflare API
 * (test/fakes/cloudflare-api.ts, which validates the multipart form, the Durable Object migrations
 * against the tag and classes it holds, and that every namespace binding has a class). Deploys,
 * deletes and env changes upload the app's one script `do-{app_id}`; `/_do/...` goes through
 * `DISPATCHER.get('do-{app_id}', …)`. The fake dispatcher cannot bind Durable Object namespaces in
 * the Worker Loader, so it answers what reached it (method, URL, platform headers, body); the generated
 * entry module's routing runs in test/do-script.unit.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '../scripts/lib/platform.ts';
import type { FakeCloudflareApi } from './fakes/cloudflare-api.ts';
import { startWfpPlatform, wfpSettings, type WfpPlatform } from './helpers/wfp-platform.ts';
import { api, createReadyApp } from './helpers/api.ts';
import { siteRequest } from './helpers/hosting.ts';

let wfp: WfpPlatform;
let fake: FakeCloudflareApi;
let platform: Platform;
let appId: string;
let subdomain: string;
let script: string;

const call = (path: string, options: Parameters<typeof api>[1] = {}) => api(path, { baseUrl: platform.url, token: platform.serviceKey, ...options });
const edge = (path: string, options: Parameters<typeof siteRequest>[2] = {}) => siteRequest(subdomain, path, { ...options, platformUrl: platform.url });
const stored = () => fake.scripts.get(script)!;
const puts = () => fake.requests.filter((r) => r.method === 'PUT' && r.path.endsWith(`/scripts/${script}`));

const counter = (version: string) => `export class Counter {
  constructor(public state: DurableObjectState) {}
  async fetch(req: Request): Promise<Response> {
    return Response.json({ version: '${version}' });
  }
}`;
const chatRoom = `export class ChatRoom {
  constructor(public state: DurableObjectState, public env: Record<string, unknown>) {}
  async fetch(req: Request): Promise<Response> {
    return new Response('room');
  }
}`;

beforeAll(async () => {
  wfp = await startWfpPlatform('wfp-do', 'hosting');
  ({ platform, fake } = wfp);
  ({ appId } = await createReadyApp('wfpdo', { baseUrl: platform.url, token: platform.serviceKey }));
  subdomain = (await call('/apps')).body.apps.find((a: { id: string }) => a.id === appId).subdomain;
  script = `do-${appId}`;
}, 240_000);

afterAll(async () => {
  await wfp?.stop();
});

describe('deploying classes uploads the app\'s one Durable Object script', () => {
  it('two classes: one script do-{app}, each class a new SQLite namespace, both bound, BUTTERBASE_CTX bound', async () => {
    const first = await call(`/v1/${appId}/durable-objects`, { body: { name: 'chat-room', code: chatRoom, access_mode: 'authenticated' } });
    expect(first.status, first.text).toBe(201);
    expect(first.body).toMatchObject({ name: 'chat-room', status: 'READY', error_message: null });
    expect(stored().metadata.migrations).toEqual({ new_tag: 'v1', steps: [{ new_sqlite_classes: ['ChatRoom'] }] });

    const second = await call(`/v1/${appId}/durable-objects`, { body: { name: 'counter', code: counter('v1'), access_mode: 'public' } });
    expect(second.status, second.text).toBe(201);
    expect(second.body.status).toBe('READY');
    expect([...fake.scripts.keys()]).toEqual([script]);
    expect(puts()).toEqual([
      { method: 'PUT', path: `/accounts/${wfpSettings.accountId}/workers/dispatch/namespaces/${wfpSettings.namespace}/scripts/${script}`, status: 200 },
      { method: 'PUT', path: `/accounts/${wfpSettings.accountId}/workers/dispatch/namespaces/${wfpSettings.namespace}/scripts/${script}`, status: 200 },
    ]);
    const { metadata, modules, contentTypes, durableObjectClasses } = stored();
    expect(metadata.migrations).toEqual({ old_tag: 'v1', new_tag: 'v2', steps: [{ new_sqlite_classes: ['Counter'] }] });
    expect(durableObjectClasses).toEqual(['ChatRoom', 'Counter']);
    expect(metadata).toMatchObject({ main_module: '__butterbase_do_main.js', compatibility_date: '2026-04-01', compatibility_flags: ['nodejs_compat'], tags: [appId, `${appId}-do`] });
    expect(metadata.bindings).toEqual([
      { type: 'durable_object_namespace', name: 'CHAT_ROOM', class_name: 'ChatRoom' },
      { type: 'durable_object_namespace', name: 'COUNTER', class_name: 'Counter' },
      { type: 'service', name: 'BUTTERBASE_CTX', service: 'butterbase-functions', entrypoint: 'FunctionSession' },
    ]);
    expect(Object.keys(contentTypes).sort()).toEqual(['__butterbase_do_main.js', 'classes/chat-room.hosted.js', 'classes/chat-room.js', 'classes/counter.hosted.js', 'classes/counter.js']);
    expect(Object.values(contentTypes).every((t) => t === 'application/javascript+module')).toBe(true);
    expect(modules['__butterbase_do_main.js']).toContain('export { ChatRoom } from "./classes/chat-room.hosted.js"');
    expect(modules['__butterbase_do_main.js']).toContain('globalThis.butterbase');
    // Types stripped at deploy.
    expect(modules['classes/counter.js']).toContain("version: 'v1'");
    expect(modules['classes/counter.js']).not.toContain('DurableObjectState');
  });

  it('a redeploy of one class changes no namespace (storage stays) and moves the tag on', async () => {
    const again = await call(`/v1/${appId}/durable-objects`, { body: { name: 'counter', code: counter('v2'), access_mode: 'public' } });
    expect(again.status, again.text).toBe(200);
    expect(again.body.status).toBe('READY');
    expect(stored().metadata.migrations).toEqual({ old_tag: 'v2', new_tag: 'v3', steps: [] });
    expect(stored().durableObjectClasses).toEqual(['ChatRoom', 'Counter']);
    expect(stored().modules['classes/counter.js']).toContain("version: 'v2'");
  });

  it('an env var set uploads the script again with it as a secret_text binding', async () => {
    const set = await call(`/v1/${appId}/durable-objects/env/AI_KEY`, { method: 'PUT', body: { value: 'sk-do-secret' } });
    expect(set.status, set.text).toBe(200);
    expect(set.body).toEqual({ key: 'AI_KEY', redeployed: true });
    expect(stored().metadata.migrations).toEqual({ old_tag: 'v3', new_tag: 'v4', steps: [] });
    expect(stored().metadata.bindings).toContainEqual({ type: 'secret_text', name: 'AI_KEY', text: 'sk-do-secret' });
    expect(Object.values(stored().modules).join('\n')).not.toContain('sk-do-secret');
  });
});

describe('/_do/{name}/{instance} on Workers for Platforms', () => {
  it('dispatches to do-{app} with the CPU limit, the session token and the path, without the local host headers', async () => {
    const res = await edge('/_do/counter/room%201/inc?x=1', { method: 'POST', body: '{"n":1}', headers: { 'content-type': 'application/json', 'x-butterbase-user-id': 'forged', 'x-bb-do-app': 'forged' } });
    expect(res.status, res.text).toBe(501);
    expect(JSON.parse(res.headers['x-fake-dispatch'] as string)).toEqual({ name: script, args: {}, options: { limits: { cpuMs: 30_000 } } });
    const seen = JSON.parse(res.text);
    expect(seen.fakeDispatch).toBe('durable_object_namespace');
    expect(seen.method).toBe('POST');
    expect(seen.body).toBe('{"n":1}');
    expect(new URL(seen.url).pathname + new URL(seen.url).search).toBe('/_do/counter/room%201/inc?x=1');
    expect(seen.headers['x-butterbase-session']).toMatch(/\S{20,}/);
    // Client copies of platform headers are removed; no local host headers are set.
    expect(seen.headers['x-butterbase-user-id']).toBeUndefined();
    expect(Object.keys(seen.headers).filter((k) => k.startsWith('x-bb-'))).toEqual([]);
  });

  it('checks access before dispatching: an authenticated class refuses an anonymous caller', async () => {
    const before = fake.requests.length;
    const res = await edge('/_do/chat-room/lobby');
    expect(res.status, res.text).toBe(401);
    expect(JSON.parse(res.text).error.code).toBe('AUTH_REQUIRED');
    expect(res.headers['x-fake-dispatch']).toBeUndefined();
    expect(fake.requests.length).toBe(before);
  });
});

describe('a refused upload', () => {
  it('makes the deploy ERROR with the API\'s message; the previous script keeps serving', async () => {
    fake.failNext({ method: 'PUT', status: 400, code: 10021, message: 'Uncaught TypeError: boom at classes/counter.js:3' });
    const failed = await call(`/v1/${appId}/durable-objects`, { body: { name: 'counter', code: counter('never-live'), access_mode: 'public' } });
    expect(failed.status, failed.text).toBe(200);
    expect(failed.body.status).toBe('ERROR');
    expect(failed.body.error_message).toBe('The Cloudflare API refused the Durable Object classes upload (HTTP 400): Uncaught TypeError: boom at classes/counter.js:3 (code 10021)');
    expect(stored().modules['classes/counter.js']).toContain("version: 'v2'");
    expect(stored().metadata.migrations!.new_tag).toBe('v4');
    // The class still serves its last good deploy through the script.
    expect((await edge('/_do/counter/a')).status).toBe(501);
  });
});

describe('deleting a class', () => {
  it('uploads the script without it, its class in deleted_classes (Cloudflare deletes its storage)', async () => {
    const deleted = await call(`/v1/${appId}/durable-objects/chat-room`, { method: 'DELETE' });
    expect(deleted.status, deleted.text).toBe(200);
    expect(deleted.body).toEqual({ deleted: true, name: 'chat-room' });
    // The failed deploy above changed nothing on Cloudflare, so the tag goes on from v4; the
    // failed counter code is not uploaded (its last good deploy is).
    expect(stored().metadata.migrations).toEqual({ old_tag: 'v4', new_tag: 'v5', steps: [{ deleted_classes: ['ChatRoom'] }] });
    expect(stored().durableObjectClasses).toEqual(['Counter']);
    expect(stored().metadata.bindings.map((b) => b.name)).toEqual(['COUNTER', 'BUTTERBASE_CTX', 'AI_KEY']);
    expect(Object.keys(stored().modules).some((m) => m.includes('chat-room'))).toBe(false);
    expect(stored().modules['classes/counter.js']).toContain("version: 'v2'");
    expect((await call(`/v1/${appId}/durable-objects/chat-room`)).status).toBe(404);
  });

  it('deployed again under the name, it is a new namespace', async () => {
    const redeployed = await call(`/v1/${appId}/durable-objects`, { body: { name: 'chat-room', code: chatRoom, access_mode: 'public' } });
    expect(redeployed.status, redeployed.text).toBe(201);
    expect(stored().metadata.migrations).toEqual({ old_tag: 'v5', new_tag: 'v6', steps: [{ new_sqlite_classes: ['ChatRoom'] }] });
  });
});

describe('deleting the app', () => {
  it('deletes its Durable Object script', async () => {
    const deleted = await call(`/apps/${appId}`, { method: 'DELETE' });
    expect(deleted.status, deleted.text).toBe(200);
    const deadline = Date.now() + 30_000;
    while (fake.scripts.has(script) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    expect(fake.scripts.has(script)).toBe(false);
    expect(fake.requests).toContainEqual({ method: 'DELETE', path: `/accounts/${wfpSettings.accountId}/workers/dispatch/namespaces/${wfpSettings.namespace}/scripts/${script}`, status: 200 });
  });
});
