/**
 * The Workers for Platforms script of an app's Durable Object classes (workers/hosting/services/do-script.ts):
 * the migrations computed from what the script exported last, the upload's bindings and modules, and
 * the generated entry module run for real (in Node, from a temporary folder, with fake namespaces),
 * since the fake dispatcher cannot bind Durable Object namespaces inside the Worker Loader.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';

vi.mock('cloudflare:workers', () => ({ DurableObject: class {}, WorkerEntrypoint: class {} }));

import { butterbaseGlobalSource, hostedModule } from '../durable-objects/hosted-module.ts';
import { doEntryModule, doMigrations, doScriptUpload, type ScriptClass } from '../workers/hosting/services/do-script.ts';
import { doScriptName } from '../workers/shared/dispatch-namespace.ts';

const appId = 'app_abcdefghijkl';

const chatRoom: ScriptClass = {
  name: 'chat-room',
  className: 'ChatRoom',
  module: `export class ChatRoom {
  constructor(state, env) { this.state = state; this.env = env; }
  async fetch(request) {
    const ctx = butterbase.ctx(request, this.env, this.state);
    return Response.json({ class: 'ChatRoom', id: this.state.id, url: request.url, appId: ctx.env.BUTTERBASE_APP_ID, user: ctx.user });
  }
}`,
};
const noFetch: ScriptClass = { name: 'no-fetch', className: 'NoFetch', module: 'export class NoFetch { constructor(state) { this.state = state; } }' };

describe('doMigrations', () => {
  const cases: { name: string; applied: Parameters<typeof doMigrations>[0]; next: Record<string, string>; expected: ReturnType<typeof doMigrations> }[] = [
    { name: 'first upload: every class new, no old_tag', applied: null, next: { 'chat-room': 'ChatRoom', counter: 'Counter' }, expected: { new_tag: 'v1', steps: [{ new_sqlite_classes: ['ChatRoom', 'Counter'] }] } },
    { name: 'same classes again: no step, the tag moves on', applied: { tag: 1, classes: { 'chat-room': 'ChatRoom' } }, next: { 'chat-room': 'ChatRoom' }, expected: { old_tag: 'v1', new_tag: 'v2', steps: [] } },
    { name: 'a class added', applied: { tag: 2, classes: { 'chat-room': 'ChatRoom' } }, next: { 'chat-room': 'ChatRoom', counter: 'Counter' }, expected: { old_tag: 'v2', new_tag: 'v3', steps: [{ new_sqlite_classes: ['Counter'] }] } },
    { name: 'a class deleted', applied: { tag: 3, classes: { 'chat-room': 'ChatRoom', counter: 'Counter' } }, next: { counter: 'Counter' }, expected: { old_tag: 'v3', new_tag: 'v4', steps: [{ deleted_classes: ['ChatRoom'] }] } },
    { name: 'the last class deleted', applied: { tag: 4, classes: { counter: 'Counter' } }, next: {}, expected: { old_tag: 'v4', new_tag: 'v5', steps: [{ deleted_classes: ['Counter'] }] } },
    { name: 'a class name changed under the same URL name keeps its storage', applied: { tag: 5, classes: { 'http-cache': 'HttpCache' } }, next: { 'http-cache': 'HTTPCache' }, expected: { old_tag: 'v5', new_tag: 'v6', steps: [{ renamed_classes: [{ from: 'HttpCache', to: 'HTTPCache' }] }] } },
    {
      name: 'added, deleted and renamed at once, in that order',
      applied: { tag: 6, classes: { a: 'A', 'http-cache': 'HttpCache' } },
      next: { b: 'B', 'http-cache': 'HTTPCache' },
      expected: { old_tag: 'v6', new_tag: 'v7', steps: [{ new_sqlite_classes: ['B'] }, { deleted_classes: ['A'] }, { renamed_classes: [{ from: 'HttpCache', to: 'HTTPCache' }] }] },
    },
  ];
  for (const c of cases) it(c.name, () => expect(doMigrations(c.applied, c.next)).toEqual(c.expected));
});

describe('doScriptUpload', () => {
  const migrations = doMigrations(null, { 'chat-room': 'ChatRoom', 'no-fetch': 'NoFetch' });
  const upload = doScriptUpload(appId, [chatRoom, noFetch], { AI_KEY: 'sk-secret', CHAT_ROOM: 'shadowed' }, migrations, 'butterbase-functions');

  it('binds each class namespace, BUTTERBASE_CTX and the env vars as secret_text', () => {
    expect(upload.metadata).toMatchObject({ main_module: doEntryModule, compatibility_date: '2026-04-01', compatibility_flags: ['nodejs_compat'], tags: [appId, `${appId}-do`], migrations });
    expect(upload.metadata.bindings).toEqual([
      { type: 'durable_object_namespace', name: 'CHAT_ROOM', class_name: 'ChatRoom' },
      { type: 'durable_object_namespace', name: 'NO_FETCH', class_name: 'NoFetch' },
      { type: 'service', name: 'BUTTERBASE_CTX', service: 'butterbase-functions', entrypoint: 'FunctionSession' },
      { type: 'secret_text', name: 'AI_KEY', text: 'sk-secret' },
    ]);
    expect(Object.values(upload.modules).join('\n')).not.toContain('sk-secret');
  });

  it('carries each class as its module and its wrapper, beside the entry module', () => {
    expect(Object.keys(upload.modules).sort()).toEqual([doEntryModule, 'classes/chat-room.hosted.js', 'classes/chat-room.js', 'classes/no-fetch.hosted.js', 'classes/no-fetch.js'].sort());
    expect(upload.modules['classes/chat-room.js']).toBe(chatRoom.module);
  });

  it('shares the butterbase global with the Worker Loader facet (one generator)', () => {
    expect(upload.modules[doEntryModule]).toContain(butterbaseGlobalSource(appId));
    expect(hostedModule('ChatRoom', appId)).toContain(butterbaseGlobalSource(appId));
    expect(hostedModule('ChatRoom', appId)).toContain('export class Hosted extends');
  });

  it('names the script do-{app_id}', () => expect(doScriptName(appId)).toBe('do-app_abcdefghijkl'));
});

describe('the entry module, run', () => {
  let dir: string;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function load() {
    dir = await mkdtemp(join(tmpdir(), 'bb-do-script-'));
    const upload = doScriptUpload(appId, [chatRoom, noFetch], {}, doMigrations(null, {}), 'butterbase-functions');
    for (const [name, source] of Object.entries(upload.modules)) {
      const file = join(dir, name.replace(/\.js$/, '.mjs'));
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, String(source).replace(/(from\s+["'][^"']+)\.js(["'])/g, '$1.mjs$2'));
    }
    return import(pathToFileURL(join(dir, doEntryModule.replace(/\.js$/, '.mjs'))).href);
  }

  /** A fake Durable Object namespace binding: idFromName → `id:{name}`, get(id) → an instance of `cls` (one per id). */
  function namespace(cls: new (state: unknown, env: unknown) => { fetch?: (r: Request) => Promise<Response> }, env: Record<string, unknown>) {
    const names: string[] = [];
    const instances = new Map<string, { fetch: (r: Request) => Promise<Response> }>();
    return {
      names,
      idFromName(name: string) {
        names.push(name);
        return `id:${name}`;
      },
      get(id: string) {
        if (!instances.has(id)) instances.set(id, new cls({ id }, env) as { fetch: (r: Request) => Promise<Response> });
        return instances.get(id)!;
      },
    };
  }

  it('routes /_do/{name}/{instance} to that instance of the class\'s namespace, with butterbase.ctx working', async () => {
    const entry = await load();
    const env: Record<string, unknown> = {};
    env.CHAT_ROOM = namespace(entry.ChatRoom, env);
    env.NO_FETCH = namespace(entry.NoFetch, env);
    const response: Response = await entry.default.fetch(new Request('https://app.example/_do/chat-room/room%201/messages?since=3', { headers: { 'x-butterbase-user-id': 'user-1' } }), env);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ class: 'ChatRoom', id: 'id:room 1', url: 'https://app.example/_do/chat-room/room%201/messages?since=3', appId, user: { id: 'user-1' } });
    expect((env.CHAT_ROOM as { names: string[] }).names).toEqual(['room 1']);
    // The wrapper: a class without fetch answers 501, the probe header 204.
    expect((await entry.default.fetch(new Request('https://app.example/_do/no-fetch/x'), env)).status).toBe(501);
    expect((await entry.default.fetch(new Request('https://app.example/_do/no-fetch/x', { headers: { 'x-bb-do-probe': '1' } }), env)).status).toBe(204);
  });

  it('answers 404 for another path, an unknown class or no instance', async () => {
    const entry = await load();
    const env: Record<string, unknown> = {};
    env.CHAT_ROOM = namespace(entry.ChatRoom, env);
    for (const path of ['/', '/_do/chat-room', '/_do/chat-room/', '/_do/counter/a', '/_do/toString/a', '/api/chat-room/a', '/_do/chat-room/%E0%A4%A']) {
      const response: Response = await entry.default.fetch(new Request(`https://app.example${path}`), env);
      expect(response.status, path).toBe(404);
    }
    expect((env.CHAT_ROOM as { names: string[] }).names).toEqual([]);
  });
});
