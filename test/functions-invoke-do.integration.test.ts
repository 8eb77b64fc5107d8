/**
 * ctx.invokeDO (API.md §8.3, issue 11 item 4) through the real platform: a function running in the
 * Worker Loader calls FunctionHost.invokeDO → the functions Worker's DURABLE_OBJECTS binding → the
 * hosting Worker's DoInvoker → UserObjectHost → the user's class as a facet. The same instance state
 * as the `/_do/{name}/{instance}` edge, the same app only, the depth shared with ctx.invoke, usage
 * counted, and each error a stable code inside the function.
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { api, createReadyApp } from './helpers/api.ts';
import { raiseRateLimit } from './helpers/control-db.ts';
import { chatRoom, siteRequest, subdomainOf } from './helpers/hosting.ts';
import { signedInUser, type EndUser } from './helpers/realtime.ts';

let appId: string;
let subdomain: string;
let otherAppId: string;
let alice: EndUser;

/** A counter that also reports what the platform told it about the caller. */
const counter = `export class Counter {
  constructor(public state: DurableObjectState) {}
  async fetch(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname.endsWith('/throw')) throw new Error('counter exploded');
    const text = req.method === 'POST' ? await req.text() : '';
    const by = (text ? (JSON.parse(text) as { by?: number }).by : undefined) ?? 1;
    const n = ((await this.state.storage.get<number>('n')) ?? 0) + by;
    await this.state.storage.put('n', n);
    return Response.json({
      n, method: req.method, path: url.pathname + url.search,
      caller: req.headers.get('x-butterbase-caller'), depth: req.headers.get('x-butterbase-loop-depth'),
      user: req.headers.get('x-butterbase-user-id'), custom: req.headers.get('x-custom'), bb: req.headers.get('x-bb-do-app'),
    }, { headers: { 'x-counter': String(n) } });
  }
}`;


/**
 * A function that forwards its JSON body `{ name, instance, body?, opts? }` to ctx.invokeDO and
 * answers `{ status, headers: {x-counter}, body }`, or `{ error: {code, message, details} }` with 418
 * when ctx.invokeDO threw.
 */
const relay = `export default async function handler(req: Request, ctx: any): Promise<Response> {
  const call = await req.json() as { name: string; instance: string; body?: unknown; opts?: any; bodyBytes?: number };
  const body = call.bodyBytes ? 'x'.repeat(call.bodyBytes) : call.body;
  try {
    const res = await ctx.invokeDO(call.name, call.instance, body, call.opts);
    const text = await res.text();
    let parsed: unknown = text;
    try { parsed = JSON.parse(text); } catch {}
    return Response.json({ status: res.status, counter: res.headers.get('x-counter'), body: parsed, instanceOfResponse: res instanceof Response });
  } catch (error: any) {
    return Response.json({ error: { code: error.code, message: error.message, details: error.details ?? null } }, { status: 418 });
  }
}`;

/** Calls itself through ctx.invoke until ctx.request.loopDepth reaches `at`, then calls ctx.invokeDO. */
const deep = `export default async function handler(req: Request, ctx: any): Promise<Response> {
  const { at } = await req.json() as { at: number };
  const depth = ctx.request.loopDepth ?? 0;
  if (depth < at) return ctx.invoke('deep', { at });
  try {
    const res = await ctx.invokeDO('counter', 'deep');
    return Response.json({ depth, ok: await res.json() });
  } catch (error: any) {
    return Response.json({ depth, error: { code: error.code, message: error.message } });
  }
}`;

const deployClass = (app: string, body: Record<string, unknown>) => api(`/v1/${app}/durable-objects`, { body });

async function deployFunction(app: string, name: string, code: string) {
  const response = await api(`/v1/${app}/functions`, { body: { name, code, triggers: [{ type: 'http', config: { auth: 'optional' } }] } });
  expect(response.status, response.text).toBe(201);
}

/** Runs the relay function of `app` with the given call (optionally as an end user). */
const relayCall = (call: Record<string, unknown>, options: { app?: string; token?: string } = {}) =>
  api(`/v1/${options.app ?? appId}/fn/relay`, { body: call, ...(options.token ? { token: options.token } : {}) });

beforeAll(async () => {
  const [mine, other] = await Promise.all([createReadyApp('ido'), createReadyApp('ido-other')]);
  appId = mine.appId;
  otherAppId = other.appId;
  await Promise.all([raiseRateLimit(appId, 100_000), raiseRateLimit(otherAppId, 100_000)]);
  subdomain = await subdomainOf(appId);
  // service_key: the edge needs a key of the app; ctx.invokeDO is the app's own code and needs none.
  const deployed = await deployClass(appId, { name: 'counter', code: counter, access_mode: 'service_key' });
  expect(deployed.body.status, deployed.text).toBe('READY');
  const secret = await deployClass(otherAppId, { name: 'secret-box', code: counter.replace('class Counter', 'class SecretBox'), access_mode: 'public' });
  expect(secret.body.status, secret.text).toBe('READY');
  await Promise.all([deployFunction(appId, 'relay', relay), deployFunction(appId, 'deep', deep), deployFunction(otherAppId, 'relay', relay)]);
  alice = await signedInUser(appId, 'ido-alice');
}, 180_000);

describe('ctx.invokeDO reaches the app\'s classes', () => {
  it('keeps one instance\'s state across calls, the same state the /_do edge sees', async () => {
    const first = await relayCall({ name: 'counter', instance: 'room-1', body: { by: 1 } });
    expect(first.status, first.text).toBe(200);
    expect(first.body).toEqual({
      status: 200, counter: '1', instanceOfResponse: true,
      body: { n: 1, method: 'POST', path: '/_do/counter/room-1', caller: 'fn:relay', depth: '1', user: null, custom: null, bb: null },
    });
    const second = await relayCall({ name: 'counter', instance: 'room-1', body: { by: 10 } });
    expect(second.body.body.n).toBe(11);

    // The edge (with the service key its access mode needs) sees and changes the same instance.
    const edge = await siteRequest(subdomain, '/_do/counter/room-1', { headers: { authorization: `Bearer ${inject('serviceKey')}` } });
    expect(edge.status, edge.text).toBe(200);
    expect(JSON.parse(edge.text)).toMatchObject({ n: 12, method: 'GET', caller: null, depth: null });
    // Edge clients cannot pose as a function: the platform's headers are removed there.
    const forged = await siteRequest(subdomain, '/_do/counter/room-1', { headers: { authorization: `Bearer ${inject('serviceKey')}`, 'x-butterbase-caller': 'fn:relay', 'x-butterbase-loop-depth': '3' } });
    expect(JSON.parse(forged.text)).toMatchObject({ n: 13, caller: null, depth: null });
    const third = await relayCall({ name: 'counter', instance: 'room-1', body: { by: 1 } });
    expect(third.body.body.n).toBe(14);

    // Another instance key is another, empty state.
    expect((await relayCall({ name: 'counter', instance: 'room-2' })).body.body.n).toBe(1);
  });

  it('passes method, path, headers (platform names dropped) and the invocation\'s end user', async () => {
    const answer = await relayCall({
      name: 'counter', instance: 'room-opts',
      opts: { method: 'get', path: '/sub/path?x=1', headers: { 'x-custom': 'yes', 'x-bb-do-app': 'app_forged', 'x-butterbase-caller': 'fn:forged' } },
    }, { token: alice.token });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.body).toEqual({ n: 1, method: 'GET', path: '/_do/counter/room-opts/sub/path?x=1', caller: 'fn:relay', depth: '1', user: alice.id, custom: 'yes', bb: null });
  });

  it('reaches the seeds\' ChatRoom: the history written over a WebSocket on the edge is what the function reads', async () => {
    expect((await deployClass(appId, { name: 'chat-room', code: chatRoom, access_mode: 'public' })).body.status).toBe('READY');
    const base = new URL(inject('platformUrl'));
    const socket = new WebSocket(`ws://${base.host}/_do/chat-room/lobby`, { headers: { host: `${subdomain}.localhost:${base.port}` } });
    const received: unknown[] = [];
    socket.on('message', (data) => received.push(JSON.parse(String(data))));
    await new Promise<void>((resolve, reject) => { socket.once('open', () => resolve()); socket.once('error', reject); });
    socket.send(JSON.stringify({ user: 'alice', text: 'hello from the edge' }));
    const deadline = Date.now() + 10_000;
    while (received.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    socket.close();
    expect(received).toEqual([{ type: 'init', messages: [] }, { user: 'alice', text: 'hello from the edge' }]);
    const read = await relayCall({ name: 'chat-room', instance: 'lobby', opts: { method: 'GET' } });
    expect(read.body).toMatchObject({ status: 200, body: [{ user: 'alice', text: 'hello from the edge' }] });
  });

  it('counts the calls toward the class\'s usage like edge requests', async () => {
    const before = (await api(`/v1/${appId}/durable-objects/counter/usage`)).body.do_requests as number;
    for (let i = 0; i < 3; i += 1) expect((await relayCall({ name: 'counter', instance: 'usage' })).status).toBe(200);
    let after = before;
    const deadline = Date.now() + 10_000;
    while (after < before + 3 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      after = (await api(`/v1/${appId}/durable-objects/counter/usage`)).body.do_requests as number;
    }
    expect(after).toBeGreaterThanOrEqual(before + 3);
  });
});

describe('ctx.invokeDO errors', () => {
  it('another app\'s class is not found (RESOURCE_NOT_FOUND), while that app\'s own functions reach it', async () => {
    const mine = await relayCall({ name: 'secret-box', instance: 'x' });
    expect(mine.status, mine.text).toBe(418);
    expect(mine.body.error).toMatchObject({ code: 'RESOURCE_NOT_FOUND', message: expect.stringContaining('secret-box') });
    const theirs = await relayCall({ name: 'secret-box', instance: 'x' }, { app: otherAppId });
    expect(theirs.body).toMatchObject({ status: 200, body: { n: 1, caller: 'fn:relay' } });
    // And the other app's function cannot reach this app's counter.
    expect((await relayCall({ name: 'counter', instance: 'room-1' }, { app: otherAppId })).body.error.code).toBe('RESOURCE_NOT_FOUND');
    expect((await relayCall({ name: 'no-such-class', instance: 'x' })).body.error.code).toBe('RESOURCE_NOT_FOUND');
  });

  it('a class in ERROR (its constructor throws) is STATE_PREREQUISITE_MISSING with its message', async () => {
    const code = 'export class Broken {\n  constructor(state, env) { throw new Error("no config for the broken room"); }\n  async fetch() { return new Response("x"); }\n}';
    expect((await deployClass(appId, { name: 'broken', code, access_mode: 'public' })).body.status).toBe('ERROR');
    const answer = await relayCall({ name: 'broken', instance: 'x' });
    expect(answer.status, answer.text).toBe(418);
    expect(answer.body.error).toMatchObject({ code: 'STATE_PREREQUISITE_MISSING', message: expect.stringContaining('no config for the broken room'), details: { name: 'broken', status: 'ERROR' } });
  });

  it('shares the depth limit with ctx.invoke: a call at depth 4 is allowed, at depth 5 refused', async () => {
    const allowed = await api(`/v1/${appId}/fn/deep`, { body: { at: 3 } });
    expect(allowed.status, allowed.text).toBe(200);
    expect(allowed.body).toMatchObject({ depth: 3, ok: { caller: 'fn:deep', depth: '4' } });
    const refused = await api(`/v1/${appId}/fn/deep`, { body: { at: 4 } });
    expect(refused.status, refused.text).toBe(200);
    expect(refused.body).toEqual({ depth: 4, error: { code: 'STATE_INVALID_TRANSITION', message: expect.stringContaining('ctx.invokeDO nested deeper than 4 calls') } });
  });

  it('a class that throws is INTERNAL_ERROR naming the class and its message', async () => {
    const answer = await relayCall({ name: 'counter', instance: 'thrower', opts: { path: '/throw' } });
    expect(answer.status, answer.text).toBe(418);
    expect(answer.body.error).toMatchObject({ code: 'INTERNAL_ERROR', message: expect.stringContaining('counter exploded') });
    expect(answer.body.error.message).toContain('"counter"');
  });

  it('refuses a body over 1 MiB, a bad instance key and a bad path with VALIDATION_INVALID_SCHEMA', async () => {
    const big = await relayCall({ name: 'counter', instance: 'big', bodyBytes: 1024 * 1024 + 10 });
    expect(big.status, big.text).toBe(418);
    expect(big.body.error).toMatchObject({ code: 'VALIDATION_INVALID_SCHEMA', details: { field: 'body', max_bytes: 1048576 } });
    expect((await relayCall({ name: 'counter', instance: '' })).body.error).toMatchObject({ code: 'VALIDATION_INVALID_SCHEMA', details: { field: 'instance' } });
    expect((await relayCall({ name: 'counter', instance: 'x'.repeat(257) })).body.error.code).toBe('VALIDATION_INVALID_SCHEMA');
    expect((await relayCall({ name: 'counter', instance: 'p', opts: { path: 'no-slash' } })).body.error).toMatchObject({ code: 'VALIDATION_INVALID_SCHEMA', details: { field: 'path' } });
    // Nothing reached the instance.
    expect((await relayCall({ name: 'counter', instance: 'big' })).body.body.n).toBe(1);
  });
});
