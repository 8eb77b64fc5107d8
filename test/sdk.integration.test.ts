/**
 * The unmodified Butterbase SDK (`@butterbase/sdk`, packages/sdk of butterbase-ai/butterbase) against
 * the platform: `functions.invoke` and `invokeBlob` (API.md §8.2) and the realtime client (§9: table
 * changes under RLS, presence, websocket events). The SDK is not on the npm registry this machine
 * reaches, so these tests run only with BUTTERBASE_SDK_BUNDLE pointing at an ESM bundle of it —
 * `npm run build:sdk-bundle -- <path to a butterbase checkout>` writes one and prints the variable to
 * set. Without it the file is skipped (the wire shapes the SDK relies on are covered by
 * functions.integration.test.ts and realtime.integration.test.ts).
 */
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { api, createReadyApp } from './helpers/api.ts';
import { controlDb } from './helpers/control-db.ts';
import { messagesSchema, signedInUser, type EndUser } from './helpers/realtime.ts';

const bundle = process.env.BUTTERBASE_SDK_BUNDLE;

describe.skipIf(!bundle)('the unmodified SDK (run with BUTTERBASE_SDK_BUNDLE)', () => {
  let appId: string;
  let anonKey: string;
  let alice: EndUser;
  let bob: EndUser;
  let createClient: (options: Record<string, unknown>) => any;

  /** An SDK client of the app, signed in as `user` (or anonymous with the anon key). */
  const clientAs = (user: EndUser | null) => {
    const client = createClient({ appId, apiUrl: inject('platformUrl'), anonKey, persistSession: false });
    if (user) client.setAccessToken(user.token);
    return client;
  };

  /** Waits until `check` returns a value other than undefined. @throws on timeout */
  async function eventually<T>(check: () => T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  beforeAll(async () => {
    // The SDK's realtime client uses the global WebSocket, which Node 20 does not have.
    (globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;
    ({ createClient } = await import(/* @vite-ignore */ pathToFileURL(bundle!).href));
    ({ appId, anonKey } = await createReadyApp('sdk'));
    await controlDb().query('UPDATE apps SET rate_limit_per_minute = 100000 WHERE id = $1', [appId]);
    expect((await api(`/v1/${appId}/schema/apply`, { body: { schema: messagesSchema } })).status).toBe(200);
    expect((await api(`/v1/${appId}/rls`, { body: { table_name: 'messages', user_column: 'user_id' } })).status).toBe(200);
    expect((await api(`/v1/${appId}/realtime/configure`, { body: { tables: ['messages'] } })).status).toBe(200);
    const whoami = `export default async function handler(req, ctx) {
      const body = req.method === 'GET' ? null : await req.json();
      const { rows } = ctx.user ? await ctx.db.query('SELECT body FROM messages ORDER BY body') : { rows: [] };
      return Response.json({ user: ctx.user?.id ?? null, echo: body, bodies: rows.map((r) => r.body) });
    }`;
    const png = `export default async function handler() {
      return new Response(new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 0, 255]), { headers: { 'content-type': 'image/png' } });
    }`;
    const onPing = `export async function handler(req, ctx) {
      const { event, payload } = await req.json();
      return Response.json({ pong: payload.n + 1, user: ctx.user?.id ?? null, event });
    }`;
    for (const [name, code, triggers] of [
      ['whoami', whoami, [{ type: 'http', config: { auth: 'optional' } }]],
      ['members-only', whoami, [{ type: 'http', config: { auth: 'required' } }]],
      ['png', png, [{ type: 'http', config: { auth: 'none' } }]],
      ['on-ping', onPing, [{ type: 'websocket', config: { event: 'ping' } }]],
    ] as const) {
      const deployed = await api(`/v1/${appId}/functions`, { body: { name, code, triggers } });
      expect(deployed.status, deployed.text).toBe(201);
    }
    [alice, bob] = await Promise.all([signedInUser(appId, 'sdk-alice'), signedInUser(appId, 'sdk-bob')]);
    for (const [user, body] of [[alice, 'alice-1'], [bob, 'bob-1']] as const) {
      expect((await api(`/v1/${appId}/messages`, { token: user.token, body: { user_id: user.id, body } })).status).toBe(201);
    }
  }, 120_000);

  it('functions.invoke sends the body as JSON and parses the answer; each user sees only their rows', async () => {
    const asAlice = await clientAs(alice).functions.invoke('whoami', { body: { n: 1 } });
    expect(asAlice.error).toBeNull();
    expect(asAlice.data).toEqual({ user: alice.id, echo: { n: 1 }, bodies: ['alice-1'] });
    const asBob = await clientAs(bob).functions.invoke('whoami', { body: { n: 2 } });
    expect(asBob.data).toEqual({ user: bob.id, echo: { n: 2 }, bodies: ['bob-1'] });
    const anonymous = await clientAs(null).functions.invoke('whoami', { method: 'GET' });
    expect(anonymous.data).toEqual({ user: null, echo: null, bodies: [] });
  });

  it('functions.invoke returns an auth: required refusal as its error, with the stable code', async () => {
    const refused = await clientAs(null).functions.invoke('members-only', { body: {} });
    expect(refused.data).toBeNull();
    expect(refused.error).toBeTruthy();
    expect(JSON.stringify({ ...refused.error, message: refused.error.message })).toMatch(/AUTH_/);
    const missing = await clientAs(alice).functions.invoke('no-such-function', { body: {} });
    expect(missing.data).toBeNull();
    expect(JSON.stringify({ ...missing.error, message: missing.error.message })).toMatch(/RESOURCE_NOT_FOUND|not found/i);
  });

  it('functions.invokeBlob returns the function\'s bytes and content type unchanged', async () => {
    const blob = await clientAs(null).functions.invokeBlob('png', {});
    expect(blob.error).toBeNull();
    expect(blob.data.type).toBe('image/png');
    expect([...new Uint8Array(await blob.data.arrayBuffer())]).toEqual([137, 80, 78, 71, 13, 10, 26, 10, 0, 255]);
  });

  it('realtime.on delivers inserts the user may see (and not the other user\'s), presence and websocket events reach the SDK', async () => {
    const aliceClient = clientAs(alice);
    const bobClient = clientAs(bob);
    const aliceChanges: any[] = [];
    const bobChanges: any[] = [];
    const presence: any[] = [];
    try {
      aliceClient.realtime.on('messages', (change: unknown) => aliceChanges.push(change));
      bobClient.realtime.on('messages', (change: unknown) => bobChanges.push(change));
      bobClient.realtime.onPresence((event: unknown) => presence.push(event));
      await eventually(() => (aliceClient.realtime.getStatus() === 'connected' && bobClient.realtime.getStatus() === 'connected') || undefined, 'both clients connected');
      // The subscribe acks are not surfaced by the SDK; give the hub a moment to record both subscriptions.
      await new Promise((r) => setTimeout(r, 500));
      expect((await api(`/v1/${appId}/messages`, { token: alice.token, body: { user_id: alice.id, body: 'alice-live' } })).status).toBe(201);
      const change = await eventually(() => aliceChanges.find((c) => c.record?.body === 'alice-live'), 'alice\'s change');
      expect(change).toMatchObject({ type: 'change', table: 'messages', op: 'INSERT', record: { body: 'alice-live', user_id: alice.id }, old_record: null, timestamp: expect.any(String) });
      // Bob's own insert reaches Bob; Alice's row never did (RLS: user isolation).
      expect((await api(`/v1/${appId}/messages`, { token: bob.token, body: { user_id: bob.id, body: 'bob-live' } })).status).toBe(201);
      await eventually(() => bobChanges.find((c) => c.record?.body === 'bob-live'), 'bob\'s change');
      expect(bobChanges.some((c) => c.record?.body === 'alice-live')).toBe(false);

      // Presence goes to trackers (API.md §9): Bob tracks first and gets the state, then Alice's join.
      bobClient.realtime.trackPresence({ status: 'reading' });
      await eventually(() => presence.find((p) => p.type === 'state'), 'bob\'s presence state');
      aliceClient.realtime.trackPresence({ status: 'typing' });
      const joined = await eventually(() => presence.find((p) => p.type === 'join' && p.user_id === alice.id), 'alice\'s presence join at bob');
      expect(joined.metadata).toEqual({ status: 'typing' });

      const answer = await aliceClient.realtime.send('ping', { n: 41 });
      expect(answer).toEqual({ pong: 42, user: alice.id, event: 'ping' });
      await expect(aliceClient.realtime.send('nobody-listens', {})).rejects.toThrow('No handler for event: nobody-listens');
    } finally {
      aliceClient.realtime.disconnect();
      bobClient.realtime.disconnect();
    }
  }, 60_000);
});
