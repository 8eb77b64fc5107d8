/**
 * Function triggers through the real platform: cron runs driven by the scheduled handler with a fixed
 * clock (each due minute exactly once), Stripe/GitHub/custom-signed webhooks (tampered and stale ones
 * 401, repeated idempotency keys answered as duplicates), and websocket `event` messages through the
 * realtime Worker.
 */
import { createHmac } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { api, createReadyApp } from './helpers/api.ts';
import { appDb, controlDb } from './helpers/control-db.ts';
import { inProcessPlatform } from './helpers/in-process.ts';
import { purgeAppDatabases } from '../workers/control/services/housekeeping.ts';
import { RealtimeSocket, realtimeUrl, signedInUser } from './helpers/realtime.ts';

let appId: string;

beforeAll(async () => {
  ({ appId } = await createReadyApp('fntrig'));
  await controlDb().query('UPDATE apps SET rate_limit_per_minute = 100000 WHERE id = $1', [appId]);
}, 120_000);

async function deploy(body: Record<string, unknown>) {
  const response = await api(`/v1/${appId}/functions`, { body });
  expect(response.status, response.text).toBe(201);
  return response.body;
}

/** Runs the router's scheduled handler with `timeMs` as the scheduled time (as the dev platform does each minute). */
async function tick(timeMs: number): Promise<void> {
  const response = await fetch(`${inject('platformUrl')}/cdn-cgi/handler/scheduled?cron=*+*+*+*+*&time=${timeMs}`);
  expect(response.status, await response.text()).toBe(200);
}

async function logsOf(name: string): Promise<any[]> {
  const response = await api(`/v1/${appId}/functions/${name}/logs?limit=100`);
  expect(response.status, response.text).toBe(200);
  return response.body.logs;
}

describe('cron', () => {
  it('runs a function at its minute exactly once, however often that minute ticks, and not at other minutes', async () => {
    // A minute shortly in the past, so the tick's other housekeeping (storage reaper, purges) sees nothing
    // unusual — and neither it nor the next is :00, when the hourly purge visits every app's database
    // (hundreds in a full run), which has nothing to do with cron and can take longer than this test.
    let minute = Math.floor((Date.now() - 10 * 60_000) / 60_000) * 60_000;
    while ([0, 59].includes(new Date(minute).getUTCMinutes())) minute -= 60_000;
    const at = new Date(minute);
    await deploy({
      name: 'nightly',
      code: 'export async function handler(req, ctx) { const body = await req.json(); console.log("cron at", body.scheduledTime, ctx.caller.type); return new Response("done") }',
      triggers: [{ type: 'cron', config: { schedule: `${at.getUTCMinutes()} ${at.getUTCHours()} * * *`, timezone: 'UTC' } }],
    });
    await Promise.all([tick(minute + 5_000), tick(minute + 20_000)]);
    await tick(minute + 59_000);
    await tick(minute + 60_000);
    let logs: any[] = [];
    for (let i = 0; i < 20 && logs.length === 0; i++) {
      logs = await logsOf('nightly');
      if (logs.length === 0) await new Promise((r) => setTimeout(r, 250));
    }
    await new Promise((r) => setTimeout(r, 500));
    logs = await logsOf('nightly');
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ trigger: 'cron', statusCode: 200 });
    expect(logs[0].consoleLogs[0].message).toBe(`cron at ${at.toISOString()} loopback`);
  });

  it('refuses an invalid schedule or timezone at deploy', async () => {
    for (const config of [{ schedule: 'every minute please' }, { schedule: '* * * * *', timezone: 'Mars/Olympus' }]) {
      const response = await api(`/v1/${appId}/functions`, { body: { name: 'bad-cron', code: 'export async function handler() { return new Response("") }', triggers: [{ type: 'cron', config }] } });
      expect(response.status, JSON.stringify(config)).toBe(400);
      expect(response.body.error.code).toBe('VALIDATION_INVALID_SCHEMA');
    }
  });
});

describe('webhooks', () => {
  const secret = 'whsec_test_secret';
  const echo = 'export async function handler(req, ctx) { return Response.json({ got: await req.json(), user: ctx.user }) }';
  const sign = (payload: string) => createHmac('sha256', secret).update(payload).digest('hex');

  beforeAll(async () => {
    await deploy({ name: 'stripe-hook', code: echo, triggers: [{ type: 'webhook', config: { provider: 'stripe', secret, idempotency_key_header: 'x-event-id' } }] });
    await deploy({ name: 'github-hook', code: echo, triggers: [{ type: 'webhook', config: { provider: 'github', secret } }] });
    await deploy({ name: 'custom-hook', code: echo, triggers: [{ type: 'webhook', config: { provider: 'custom', secret, signature_header: 'x-sig' } }] });
  });

  const post = (name: string, body: string, headers: Record<string, string>) =>
    api(`/v1/${appId}/webhook/${name}`, { token: null, method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

  it('accepts a Stripe-signed delivery, refuses a tampered or stale one with 401, and answers a repeated event id as duplicate', async () => {
    const body = JSON.stringify({ id: 'evt_1', type: 'checkout.session.completed' });
    const t = Math.floor(Date.now() / 1000);
    const header = `t=${t},v1=${sign(`${t}.${body}`)}`;
    const accepted = await post('stripe-hook', body, { 'stripe-signature': header, 'x-event-id': `evt_${t}` });
    expect(accepted.status, accepted.text).toBe(200);
    expect(accepted.body).toEqual({ got: { id: 'evt_1', type: 'checkout.session.completed' }, user: null });
    const duplicate = await post('stripe-hook', body, { 'stripe-signature': header, 'x-event-id': `evt_${t}` });
    expect(duplicate.status).toBe(200);
    expect(duplicate.body).toEqual({ ok: true, duplicate: true });
    expect(duplicate.headers.get('x-butterbase-duplicate')).toBe('true');
    const tampered = await post('stripe-hook', body.replace('evt_1', 'evt_2'), { 'stripe-signature': header });
    expect(tampered.status).toBe(401);
    expect(tampered.body).toEqual({ error: 'signature verification failed' });
    const old = t - 3600;
    const stale = await post('stripe-hook', body, { 'stripe-signature': `t=${old},v1=${sign(`${old}.${body}`)}` });
    expect(stale.status).toBe(401);
    expect((await post('stripe-hook', body, {})).status).toBe(401);
  });

  it('accepts a GitHub-signed delivery and refuses a tampered one', async () => {
    const body = JSON.stringify({ action: 'opened', number: 7 });
    const accepted = await post('github-hook', body, { 'x-hub-signature-256': `sha256=${sign(body)}` });
    expect(accepted.status, accepted.text).toBe(200);
    expect(accepted.body.got).toEqual({ action: 'opened', number: 7 });
    const tampered = await post('github-hook', body.replace('7', '8'), { 'x-hub-signature-256': `sha256=${sign(body)}` });
    expect(tampered.status).toBe(401);
  });

  it('verifies a custom HMAC header, and reads the secret back as ***', async () => {
    const body = JSON.stringify({ hello: 'world' });
    expect((await post('custom-hook', body, { 'x-sig': sign(body) })).status).toBe(200);
    expect((await post('custom-hook', body, { 'x-sig': sign('other') })).status).toBe(401);
    const got = await api(`/v1/${appId}/functions/custom-hook`);
    expect(got.body.triggers[0].config).toEqual({ provider: 'custom', secret: '***', signature_header: 'x-sig' });
    expect(got.text).not.toContain(secret);
  });

  it('a function without a webhook trigger is 404', async () => {
    await deploy({ name: 'plain', code: echo });
    expect((await post('plain', '{}', {})).status).toBe(404);
  });
});

describe('websocket events', () => {
  it('an event message runs the function with the socket\'s user and answers event_response', async () => {
    await deploy({
      name: 'on-ping',
      code: 'export async function handler(req, ctx) { const { event, payload } = await req.json(); return Response.json({ event, payload, user: ctx.user?.id ?? null, header: req.headers.get("x-user-id") }) }',
      triggers: [{ type: 'websocket', config: { event: 'ping' } }],
    });
    const user = await signedInUser(appId, 'socket');
    const socket = await RealtimeSocket.connect(realtimeUrl(appId, { token: user.token }));
    try {
      socket.send({ type: 'event', event: 'ping', payload: { n: 1 } });
      const response = await socket.next((m) => m.type === 'event_response');
      expect(response).toMatchObject({ type: 'event_response', event: 'ping', data: { event: 'ping', payload: { n: 1 }, user: user.id, header: user.id } });
    } finally {
      socket.ws.close();
    }
  });
});

describe('auth hooks', () => {
  it('a hook that writes a row runs after signup; a hook that throws does not break signup or login', async () => {
    const { appId: hooked } = await createReadyApp('fnhook');
    await controlDb().query('UPDATE apps SET rate_limit_per_minute = 100000 WHERE id = $1', [hooked]);
    const schema = { tables: { signups: { columns: {
      id: { type: 'uuid', primaryKey: true, default: 'gen_random_uuid()' }, user_id: { type: 'uuid' }, email: { type: 'text' }, event: { type: 'text' }, is_new: { type: 'boolean' },
    } } } };
    expect((await api(`/v1/${hooked}/schema/apply`, { body: { schema } })).status).toBe(200);
    const missing = await api(`/v1/${hooked}/config/auth-hooks`, { method: 'PATCH', body: { post_auth_function: 'not-deployed' } });
    expect(missing.status).toBe(404);
    const recorder = `export async function handler(req, ctx) {
      const { event, user, isNewUser } = await req.json();
      await ctx.db.query('INSERT INTO signups (user_id, email, event, is_new) VALUES ($1, $2, $3, $4)', [user.id, user.email, event, isNewUser]);
      return Response.json({ ok: true, asUser: ctx.user });
    }`;
    expect((await api(`/v1/${hooked}/functions`, { body: { name: 'on-signin', code: recorder } })).status).toBe(201);
    const set = await api(`/v1/${hooked}/config/auth-hooks`, { method: 'PATCH', body: { post_auth_function: 'on-signin' } });
    expect(set.status, set.text).toBe(200);
    expect(set.body.post_auth_function).toBe('on-signin');
    const user = await signedInUser(hooked, 'hooked');
    let rows: any[] = [];
    for (let i = 0; i < 40 && rows.length < 2; i++) {
      rows = (await api(`/v1/${hooked}/signups?order=event.desc`)).body;
      if (rows.length < 2) await new Promise((r) => setTimeout(r, 250));
    }
    expect(rows.map((r) => [r.event, r.email, r.user_id, r.is_new])).toEqual([
      ['signup', user.email, user.id, true],
      ['login', user.email, user.id, false],
    ]);
    expect((await api(`/v1/${hooked}/functions`, { body: { name: 'on-signin', code: 'export async function handler() { throw new Error("hook exploded") }' } })).status).toBe(201);
    const second = await signedInUser(hooked, 'unbroken');
    expect(second.token).toEqual(expect.any(String));
    let logs: any[] = [];
    for (let i = 0; i < 40 && logs.length < 2; i++) {
      logs = (await api(`/v1/${hooked}/functions/on-signin/logs?level=error`)).body.logs;
      if (logs.length < 2) await new Promise((r) => setTimeout(r, 250));
    }
    expect(logs.map((l) => [l.trigger, l.statusCode, l.error])).toEqual([['auth_hook', 500, 'hook exploded'], ['auth_hook', 500, 'hook exploded']]);
    const cleared = await api(`/v1/${hooked}/config/auth-hooks`, { method: 'PATCH', body: { post_auth_function: null } });
    expect(cleared.body.post_auth_function).toBeNull();
  }, 120_000);
});

describe('housekeeping on the hourly tick', () => {
  it('purges expired refresh tokens and codes, old dev-outbox mail, expired idempotency keys and realtime changes past retention; keeps live ones', async () => {
    const { appId: kept } = await createReadyApp('fnpurge');
    const user = await signedInUser(kept, 'purge');
    const db = appDb(kept);
    await db.query(`UPDATE auth.dev_outbox SET created_at = now() - interval '8 days'`);
    await db.query(`UPDATE auth.one_time_codes SET expires_at = now() - interval '2 days'`);
    await db.query(`INSERT INTO auth.refresh_tokens (user_id, family_id, token_hash, expires_at) VALUES ($1, gen_random_uuid(), 'old-' || gen_random_uuid(), now() - interval '2 days')`, [user.id]);
    await db.query(`INSERT INTO functions._idempotency_keys (scope, key, expires_at) VALUES ('default', 'gone', now() - interval '1 minute'), ('default', 'live', now() + interval '1 hour'), ('default', 'forever', NULL)`);
    const [old] = await db.query(`INSERT INTO realtime.changes (xid, table_name, op, record, created_at) VALUES (pg_current_xact_id(), 'notes', 'INSERT', '{}', now() - interval '25 hours') RETURNING id`);
    await db.query(`INSERT INTO realtime.changes (xid, table_name, op, record) VALUES (pg_current_xact_id(), 'notes', 'INSERT', '{}')`);
    const count = async () => (await db.query(`SELECT
        (SELECT count(*) FROM auth.dev_outbox)::int AS outbox,
        (SELECT count(*) FROM auth.one_time_codes)::int AS codes,
        (SELECT count(*) FROM auth.refresh_tokens WHERE expires_at < now())::int AS expired_tokens,
        (SELECT count(*) FROM auth.refresh_tokens WHERE expires_at > now())::int AS live_tokens,
        (SELECT array_agg(key ORDER BY key) FROM functions._idempotency_keys) AS keys,
        (SELECT count(*) FROM realtime.changes)::int AS changes,
        (SELECT pruned_through FROM realtime.state)::text AS pruned_through`))[0]!;
    const before = await count();
    expect(before.outbox).toBeGreaterThan(0);
    expect(before.expired_tokens).toBe(1);
    // The last full hour (a :00 minute in the past) is a purge minute. The tick's purge visits every app
    // database of the shared platform (~200 in a full run, over a minute); this runs the same purge for
    // this app only, in-process over the same database (the tick's wiring: isPurgeMinute, unit-tested).
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    const platform = await inProcessPlatform(inject('localSettings'));
    expect(await purgeAppDatabases(platform.controlEnv, hour + 60_000, [kept])).toEqual({ purgedApps: 0, purgedRows: 0, failedApps: 0 });
    const purged = await purgeAppDatabases(platform.controlEnv, hour, [kept]);
    expect(purged).toMatchObject({ purgedApps: 1, failedApps: 0 });
    expect(purged.purgedRows).toBeGreaterThanOrEqual(4);
    expect(before.changes).toBe(2);
    expect(await count()).toEqual({ outbox: 0, codes: 0, expired_tokens: 0, live_tokens: before.live_tokens, keys: ['forever', 'live'], changes: 1, pruned_through: String(old!.id) });
  }, 180_000);
});

describe('s3_upload triggers', () => {
  it('an upload whose filename prefix and type match runs the function with the upload event; others do not', async () => {
    await deploy({
      name: 'on-upload',
      code: 'export async function handler(req, ctx) { const event = await req.json(); console.log("uploaded", event.filename, event.size_bytes, ctx.caller.type); return new Response("ok") }',
      triggers: [{ type: 's3_upload', config: { bucket: 'butterbase-storage', prefix: 'report', contentTypes: ['text/*'] } }],
    });
    for (const [filename, contentType, body] of [['report-1.txt', 'text/plain', 'quarterly'], ['photo.png', 'image/png', 'png'], ['notes.txt', 'text/plain', 'no']]) {
      const reserved = await api(`/storage/${appId}/upload`, { body: { filename, contentType, sizeBytes: body!.length } });
      expect(reserved.status, reserved.text).toBe(200);
      expect((await fetch(reserved.body.uploadUrl, { method: 'PUT', headers: { 'content-type': contentType! }, body })).status).toBe(200);
    }
    let logs: any[] = [];
    for (let i = 0; i < 60 && logs.length === 0; i++) {
      logs = await logsOf('on-upload');
      if (logs.length === 0) await new Promise((r) => setTimeout(r, 250));
    }
    await new Promise((r) => setTimeout(r, 1500));
    logs = await logsOf('on-upload');
    expect(logs.map((l) => [l.trigger, l.consoleLogs[0]?.message])).toEqual([['s3_upload', 'uploaded report-1.txt 9 loopback']]);
  }, 60_000);
});
