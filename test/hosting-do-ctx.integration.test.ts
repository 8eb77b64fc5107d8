/**
 * `butterbase.ctx(req, env, state)` inside a user Durable Object class (API.md §10.1) through the real
 * platform: the class, reached at `/_do/{name}/{instance}` or by a function's ctx.invokeDO, calls a
 * function of its app (ctx.invoke) and another class (ctx.invokeDO) through the functions Worker's
 * FunctionSession with the session token the hosting edge minted for that request; it reads the
 * caller, the verified end user, the call depth and its env without the capability binding. Forged
 * or foreign session tokens are refused; depth > 4 is refused; client copies of the headers are not
 * believed.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { api, createReadyApp } from './helpers/api.ts';
import { raiseRateLimit } from './helpers/control-db.ts';
import { siteRequest, subdomainOf } from './helpers/hosting.ts';
import { signedInUser, type EndUser } from './helpers/realtime.ts';

let appId: string;
let subdomain: string;
let alice: EndUser;

/**
 * A class whose paths exercise ctx: /whoami (ctx as seen), /fn (ctx.invoke "echo"), /do (ctx.invokeDO
 * "tally"), /loop (invokeDO on itself until refused), /forged (the capability with a made-up token).
 */
const relayRoom = `export class RelayRoom {
  constructor(state, env) { this.state = state; this.env = env; }
  async fetch(req) {
    const ctx = butterbase.ctx(req, this.env, this.state);
    const path = new URL(req.url).pathname;
    const fail = (error) => Response.json({ error: { code: error.code ?? null, message: error.message } }, { status: 418 });
    try {
      if (path.endsWith('/whoami')) {
        return Response.json({ user: ctx.user, request: ctx.request, envKeys: Object.keys(ctx.env).sort(), rawEnvHasCtx: 'BUTTERBASE_CTX' in this.env, greeting: ctx.env.GREETING });
      }
      if (path.endsWith('/fn')) {
        const res = await ctx.invoke('echo', { from: 'room' });
        return Response.json({ status: res.status, body: await res.json() });
      }
      if (path.endsWith('/do')) {
        const res = await ctx.invokeDO('tally', 'shared', { by: 2 }, { path: '/add' });
        return Response.json({ status: res.status, body: await res.json() });
      }
      if (path.endsWith('/loop')) {
        const res = await ctx.invokeDO('relay-room', 'loop-' + (ctx.request.loopDepth + 1), null, { path: '/loop', method: 'GET' });
        const inner = await res.json();
        return Response.json({ depth: ctx.request.loopDepth, inner });
      }
      if (path.endsWith('/forged')) {
        const result = await this.env.BUTTERBASE_CTX.invoke('forged.token', 'echo', null, {});
        return Response.json(result.ok ? { ok: true } : { ok: false, code: result.error.code });
      }
      return new Response('no route', { status: 404 });
    } catch (error) {
      return fail(error);
    }
  }
}`;

/** A counter that reports who called it. */
const tally = `export class Tally {
  constructor(state) { this.state = state; }
  async fetch(req) {
    const { by } = await req.json();
    const n = ((await this.state.storage.get('n')) ?? 0) + by;
    await this.state.storage.put('n', n);
    return Response.json({ n, caller: req.headers.get('x-butterbase-caller'), user: req.headers.get('x-butterbase-user-id'), depth: req.headers.get('x-butterbase-loop-depth') });
  }
}`;

/** Answers what it was told about its caller. */
const echo = `export default async function handler(req, ctx) {
  return Response.json({ body: await req.json(), user: ctx.user, caller: ctx.caller.type, depth: ctx.request.loopDepth });
}`;

/** A function reaching the relay room through ctx.invokeDO (so the room's caller is this function). */
const viaFunction = `export default async function handler(req, ctx) {
  const res = await ctx.invokeDO('relay-room', 'from-fn', null, { path: '/whoami', method: 'GET' });
  return Response.json(await res.json());
}`;

const room = (path: string, headers: Record<string, string> = {}) => siteRequest(subdomain, `/_do/relay-room/${path}`, { headers });

beforeAll(async () => {
  ({ appId } = await createReadyApp('doctx'));
  await raiseRateLimit(appId, 100_000);
  subdomain = await subdomainOf(appId);
  expect((await api(`/v1/${appId}/durable-objects/env/GREETING`, { method: 'PUT', body: { value: 'hello' } })).status).toBe(200);
  // The platform's names stay the platform's: BUTTERBASE_CTX is the capability binding.
  const reserved = await api(`/v1/${appId}/durable-objects/env/BUTTERBASE_CTX`, { method: 'PUT', body: { value: 'mine' } });
  expect(reserved.status, reserved.text).toBe(400);
  expect(reserved.body.error.code).toBe('VALIDATION_INVALID_NAME');
  for (const [name, code] of [['relay-room', relayRoom], ['tally', tally]]) {
    const deployed = await api(`/v1/${appId}/durable-objects`, { body: { name, code, access_mode: name === 'tally' ? 'service_key' : 'public' } });
    expect(deployed.body.status, deployed.text).toBe('READY');
  }
  for (const [name, code] of [['echo', echo], ['via-function', viaFunction]]) {
    const deployed = await api(`/v1/${appId}/functions`, { body: { name, code, triggers: [{ type: 'http', config: { auth: 'optional' } }] } });
    expect(deployed.status, deployed.text).toBe(201);
  }
  alice = await signedInUser(appId, 'doctx-alice');
}, 180_000);

describe('butterbase.ctx inside a Durable Object class', () => {
  it('reports the public edge\'s caller (none), the verified user, depth 0 and the env without the capability', async () => {
    const anonymous = await room('lobby/whoami');
    expect(anonymous.status, anonymous.text).toBe(200);
    expect(JSON.parse(anonymous.text)).toEqual({
      user: null, request: { caller: null, loopDepth: 0 }, envKeys: ['BUTTERBASE_APP_ID', 'GREETING'], rawEnvHasCtx: true, greeting: 'hello',
    });
    const signedIn = JSON.parse((await room('lobby/whoami', { authorization: `Bearer ${alice.token}` })).text);
    expect(signedIn.user).toEqual({ id: alice.id });
    // Client copies of the platform's headers are not believed.
    const forged = JSON.parse((await room('lobby/whoami', { 'x-butterbase-caller': 'fn:admin', 'x-butterbase-user-id': alice.id, 'x-butterbase-loop-depth': '3', 'x-butterbase-session': 'forged' })).text);
    expect(forged).toMatchObject({ user: null, request: { caller: null, loopDepth: 0 } });
  });

  it('ctx.invoke runs a function of the app as a loopback call with the request\'s end user', async () => {
    const asAlice = await room('lobby/fn', { authorization: `Bearer ${alice.token}` });
    expect(asAlice.status, asAlice.text).toBe(200);
    expect(JSON.parse(asAlice.text)).toEqual({ status: 200, body: { body: { from: 'room' }, user: { id: alice.id }, caller: 'loopback', depth: 1 } });
    const anonymous = JSON.parse((await room('lobby/fn')).text);
    expect(anonymous.body).toMatchObject({ user: null, caller: 'loopback', depth: 1 });
  });

  it('ctx.invokeDO reaches another class (whatever its edge access mode) as do:{name}:{instance}', async () => {
    const first = JSON.parse((await room('lobby/do', { authorization: `Bearer ${alice.token}` })).text);
    expect(first).toEqual({ status: 200, body: { n: 2, caller: 'do:relay-room:lobby', user: alice.id, depth: '1' } });
    const second = JSON.parse((await room('hall/do')).text);
    expect(second.body).toEqual({ n: 4, caller: 'do:relay-room:hall', user: null, depth: '1' });
  });

  it('sees fn:{name} and the depth when a function called it', async () => {
    const answer = await api(`/v1/${appId}/fn/via-function`, { token: alice.token, body: {} });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body).toMatchObject({ user: { id: alice.id }, request: { caller: 'fn:via-function', loopDepth: 1 } });
  });

  it('refuses a chain deeper than 4 calls (shared with functions) and a forged session token', async () => {
    const loop = await room('loop-0/loop');
    expect(loop.status, loop.text).toBe(200);
    // depth 0 → 1 → 2 → 3 → 4; the fifth call is refused inside the class at depth 4.
    let level = JSON.parse(loop.text);
    const depths: number[] = [];
    while (level.inner) {
      depths.push(level.depth);
      level = level.inner;
    }
    expect(depths).toEqual([0, 1, 2, 3]);
    expect(level.error).toMatchObject({ code: 'STATE_INVALID_TRANSITION' });
    const forged = JSON.parse((await room('lobby/forged')).text);
    expect(forged).toEqual({ ok: false, code: 'AUTH_INVALID_TOKEN' });
  });
});
