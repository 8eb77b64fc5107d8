/**
 * Functions (API.md §8) through the router on the real platform: deploy TypeScript, invoke it as end
 * users under RLS, anonymous and service callers, impersonation, build errors, timeouts, throws,
 * redeploys, logs, env, the user-SQL guard and the egress policy — each through real Workers
 * (Worker Loader isolates, DbGateway, the embedded database).
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { api, createReadyApp } from './helpers/api.ts';
import { controlDb } from './helpers/control-db.ts';
import { signedInUser, type EndUser } from './helpers/realtime.ts';

let appId: string;
/** A service key scoped to this app: the only kind that may send X-Butterbase-As-User (API.md §8.2). */
let appKey: string;
let alice: EndUser;
let bob: EndUser;

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

/** Deploys `code` as `name` (extra body fields merged in); expects 201. */
async function deploy(name: string, code: string, extra: Record<string, unknown> = {}) {
  const response = await api(`/v1/${appId}/functions`, { body: { name, code, ...extra } });
  expect(response.status, response.text).toBe(201);
  return response.body;
}

const notesFunction = `
interface Note { body: string }
export default async function handler(req: Request, ctx: any): Promise<Response> {
  console.log('caller', ctx.caller.type, ctx.user?.id ?? 'none');
  const run = (db: any) => db.query('SELECT body FROM notes ORDER BY body');
  const { rows } = ctx.user ? await run(ctx.db) : await ctx.db.asAnon(run);
  return Response.json({ user: ctx.user, notes: (rows as Note[]).map((r) => r.body), app: ctx.app.id });
}`;

beforeAll(async () => {
  ({ appId } = await createReadyApp('fn'));
  const key = await api('/api-keys', { body: { name: 'fn-app-key', key_scope: 'app', target_app_id: appId } });
  expect(key.status, key.text).toBe(201);
  appKey = key.body.key;
  // This file makes a few hundred calls to one app; the per-app budget (100/min) is not what it tests.
  await controlDb().query('UPDATE apps SET rate_limit_per_minute = 100000 WHERE id = $1', [appId]);
  const applied = await api(`/v1/${appId}/schema/apply`, { body: { schema: notesSchema } });
  expect(applied.status, applied.text).toBe(200);
  const rls = await api(`/v1/${appId}/rls`, { body: { table_name: 'notes', user_column: 'user_id' } });
  expect(rls.status, rls.text).toBe(200);
  [alice, bob] = await Promise.all([signedInUser(appId, 'alice'), signedInUser(appId, 'bob')]);
  for (const [user, body] of [[alice, 'alice-1'], [alice, 'alice-2'], [bob, 'bob-1']] as const) {
    const inserted = await api(`/v1/${appId}/notes`, { token: user.token, body: { user_id: user.id, body } });
    expect(inserted.status, inserted.text).toBe(201);
  }
}, 120_000);

describe('deploy and invoke', () => {
  it('two end users each see only their rows through ctx.db.query under RLS', async () => {
    const deployed = await deploy('notes', notesFunction);
    expect(deployed.url).toMatch(new RegExp(`/v1/${appId}/fn/notes$`));
    const [a, b] = await Promise.all([
      api(`/v1/${appId}/fn/notes`, { token: alice.token, method: 'POST', body: {} }),
      api(`/v1/${appId}/fn/notes`, { token: bob.token, method: 'POST', body: {} }),
    ]);
    expect(a.status, a.text).toBe(200);
    expect(a.body).toEqual({ user: { id: alice.id }, notes: ['alice-1', 'alice-2'], app: appId });
    expect(b.body).toEqual({ user: { id: bob.id }, notes: ['bob-1'], app: appId });
  });

  it('anonymous callers get 401 AUTH_REQUIRED with auth: required (the default)', async () => {
    const response = await api(`/v1/${appId}/fn/notes`, { token: null, method: 'POST', body: {} });
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('AUTH_REQUIRED');
  });

  it('a bearer that does not verify is an anonymous caller on /fn (401 on auth: required), but 401 on management routes', async () => {
    const required = await api(`/v1/${appId}/fn/notes`, { token: 'not-a-valid-token', method: 'POST', body: {} });
    expect(required.status).toBe(401);
    expect(required.body.error.code).toBe('AUTH_REQUIRED');
    const manage = await api(`/v1/${appId}/functions`, { token: 'bb_sk_0000000000000000000000000000000000000000' });
    expect(manage.status).toBe(401);
    expect(manage.body.error.code).toBe('AUTH_INVALID_API_KEY');
  });

  it('with auth: none an anonymous caller runs with ctx.user null (and asAnon gives the anon view)', async () => {
    await deploy('notes-public', notesFunction, { triggers: [{ type: 'http', config: { auth: 'none' } }] });
    const response = await api(`/v1/${appId}/fn/notes-public`, { token: null });
    expect(response.status, response.text).toBe(200);
    expect(response.body).toEqual({ user: null, notes: [], app: appId });
    const expired = await api(`/v1/${appId}/fn/notes-public`, { token: 'eyJhbGciOiJub25lIn0.e30.' });
    expect(expired.status, expired.text).toBe(200);
  });

  it('the app\'s key with X-Butterbase-As-User sees that user\'s view, even on auth: required', async () => {
    const response = await api(`/v1/${appId}/fn/notes`, { method: 'POST', body: {}, token: appKey, headers: { 'x-butterbase-as-user': bob.id } });
    expect(response.status, response.text).toBe(200);
    expect(response.body.notes).toEqual(['bob-1']);
  });

  it('an account-wide key may call the function but not impersonate (403 AUTH_IMPERSONATION_FORBIDDEN)', async () => {
    const plain = await api(`/v1/${appId}/fn/notes`, { method: 'POST', body: {} });
    expect(plain.status, plain.text).toBe(200);
    const refused = await api(`/v1/${appId}/fn/notes`, { method: 'POST', body: {}, headers: { 'x-butterbase-as-user': bob.id } });
    expect(refused.status, refused.text).toBe(403);
    expect(refused.body.error.code).toBe('AUTH_IMPERSONATION_FORBIDDEN');
    const testInvoke = await api(`/v1/${appId}/functions/notes/invoke`, { body: {}, headers: { 'x-butterbase-as-user': bob.id } });
    expect(testInvoke.status, testInvoke.text).toBe(403);
    expect(testInvoke.body.error.code).toBe('AUTH_IMPERSONATION_FORBIDDEN');
  });

  it('an end user may not impersonate (403), and a function that opts out refuses the owner (403)', async () => {
    const byUser = await api(`/v1/${appId}/fn/notes`, { token: alice.token, headers: { 'x-butterbase-as-user': bob.id } });
    expect(byUser.status).toBe(403);
    expect(byUser.body.error.code).toBe('AUTH_IMPERSONATION_FORBIDDEN');
    await deploy('no-impersonation', notesFunction, { allow_service_key_impersonation: false });
    const optedOut = await api(`/v1/${appId}/fn/no-impersonation`, { token: appKey, headers: { 'x-butterbase-as-user': bob.id } });
    expect(optedOut.status).toBe(403);
    expect(optedOut.body.error.code).toBe('AUTH_IMPERSONATION_DISABLED');
    const enabled = await api(`/v1/${appId}/functions/no-impersonation/settings`, { method: 'PATCH', body: { allow_service_key_impersonation: true } });
    expect(enabled.status, enabled.text).toBe(200);
    const after = await api(`/v1/${appId}/fn/no-impersonation`, { token: appKey, headers: { 'x-butterbase-as-user': bob.id } });
    expect(after.status, after.text).toBe(200);
  });

  it('a redeploy changes the answer on the very next call', async () => {
    await deploy('version', 'export async function handler() { return new Response("one") }', { triggers: [{ type: 'http', config: { auth: 'none' } }] });
    expect((await api(`/v1/${appId}/fn/version`, { token: null })).text).toBe('one');
    await deploy('version', 'export async function handler() { return new Response("two") }', { triggers: [{ type: 'http', config: { auth: 'none' } }] });
    expect((await api(`/v1/${appId}/fn/version`, { token: null })).text).toBe('two');
  });

  it('passes status, headers, query and body through', async () => {
    await deploy('echo', `export default async function handler(req) {
      const url = new URL(req.url);
      return new Response(JSON.stringify({ q: url.searchParams.get('q'), path: url.pathname, body: await req.text(), method: req.method }), { status: 202, headers: { 'x-custom': 'yes', 'content-type': 'application/json' } });
    }`, { triggers: [{ type: 'http', config: { auth: 'optional' } }] });
    const response = await api(`/v1/${appId}/fn/echo/sub?q=1`, { token: null, method: 'PUT', body: 'raw text', headers: { 'content-type': 'text/plain' } });
    expect(response.status).toBe(202);
    expect(response.headers.get('x-custom')).toBe('yes');
    expect(response.body).toEqual({ q: '1', path: `/v1/${appId}/fn/echo/sub`, body: 'raw text', method: 'PUT' });
  });

  it('ctx.idempotency.claim is true once, ctx.invoke calls another function as loopback, deeper than 4 is refused', async () => {
    const none = [{ type: 'http', config: { auth: 'none' } }];
    await deploy('claimer', `export default async function handler(req, ctx) {
      const key = new URL(req.url).searchParams.get('k');
      return Response.json([await ctx.idempotency.claim(key), await ctx.idempotency.claim(key), await ctx.idempotency.claim(key, { scope: 'other' })]);
    }`, { triggers: none });
    const key = crypto.randomUUID();
    expect((await api(`/v1/${appId}/fn/claimer?k=${key}`, { token: null })).body).toEqual([true, false, true]);
    expect((await api(`/v1/${appId}/fn/claimer?k=${key}`, { token: null })).body).toEqual([false, false, false]);
    await deploy('callee', 'export default async function handler(req, ctx) { return Response.json({ got: await req.json(), caller: ctx.caller.type, user: ctx.user }) }');
    await deploy('caller', `export default async function handler(req, ctx) {
      const response = await ctx.invoke('callee', { hello: 'there' });
      return Response.json({ status: response.status, inner: await response.json() });
    }`);
    const chained = await api(`/v1/${appId}/fn/caller`, { token: alice.token, body: {} });
    expect(chained.status, chained.text).toBe(200);
    expect(chained.body).toEqual({ status: 200, inner: { got: { hello: 'there' }, caller: 'loopback', user: { id: alice.id } } });
    await deploy('recurse', `export default async function handler(req, ctx) {
      const depth = ctx.request.loopDepth;
      try { const r = await ctx.invoke('recurse', {}); return Response.json({ depth, next: await r.json() }); }
      catch (error) { return Response.json({ depth, refused: error.code }); }
    }`, { triggers: none });
    const deep = await api(`/v1/${appId}/fn/recurse`, { token: null });
    let node = deep.body;
    const depths: number[] = [];
    while (node.next) { depths.push(node.depth); node = node.next; }
    expect([...depths, node.depth]).toEqual([0, 1, 2, 3, 4]);
    expect(node.refused).toBe('STATE_INVALID_TRANSITION');
  });

  it('ctx.waitUntil work continues after the response', async () => {
    await deploy('later', `export default async function handler(req, ctx) {
      const key = new URL(req.url).searchParams.get('k');
      ctx.waitUntil(new Promise((r) => setTimeout(r, 300)).then(() => ctx.idempotency.claim(key)));
      return new Response('sent');
    }`, { triggers: [{ type: 'http', config: { auth: 'none' } }] });
    const key = crypto.randomUUID();
    expect((await api(`/v1/${appId}/fn/later?k=${key}`, { token: null })).text).toBe('sent');
    await new Promise((r) => setTimeout(r, 1500));
    expect((await api(`/v1/${appId}/fn/claimer?k=${key}`, { token: null })).body[0]).toBe(false);
  });

  it('50 concurrent invocations all answer', async () => {
    const responses = await Promise.all(Array.from({ length: 50 }, () => api(`/v1/${appId}/fn/version`, { token: null })));
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
  }, 60_000);

  it('1,500 POSTs with bodies to a function that never reads them all answer 200', async () => {
    await deploy('ignores-body', 'export default async function handler() { return new Response("ok") }', { triggers: [{ type: 'http', config: { auth: 'none' } }] });
    // Raw fetch: an unread body used to close the keep-alive connection under wrangler dev, and the dev
    // proxy lost the next request on it (503 "Your worker restarted mid-request"; 11 of 1,500 here). The
    // router now reads small bodies itself (in-process.integration 'request bodies' pins that exactly);
    // what is left is the proxy's own keep-alive race on a loaded machine (3 of 1,500 once in CI), which
    // no Worker can prevent: such an answer is sent again, and must stay rare.
    const { lostByDevProxy } = await import('../scripts/lib/dev-proxy.ts');
    const statuses = new Map<number, number>();
    const others: string[] = [];
    let sent = 0;
    let lost = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (sent++ < 1500) {
        for (let attempt = 1; ; attempt += 1) {
          const res = await fetch(`${inject('platformUrl')}/v1/${appId}/fn/ignores-body`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"ignored":true}' });
          const text = await res.text();
          if (attempt < 3 && lostByDevProxy(res.status, text)) { lost += 1; continue; }
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status !== 200 && others.length < 5) others.push(`${res.status} ${text.slice(0, 200)}`);
          break;
        }
      }
    }));
    expect(Object.fromEntries(statuses), others.join('\n')).toEqual({ 200: 1500 });
    expect(lost, 'requests the dev proxy lost (sent again)').toBeLessThanOrEqual(15);
  }, 120_000);

  it('an unknown function is 404 RESOURCE_NOT_FOUND', async () => {
    const response = await api(`/v1/${appId}/fn/nope`, { token: null });
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('RESOURCE_NOT_FOUND');
  });
});

describe('deploy errors', () => {
  const cases: { name: string; code: string; message: RegExp; details?: Record<string, unknown> }[] = [
    { name: 'syntax error', code: 'export async function handler(req) {\n  return new Response(\n}\n', message: /does not compile/, details: { line: 3 } },
    { name: 'missing handler', code: 'export const x = 1;', message: /exports no handler/ },
    { name: 'unsupported import', code: 'import Stripe from "stripe";\nexport async function handler() { return new Response(String(Stripe)) }', message: /Unsupported import "stripe"/ },
    { name: 'relative import', code: 'import { a } from "./a.ts";\nexport async function handler() { return new Response(a) }', message: /Unsupported import "\.\/a\.ts"/ },
  ];
  for (const c of cases) {
    it(`${c.name} → 400 FUNCTION_BUILD_FAILED`, async () => {
      const response = await api(`/v1/${appId}/functions`, { body: { name: 'broken', code: c.code } });
      expect(response.status, response.text).toBe(400);
      expect(response.body.error.code).toBe('FUNCTION_BUILD_FAILED');
      expect(response.body.error.message).toMatch(c.message);
      if (c.details) expect(response.body.error.details).toMatchObject(c.details);
    });
  }

  it('a bad body is 400 VALIDATION_*, an end user 403, anonymous 401', async () => {
    const bad = await api(`/v1/${appId}/functions`, { body: { name: 'has space', code: 'x' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toMatch(/^VALIDATION_/);
    const user = await api(`/v1/${appId}/functions`, { token: alice.token });
    expect(user.status).toBe(403);
    const anonymous = await api(`/v1/${appId}/functions`, { token: null });
    expect(anonymous.status).toBe(401);
  });
});

describe('failures at run time', () => {
  it('a function past timeoutMs is 504 FUNCTION_TIMEOUT and logged', async () => {
    await deploy('slow', 'export async function handler() { await new Promise((r) => setTimeout(r, 5000)); return new Response("late") }', {
      timeoutMs: 300, triggers: [{ type: 'http', config: { auth: 'none' } }],
    });
    const started = Date.now();
    const response = await api(`/v1/${appId}/fn/slow`, { token: null });
    expect(response.status).toBe(504);
    expect(response.body.error.code).toBe('FUNCTION_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('a handler that throws answers 500, is logged with its stack and console lines, and the platform stays up', async () => {
    await deploy('thrower', 'export async function handler() { console.log("about to fail"); throw new Error("kaboom") }', { triggers: [{ type: 'http', config: { auth: 'none' } }] });
    const response = await api(`/v1/${appId}/fn/thrower`, { token: null });
    expect(response.status).toBe(500);
    expect(response.body.error.message).toContain('kaboom');
    expect((await api(`/v1/${appId}/fn/version`, { token: null })).status).toBe(200);
    let logs: any;
    for (let i = 0; i < 20; i++) {
      logs = await api(`/v1/${appId}/functions/thrower/logs?level=error`);
      if (logs.body.logs?.length) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(logs.status, logs.text).toBe(200);
    const [entry] = logs.body.logs;
    expect(entry.statusCode).toBe(500);
    expect(entry.error).toBe('kaboom');
    expect(entry.stack).toContain('kaboom');
    expect(entry.consoleLogs.map((l: { message: string }) => l.message)).toContain('about to fail');
  });
});

describe('management', () => {
  it('lists, gets (env keys, never values), merges env with null deletes, refuses BUTTERBASE_*, and reads env in ctx.env and Deno.env', async () => {
    await deploy('envy', `export default async function handler(req, ctx) {
      return Response.json({ a: ctx.env.A ?? null, b: Deno.env.get('B') ?? null, id: Deno.env.get('BUTTERBASE_APP_ID'), api: ctx.env.BUTTERBASE_API_URL });
    }`, { envVars: { A: 'alpha', B: 'beta' }, triggers: [{ type: 'http', config: { auth: 'none' } }] });
    const first = await api(`/v1/${appId}/fn/envy`, { token: null });
    expect(first.body).toMatchObject({ a: 'alpha', b: 'beta', id: appId });
    const reserved = await api(`/v1/${appId}/functions/envy/env`, { method: 'PATCH', body: { envVars: { BUTTERBASE_X: '1' } } });
    expect(reserved.status).toBe(400);
    const merged = await api(`/v1/${appId}/functions/envy/env`, { method: 'PATCH', body: { envVars: { A: null, C: 'gamma' } } });
    expect(merged.status, merged.text).toBe(200);
    const second = await api(`/v1/${appId}/fn/envy`, { token: null });
    expect(second.body).toMatchObject({ a: null, b: 'beta' });
    const got = await api(`/v1/${appId}/functions/envy`);
    expect(got.body.envKeys).toEqual(['B', 'C']);
    expect(got.text).not.toContain('beta');
    expect(got.body.code).toContain('Deno.env.get');
    const list = await api(`/v1/${appId}/functions`);
    expect(list.body.functions.map((f: { name: string }) => f.name)).toContain('envy');
  });

  it('delete is soft: the function is gone, its logs stay readable with include_deleted', async () => {
    await deploy('short-lived', 'export async function handler() { console.info("hi"); return new Response("ok") }', { triggers: [{ type: 'http', config: { auth: 'none' } }] });
    expect((await api(`/v1/${appId}/fn/short-lived`, { token: null })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 500));
    expect((await api(`/v1/${appId}/functions/short-lived`, { method: 'DELETE' })).body).toEqual({ success: true });
    expect((await api(`/v1/${appId}/fn/short-lived`, { token: null })).status).toBe(404);
    expect((await api(`/v1/${appId}/functions/short-lived/logs`)).status).toBe(404);
    const logs = await api(`/v1/${appId}/functions/short-lived/logs?include_deleted=true`);
    expect(logs.status, logs.text).toBe(200);
    expect(logs.body.logs[0].consoleLogs[0]).toMatchObject({ level: 'info', message: 'hi' });
  });

  it('logs/stream sends each new invocation as a Server-Sent Event', async () => {
    const controller = new AbortController();
    const response = await fetch(`${inject('platformUrl')}/v1/${appId}/functions/version/logs/stream`, {
      headers: { authorization: `Bearer ${inject('serviceKey')}` }, signal: controller.signal,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body!.getReader();
    let text = '';
    await reader.read();
    expect((await api(`/v1/${appId}/fn/version?streamed=1`, { token: null })).status).toBe(200);
    const deadline = Date.now() + 15_000;
    while (!text.includes('event: log') && Date.now() < deadline) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    const data = JSON.parse(/event: log\ndata: (.*)\n/.exec(text)![1]!);
    expect(data).toMatchObject({ path: `/v1/${appId}/fn/version?streamed=1`, statusCode: 200 });
  });

  it('owner test-invoke runs the function and returns its response', async () => {
    const response = await api(`/v1/${appId}/functions/notes/invoke`, { body: {}, token: appKey, headers: { 'x-butterbase-as-user': alice.id } });
    expect(response.status, response.text).toBe(200);
    expect(response.body.notes).toEqual(['alice-1', 'alice-2']);
  });
});

describe('user SQL cannot escape its role', () => {
  const attempts = [
    'RESET ROLE',
    'SET ROLE butterbase_service',
    "SELECT set_config('request.jwt.claim.sub', 'x', true)",
    'SET SESSION AUTHORIZATION DEFAULT',
    "DO $$ BEGIN DELETE FROM notes; END $$",
    "INSERT INTO notes (user_id, body) VALUES (current_user_id()::uuid, 'sneaky'); SELECT 1",
    'COMMIT',
  ];
  it('each attempt is refused with 400 VALIDATION_SQL_REFUSED and nothing is executed', async () => {
    await deploy('sql', `export default async function handler(req, ctx) {
      const { sql } = await req.json();
      try { await ctx.db.query(sql); return Response.json({ ran: true }); }
      catch (error) { return Response.json({ code: error.code, message: error.message }, { status: 400 }); }
    }`);
    for (const sql of attempts) {
      const response = await api(`/v1/${appId}/fn/sql`, { token: alice.token, body: { sql } });
      expect(response.status, `${sql}: ${response.text}`).toBe(400);
      expect(response.body.code, sql).toBe('VALIDATION_SQL_REFUSED');
    }
    const rows = await api(`/v1/${appId}/notes?body=eq.sneaky`);
    expect(rows.body).toEqual([]);
    const count = await api(`/v1/${appId}/notes`);
    expect(count.body).toHaveLength(3);
    const allowed = await api(`/v1/${appId}/fn/sql`, { token: alice.token, body: { sql: 'SELECT 1' } });
    expect(allowed.body).toEqual({ ran: true });
  });
});

describe('egress', () => {
  it('refuses loopback, private and link-local addresses, and reaches the platform API internally', async () => {
    await deploy('fetcher', `export default async function handler(req, ctx) {
      const { url } = await req.json();
      try { const r = await fetch(url); return Response.json({ status: r.status, egress: r.headers.get('x-butterbase-egress'), body: (await r.text()).slice(0, 200) }); }
      catch (error) { return Response.json({ threw: String(error) }); }
    }`, { triggers: [{ type: 'http', config: { auth: 'none' } }] });
    for (const url of ['http://127.0.0.1:1/', 'http://10.0.0.1/', 'http://169.254.169.254/latest/meta-data/', 'http://[::1]/', 'http://localhost/']) {
      const response = await api(`/v1/${appId}/fn/fetcher`, { token: null, body: { url } });
      expect(response.body, url).toMatchObject({ status: 403, egress: 'refused' });
    }
    const health = await api(`/v1/${appId}/fn/fetcher`, { token: null, body: { url: `${new URL((await api(`/v1/${appId}/functions/fetcher`)).body.url).origin}/health` } });
    expect(health.body.status, health.text).toBe(200);
    expect(JSON.parse(health.body.body)).toMatchObject({ status: 'ok' });
  });
});

describe('the pause gate', () => {
  it('a paused app answers 503 APP_PAUSED on /fn', async () => {
    const { appId: other } = await createReadyApp('fnpause');
    const deployed = await api(`/v1/${other}/functions`, { body: { name: 'p', code: 'export async function handler() { return new Response("x") }', triggers: [{ type: 'http', config: { auth: 'none' } }] } });
    expect(deployed.status, deployed.text).toBe(201);
    const paused = await api(`/v1/${other}/config/pause`, { method: 'PATCH', body: { paused: true } });
    expect(paused.status, paused.text).toBe(200);
    const response = await api(`/v1/${other}/fn/p`, { token: null });
    expect(response.status).toBe(503);
    expect(response.body.error.code).toBe('APP_PAUSED');
  }, 60_000);
});
