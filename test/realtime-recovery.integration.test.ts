/**
 * Realtime on its own platform over a real PostgreSQL server (concurrent transactions, so commits can
 * land out of change-id order), with two hubs per app and small limits: the snapshot-safe watermark,
 * heartbeats, the per-app connection limit, presence across hubs, RESUME_GAP after pruning, and a
 * crash of the whole platform mid-stream that a `ws` client and a real browser (Chromium through
 * playwright-core) resume from without a gap or a duplicate.
 */
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startPlatform, type Platform, type StartPlatformOptions } from '../scripts/lib/platform.ts';
import { shardFor } from '../workers/realtime/services/hubs.ts';
import { api, uniqueName, waitForApp } from './helpers/api.ts';
import { testLog } from './helpers/platform-process.ts';
import { startPostgres, type PostgresServer } from './helpers/postgres-server.ts';
import { RealtimeSocket, realtimeUrl, setUpMessages, signedInUser, type EndUser } from './helpers/realtime.ts';

let postgres: PostgresServer;
let platform: Platform;
let stateDir: string;
let options: StartPlatformOptions;
let browser: Browser | undefined;
let pageServer: Server | undefined;

beforeAll(async () => {
  postgres = await startPostgres();
  stateDir = await mkdtemp(join(tmpdir(), 'bb-rt-recovery-'));
  options = {
    stateDir,
    port: await freePort(),
    dbPort: 0,
    databaseUrl: postgres.url,
    log: testLog('realtime-recovery'),
    vars: {
      realtime: {
        REALTIME_HUBS_PER_APP: '2',
        REALTIME_MAX_CONNECTIONS_PER_APP: '8',
        REALTIME_HEARTBEAT_INTERVAL_MS: '1000',
        REALTIME_POLL_INTERVAL_MS: '500',
      },
    },
  };
  platform = await startPlatform(options);
});

afterAll(async () => {
  await browser?.close();
  pageServer?.close();
  await platform?.stop();
  postgres?.stop();
  await rm(stateDir, { recursive: true, force: true });
});

const call = (path: string, init: Parameters<typeof api>[1] = {}) => api(path, { baseUrl: platform.url, token: platform.serviceKey, ...init });

async function readyApp(prefix: string): Promise<string> {
  const created = await call('/init', { body: { name: uniqueName(prefix) } });
  expect(created.status, created.text).toBe(201);
  await waitForApp(created.body.app_id, { baseUrl: platform.url, token: platform.serviceKey });
  await setUpMessages(created.body.app_id, { baseUrl: platform.url, token: platform.serviceKey });
  const control = new pg.Client({ connectionString: postgres.url.replace(/\/postgres$/, '/butterbase_control') });
  await control.connect();
  await control.query('UPDATE apps SET rate_limit_per_minute = 100000 WHERE id = $1', [created.body.app_id]);
  await control.end();
  await new Promise((r) => setTimeout(r, 1100));
  return created.body.app_id as string;
}

/** A direct connection to the app's database on the Postgres server (outside the platform). */
async function appClient(appId: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: postgres.url.replace(/\/postgres$/, `/${appId}`) });
  await client.connect();
  return client;
}

const url = (appId: string, token: string, since?: number) => realtimeUrl(appId, { token, since, baseUrl: platform.url });

describe('the change feed', () => {
  it('delivers a change whose transaction committed after a later id, in id order (snapshot-safe watermark)', async () => {
    const appId = await readyApp('rt-ooo');
    const socket = await RealtimeSocket.connect(url(appId, platform.serviceKey));
    await socket.subscribe('messages');
    const slow = await appClient(appId);
    await slow.query('BEGIN');
    await slow.query(`INSERT INTO messages (body, published) VALUES ('slow, drew the smaller id', true)`);
    const fast = await call(`/v1/${appId}/messages`, { body: { body: 'fast, committed first', published: true } });
    expect(fast.status, fast.text).toBe(201);
    // Give the hub (poked by the fast commit, and polling every 500 ms) every chance to run ahead.
    await new Promise((r) => setTimeout(r, 2000));
    expect(socket.changes()).toEqual([]);
    await slow.query('COMMIT');
    await slow.end();
    await socket.until((ms) => ms.filter((m) => m.type === 'change').length === 2, 60_000, 'both changes');
    const changes = socket.changes();
    expect(changes.map((m) => m.record?.body)).toEqual(['slow, drew the smaller id', 'fast, committed first']);
    expect(changes[0]!.id).toBeLessThan(changes[1]!.id);
  });

  it('sends heartbeats', async () => {
    const appId = await readyApp('rt-hb');
    const socket = await RealtimeSocket.connect(url(appId, platform.serviceKey));
    const heartbeat = await socket.next((m) => m.type === 'heartbeat');
    expect(Date.parse(heartbeat.timestamp)).not.toBeNaN();
  });

  it('answers RESUME_GAP once when the resume cursor is older than the retained changes, then streams on', async () => {
    const appId = await readyApp('rt-gap');
    const user = await signedInUser(appId, 'gap', { baseUrl: platform.url });
    const first = await RealtimeSocket.connect(url(appId, user.token));
    await first.subscribe('messages');
    expect((await call(`/v1/${appId}/messages`, { token: user.token, body: { body: 'old' } })).status).toBe(201);
    const old = await first.next((m) => m.type === 'change');
    first.close();
    expect((await call(`/v1/${appId}/messages`, { token: user.token, body: { body: 'pruned away' } })).status).toBe(201);
    const db = await appClient(appId);
    const pruned = await db.query(`SELECT realtime.prune(now() + interval '2 days') AS n`);
    expect(pruned.rows[0].n).toBeGreaterThanOrEqual(2);
    await db.end();
    const resumed = await RealtimeSocket.connect(url(appId, user.token, old.id));
    await resumed.subscribe('messages');
    const gap = await resumed.next((m) => m.type === 'warning');
    expect(gap).toMatchObject({ type: 'warning', code: 'RESUME_GAP', since: old.id });
    expect((await call(`/v1/${appId}/messages`, { token: user.token, body: { body: 'after the gap' } })).status).toBe(201);
    await resumed.next((m) => m.type === 'change' && m.record?.body === 'after the gap');
    expect(resumed.changes().map((m) => m.record?.body)).toEqual(['after the gap']);
    expect(resumed.messages.filter((m) => m.code === 'RESUME_GAP')).toHaveLength(1);
  });
});

describe('hubs and limits', () => {
  it('refuses a socket over the per-app connection limit with 1013 (each of the 2 hubs takes 4 of 8)', async () => {
    const appId = await readyApp('rt-limit');
    const user = await signedInUser(appId, 'many', { baseUrl: platform.url });
    // One user's sockets share a hub.
    const open = await Promise.all(Array.from({ length: 4 }, () => RealtimeSocket.connect(url(appId, user.token))));
    const over = await RealtimeSocket.open(url(appId, user.token));
    expect((await over.closed).code).toBe(1013);
    expect(over.messages[0]).toMatchObject({ type: 'error', code: 'REALTIME_CONNECTION_LIMIT' });
    open[0]!.close();
    await open[0]!.closed;
    await new Promise((r) => setTimeout(r, 200));
    await RealtimeSocket.connect(url(appId, user.token));
  });

  it('merges presence across the hubs of an app, and changes reach both hubs', async () => {
    const appId = await readyApp('rt-shards');
    const users: EndUser[] = [];
    while (new Set(users.map((u) => shardFor('user', u.id, 2))).size < 2) users.push(await signedInUser(appId, `s${users.length}`, { baseUrl: platform.url }));
    const a = users[0]!;
    const b = users.find((u) => shardFor('user', u.id, 2) !== shardFor('user', a.id, 2))!;
    const [sa, sb] = await Promise.all([RealtimeSocket.connect(url(appId, a.token)), RealtimeSocket.connect(url(appId, b.token))]);
    await sa.request({ type: 'presence_track', metadata: { who: 'a' } }, 'presence_state');
    const state = await sb.request({ type: 'presence_track', metadata: { who: 'b' } }, 'presence_state');
    expect(state.clients).toEqual([{ client_id: sa.messages[0]!.client_id, user_id: a.id, metadata: { who: 'a' } }]);
    expect(await sa.next((m) => m.type === 'presence_join')).toMatchObject({ user_id: b.id, metadata: { who: 'b' } });
    for (const s of [sa, sb]) await s.subscribe('messages');
    expect((await call(`/v1/${appId}/messages`, { token: a.token, body: { body: 'to everyone', published: true } })).status).toBe(201);
    for (const s of [sa, sb]) await s.next((m) => m.type === 'change' && m.record?.body === 'to everyone');
    sb.close();
    expect(await sa.next((m) => m.type === 'presence_leave')).toMatchObject({ user_id: b.id });
  });
});

/** The test page: shows each change as a list item and resumes from the last id it saw after a drop. */
function pageHtml(wsBase: string, appId: string, token: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>realtime</title></head><body><ul id="rows"></ul><script>
const rows = document.getElementById('rows');
let lastId = null;
window.connects = 0;
function connect() {
  const since = lastId === null ? '' : '&since=' + lastId;
  const ws = new WebSocket(${JSON.stringify(`${wsBase}/v1/${appId}/realtime?token=${encodeURIComponent(token)}`)} + since);
  ws.onopen = () => { window.connects += 1; ws.send(JSON.stringify({ type: 'subscribe', table: 'messages' })); };
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type !== 'change') return;
    lastId = message.id;
    const item = document.createElement('li');
    item.dataset.id = String(message.id);
    item.textContent = (message.record || message.old_record).body;
    rows.appendChild(item);
  };
  ws.onclose = () => setTimeout(connect, 500);
}
connect();
</script></body></html>`;
}

describe('a crash mid-stream', () => {
  it('loses nothing: a ws client and a browser page resume with their last id, no gap, no duplicate', async () => {
    const appId = await readyApp('rt-crash');
    const [reader, writer] = await Promise.all([signedInUser(appId, 'reader', { baseUrl: platform.url }), signedInUser(appId, 'writer', { baseUrl: platform.url })]);
    const tag = `crash-${crypto.randomUUID().slice(0, 6)}`;

    const pagePort = await freePort();
    pageServer = createServer((_, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(pageHtml(platform.url.replace(/^http/, 'ws'), appId, reader.token)));
    await new Promise<void>((r) => pageServer!.listen(pagePort, '127.0.0.1', r));
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${pagePort}/`);
    await page.waitForFunction('window.connects === 1');

    // The ws client resumes the same way the page does.
    const received: { id: number; body: string }[] = [];
    let lastId: number | undefined;
    let stopped = false;
    let socket: RealtimeSocket | undefined;
    const follow = async () => {
      while (!stopped) {
        try {
          socket = await RealtimeSocket.connect(url(appId, reader.token, lastId));
          const live = socket;
          live.ws.on('message', (data) => {
            const m = JSON.parse(data.toString());
            if (m.type === 'change') {
              received.push({ id: m.id, body: m.record?.body });
              lastId = m.id;
            }
          });
          live.send({ type: 'subscribe', table: 'messages' });
          await live.closed;
        } catch {
          /* the platform is down: retry */
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    };
    const following = follow();
    await new Promise((r) => setTimeout(r, 500));

    const write = async (i: number) => {
      const res = await fetch(`${platform.url}/v1/${appId}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${writer.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ body: `${tag} ${i}`, published: true }),
      }).catch(() => null);
      return res?.status === 201;
    };
    for (let i = 0; i < 5; i += 1) expect(await write(i)).toBe(true);
    await page.waitForFunction('document.querySelectorAll("#rows li").length >= 5', undefined, { timeout: 60_000 });

    // Crash the platform while writes are in flight; rows also land directly in Postgres meanwhile.
    const inFlight = Promise.all([5, 6, 7].map(write));
    await platform.crash();
    await inFlight;
    const db = await appClient(appId);
    const writerId = writer.id;
    for (let i = 8; i < 11; i += 1) await db.query('INSERT INTO messages (user_id, body, published) VALUES ($1, $2, true)', [writerId, `${tag} ${i}`]);
    platform = await startPlatform(options);
    for (let i = 11; i < 16; i += 1) expect(await write(i)).toBe(true);

    const truth = (await db.query(`SELECT body FROM messages WHERE body LIKE $1`, [`${tag} %`])).rows.map((r) => r.body as string);
    await db.end();
    expect(truth.length).toBeGreaterThanOrEqual(13);
    await page.waitForFunction(`document.querySelectorAll("#rows li").length >= ${truth.length}`, undefined, { timeout: 60_000 }).catch(async (error) => {
      throw new Error(`${String(error)}; shown: ${JSON.stringify(await page.$$eval('#rows li', (items) => items.map((li) => li.getAttribute('data-id') + ' ' + li.textContent)))}; truth: ${JSON.stringify(truth)}; ws: ${JSON.stringify(received)}`);
    });
    const shown = await page.$$eval('#rows li', (items) => items.map((li) => ({ id: Number(li.getAttribute('data-id')), body: li.textContent ?? '' })));
    const byId = (list: { id: number; body: string }[]) => [...list].sort((x, y) => x.id - y.id);
    expect(shown).toEqual(byId(shown));
    expect(shown.map((r) => r.body).sort()).toEqual([...truth].sort());
    expect(await page.evaluate('window.connects')).toBeGreaterThan(1);

    const deadline = Date.now() + 60_000;
    while (received.length < truth.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    stopped = true;
    socket?.close();
    await following;
    expect(received).toEqual(byId(received));
    expect(received.map((r) => r.body).sort()).toEqual([...truth].sort());
  }, 240_000);
});
