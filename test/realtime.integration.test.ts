/**
 * Realtime through the real platform (router → realtime Worker → RealtimeHub, embedded Postgres)
 * with real `ws` clients: the config routes, every §9 message and close code, RLS fan-out with
 * deletes, presence, filters, resume, a seeded randomized model of 5 users × 500 writes, malformed
 * floods and the router's per-app budget for connections.
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { api, createReadyApp } from './helpers/api.ts';
import { appDb, controlDb, createOtherAccount, raiseRateLimit } from './helpers/control-db.ts';
import { RealtimeSocket, realtimeUrl, setUpMessages, signedInUser, type EndUser, type ServerMessage } from './helpers/realtime.ts';

let appId: string;
let anonKey: string;
let alice: EndUser;
let bob: EndUser;

const service = () => RealtimeSocket.connect(realtimeUrl(appId, { token: inject('serviceKey') }));
const asUser = (user: EndUser, since?: number) => RealtimeSocket.connect(realtimeUrl(appId, { token: user.token, since }));
const anonymous = () => RealtimeSocket.connect(realtimeUrl(appId));

async function insert(token: string, row: Record<string, unknown>) {
  const res = await api(`/v1/${appId}/messages`, { token, body: row, headers: { prefer: 'return=representation' } });
  expect(res.status, res.text).toBe(201);
  return (Array.isArray(res.body) ? res.body[0] : res.body) as Record<string, any>;
}

/** Writes a marker row as the service key and waits until `socket` has it: everything before it has arrived. */
async function barrier(...sockets: RealtimeSocket[]): Promise<void> {
  const marker = `barrier-${crypto.randomUUID()}`;
  await insert(inject('serviceKey'), { body: marker, published: true });
  for (const socket of sockets) await socket.next((m) => m.type === 'change' && m.record?.body === marker);
}

beforeAll(async () => {
  ({ appId, anonKey } = await createReadyApp('rt'));
  await raiseRateLimit(appId, 100_000);
  await setUpMessages(appId);
  [alice, bob] = await Promise.all([signedInUser(appId, 'alice'), signedInUser(appId, 'bob')]);
});

describe('config routes', () => {
  it('configures idempotently, reports the trigger and drift, repairs drift, and disables', async () => {
    const again = await api(`/v1/${appId}/realtime/configure`, { body: { tables: ['messages', 'messages'] } });
    expect(again.status, again.text).toBe(200);
    expect(again.body).toEqual({ configured: [{ table: 'messages', status: 'enabled' }] });
    const config = await api(`/v1/${appId}/realtime/config`);
    expect(config.status).toBe(200);
    expect(config.body).toMatchObject({ app_id: appId, websocket_url: `${inject('platformUrl').replace(/^http/, 'ws')}/v1/${appId}/realtime` });
    expect(config.body.tables).toEqual([expect.objectContaining({ table_name: 'messages', enabled: true, trigger_installed: true, drift: false, events: ['INSERT', 'UPDATE', 'DELETE'] })]);

    const scratch = await createReadyApp('rt-cfg');
    const schema = { tables: { notes: { columns: { id: { type: 'serial', primaryKey: true }, body: { type: 'text' } } } } };
    expect((await api(`/v1/${scratch.appId}/schema/apply`, { body: { schema } })).status).toBe(200);
    expect((await api(`/v1/${scratch.appId}/realtime/configure`, { body: { tables: ['notes'] } })).status).toBe(200);
    await appDb(scratch.appId).query('DROP TRIGGER trg_realtime_notes ON public.notes');
    const drifted = await api(`/v1/${scratch.appId}/realtime/config`);
    expect(drifted.body.tables[0]).toMatchObject({ table_name: 'notes', enabled: true, trigger_installed: false, drift: true });
    expect((await api(`/v1/${scratch.appId}/realtime/configure`, { body: { tables: ['notes'] } })).status).toBe(200);
    expect((await api(`/v1/${scratch.appId}/realtime/config`)).body.tables[0]).toMatchObject({ trigger_installed: true, drift: false });

    const disabled = await api(`/v1/${scratch.appId}/realtime/notes`, { method: 'DELETE' });
    expect(disabled.status, disabled.text).toBe(200);
    expect(disabled.body).toEqual({ table: 'notes', status: 'disabled' });
    expect((await api(`/v1/${scratch.appId}/realtime/config`)).body.tables[0]).toMatchObject({ enabled: false, trigger_installed: false, drift: false });
    const triggers = await appDb(scratch.appId).query(`SELECT tgname FROM pg_trigger WHERE tgname = 'trg_realtime_notes'`);
    expect(triggers).toEqual([]);
  });

  it('refuses bad requests with stable codes', async () => {
    const noKey = await createReadyApp('rt-nokey');
    const schema = { tables: { logs: { columns: { line: { type: 'text' } } } } };
    expect((await api(`/v1/${noKey.appId}/schema/apply`, { body: { schema } })).status).toBe(200);
    const other = await createOtherAccount('rt-other');
    const cases: [string, string, Parameters<typeof api>[1], number, string][] = [
      ['missing tables', `/v1/${appId}/realtime/configure`, { body: { tables: ['messages', 'nope', '_secret'] } }, 404, 'VALIDATION_TABLE_NOT_FOUND'],
      ['empty list', `/v1/${appId}/realtime/configure`, { body: { tables: [] } }, 400, 'VALIDATION_INVALID_SCHEMA'],
      ['no body', `/v1/${appId}/realtime/configure`, { method: 'POST' }, 400, 'VALIDATION_MISSING_FIELD'],
      ['table without a primary key', `/v1/${noKey.appId}/realtime/configure`, { body: { tables: ['logs'] } }, 409, 'STATE_PREREQUISITE_MISSING'],
      ['end-user token', `/v1/${appId}/realtime/configure`, { body: { tables: ['messages'] }, token: 'END_USER' }, 403, 'AUTH_INSUFFICIENT_PERMISSIONS'],
      ['anonymous', `/v1/${appId}/realtime/config`, { token: null }, 401, 'AUTH_REQUIRED'],
      ['another account', `/v1/${appId}/realtime/config`, { token: other.key }, 404, 'APP_NOT_FOUND'],
      ['disable a table never configured', `/v1/${appId}/realtime/other_table`, { method: 'DELETE' }, 400, 'REALTIME_NOT_CONFIGURED'],
      ['GET without upgrade', `/v1/${appId}/realtime`, {}, 400, 'VALIDATION_INVALID_SCHEMA'],
    ];
    for (const [name, path, options, status, code] of cases) {
      const res = await api(path, { ...options, token: options?.token === 'END_USER' ? alice.token : options?.token });
      expect({ name, status: res.status, code: res.body?.error?.code }, res.text).toEqual({ name, status, code });
    }
    const missing = await api(`/v1/${appId}/realtime/configure`, { body: { tables: ['messages', 'nope'] } });
    expect(missing.body.error.details).toEqual({ missing_tables: ['nope'] });
    expect((await api(`/v1/${noKey.appId}/realtime/configure`, { body: { tables: ['logs'] } })).body.error.details).toEqual({ tables_without_primary_key: ['logs'] });
  });

  it('writes configure and disable to the audit log', async () => {
    const scratch = await createReadyApp('rt-audit');
    const schema = { tables: { notes: { columns: { id: { type: 'serial', primaryKey: true } } } } };
    expect((await api(`/v1/${scratch.appId}/schema/apply`, { body: { schema } })).status).toBe(200);
    expect((await api(`/v1/${scratch.appId}/realtime/configure`, { body: { tables: ['notes'] } })).status).toBe(200);
    expect((await api(`/v1/${scratch.appId}/realtime/configure`, { body: { tables: ['ghost'] } })).status).toBe(404);
    expect((await api(`/v1/${scratch.appId}/realtime/notes`, { method: 'DELETE' })).status).toBe(200);
    let logs: any[] = [];
    for (let i = 0; i < 50 && logs.length < 3; i += 1) {
      logs = (await api(`/v1/${scratch.appId}/audit-logs?category=admin`)).body.logs.filter((l: any) => String(l.event_type).startsWith('realtime.'));
      if (logs.length < 3) await new Promise((r) => setTimeout(r, 100));
    }
    expect(logs.map((l) => [l.event_type, l.success]).reverse()).toEqual([['realtime.configure', true], ['realtime.configure', false], ['realtime.disable', true]]);
  });
});

describe('the WebSocket protocol', () => {
  it('says who connected: connected with app_id and the role of each kind of token', async () => {
    for (const [socket, role] of [[await service(), 'butterbase_service'], [await asUser(alice), 'butterbase_user'], [await anonymous(), 'butterbase_anon'],
      [await RealtimeSocket.connect(realtimeUrl(appId, { token: anonKey })), 'butterbase_anon'],
      [await RealtimeSocket.connect(realtimeUrl(appId), { authorization: `Bearer ${alice.token}` }), 'butterbase_user']] as const) {
      expect(socket.messages[0]).toMatchObject({ type: 'connected', app_id: appId, role });
      socket.close();
      expect((await socket.closed).code).toBe(1000);
    }
  });

  it('acks subscribe (with its filter) and unsubscribe, warns about tables without realtime, and answers malformed messages with error', async () => {
    const socket = await service();
    expect(await socket.subscribe('messages', { filter: { room: 'a' } })).toEqual({ type: 'subscribed', table: 'messages', filter: { room: 'a' } });
    expect(await socket.request({ type: 'unsubscribe', table: 'messages' }, 'unsubscribed')).toEqual({ type: 'unsubscribed', table: 'messages' });
    const from = socket.messages.length;
    socket.send({ type: 'subscribe', table: 'not_enabled' });
    const warning = await socket.next((m) => m.type === 'warning', 20_000, from);
    expect(warning).toMatchObject({ type: 'warning', code: 'TABLE_NOT_REALTIME_ENABLED', table: 'not_enabled' });
    expect(warning.remediation).toContain(`/v1/${appId}/realtime/configure`);
    const errors: [unknown, string][] = [
      ['{not json', 'Invalid JSON'],
      [{ type: 'subscribe' }, 'Missing "table" field'],
      [{ type: 'unsubscribe', table: 5 }, 'Missing "table" field'],
      [{ type: 'event', payload: {} }, 'Missing "event" field'],
      [{ type: 'dance' }, 'Unknown message type: dance'],
      [{ type: 'event', event: 'nobody_handles_this', payload: 1 }, 'No handler for event: nobody_handles_this'],
      [{ type: 'subscribe', table: 'messages', filter: [1] }, 'Invalid "filter" field'],
      [{ type: 'subscribe', table: 'messages', since: -4 }, 'Invalid "since" field'],
    ];
    for (const [message, text] of errors) {
      const error = await socket.request(message, 'error');
      expect(error.message).toContain(text);
    }
    expect(socket.ws.readyState).toBe(socket.ws.OPEN);
  });

  it('refuses sockets with close codes: 1008 bad token, token of another app, anonymous on an authenticated app; 1013 paused', async () => {
    const bad = await RealtimeSocket.open(realtimeUrl(appId, { token: 'bb_sk_' + '0'.repeat(40) }));
    expect(await bad.closed).toMatchObject({ code: 1008 });
    expect(bad.messages[0]).toMatchObject({ type: 'error', code: 'AUTH_INVALID_API_KEY' });

    const elsewhere = await createReadyApp('rt-else');
    const stranger = await signedInUser(elsewhere.appId, 'stranger');
    const foreign = await RealtimeSocket.open(realtimeUrl(appId, { token: stranger.token }));
    expect((await foreign.closed).code).toBe(1008);
    expect(foreign.messages[0]?.type).toBe('error');

    expect((await api(`/v1/${elsewhere.appId}/config/access-mode`, { method: 'PATCH', body: { access_mode: 'authenticated' } })).status).toBeLessThan(300);
    await new Promise((r) => setTimeout(r, 1200));
    const anon = await RealtimeSocket.open(realtimeUrl(elsewhere.appId));
    expect((await anon.closed).code).toBe(1008);
    expect(anon.messages[0]).toMatchObject({ type: 'error', code: 'AUTH_REQUIRED' });

    const paused = await createReadyApp('rt-paused');
    const open = await RealtimeSocket.connect(realtimeUrl(paused.appId, { token: inject('serviceKey') }));
    expect((await api(`/v1/${paused.appId}/config/pause`, { method: 'PATCH', body: { paused: true, reason: 'maintenance' } })).status).toBe(200);
    // Already connected sockets are closed with 1013 once the hub sees the pause.
    expect((await open.closed).code).toBe(1013);
    expect(open.messages.at(-1)).toMatchObject({ type: 'error', code: 'APP_PAUSED' });
    await new Promise((r) => setTimeout(r, 1200));
    const refused = await RealtimeSocket.open(realtimeUrl(paused.appId, { token: inject('serviceKey') }));
    expect((await refused.closed).code).toBe(1013);
    expect(refused.messages[0]).toMatchObject({ type: 'error', code: 'APP_PAUSED' });
    // Config routes are management: they still answer on a paused app.
    expect((await api(`/v1/${paused.appId}/realtime/config`)).status).toBe(200);
  });

  it('counts a connection attempt against the app budget, not each message', async () => {
    const budget = await createReadyApp('rt-budget');
    await controlDb().query('UPDATE apps SET rate_limit_per_minute = 3 WHERE id = $1', [budget.appId]);
    await new Promise((r) => setTimeout(r, 1200));
    const first = await RealtimeSocket.connect(realtimeUrl(budget.appId, { token: inject('serviceKey') }));
    for (let i = 0; i < 30; i += 1) first.send({ type: 'dance' });
    await first.until((ms) => ms.filter((m) => m.type === 'error').length === 30);
    await RealtimeSocket.connect(realtimeUrl(budget.appId, { token: inject('serviceKey') }));
    await RealtimeSocket.connect(realtimeUrl(budget.appId, { token: inject('serviceKey') }));
    const over = await RealtimeSocket.open(realtimeUrl(budget.appId, { token: inject('serviceKey') }));
    expect((await over.closed).code).toBe(1013);
    expect(over.messages[0]).toMatchObject({ type: 'error', code: 'QUOTA_RATE_LIMIT' });
  });
});

describe('changes, filtered by row-level security', () => {
  it('delivers each insert, update and delete exactly to the sockets that may see the row (deletes included)', async () => {
    const [a, b, anon, all] = await Promise.all([asUser(alice), asUser(bob), anonymous(), service()]);
    for (const socket of [a, b, anon, all]) await socket.subscribe('messages');
    const privateA = await insert(alice.token, { body: 'alice private' });
    const publicB = await insert(bob.token, { body: 'bob public', published: true });
    expect((await api(`/v1/${appId}/messages/${privateA.id}`, { method: 'PATCH', token: alice.token, body: { body: 'alice private, edited' } })).status).toBe(200);
    expect((await api(`/v1/${appId}/messages/${publicB.id}`, { method: 'PATCH', token: bob.token, body: { body: 'bob public, edited' } })).status).toBe(200);
    expect((await api(`/v1/${appId}/messages/${privateA.id}`, { method: 'DELETE', token: alice.token })).status).toBeLessThan(300);
    expect((await api(`/v1/${appId}/messages/${publicB.id}`, { method: 'DELETE', token: bob.token })).status).toBeLessThan(300);
    await barrier(a, b, anon, all);
    const seen = (socket: RealtimeSocket) => socket.changes('messages').filter((m) => !String(m.record?.body ?? '').startsWith('barrier-')).map((m) => `${m.op} ${(m.record ?? m.old_record).body}`);
    expect(seen(a)).toEqual(['INSERT alice private', 'INSERT bob public', 'UPDATE alice private, edited', 'UPDATE bob public, edited', 'DELETE alice private, edited', 'DELETE bob public, edited']);
    expect(seen(b)).toEqual(['INSERT bob public', 'UPDATE bob public, edited', 'DELETE bob public, edited']);
    expect(seen(anon)).toEqual(['INSERT bob public', 'UPDATE bob public, edited', 'DELETE bob public, edited']);
    expect(seen(all)).toEqual(seen(a));
    const del = a.changes().find((m) => m.op === 'DELETE')!;
    expect(del).toMatchObject({ type: 'change', table: 'messages', record: null, old_record: { id: privateA.id } });
    expect(typeof del.id).toBe('number');
    expect(Date.parse(del.timestamp)).not.toBeNaN();
    const ids = all.changes().map((m) => m.id);
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
  });

  it('applies the subscription filter after RLS; re-subscribing replaces it', async () => {
    const socket = await asUser(alice);
    await socket.subscribe('messages', { filter: { room: 'red' } });
    await insert(alice.token, { body: 'in red', room: 'red' });
    await insert(alice.token, { body: 'in blue', room: 'blue' });
    await insert(bob.token, { body: 'bob in red, private', room: 'red' });
    // Once this one is in, every earlier change has been through the old filter.
    await insert(alice.token, { body: 'red marker', room: 'red' });
    await socket.next((m) => m.type === 'change' && m.record?.body === 'red marker');
    await socket.subscribe('messages', { filter: { room: 'blue' } });
    await insert(alice.token, { body: 'blue again', room: 'blue' });
    await insert(alice.token, { body: 'red again', room: 'red' });
    await socket.next((m) => m.type === 'change' && m.record?.body === 'blue again');
    await insert(alice.token, { body: 'final blue', room: 'blue' });
    await socket.next((m) => m.type === 'change' && m.record?.body === 'final blue');
    expect(socket.changes().map((m) => m.record?.body)).toEqual(['in red', 'red marker', 'blue again', 'final blue']);
  });

  it('shows presence: state to a new tracker, join, update and leave to the others', async () => {
    const [a, b, watcher] = await Promise.all([asUser(alice), asUser(bob), anonymous()]);
    const state = await a.request({ type: 'presence_track', metadata: { name: 'alice' } }, 'presence_state');
    const aliceId = a.messages[0]!.client_id;
    expect(state.clients.some((c: any) => c.client_id === aliceId)).toBe(false);
    const bobState = await b.request({ type: 'presence_track', metadata: { name: 'bob' } }, 'presence_state');
    expect(bobState.clients).toContainEqual({ client_id: aliceId, user_id: alice.id, metadata: { name: 'alice' } });
    expect(await a.next((m) => m.type === 'presence_join')).toMatchObject({ client_id: b.messages[0]!.client_id, user_id: bob.id, metadata: { name: 'bob' } });
    const watcherState = await watcher.request({ type: 'presence_track', metadata: {} }, 'presence_state');
    expect(watcherState.clients.map((c: any) => c.user_id).sort()).toEqual([alice.id, bob.id].sort());
    b.send({ type: 'presence_update', metadata: { name: 'bob', typing: true } });
    expect(await a.next((m) => m.type === 'presence_update')).toEqual({ type: 'presence_update', client_id: b.messages[0]!.client_id, metadata: { name: 'bob', typing: true } });
    b.close();
    expect(await a.next((m) => m.type === 'presence_leave')).toEqual({ type: 'presence_leave', client_id: b.messages[0]!.client_id, user_id: bob.id });
    expect(await watcher.next((m) => m.type === 'presence_leave')).toMatchObject({ user_id: bob.id });
  });
});

describe('resume', () => {
  it('replays every change after ?since= (or since in subscribe) that the socket may see, in order, then goes live, without duplicates', async () => {
    const first = await asUser(alice);
    await first.subscribe('messages');
    await insert(alice.token, { body: 'before the break' });
    const last = await first.next((m) => m.type === 'change' && m.record?.body === 'before the break');
    first.close();
    await first.closed;
    const missed = [];
    for (let i = 0; i < 5; i += 1) {
      missed.push((await insert(i % 2 === 0 ? alice.token : bob.token, { body: `while away ${i}` })).body);
    }
    const resumed = await asUser(alice, last.id);
    await resumed.subscribe('messages');
    await insert(alice.token, { body: 'live again' });
    await resumed.next((m) => m.type === 'change' && m.record?.body === 'live again');
    expect(resumed.changes().map((m) => m.record?.body).filter((b: string) => !b.startsWith('barrier-'))).toEqual(['while away 0', 'while away 2', 'while away 4', 'live again']);
    const ids = resumed.changes().map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    expect(ids[0]).toBeGreaterThan(last.id);

    const viaSubscribe = await asUser(alice);
    await viaSubscribe.subscribe('messages', { since: last.id });
    await viaSubscribe.next((m) => m.type === 'change' && m.record?.body === 'live again');
    expect(viaSubscribe.changes().map((m) => m.record?.body).filter((b: string) => !b.startsWith('barrier-')).slice(0, 4)).toEqual(['while away 0', 'while away 2', 'while away 4', 'live again']);
  });
});

/** A small seeded PRNG (mulberry32), so a failure replays exactly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('a randomized model: 5 users × 500 mixed writes', () => {
  it('gives every socket exactly the changes the model says it may see, in order per row: 0 leaks, 0 losses', async () => {
    const users = [alice, bob, ...(await Promise.all([signedInUser(appId, 'carol'), signedInUser(appId, 'dave'), signedInUser(appId, 'erin')]))];
    const sockets = await Promise.all(users.map((u) => asUser(u)));
    const [anon, all] = await Promise.all([anonymous(), service()]);
    for (const socket of [...sockets, anon, all]) await socket.subscribe('messages');
    const tag = `model-${crypto.randomUUID().slice(0, 8)}`;
    // What each writer did to each row, in its order: the model of the committed history.
    const rowOps = new Map<string, string[]>();
    const note = (id: string, entry: string) => rowOps.set(id, [...(rowOps.get(id) ?? []), entry]);
    await Promise.all(users.map(async (user, index) => {
      const random = prng(20261201 + index);
      const mine: { id: string; published: boolean }[] = [];
      for (let i = 0; i < 100; i += 1) {
        const choice = random();
        if (mine.length === 0 || choice < 0.5) {
          const published = random() < 0.4;
          const row = await insert(user.token, { body: `${tag} ${index}.${i}`, published });
          mine.push({ id: row.id, published });
          note(row.id, `INSERT ${row.body} ${published}`);
        } else if (choice < 0.8) {
          const target = mine[Math.floor(random() * mine.length)]!;
          target.published = random() < 0.5;
          const body = `${tag} ${index}.${i} edited`;
          const res = await api(`/v1/${appId}/messages/${target.id}`, { method: 'PATCH', token: user.token, body: { body, published: target.published } });
          expect(res.status, res.text).toBe(200);
          note(target.id, `UPDATE ${body} ${target.published}`);
        } else {
          const target = mine.splice(Math.floor(random() * mine.length), 1)[0]!;
          const res = await api(`/v1/${appId}/messages/${target.id}`, { method: 'DELETE', token: user.token });
          expect(res.status, res.text).toBeLessThan(300);
          note(target.id, 'DELETE');
        }
      }
    }));
    await barrier(...sockets, anon, all);
    const ours = (socket: RealtimeSocket) => socket.changes('messages').filter((m) => String((m.record ?? m.old_record).body).startsWith(tag));
    // The service socket sees every change: exactly the 500 writes, each row's in the order it was written.
    const history = ours(all);
    expect(history.length).toBe(500);
    const historyOps = new Map<string, string[]>();
    for (const m of history) {
      const image = m.record ?? m.old_record;
      const entry = m.op === 'DELETE' ? 'DELETE' : `${m.op} ${image.body} ${image.published}`;
      historyOps.set(image.id, [...(historyOps.get(image.id) ?? []), entry]);
    }
    expect(historyOps).toEqual(rowOps);
    const ids = history.map((m) => m.id);
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    // Each end user: their own rows' changes and published images; anon: published images only.
    const ownerOf = (m: ServerMessage) => (m.record ?? m.old_record).user_id as string;
    const expected = (viewer: EndUser | null) =>
      history.filter((m) => (m.record ?? m.old_record).published === true || (viewer !== null && ownerOf(m) === viewer.id)).map((m) => m.id);
    sockets.forEach((socket, index) => expect(ours(socket).map((m) => m.id), `user ${index}`).toEqual(expected(users[index]!)));
    expect(ours(anon).map((m) => m.id)).toEqual(expected(null));
  }, 240_000);
});

describe('robustness', () => {
  it('stays up through 1,000 malformed or oversized messages, answering each', async () => {
    const floods = await Promise.all(Array.from({ length: 20 }, () => anonymous()));
    const garbage = ['{', '[]', 'null', '"text"', JSON.stringify({ type: 'subscribe', table: '' }), JSON.stringify({ type: 42 }), 'x'.repeat(20_000), JSON.stringify({ type: 'subscribe', table: 'messages', filter: { a: { deep: 1 } } })];
    floods.forEach((socket, s) => { for (let i = 0; i < 50; i += 1) socket.send(garbage[(s + i) % garbage.length]!); });
    for (const socket of floods) await socket.until((ms) => ms.filter((m) => m.type === 'error').length === 50, 30_000, '50 errors');
    const tooLarge = floods.flatMap((s) => s.messages).filter((m) => m.type === 'error' && /too large/.test(m.message));
    expect(tooLarge.length).toBeGreaterThan(0);
    for (const socket of floods) expect(socket.ws.readyState).toBe(socket.ws.OPEN);
    const fresh = await anonymous();
    await fresh.subscribe('messages');
    await insert(inject('serviceKey'), { body: 'still serving', published: true });
    await fresh.next((m) => m.type === 'change' && m.record?.body === 'still serving');
    await floods[0]!.subscribe('messages');
    await insert(inject('serviceKey'), { body: 'flooded socket too', published: true });
    await floods[0]!.next((m) => m.type === 'change' && m.record?.body === 'flooded socket too');
  });

  it('drops messages over the per-socket rate with an error and keeps the socket', async () => {
    const socket = await anonymous();
    for (let i = 0; i < 120; i += 1) socket.send({ type: 'dance' });
    await socket.until((ms) => ms.filter((m) => m.type === 'error').length === 120, 20_000, '120 errors');
    expect(socket.messages.filter((m) => m.type === 'error' && /Too many messages/.test(m.message)).length).toBeGreaterThan(0);
    expect(socket.ws.readyState).toBe(socket.ws.OPEN);
  });

  it('delivers writes made outside the platform (the hub polls, nobody pokes it)', async () => {
    const socket = await service();
    await socket.subscribe('messages');
    await appDb(appId).query(`INSERT INTO messages (body, published) VALUES ('written with psql', true)`);
    await socket.next((m) => m.type === 'change' && m.record?.body === 'written with psql');
  });
});
