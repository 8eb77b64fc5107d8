/**
 * The app purge in-process: control's messages (workers/control/services/app-purge.ts: chunks within
 * the queue's message size, the classes once) and one step of the hosting consumer
 * (workers/hosting/services/app-purge.ts) against in-memory R2, Durable Object and queue bindings and
 * the local fake Cloudflare API — its subrequest budget and continuation, idempotence, a refused
 * script delete (retried, no continuation), and the Worker Loader case (no scripts to delete).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('cloudflare:workers', () => ({ DurableObject: class {}, WorkerEntrypoint: class {} }));

import { appPurgeMessage, maxPurgeScriptsPerMessage, type AppPurgeMessage } from '../workers/shared/contracts.ts';
import { purgeMessages } from '../workers/control/services/app-purge.ts';
import type { Env } from '../workers/hosting/env.ts';
import { purgeApp, purgeSubrequestBudget } from '../workers/hosting/services/app-purge.ts';
import { deleteScript, namespaceConfig } from '../workers/shared/dispatch-namespace.ts';
import { startFakeCloudflareApi, type FakeCloudflareApi } from './fakes/cloudflare-api.ts';
import { wfpSettings } from './helpers/wfp-platform.ts';

const appId = 'app_abcdefghijkl';
const scriptId = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

describe('control: purgeMessages', () => {
  it('sends one message without scripts, and splits many script names across messages with the classes in the first', () => {
    expect(purgeMessages({ appId, durableObjectClasses: ['chat-room'], dispatchScripts: [] }))
      .toEqual([{ type: 'app_deleted', appId, durableObjectClasses: ['chat-room'], dispatchScripts: [] }]);
    const scripts = Array.from({ length: 2 * maxPurgeScriptsPerMessage + 5 }, (_, i) => scriptId(i));
    const messages = purgeMessages({ appId, durableObjectClasses: ['a', 'b'], dispatchScripts: scripts });
    expect(messages.map((m) => [m.durableObjectClasses, m.dispatchScripts.length])).toEqual([[['a', 'b'], 1000], [[], 1000], [[], 5]]);
    expect(messages.flatMap((m) => m.dispatchScripts)).toEqual(scripts);
    for (const message of messages) {
      expect(appPurgeMessage.safeParse(message).success).toBe(true);
      expect(JSON.stringify(message).length).toBeLessThan(128 * 1024);
    }
  });
});

/** An in-memory hosting bucket (list pages of `limit`, batch delete) counting its calls. */
function memoryBucket(keys: string[]) {
  const objects = new Set(keys);
  const calls = { list: 0, delete: 0 };
  const bucket = {
    async list(options: { prefix?: string; limit?: number }) {
      calls.list++;
      const matching = [...objects].filter((k) => k.startsWith(options.prefix ?? '')).sort();
      const page = matching.slice(0, options.limit ?? 1000);
      return { objects: page.map((key) => ({ key })), truncated: matching.length > page.length, cursor: '' };
    },
    async delete(keys: string[]) {
      calls.delete++;
      for (const key of keys) objects.delete(key);
    },
  };
  return { bucket: bucket as unknown as R2Bucket, objects, calls };
}

/** Directory and host objects of user Durable Objects: `instances[class]` lists ids; each host holds `keys` keys until purged. */
function memoryObjects(instances: Record<string, string[]>, failOn?: string) {
  const directories = new Map(Object.entries(instances).map(([name, ids]) => [`dir:${appId}:${name}`, new Set(ids)]));
  const stored = new Map<string, number>(Object.entries(instances).flatMap(([name, ids]) => ids.map((id): [string, number] => [`${appId}:${name}:${id}`, 2])));
  const namespace = {
    idFromName: (name: string) => name,
    get(name: string) {
      const directory = directories.get(name);
      if (directory) {
        return {
          instances: async (limit?: number) => [...directory].slice(0, limit),
          forget: async (ids: string[]) => ids.forEach((id) => directory.delete(id)),
          clear: async () => directory.clear(),
        };
      }
      return {
        async fetch(request: Request) {
          expect(request.headers.get('x-bb-do-purge')).toBe('1');
          if (name === failOn) return new Response('boom', { status: 500 });
          const keys = stored.get(name) ?? 0;
          stored.set(name, 0);
          return Response.json({ keys, tables: 0 });
        },
      };
    },
  };
  return { namespace: namespace as unknown as Env['USER_OBJECTS'], directories, stored };
}

let fake: FakeCloudflareApi;
beforeAll(async () => {
  fake = await startFakeCloudflareApi(wfpSettings);
});
afterAll(() => fake.close());

const uploaded = (name: string) => fake.scripts.set(name, { name, metadata: { main_module: 'x.js', compatibility_date: '2026-04-01', bindings: [] }, modules: {}, contentTypes: {} });

function hostingEnv(parts: { bucket: R2Bucket; objects: Env['USER_OBJECTS']; sent: AppPurgeMessage[]; wfp: boolean }): Env {
  return {
    SITES: parts.bucket,
    USER_OBJECTS: parts.objects,
    APP_PURGE: { send: async (message: AppPurgeMessage) => void parts.sent.push(message) },
    ...(parts.wfp ? {
      DISPATCHER: {} as DispatchNamespace,
      CLOUDFLARE_API_URL: fake.url,
      CLOUDFLARE_ACCOUNT_ID: wfpSettings.accountId,
      DISPATCH_NAMESPACE: wfpSettings.namespace,
      CLOUDFLARE_API_TOKEN: wfpSettings.apiToken,
    } : {}),
  } as unknown as Env;
}

describe('hosting: purgeApp (one message)', () => {
  beforeEach(() => fake.scripts.clear());

  it('empties the app\'s prefixes only, wipes every instance, deletes the scripts, and needs no continuation', async () => {
    const { bucket, objects } = memoryBucket([`sites/${appId}/d1/manifest.json`, `sites/${appId}/d1/files/index.html`, `uploads/${appId}/d2.zip`, 'sites/app_otherotherot/d3/manifest.json']);
    const dos = memoryObjects({ 'chat-room': ['lobby', 'other'], counter: ['c'] });
    ['s1', 's2'].forEach(uploaded);
    const sent: AppPurgeMessage[] = [];
    const env = hostingEnv({ bucket, objects: dos.namespace, sent, wfp: true });
    const message: AppPurgeMessage = { type: 'app_deleted', appId, durableObjectClasses: ['chat-room', 'counter'], dispatchScripts: ['s1', 's2', 'never-uploaded'] };
    const report = await purgeApp(env, message);
    expect(report).toEqual({ appId, siteObjects: 3, instances: 3, keys: 6, tables: 0, scripts: 3, scriptsNotOnWfp: 0, continued: false });
    expect([...objects]).toEqual(['sites/app_otherotherot/d3/manifest.json']);
    expect([...dos.directories.values()].every((d) => d.size === 0)).toBe(true);
    expect(fake.scripts.size).toBe(0);
    expect(sent).toEqual([]);
    // Idempotent: the same message again finds nothing left and still succeeds.
    expect(await purgeApp(env, message)).toMatchObject({ siteObjects: 0, instances: 0, keys: 0, scripts: 3, continued: false });
  });

  it('deletes the app\'s Durable Object script with force (it has classes, which the API otherwise refuses to delete)', async () => {
    const { bucket } = memoryBucket([]);
    const doScript = `do-${appId}`;
    const withClasses = () => fake.scripts.set(doScript, { name: doScript, metadata: { main_module: 'x.js', compatibility_date: '2026-04-01', bindings: [] }, modules: {}, contentTypes: {}, durableObjectClasses: ['ChatRoom'] });
    withClasses();
    const env = hostingEnv({ bucket, objects: memoryObjects({}).namespace, sent: [], wfp: true });
    expect(await deleteScript(namespaceConfig(env, fake.url, 'test')!, doScript, 'test')).toBe(false);
    expect(fake.scripts.has(doScript)).toBe(true);
    const report = await purgeApp(env, { type: 'app_deleted', appId, durableObjectClasses: [], dispatchScripts: [doScript] });
    expect(report.scripts).toBe(1);
    expect(fake.scripts.has(doScript)).toBe(false);
  });

  it('stops at its subrequest budget and continues in a new message with what is left', async () => {
    const { bucket } = memoryBucket([]);
    const dos = memoryObjects({});
    const scripts = Array.from({ length: 700 }, (_, i) => `s${i}`);
    scripts.forEach(uploaded);
    const sent: AppPurgeMessage[] = [];
    const report = await purgeApp(hostingEnv({ bucket, objects: dos.namespace, sent, wfp: true }), { type: 'app_deleted', appId, durableObjectClasses: [], dispatchScripts: scripts });
    // Two empty R2 lists, then one API call per script until one subrequest is left for the continuation.
    expect(report.scripts).toBe(purgeSubrequestBudget - 3);
    expect(report.continued).toBe(true);
    expect(sent).toEqual([{ type: 'app_deleted', appId, durableObjectClasses: [], dispatchScripts: scripts.slice(purgeSubrequestBudget - 3) }]);
    expect(fake.scripts.size).toBe(700 - report.scripts);
  });

  it('continues a class with many instances in later messages', async () => {
    const { bucket } = memoryBucket([]);
    const ids = Array.from({ length: 600 }, (_, i) => `i${String(i).padStart(3, '0')}`);
    const dos = memoryObjects({ big: ids });
    const sent: AppPurgeMessage[] = [];
    const env = hostingEnv({ bucket, objects: dos.namespace, sent, wfp: false });
    const first = await purgeApp(env, { type: 'app_deleted', appId, durableObjectClasses: ['big'], dispatchScripts: [] });
    expect(first.continued).toBe(true);
    expect(first.instances).toBeGreaterThan(400);
    expect(sent).toEqual([{ type: 'app_deleted', appId, durableObjectClasses: ['big'], dispatchScripts: [] }]);
    const second = await purgeApp(env, sent[0]!);
    expect(first.instances + second.instances).toBe(600);
    expect(second.continued).toBe(false);
    expect(dos.directories.get(`dir:${appId}:big`)!.size).toBe(0);
    expect([...dos.stored.values()].every((keys) => keys === 0)).toBe(true);
  });

  it('throws (the message is retried) when an instance cannot be wiped or a script delete is refused; skips scripts under the Worker Loader', async () => {
    const { bucket } = memoryBucket([]);
    const failing = memoryObjects({ room: ['a', 'b'] }, `${appId}:room:b`);
    const sent: AppPurgeMessage[] = [];
    await expect(purgeApp(hostingEnv({ bucket, objects: failing.namespace, sent, wfp: false }), { type: 'app_deleted', appId, durableObjectClasses: ['room'], dispatchScripts: [] }))
      .rejects.toMatchObject({ code: 'INTERNAL_ERROR' });
    // The wiped instance is forgotten; the other stays listed for the retry.
    expect([...failing.directories.get(`dir:${appId}:room`)!]).toEqual(['b']);

    uploaded('s1');
    fake.failNext({ method: 'DELETE', status: 500, code: 10013, message: 'internal' });
    await expect(purgeApp(hostingEnv({ bucket, objects: memoryObjects({}).namespace, sent, wfp: true }), { type: 'app_deleted', appId, durableObjectClasses: [], dispatchScripts: ['s1'] }))
      .rejects.toMatchObject({ code: 'EXTERNAL_NETWORK_ERROR' });
    expect(fake.scripts.has('s1')).toBe(true);
    expect(sent).toEqual([]);

    const local = await purgeApp(hostingEnv({ bucket, objects: memoryObjects({}).namespace, sent, wfp: false }), { type: 'app_deleted', appId, durableObjectClasses: [], dispatchScripts: ['s1'] });
    expect(local).toMatchObject({ scripts: 0, scriptsNotOnWfp: 1, continued: false });
  });
});
