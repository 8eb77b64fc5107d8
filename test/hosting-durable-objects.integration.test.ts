/**
 * User Durable Objects (API.md §10.1) through the real platform: router → hosting Worker →
 * UserObjectHost → the user's class as a Worker Loader facet. The seeds' ChatRoom over two real
 * WebSockets, state across redeploys, purge on delete, constructor failures, access modes with real
 * token verification, env vars, and every validation code.
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { api, createReadyApp } from './helpers/api.ts';
import { raiseRateLimit } from './helpers/control-db.ts';
import { chatRoom, siteRequest, subdomainOf } from './helpers/hosting.ts';
import { signedInUser } from './helpers/realtime.ts';

let appId: string;
let subdomain: string;


const deployClass = (body: Record<string, unknown>, app = appId) => api(`/v1/${app}/durable-objects`, { body });

/** A ws client on the app host (ws lets us set Host; the socket goes to 127.0.0.1). */
function openSocket(path: string, sub = subdomain): Promise<{ socket: WebSocket; messages: any[]; next: (n: number) => Promise<any[]> }> {
  const base = new URL(inject('platformUrl'));
  const socket = new WebSocket(`ws://${base.host}${path}`, { headers: { host: `${sub}.localhost:${base.port}` } });
  const messages: any[] = [];
  const waiters: (() => void)[] = [];
  socket.on('message', (data) => {
    messages.push(JSON.parse(String(data)));
    waiters.splice(0).forEach((w) => w());
  });
  const next = async (n: number) => {
    const deadline = Date.now() + 10_000;
    while (messages.length < n) {
      if (Date.now() > deadline) throw new Error(`only ${messages.length} of ${n} messages: ${JSON.stringify(messages)}`);
      await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 200); });
    }
    return messages.slice(0, n);
  };
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve({ socket, messages, next }));
    socket.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    socket.once('error', reject);
  });
}

beforeAll(async () => {
  ({ appId } = await createReadyApp('dos'));
  await raiseRateLimit(appId, 100_000);
  subdomain = await subdomainOf(appId);
});

describe('the seeds\' ChatRoom', () => {
  it('deploys READY; two WebSockets see each other\'s messages; history is in storage', async () => {
    const deployed = await deployClass({ name: 'chat-room', code: chatRoom, access_mode: 'public' });
    expect(deployed.status, deployed.text).toBe(201);
    expect(deployed.body).toMatchObject({ name: 'chat-room', class_name: 'ChatRoom', status: 'READY', access_mode: 'public', error_message: null });

    const alice = await openSocket('/_do/chat-room/lobby');
    const bob = await openSocket('/_do/chat-room/lobby');
    expect((await alice.next(1))[0]).toEqual({ type: 'init', messages: [] });
    await bob.next(1);
    alice.socket.send(JSON.stringify({ user: 'alice', text: 'hi bob' }));
    expect((await bob.next(2))[1]).toEqual({ user: 'alice', text: 'hi bob' });
    bob.socket.send(JSON.stringify({ user: 'bob', text: 'hi alice' }));
    expect((await alice.next(3)).slice(1)).toEqual([{ user: 'alice', text: 'hi bob' }, { user: 'bob', text: 'hi alice' }]);
    alice.socket.close();
    bob.socket.close();

    const history = await siteRequest(subdomain, '/_do/chat-room/lobby');
    expect(history.status).toBe(200);
    expect(JSON.parse(history.text)).toEqual([{ user: 'alice', text: 'hi bob' }, { user: 'bob', text: 'hi alice' }]);
    expect(JSON.parse((await siteRequest(subdomain, '/_do/chat-room/other-room')).text)).toEqual([]);
  });

  it('keeps state across a redeploy, which runs the new code', async () => {
    const changed = chatRoom.replace('return Response.json(await this.state.storage.get("messages") ?? []);', 'return Response.json({ v: 2, messages: await this.state.storage.get("messages") ?? [] });');
    const redeployed = await deployClass({ name: 'chat-room', code: changed, access_mode: 'public' });
    expect(redeployed.status, redeployed.text).toBe(200);
    expect(redeployed.body.status).toBe('READY');
    const after = JSON.parse((await siteRequest(subdomain, '/_do/chat-room/lobby')).text);
    expect(after).toEqual({ v: 2, messages: [{ user: 'alice', text: 'hi bob' }, { user: 'bob', text: 'hi alice' }] });
    const got = await api(`/v1/${appId}/durable-objects/chat-room`);
    expect(got.body.code).toBe(changed);
    const listed = await api(`/v1/${appId}/durable-objects`);
    expect(listed.body.durable_objects.map((d: any) => d.name)).toContain('chat-room');
    const usage = await api(`/v1/${appId}/durable-objects/chat-room/usage`);
    expect(usage.body.do_requests).toBeGreaterThanOrEqual(4);
  });

  it('delete purges every instance: the class deployed again starts empty', async () => {
    const deleted = await api(`/v1/${appId}/durable-objects/chat-room`, { method: 'DELETE' });
    expect([deleted.status, deleted.body]).toEqual([200, { deleted: true, name: 'chat-room' }]);
    expect((await siteRequest(subdomain, '/_do/chat-room/lobby')).status).toBe(404);
    expect((await deployClass({ name: 'chat-room', code: chatRoom, access_mode: 'public' })).body.status).toBe('READY');
    expect(JSON.parse((await siteRequest(subdomain, '/_do/chat-room/lobby')).text)).toEqual([]);
  });
});

describe('failures and access modes', () => {
  it('a constructor that throws makes the class ERROR with its message, and it does not serve', async () => {
    const code = 'export class Broken {\n  constructor(state, env) { throw new Error("no config for the broken room"); }\n  async fetch() { return new Response("x"); }\n}';
    const deployed = await deployClass({ name: 'broken', code, access_mode: 'public' });
    expect(deployed.body).toMatchObject({ status: 'ERROR', error_message: expect.stringContaining('no config for the broken room') });
    const served = await siteRequest(subdomain, '/_do/broken/x');
    expect(served.status).toBe(409);
    expect(JSON.parse(served.text).error.code).toBe('STATE_PREREQUISITE_MISSING');
  });

  it('a failed redeploy is ERROR with its message while the last good version keeps serving, state intact', async () => {
    const good = 'export class Keeper {\n  constructor(public state: DurableObjectState) {}\n  async fetch() { const n = ((await this.state.storage.get("n")) ?? 0) + 1; await this.state.storage.put("n", n); return Response.json({ n }); }\n}';
    expect((await deployClass({ name: 'keeper', code: good, access_mode: 'public' })).body.status).toBe('READY');
    expect(JSON.parse((await siteRequest(subdomain, '/_do/keeper/k')).text)).toEqual({ n: 1 });
    const bad = good.replace('constructor(public state: DurableObjectState) {}', 'constructor(public state: DurableObjectState) { throw new Error("bad release"); }');
    const failed = await deployClass({ name: 'keeper', code: bad, access_mode: 'public' });
    expect(failed.body).toMatchObject({ status: 'ERROR', error_message: expect.stringContaining('bad release') });
    expect(JSON.parse((await siteRequest(subdomain, '/_do/keeper/k')).text)).toEqual({ n: 2 });
    expect((await deployClass({ name: 'keeper', code: good.replace('{ n }', '{ n, v: 3 }'), access_mode: 'public' })).body.status).toBe('READY');
    expect(JSON.parse((await siteRequest(subdomain, '/_do/keeper/k')).text)).toEqual({ n: 3, v: 3 });
    expect((await api(`/v1/${appId}/durable-objects/keeper`, { method: 'DELETE' })).status).toBe(200);
  });

  it('authenticated verifies the end-user token (header or ?token=) and passes the user id; forged and missing tokens get 401', async () => {
    const code = 'export class WhoAmI {\n  async fetch(req: Request) { return Response.json({ user: req.headers.get("x-butterbase-user-id"), auth: req.headers.has("authorization") }); }\n}';
    expect((await deployClass({ name: 'who-am-i', code })).body).toMatchObject({ status: 'READY', access_mode: 'authenticated' });
    const user = await signedInUser(appId, 'do-user');
    const ok = await siteRequest(subdomain, '/_do/who-am-i/me', { headers: { authorization: `Bearer ${user.token}` } });
    expect(ok.status, ok.text).toBe(200);
    expect(JSON.parse(ok.text)).toEqual({ user: user.id, auth: true });
    const viaQuery = await siteRequest(subdomain, `/_do/who-am-i/me?token=${user.token}`);
    expect(JSON.parse(viaQuery.text)).toEqual({ user: user.id, auth: false });
    const [header, payload] = user.token.split('.');
    const forged = `${header}.${payload}.${Buffer.from('not the signature').toString('base64url')}`;
    const cases: [string, Record<string, string>, number, string][] = [
      ['no token', {}, 401, 'AUTH_REQUIRED'],
      ['forged signature', { authorization: `Bearer ${forged}` }, 401, 'AUTH_INVALID_END_USER_JWT'],
      ['spoofed user header', { 'x-butterbase-user-id': user.id }, 401, 'AUTH_REQUIRED'],
    ];
    for (const [name, headers, status, errorCode] of cases) {
      const res = await siteRequest(subdomain, '/_do/who-am-i/me', { headers });
      expect({ name, status: res.status, code: JSON.parse(res.text).error?.code }).toEqual({ name, status, code: errorCode });
    }
    const forgedQuery = await siteRequest(subdomain, `/_do/who-am-i/me?token=${forged}`);
    expect(forgedQuery.status).toBe(401);
    await expect(openSocket(`/_do/who-am-i/me?token=${forged}`)).rejects.toThrow('HTTP 401');

    const chat = await deployClass({ name: 'private-chat', code: chatRoom.replace('class ChatRoom', 'class PrivateChat') });
    expect(chat.body.status).toBe('READY');
    const socket = await openSocket(`/_do/private-chat/room?token=${user.token}`);
    expect((await socket.next(1))[0]).toEqual({ type: 'init', messages: [] });
    socket.socket.close();

    const keyOnly = await deployClass({ name: 'who-am-i', code, access_mode: 'service_key' });
    expect(keyOnly.body.access_mode).toBe('service_key');
    expect((await siteRequest(subdomain, '/_do/who-am-i/me', { headers: { authorization: `Bearer ${user.token}` } })).status).toBe(403);
    expect((await siteRequest(subdomain, '/_do/who-am-i/me', { headers: { authorization: `Bearer ${inject('serviceKey')}` } })).status).toBe(200);
    expect((await siteRequest(subdomain, '/_do/who-am-i/me', { headers: { authorization: 'Bearer bb_sk_0000000000000000000000000000000000000000' } })).status).toBe(401);
  });

  it('env vars: keys only on read, UPPER_SNAKE, no class binding names, a change redeploys', async () => {
    const code = 'export class Greeter {\n  async fetch() { return new Response(String(this.env?.GREETING ?? "none")); }\n  constructor(state, env) { this.env = env; }\n}';
    expect((await deployClass({ name: 'greeter', code, access_mode: 'public' })).body.status).toBe('READY');
    expect((await siteRequest(subdomain, '/_do/greeter/a')).text).toBe('none');
    const set = await api(`/v1/${appId}/durable-objects/env/GREETING`, { method: 'PUT', body: { value: 'hello' } });
    expect(set.body).toEqual({ key: 'GREETING', redeployed: true });
    expect((await siteRequest(subdomain, '/_do/greeter/a')).text).toBe('hello');
    const keys = await api(`/v1/${appId}/durable-objects/env`);
    expect(keys.body).toEqual({ keys: ['GREETING'] });
    expect((await api(`/v1/${appId}/durable-objects/env/greeting`, { method: 'PUT', body: { value: 'x' } })).body.error.code).toBe('VALIDATION_INVALID_NAME');
    expect((await api(`/v1/${appId}/durable-objects/env/GREETER`, { method: 'PUT', body: { value: 'x' } })).body.error.code).toBe('RESOURCE_CONFLICT');
    expect((await api(`/v1/${appId}/durable-objects/env/GREETING`, { method: 'DELETE' })).body).toEqual({ deleted: true, key: 'GREETING', redeployed: true });
    expect((await siteRequest(subdomain, '/_do/greeter/a')).text).toBe('none');
  });
});

describe('deploy validation (§10.1 codes)', () => {
  it('refuses bad sources with their codes', async () => {
    const { appId: app } = await createReadyApp('dos-codes');
    const ok = (name: string) => `export class ${name} { async fetch() { return new Response("ok"); } }`;
    const cases: [string, Record<string, unknown>, number, string][] = [
      ['no exported class', { name: 'a', code: 'class A {}' }, 400, 'NO_EXPORTED_CLASS'],
      ['two classes', { name: 'a', code: 'export class A {}\nexport class B {}' }, 400, 'MULTIPLE_EXPORTS'],
      ['class and helper', { name: 'a', code: 'export class A {}\nexport function helper() {}' }, 400, 'MULTIPLE_EXPORTS'],
      ['npm import', { name: 'a', code: 'import { nanoid } from "nanoid";\nexport class A {}' }, 400, 'INVALID_IMPORT'],
      ['dynamic import', { name: 'a', code: 'export class A { async fetch() { await import("node:fs"); } }' }, 400, 'INVALID_IMPORT'],
      ['syntax error', { name: 'a', code: 'export class A { fetch( }' }, 400, 'CLASS_NAME_PARSE_ERROR'],
      ['name mismatch', { name: 'chat-room', code: ok('ChatLobby') }, 400, 'CLASS_NAME_PARSE_ERROR'],
      ['not kebab-case', { name: 'Chat_Room', code: ok('ChatRoom') }, 400, 'NAME_REGEX_VIOLATION'],
      ['too big', { name: 'a', code: `export class A {}\n//${'x'.repeat(5 * 1024 * 1024)}` }, 413, 'SOURCE_SIZE_EXCEEDED'],
      ['bad access mode', { name: 'a', code: ok('A'), access_mode: 'everyone' }, 400, 'VALIDATION_INVALID_SCHEMA'],
      ['unknown', { name: 'missing' }, 400, 'VALIDATION_MISSING_FIELD'],
    ];
    for (const [name, body, status, code] of cases) {
      const res = await deployClass(body, app);
      expect({ name, status: res.status, code: res.body?.error?.code }).toEqual({ name, status, code });
    }
    const typed = await deployClass({ name: 'typed-room', code: 'import { DurableObject } from "cloudflare:workers";\ntype Row = { n: number };\nexport class TypedRoom extends DurableObject {\n  async fetch(req: Request): Promise<Response> { const row: Row = { n: 1 }; return Response.json(row); }\n}' }, app);
    expect(typed.body.status, typed.text).toBe('READY');
    for (const name of ['b-one', 'b-two', 'b-three', 'b-four']) {
      const className = name.split('-').map((p) => p[0]!.toUpperCase() + p.slice(1)).join('');
      expect((await deployClass({ name, code: ok(className) }, app)).status).toBe(201);
    }
    const sixth = await deployClass({ name: 'b-five', code: ok('BFive') }, app);
    expect([sixth.status, sixth.body.error.code]).toEqual([402, 'QUOTA_DO_LIMIT']);
    expect((await api(`/v1/${app}/durable-objects/nope`)).body.error.code).toBe('RESOURCE_NOT_FOUND');
    expect((await api(`/v1/${app}/durable-objects`, { token: null })).status).toBe(401);
    expect((await siteRequest(await subdomainOf(app), '/_do/nope/x')).status).toBe(404);
    const onApiHost = await fetch(`${inject('platformUrl')}/_do/typed-room/x`);
    expect(onApiHost.status).toBe(404);
  });
});

describe('manage_durable_objects through the Inspector CLI', () => {
  it('deploys, lists, sets env and deletes with the REST answers and codes', async () => {
    const { inspectorCall } = await import('./helpers/hosting.ts');
    const { appId: app } = await createReadyApp('dos-mcp');
    const code = 'export class Counter {\n  constructor(public state: DurableObjectState) {}\n  async fetch() { const n = ((await this.state.storage.get("n")) ?? 0) + 1; await this.state.storage.put("n", n); return Response.json({ n }); }\n}';
    const deployed = await inspectorCall('manage_durable_objects', { action: 'deploy', app_id: app, name: 'counter', code, access_mode: 'public' });
    expect(deployed.isError, deployed.text).toBe(false);
    expect(deployed.json).toMatchObject({ name: 'counter', class_name: 'Counter', status: 'READY' });
    const sub = await subdomainOf(app);
    expect(JSON.parse((await siteRequest(sub, '/_do/counter/a')).text)).toEqual({ n: 1 });
    expect(JSON.parse((await siteRequest(sub, '/_do/counter/a')).text)).toEqual({ n: 2 });
    expect((await inspectorCall('manage_durable_objects', { action: 'list', app_id: app })).json.durable_objects).toHaveLength(1);
    expect((await inspectorCall('manage_durable_objects', { action: 'set_env', app_id: app, key: 'MODE', value: 'x' })).json).toEqual({ key: 'MODE', redeployed: true });
    expect((await inspectorCall('manage_durable_objects', { action: 'list_env', app_id: app })).json).toEqual({ keys: ['MODE'] });
    const bad = await inspectorCall('manage_durable_objects', { action: 'deploy', app_id: app, name: 'other', code: 'import x from "lodash";\nexport class Other {}' });
    expect(bad.isError).toBe(true);
    expect(bad.json.error.code).toBe('INVALID_IMPORT');
    expect((await inspectorCall('manage_durable_objects', { action: 'delete', app_id: app, name: 'counter' })).json).toEqual({ deleted: true, name: 'counter' });
  });
});

describe('a real browser', () => {
  it('a page on the app host opens two WebSockets to the ChatRoom and sees messages cross between them', async () => {
    const { chromium } = await import('playwright-core');
    const { deploy, zipOf } = await import('./helpers/hosting.ts');
    const { appId: app } = await createReadyApp('dos-browser');
    await raiseRateLimit(app, 100_000);
    const sub = await subdomainOf(app);
    expect((await deployClass({ name: 'chat-room', code: chatRoom, access_mode: 'public' }, app)).body.status).toBe('READY');
    const script = `
      const open = () => new Promise((resolve, reject) => {
        const ws = new WebSocket('ws://' + location.host + '/_do/chat-room/browser-room');
        const seen = [];
        ws.onmessage = (e) => seen.push(JSON.parse(e.data));
        ws.onopen = () => resolve({ ws, seen });
        ws.onerror = () => reject(new Error('socket failed'));
      });
      const until = async (check) => { for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 100)); };
      (async () => {
        const [a, b] = [await open(), await open()];
        a.ws.send(JSON.stringify({ user: 'a', text: 'from a' }));
        await until(() => b.seen.some((m) => m.text === 'from a'));
        b.ws.send(JSON.stringify({ user: 'b', text: 'from b' }));
        await until(() => a.seen.some((m) => m.text === 'from b'));
        document.getElementById('out').textContent = JSON.stringify({ a: a.seen, b: b.seen });
        document.body.dataset.done = '1';
      })().catch((e) => { document.getElementById('out').textContent = 'failed: ' + e; document.body.dataset.done = '1'; });`;
    const site = await deploy(app, zipOf({ 'index.html': '<!doctype html><body><pre id="out"></pre><script src="/chat-1a2b3c4d.js"></script></body>', 'chat-1a2b3c4d.js': script }), 'static');
    expect(site.status, site.error).toBe('READY');
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
    try {
      const page = await browser.newPage();
      await page.goto(`http://${sub}.localhost:${new URL(inject('platformUrl')).port}/`);
      await page.waitForSelector('body[data-done="1"]', { timeout: 30_000 });
      const out = JSON.parse((await page.textContent('#out'))!);
      const init = { type: 'init', messages: [] };
      expect(out.a).toEqual([init, { user: 'a', text: 'from a' }, { user: 'b', text: 'from b' }]);
      expect(out.b).toEqual([init, { user: 'a', text: 'from a' }, { user: 'b', text: 'from b' }]);
    } finally {
      await browser.close();
    }
  }, 150_000);
});
