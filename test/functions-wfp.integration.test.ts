/**
 * Functions on Workers for Platforms (issue 9 item 2, production half), through the real platform:
 * deploys go through the functions Worker's real code path and upload to a local fake of the
 * Cloudflare API (test/fakes/cloudflare-api.ts, which validates the multipart shape); invocations go
 * through WfpRunner to a fake DISPATCHER that runs exactly the uploaded script in the Worker Loader
 * (test/fixtures/wfp-functions), so ctx reaches user code only through the uploaded service binding
 * and the signed session token, and egress through the functions-outbound Worker's code.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '../scripts/lib/platform.ts';
import { signSession } from '../workers/shared/function-session.ts';
import type { FakeCloudflareApi } from './fakes/cloudflare-api.ts';
import { startWfpPlatform, wfpSettings, type WfpPlatform } from './helpers/wfp-platform.ts';
import { api, createReadyApp } from './helpers/api.ts';
import { signedInUser, type EndUser } from './helpers/realtime.ts';

const settings = wfpSettings;

let wfp: WfpPlatform;
let stateDir: string;
let fake: FakeCloudflareApi;
let platform: Platform;
let masterKey: string;
let appId: string;
let alice: EndUser;

function call(path: string, options: Parameters<typeof api>[1] = {}) {
  return api(path, { baseUrl: platform.url, token: platform.serviceKey, ...options });
}

async function deploy(name: string, code: string, extra: Record<string, unknown> = {}) {
  return call(`/v1/${appId}/functions`, { body: { name, code, ...extra } });
}

const notesSchema = {
  tables: {
    notes: {
      columns: {
        id: { type: 'uuid', primaryKey: true, default: 'gen_random_uuid()' },
        user_id: { type: 'uuid' },
        body: { type: 'text', nullable: false },
      },
    },
  },
};

const notesFunction = `
export default async function handler(req: Request, ctx: any): Promise<Response> {
  console.log('dispatched', ctx.caller.type);
  const { rows } = await ctx.db.query('SELECT body FROM notes ORDER BY body');
  return Response.json({
    user: ctx.user, notes: rows.map((r: { body: string }) => r.body), app: ctx.app.id, greeting: ctx.env.GREETING ?? null,
    sawSession: req.headers.has('x-butterbase-session') || req.headers.has('x-butterbase-context'),
  });
}`;

/** User code that calls its host binding directly with a token it was given (the forging attempts). */
const sessionProbe = `
import { env } from 'cloudflare:workers';
export default async function handler(req: Request): Promise<Response> {
  const { token } = await req.json() as { token: string };
  const result = await (env as any).BUTTERBASE_HOST.query(token, 'SELECT count(*)::int AS n FROM notes', [], null);
  return Response.json(result);
}`;

beforeAll(async () => {
  wfp = await startWfpPlatform('wfp', 'functions');
  ({ platform, fake, stateDir } = wfp);
  masterKey = (await readFile(join(stateDir, 'master.key'), 'utf8')).trim();
  ({ appId } = await createReadyApp('wfp', { baseUrl: platform.url, token: platform.serviceKey }));
  expect((await call(`/v1/${appId}/schema/apply`, { body: { schema: notesSchema } })).status).toBe(200);
  expect((await call(`/v1/${appId}/rls`, { body: { table_name: 'notes', user_column: 'user_id' } })).status).toBe(200);
  alice = await signedInUser(appId, 'alice', { baseUrl: platform.url });
  const bob = await signedInUser(appId, 'bob', { baseUrl: platform.url });
  for (const [user, body] of [[alice, 'alice-1'], [bob, 'bob-1']] as const) {
    const inserted = await call(`/v1/${appId}/notes`, { token: user.token, body: { user_id: user.id, body } });
    expect(inserted.status, inserted.text).toBe(201);
  }
}, 240_000);

afterAll(async () => {
  await wfp?.stop();
});

describe('deploy uploads to the dispatch namespace', () => {
  it('uploads the version as a script named by its version id, with the dispatch entry, the user module and one host binding', async () => {
    const deployed = await deploy('notes', notesFunction, { envVars: { GREETING: 'hi' }, timeoutMs: 45_000 });
    expect(deployed.status, deployed.text).toBe(201);
    const versionId = deployed.body.versionId as string;
    expect(versionId).toMatch(/^[0-9a-f-]{36}$/);
    const script = fake.scripts.get(versionId);
    expect(script, 'script stored under the version id').toBeDefined();
    expect(fake.requests).toContainEqual({ method: 'PUT', path: `/accounts/${settings.accountId}/workers/dispatch/namespaces/${settings.namespace}/scripts/${versionId}`, status: 200 });
    expect(script!.metadata).toMatchObject({
      main_module: 'dispatch.js',
      compatibility_date: '2026-04-01',
      compatibility_flags: ['nodejs_compat'],
      bindings: [{ type: 'service', name: 'BUTTERBASE_HOST', service: 'butterbase-functions', entrypoint: 'FunctionSession' }],
      tags: [appId, `${appId}-notes`],
    });
    expect(Object.keys(script!.modules).sort()).toEqual(['dispatch.js', 'runtime.js', 'setup.js', 'user.js']);
    expect(new Set(Object.values(script!.contentTypes))).toEqual(new Set(['application/javascript+module']));
    // The user module is the stripped source (no types); no env value or secret is uploaded.
    expect(script!.modules['user.js']).toContain("ctx.db.query('SELECT body FROM notes ORDER BY body')");
    expect(script!.modules['user.js']).not.toContain('Promise<Response>');
    expect(JSON.stringify(script)).not.toContain('"hi"');
  });

  it('answers 502 EXTERNAL_NETWORK_ERROR with the API message when the upload fails, and records nothing', async () => {
    fake.failNext({ method: 'PUT', status: 400, code: 10021, message: 'Uncaught SyntaxError at dispatch.js' });
    const refused = await deploy('never-deployed', 'export default async function handler() { return new Response("x"); }');
    expect(refused.status, refused.text).toBe(502);
    expect(refused.body.error.code).toBe('EXTERNAL_NETWORK_ERROR');
    expect(refused.body.error.message).toContain('Uncaught SyntaxError at dispatch.js (code 10021)');
    expect((await call(`/v1/${appId}/functions/never-deployed`)).status).toBe(404);

    // A failing redeploy keeps the current version serving.
    const before = await call(`/v1/${appId}/functions/notes`);
    fake.failNext({ method: 'PUT', status: 503, code: 10013, message: 'Service unavailable' });
    const failed = await deploy('notes', 'export default async function handler() { return new Response("v2"); }');
    expect(failed.status).toBe(502);
    expect(failed.body.error.message).toContain('Service unavailable');
    const after = await call(`/v1/${appId}/functions/notes`);
    expect(after.body.code).toBe(before.body.code);
    const served = await call(`/v1/${appId}/fn/notes`, { token: alice.token });
    expect(served.status, served.text).toBe(200);
    expect(served.body.notes).toEqual(['alice-1']);
  });
});

describe('invocation through the dispatch namespace', () => {
  it('runs the uploaded script with the limits and outbound parameters, ctx.db under the caller\'s RLS, and console lines logged', async () => {
    const current = await call(`/v1/${appId}/functions/notes`);
    const invoked = await call(`/v1/${appId}/fn/notes`, { token: alice.token });
    expect(invoked.status, invoked.text).toBe(200);
    expect(invoked.body).toEqual({ user: { id: alice.id }, notes: ['alice-1'], app: appId, greeting: 'hi', sawSession: false });
    const dispatch = JSON.parse(invoked.headers.get('x-fake-dispatch')!);
    expect(dispatch.options).toEqual({ limits: { cpuMs: 30_000, subRequests: 200 }, outbound: { appId, functionName: 'notes' } });
    expect(fake.scripts.has(dispatch.name)).toBe(true);
    expect(invoked.headers.get('x-butterbase-console')).toBeNull();

    // The service key sees every row (role service), through the same script.
    const service = await call(`/v1/${appId}/fn/notes`);
    expect(service.body.notes).toEqual(['alice-1', 'bob-1']);

    let logs: { consoleLogs: { message: string }[] }[] = [];
    for (let i = 0; i < 20 && logs.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 250));
      logs = (await call(`/v1/${appId}/functions/notes/logs?limit=5`)).body.logs;
    }
    // Both invocations are logged after their answers (waitUntil), so either may be recorded first.
    const lines = logs.flatMap((l) => l.consoleLogs.map((c) => c.message));
    expect(lines).toEqual(expect.arrayContaining(['dispatched service_key', 'dispatched end_user_jwt']));
    expect(current.status).toBe(200);
  });

  it('serves a redeploy from the next call (a new script), and a handler that throws as a logged 500', async () => {
    const redeployed = await deploy('notes', 'export default async function handler() { return Response.json({ v: 2 }); }');
    expect(redeployed.status, redeployed.text).toBe(201);
    expect(fake.scripts.has(redeployed.body.versionId)).toBe(true);
    const next = await call(`/v1/${appId}/fn/notes`);
    expect(next.body).toEqual({ v: 2 });
    expect(JSON.parse(next.headers.get('x-fake-dispatch')!).name).toBe(redeployed.body.versionId);

    expect((await deploy('thrower', 'export default async function handler() { console.warn("about to fail"); throw new Error("boom in dispatch"); }')).status).toBe(201);
    const thrown = await call(`/v1/${appId}/fn/thrower`);
    expect(thrown.status).toBe(500);
    expect(thrown.body.error.message).toContain('boom in dispatch');
    let log: { error: string; stack: string; consoleLogs: { message: string }[] } | undefined;
    for (let i = 0; i < 20 && !log; i++) {
      await new Promise((r) => setTimeout(r, 250));
      log = (await call(`/v1/${appId}/functions/thrower/logs`)).body.logs[0];
    }
    expect(log!.error).toBe('boom in dispatch');
    expect(log!.stack).toContain('boom in dispatch');
    expect(log!.consoleLogs.map((l) => l.message)).toContain('about to fail');
  });

  it('ctx.idempotency.claim and ctx.invoke work through the session binding, the user propagating', async () => {
    const callee = 'export default async function handler(req: Request, ctx: any) { return Response.json({ caller: ctx.caller.type, user: ctx.user, depth: ctx.request.loopDepth, body: await req.json() }); }';
    expect((await deploy('callee', callee)).status).toBe(201);
    const key = `k-${Date.now()}`;
    const chain = `export default async function handler(req: Request, ctx: any) {
      const first = await ctx.idempotency.claim('${key}');
      const second = await ctx.idempotency.claim('${key}');
      const answer = await ctx.invoke('callee', { x: 1 });
      return Response.json({ first, second, callee: await answer.json() });
    }`;
    expect((await deploy('chain', chain)).status).toBe(201);
    const answer = await call(`/v1/${appId}/fn/chain`, { token: alice.token });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body).toEqual({ first: true, second: false, callee: { caller: 'loopback', user: { id: alice.id }, depth: 1, body: { x: 1 } } });
  });

  it('sends user code\'s fetches through the outbound Worker\'s egress policy', async () => {
    const code = `export default async function handler() {
      const r = await fetch('http://169.254.169.254/latest/meta-data');
      return Response.json({ status: r.status, body: await r.json() });
    }`;
    expect((await deploy('egress', code)).status).toBe(201);
    const answer = await call(`/v1/${appId}/fn/egress`);
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.status).toBe(403);
    expect(answer.body.body.error).toContain('egress refused');
  });
});

describe('session tokens', () => {
  beforeAll(async () => {
    const deployed = await deploy('probe', sessionProbe, { triggers: [{ type: 'http', config: { auth: 'none' } }] });
    expect(deployed.status, deployed.text).toBe(201);
  });

  const probe = async (token: string) => (await call(`/v1/${appId}/fn/probe`, { body: { token } })).body;
  const props = () => ({ appId, functionName: 'probe', role: 'service' as const, userId: null, depth: 0, requestId: 'req-test' });

  it('accepts a token the platform signed (the positive control)', async () => {
    expect(await probe(await signSession(props(), 60_000, masterKey))).toEqual({ ok: true, value: expect.objectContaining({ rows: [{ n: 2 }] }) });
  });

  it.each([
    ['a forged token', async () => 'eyJhcHBJZCI6ImFwcCJ9.Zm9yZ2Vk', 'bad signature'],
    ['garbage', async () => 'not-a-token', 'malformed'],
    ['an expired token', async () => signSession(props(), 1_000, masterKey, Date.now() - 60_000), 'expired'],
    ['a token signed with another key', async () => signSession(props(), 60_000, Buffer.alloc(32, 7).toString('base64')), 'bad signature'],
    ['a token whose claims were changed after signing', async () => {
      const [body, mac] = (await signSession(props(), 60_000, masterKey)).split('.');
      const claims = JSON.parse(Buffer.from(body!, 'base64url').toString('utf8'));
      return `${Buffer.from(JSON.stringify({ ...claims, appId: 'app_other0000000' })).toString('base64url')}.${mac}`;
    }, 'bad signature'],
  ])('refuses %s with AUTH_INVALID_TOKEN', async (_name, token, reason) => {
    const answer = await probe(await token());
    expect(answer.ok).toBe(false);
    expect(answer.error.code).toBe('AUTH_INVALID_TOKEN');
    expect(answer.error.message).toContain(reason);
  });
});

describe('delete', () => {
  it('deletes the scripts of every version of a deleted function (best effort, after the answer)', async () => {
    const first = await deploy('short-lived', 'export default async function handler() { return new Response("1"); }');
    const second = await deploy('short-lived', 'export default async function handler() { return new Response("2"); }');
    const ids = [first.body.versionId, second.body.versionId] as string[];
    for (const id of ids) expect(fake.scripts.has(id)).toBe(true);
    expect((await call(`/v1/${appId}/functions/short-lived`, { method: 'DELETE' })).status).toBe(200);
    for (let i = 0; i < 40 && ids.some((id) => fake.scripts.has(id)); i++) await new Promise((r) => setTimeout(r, 100));
    for (const id of ids) expect(fake.scripts.has(id), id).toBe(false);
    expect(fake.requests.filter((r) => r.method === 'DELETE' && ids.some((id) => r.path.endsWith(id)))).toHaveLength(2);
  });
});
