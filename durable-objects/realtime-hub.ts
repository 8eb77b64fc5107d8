/**
 * RealtimeHub: one of an app's K realtime hubs (`{app_id}:{k}`, DESIGN.md "Realtime", API.md §9). It
 * holds its WebSockets with the hibernation API (an idle socket costs nothing between events), reads
 * the app's change feed itself (workers/realtime/services/change-feed.ts) when poked after a commit or
 * by its alarm, checks each batch against RLS once per viewer group, and keeps presence.
 *
 * Storage layout (SQLite-backed synchronous KV, `ctx.storage.kv`):
 *   `hub`               → HubIdentity { appId, shard, shards } (written by every connect)
 *   `feed`              → FeedState: where the change feed stands; dropped when the hub's last socket
 *                         goes, so a quiet hub restarts at the head instead of replaying old changes
 *   `socket:{clientId}` → SocketState: subscriptions (filter, resume position), presence metadata,
 *                         the connect-time `since`; deleted on close, and swept at start-up for sockets
 *                         that no longer exist (a restarted hub has none)
 *   `timers`            → { heartbeatAtMs, appCheckAtMs }
 * Each socket's attachment (2 KB max, survives hibernation) is its SocketIdentity { clientId, role, userId }.
 * The alarm runs while sockets are connected: poll (REALTIME_POLL_INTERVAL_MS), heartbeat every 30 s,
 * app check (paused → close 1013, deleted → 1008, access mode authenticated → anon sockets 1008).
 */
import { DurableObject } from 'cloudflare:workers';
import type { DbRole, SqlResult, SqlStatement } from '../workers/shared/contracts.ts';
import { ApiError } from '../workers/shared/errors.ts';
import { unwrap } from '../workers/shared/rpc.ts';
import { closeReason, websocketRefusal } from '../workers/shared/websocket.ts';
import type { Env } from '../workers/realtime/env.ts';
import { changeMessage, errorMessage, parseClientMessage, type ClientMessage } from '../workers/realtime/protocol.ts';
import {
  advance, catchUpStatements, parseCatchUp, parsePoll, pollStatements, startFeed, type ChangeRow, type FeedState,
} from '../workers/realtime/services/change-feed.ts';
import { hubLimits, hubName, type HubLimits } from '../workers/realtime/services/hubs.ts';
import { matchesFilter, parseVisibility, visibilityCheck, viewerKey, type Filter } from '../workers/realtime/services/visibility.ts';

/** Who a socket is (its attachment). */
export interface SocketIdentity {
  clientId: string;
  role: DbRole;
  userId: string | null;
}

/** What the realtime Worker tells a hub about a connecting socket (header `x-bb-realtime`, JSON). */
export interface ConnectRequest extends SocketIdentity {
  appId: string;
  shard: number;
  shards: number;
  /** `?since=` of the connect URL, or null. */
  since: number | null;
}

/** One table subscription: its filter, and the resume position while it catches up (null = live). */
interface Subscription {
  filter: Filter | null;
  position: number | null;
}

/** A socket's state in storage (`socket:{clientId}`). */
interface SocketState {
  subscriptions: Record<string, Subscription>;
  /** Tables subscribed at least once on this socket (the connect-time `since` applies to the first time only). */
  seen: string[];
  presence: Record<string, unknown> | null;
  since: number | null;
  gapWarned: boolean;
}

interface HubIdentity {
  appId: string;
  shard: number;
  shards: number;
}

interface Client {
  ws: WebSocket;
  identity: SocketIdentity;
  state: SocketState;
}

/** One presence tracker as `presence_state` lists it. */
export interface PresenceClient {
  client_id: string;
  user_id: string | null;
  metadata: Record<string, unknown>;
}

const roleNames: Record<DbRole, string> = { anon: 'butterbase_anon', user: 'butterbase_user', service: 'butterbase_service' };
const pageLimit = 500;
const enabledTablesTtlMs = 5_000;

/** Disposes an RPC stub (a DbGateway session) so the data Worker can free it. */
function dispose(stub: unknown): void {
  const symbol = (Symbol as unknown as { dispose?: symbol }).dispose;
  const fn = symbol ? (stub as Record<symbol, unknown>)[symbol] : undefined;
  if (typeof fn === 'function') (fn as () => void).call(stub);
}

/** One of an app's realtime hubs (see the top of this file). */
export class RealtimeHub extends DurableObject<Env> {
  readonly #limits: HubLimits;
  readonly #clients = new Map<WebSocket, Client>();
  #loaded = false;
  #feed: FeedState | null | undefined = undefined;
  #pump: Promise<void> | null = null;
  #again = false;
  #enabled: { tables: Set<string>; atMs: number } | null = null;
  readonly #rates = new Map<string, { windowStartMs: number; count: number }>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#limits = hubLimits(env);
  }

  /**
   * Accepts a WebSocket for the caller in header `x-bb-realtime` ({@link ConnectRequest}; only the
   * realtime Worker reaches a hub). Over the hub's share of the per-app connection limit → the socket
   * opens, gets an error and closes with 1013 (REALTIME_CONNECTION_LIMIT). Else it gets `connected`.
   */
  override async fetch(request: Request): Promise<Response> {
    const connect = JSON.parse(request.headers.get('x-bb-realtime') ?? 'null') as ConnectRequest | null;
    if (!connect) return new Response('missing x-bb-realtime', { status: 400 });
    this.#load();
    this.ctx.storage.kv.put('hub', { appId: connect.appId, shard: connect.shard, shards: connect.shards } satisfies HubIdentity);
    const share = Math.ceil(this.#limits.maxConnectionsPerApp / Math.max(1, connect.shards));
    if (this.#clients.size >= share) {
      return websocketRefusal(new ApiError('REALTIME_CONNECTION_LIMIT', `Realtime connection limit reached for app ${connect.appId} (${this.#limits.maxConnectionsPerApp} sockets). Try again later.`), 1013);
    }
    if (this.#clients.size === 0) this.#setFeed(null);
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server);
    const identity: SocketIdentity = { clientId: connect.clientId, role: connect.role, userId: connect.userId };
    server.serializeAttachment(identity);
    const state: SocketState = { subscriptions: {}, seen: [], presence: null, since: connect.since, gapWarned: false };
    this.#clients.set(server, { ws: server, identity, state });
    this.#saveState(identity.clientId, state);
    server.send(JSON.stringify({ type: 'connected', app_id: connect.appId, role: roleNames[connect.role], client_id: connect.clientId }));
    await this.#ensureAlarm();
    // The feed starts now, so changes committed from this moment on reach the socket.
    this.ctx.waitUntil(this.#runPump());
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Tells the hub that `tables` changed (after a commit through DbGateway): it polls now if anyone listens. */
  async poke(tables: string[]): Promise<void> {
    this.#load();
    if (this.#clients.size === 0) return;
    const wanted = new Set(tables);
    const listening = [...this.#clients.values()].some((c) => Object.entries(c.state.subscriptions).some(([t, s]) => wanted.has(t) || s.position !== null));
    if (listening) this.ctx.waitUntil(this.#runPump());
  }

  /** Sockets connected to this hub (GET /realtime/config `active_connection`). */
  async connections(): Promise<number> {
    this.#load();
    return this.#clients.size;
  }

  /** This hub's presence trackers (for a sibling building `presence_state`). */
  async presenceClients(): Promise<PresenceClient[]> {
    this.#load();
    return this.#trackers(null);
  }

  /** Sends a presence message from a sibling hub to this hub's trackers. */
  async presenceRelay(message: string): Promise<void> {
    this.#load();
    for (const client of this.#clients.values()) if (client.state.presence !== null) this.#send(client.ws, message);
  }

  /** A client message (API.md §9). Malformed or refused messages get an `error`; the socket stays open. */
  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this.#load();
    const client = this.#clients.get(ws);
    if (!client) return;
    if (typeof message !== 'string') {
      this.#send(ws, errorMessage('Binary messages are not supported; send JSON text.'));
      return;
    }
    if (message.length > this.#limits.maxMessageBytes / 3 && new TextEncoder().encode(message).length > this.#limits.maxMessageBytes) {
      this.#send(ws, errorMessage(`Message too large: at most ${this.#limits.maxMessageBytes} bytes.`));
      return;
    }
    if (!this.#allow(client.identity.clientId)) {
      this.#send(ws, errorMessage(`Too many messages: at most ${this.#limits.maxMessagesPerSecond} per second; this one was dropped.`));
      return;
    }
    const parsed = parseClientMessage(message);
    if ('error' in parsed) {
      this.#send(ws, errorMessage(parsed.error));
      return;
    }
    await this.#handle(client, parsed);
  }

  /** A socket closed: its state and presence go (presence_leave to the other trackers). */
  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.#load();
    this.#drop(ws);
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      /* already closed */
    }
  }

  /** A socket failed: as {@link webSocketClose}. */
  override async webSocketError(ws: WebSocket): Promise<void> {
    this.#load();
    this.#drop(ws);
  }

  /** Poll, heartbeat and app check while sockets are connected; then the next alarm. */
  override async alarm(): Promise<void> {
    this.#load();
    if (this.#clients.size === 0) return;
    const nowMs = Date.now();
    const timers = this.ctx.storage.kv.get<{ heartbeatAtMs: number; appCheckAtMs: number }>('timers')
      ?? { heartbeatAtMs: nowMs + this.#limits.heartbeatIntervalMs, appCheckAtMs: nowMs };
    if (nowMs >= timers.heartbeatAtMs) {
      const heartbeat = JSON.stringify({ type: 'heartbeat', timestamp: new Date(nowMs).toISOString() });
      for (const client of this.#clients.values()) this.#send(client.ws, heartbeat);
      timers.heartbeatAtMs = nowMs + this.#limits.heartbeatIntervalMs;
    }
    if (nowMs >= timers.appCheckAtMs) {
      timers.appCheckAtMs = nowMs + this.#limits.appCheckIntervalMs;
      await this.#checkApp();
    }
    this.ctx.storage.kv.put('timers', timers);
    await this.#runPump();
    if (this.#clients.size > 0) {
      await this.ctx.storage.setAlarm(Math.min(Date.now() + this.#limits.pollIntervalMs, timers.heartbeatAtMs, timers.appCheckAtMs));
    }
  }

  // ---- sockets and their state ----

  /** Rebuilds the socket map after a wake (hibernation keeps sockets and attachments, not memory). */
  #load(): void {
    if (this.#loaded) return;
    this.#loaded = true;
    const live = new Set<string>();
    for (const ws of this.ctx.getWebSockets()) {
      const identity = ws.deserializeAttachment() as SocketIdentity | null;
      if (!identity) continue;
      live.add(identity.clientId);
      const state = this.ctx.storage.kv.get<SocketState>(`socket:${identity.clientId}`)
        ?? { subscriptions: {}, seen: [], presence: null, since: null, gapWarned: false };
      this.#clients.set(ws, { ws, identity, state });
    }
    for (const [key] of this.ctx.storage.kv.list({ prefix: 'socket:' })) {
      if (!live.has(key.slice('socket:'.length))) this.ctx.storage.kv.delete(key);
    }
  }

  #saveState(clientId: string, state: SocketState): void {
    this.ctx.storage.kv.put(`socket:${clientId}`, state);
  }

  #drop(ws: WebSocket): void {
    const client = this.#clients.get(ws);
    if (!client) return;
    this.#clients.delete(ws);
    this.#rates.delete(client.identity.clientId);
    this.ctx.storage.kv.delete(`socket:${client.identity.clientId}`);
    if (client.state.presence !== null) {
      this.#broadcastPresence(client, JSON.stringify({ type: 'presence_leave', client_id: client.identity.clientId, user_id: client.identity.userId }));
    }
    if (this.#clients.size === 0) {
      this.#setFeed(null);
      this.ctx.storage.kv.delete('timers');
    }
  }

  #send(ws: WebSocket, message: string): void {
    try {
      ws.send(message);
    } catch {
      /* closing */
    }
  }

  /** Closes a socket from the server side with an `error` message first. */
  #close(client: Client, error: ApiError, code: number): void {
    this.#send(client.ws, errorMessage(error.message, error.code));
    try {
      client.ws.close(code, closeReason(error.message));
    } catch {
      /* already closed */
    }
    this.#drop(client.ws);
  }

  /** Fixed one-second windows per socket. */
  #allow(clientId: string): boolean {
    const nowMs = Date.now();
    const window = this.#rates.get(clientId);
    if (!window || nowMs - window.windowStartMs >= 1000) {
      this.#rates.set(clientId, { windowStartMs: nowMs, count: 1 });
      return true;
    }
    window.count += 1;
    return window.count <= this.#limits.maxMessagesPerSecond;
  }

  async #handle(client: Client, message: ClientMessage): Promise<void> {
    const { state, identity } = client;
    switch (message.type) {
      case 'subscribe': {
        const known = Object.hasOwn(state.subscriptions, message.table);
        if (!known && Object.keys(state.subscriptions).length >= this.#limits.maxSubscriptions) {
          this.#send(client.ws, errorMessage(`Subscription limit reached: at most ${this.#limits.maxSubscriptions} tables per socket.`));
          return;
        }
        const first = !state.seen.includes(message.table);
        const position = message.since ?? (first ? state.since : null);
        state.subscriptions[message.table] = { filter: message.filter, position };
        if (first) state.seen.push(message.table);
        this.#saveState(identity.clientId, state);
        this.#send(client.ws, JSON.stringify({ type: 'subscribed', table: message.table, ...(message.filter ? { filter: message.filter } : {}) }));
        this.ctx.waitUntil(this.#warnIfNotEnabled(client, message.table));
        if (position !== null) this.ctx.waitUntil(this.#runPump());
        return;
      }
      case 'unsubscribe':
        delete state.subscriptions[message.table];
        this.#saveState(identity.clientId, state);
        this.#send(client.ws, JSON.stringify({ type: 'unsubscribed', table: message.table }));
        return;
      case 'presence_track': {
        state.presence = message.metadata;
        this.#saveState(identity.clientId, state);
        const others = [...this.#trackers(identity.clientId), ...(await this.#siblingTrackers())];
        this.#send(client.ws, JSON.stringify({ type: 'presence_state', clients: others }));
        this.#broadcastPresence(client, JSON.stringify({ type: 'presence_join', client_id: identity.clientId, user_id: identity.userId, metadata: message.metadata }));
        return;
      }
      case 'presence_update':
        if (state.presence === null) return;
        state.presence = message.metadata;
        this.#saveState(identity.clientId, state);
        this.#broadcastPresence(client, JSON.stringify({ type: 'presence_update', client_id: identity.clientId, metadata: message.metadata }));
        return;
      case 'event':
        await this.#runEvent(client, message.event, message.payload);
        return;
    }
  }

  // ---- presence ----

  #trackers(exceptClientId: string | null): PresenceClient[] {
    const out: PresenceClient[] = [];
    for (const c of this.#clients.values()) {
      if (c.state.presence === null || c.identity.clientId === exceptClientId) continue;
      out.push({ client_id: c.identity.clientId, user_id: c.identity.userId, metadata: c.state.presence });
    }
    return out;
  }

  #siblings(): DurableObjectStub<RealtimeHub>[] {
    const hub = this.ctx.storage.kv.get<HubIdentity>('hub');
    if (!hub || hub.shards <= 1) return [];
    const out: DurableObjectStub<RealtimeHub>[] = [];
    for (let k = 0; k < hub.shards; k += 1) {
      if (k !== hub.shard) out.push(this.env.REALTIME_HUB.get(this.env.REALTIME_HUB.idFromName(hubName(hub.appId, k))));
    }
    return out;
  }

  async #siblingTrackers(): Promise<PresenceClient[]> {
    const lists = await Promise.allSettled(this.#siblings().map((stub) => stub.presenceClients()));
    return lists.flatMap((l) => (l.status === 'fulfilled' ? l.value : []));
  }

  /** Sends a presence message to every other tracker, here and on the sibling hubs. */
  #broadcastPresence(from: Client, message: string): void {
    for (const c of this.#clients.values()) {
      if (c !== from && c.state.presence !== null) this.#send(c.ws, message);
    }
    const siblings = this.#siblings();
    if (siblings.length > 0) {
      this.ctx.waitUntil(Promise.allSettled(siblings.map((stub) => stub.presenceRelay(message))).then(() => undefined));
    }
  }

  // ---- events ----

  async #runEvent(client: Client, event: string, payload: unknown): Promise<void> {
    const functions = this.env.FUNCTIONS;
    const hub = this.ctx.storage.kv.get<HubIdentity>('hub');
    if (!functions || !hub) {
      this.#send(client.ws, errorMessage(`No handler for event: ${event}`));
      return;
    }
    try {
      const result = await functions.invokeEvent({ appId: hub.appId, event, payload, userId: client.identity.userId });
      if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
      if (!result.value.found) {
        this.#send(client.ws, errorMessage(`No handler for event: ${event}`));
        return;
      }
      this.#send(client.ws, JSON.stringify({ type: 'event_response', event, data: result.value.data }));
    } catch (error) {
      console.error(`[realtime] event ${event} of ${hub.appId} failed: ${String(error)}`);
      this.#send(client.ws, errorMessage('Event handler execution failed'));
    }
  }

  // ---- database ----

  async #execute(role: DbRole, userId: string | null, statements: SqlStatement[]): Promise<SqlResult[]> {
    const hub = this.ctx.storage.kv.get<HubIdentity>('hub');
    if (!hub) throw new Error('hub has no identity yet');
    const session = this.env.DB_GATEWAY.session({ appId: hub.appId, role, userId });
    try {
      return unwrap(await session.execute(statements, { readOnly: true }));
    } finally {
      dispose(session);
    }
  }

  async #warnIfNotEnabled(client: Client, table: string): Promise<void> {
    try {
      const nowMs = Date.now();
      if (!this.#enabled || nowMs - this.#enabled.atMs > enabledTablesTtlMs) {
        const [result] = await this.#execute('service', null, [{
          query: `SELECT t.table_name FROM realtime.tables t
                   WHERE t.enabled AND EXISTS (SELECT 1 FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                                                WHERE n.nspname = 'public' AND c.relname = t.table_name AND g.tgname = realtime.trigger_name(t.table_name))`,
        }]);
        this.#enabled = { tables: new Set(result!.rows.map((r) => String(r.table_name))), atMs: nowMs };
      }
      if (this.#enabled.tables.has(table)) return;
      const hub = this.ctx.storage.kv.get<HubIdentity>('hub');
      this.#send(client.ws, JSON.stringify({
        type: 'warning',
        code: 'TABLE_NOT_REALTIME_ENABLED',
        table,
        message: `Subscribed to "${table}", but realtime is not enabled on this table: no change events will be delivered until it is.`,
        remediation: `Enable it with POST /v1/${hub?.appId ?? '{app_id}'}/realtime/configure {"tables":["${table}"]} (MCP manage_realtime action "configure").`,
      }));
    } catch (error) {
      console.error(`[realtime] enabled-table check failed: ${String(error)}`);
    }
  }

  /** Paused → every socket closes 1013; deleted → 1008; access mode authenticated → anon sockets 1008. */
  async #checkApp(): Promise<void> {
    const hub = this.ctx.storage.kv.get<HubIdentity>('hub');
    if (!hub) return;
    let gate;
    try {
      gate = await this.env.CONTROL.resolveGate({ appId: hub.appId, bearer: null });
    } catch (error) {
      console.error(`[realtime] app check of ${hub.appId} failed: ${String(error)}`);
      return;
    }
    if (!gate.ok) return;
    const app = gate.value.app;
    for (const client of [...this.#clients.values()]) {
      if (!app) this.#close(client, new ApiError('APP_NOT_FOUND', `App ${hub.appId} not found.`), 1008);
      else if (app.paused) this.#close(client, new ApiError('APP_PAUSED', `App ${app.id} is paused${app.pausedReason ? `: ${app.pausedReason}` : '.'}`), 1013);
      else if (app.accessMode === 'authenticated' && client.identity.role === 'anon') {
        this.#close(client, new ApiError('AUTH_REQUIRED', 'This app requires authentication. Anonymous access is disabled.'), 1008);
      }
    }
  }

  /** Makes sure the alarm is set; one long overdue (e.g. persisted across a restart) is set again. */
  async #ensureAlarm(): Promise<void> {
    const atMs = await this.ctx.storage.getAlarm();
    if (atMs === null || atMs < Date.now() - 2 * this.#limits.pollIntervalMs) await this.ctx.storage.setAlarm(Date.now() + this.#limits.pollIntervalMs);
  }

  // ---- the change feed ----

  #setFeed(feed: FeedState | null): void {
    this.#feed = feed;
    if (feed === null) this.ctx.storage.kv.delete('feed');
    else this.ctx.storage.kv.put('feed', feed);
  }

  /** Runs the pump (poll, deliver, catch up) until there is nothing more; concurrent calls coalesce. */
  #runPump(): Promise<void> {
    if (this.#pump) {
      this.#again = true;
      return this.#pump;
    }
    this.#pump = (async () => {
      try {
        do {
          this.#again = false;
          if (await this.#step()) this.#again = true;
        } while (this.#again && this.#clients.size > 0);
      } catch (error) {
        console.error(`[realtime] change feed step failed: ${error instanceof ApiError ? `${error.code} ${error.message}` : String(error)}`);
      } finally {
        this.#pump = null;
      }
      if (this.#clients.size > 0) await this.#ensureAlarm();
    })();
    return this.#pump;
  }

  /** One poll and one catch-up page. Out: true when more work is waiting. */
  async #step(): Promise<boolean> {
    if (this.#clients.size === 0) return false;
    if (this.#feed === undefined) this.#feed = this.ctx.storage.kv.get<FeedState>('feed') ?? null;
    if (this.#feed === null) {
      this.#setFeed(startFeed(parsePoll(await this.#execute('service', null, pollStatements(null, pageLimit)))));
      return this.#catchingUp().length > 0;
    }
    const before = this.#feed;
    const poll = parsePoll(await this.#execute('service', null, pollStatements(before, pageLimit)));
    // The feed may have been reset (last socket left) while the poll was out.
    if (this.#feed !== before) return true;
    const step = advance(before, poll, pageLimit);
    // The cursor moves only after delivery: if it fails (e.g. the visibility check meets a database
    // error), the next poll reads the same changes again instead of skipping them. #deliver sends
    // nothing until all its checks have answered, so a retry sends no duplicate.
    if (step.deliver.length > 0) {
      await this.#deliver(step.deliver, (sub, row) => sub.position === null || (sub.position >= before.cursor && row.id > sub.position));
      if (this.#feed !== before) return true;
    }
    this.#setFeed(step.state);
    const more = await this.#catchUp(step.state);
    return step.more || more;
  }

  /** Subscriptions still catching up (resume position behind the feed), with their clients. */
  #catchingUp(): { client: Client; table: string; sub: Subscription }[] {
    const out: { client: Client; table: string; sub: Subscription }[] = [];
    for (const client of this.#clients.values()) {
      for (const [table, sub] of Object.entries(client.state.subscriptions)) if (sub.position !== null) out.push({ client, table, sub });
    }
    return out;
  }

  /**
   * One page of catch-up for every subscription resuming from behind the feed's cursor: the changes
   * after its position up to the cursor (all final), in id order, then it goes live. A position below
   * the prune watermark gets RESUME_GAP once per socket. Out: true when more pages are waiting.
   */
  async #catchUp(feed: FeedState): Promise<boolean> {
    if (feed.pending !== null) return false;
    const waiting = this.#catchingUp();
    for (const { client, sub } of waiting) {
      if (sub.position! >= feed.cursor) {
        sub.position = null;
        this.#saveState(client.identity.clientId, client.state);
      }
    }
    const behind = waiting.filter(({ sub }) => sub.position !== null);
    if (behind.length === 0) return false;
    const started = new Map(behind.map(({ sub }) => [sub, sub.position!]));
    const from = Math.min(...started.values());
    const page = parseCatchUp(await this.#execute('service', null, catchUpStatements(from, feed.cursor, pageLimit)));
    for (const { client, sub } of behind) {
      if (page.prunedThrough > started.get(sub)!) {
        if (!client.state.gapWarned) {
          client.state.gapWarned = true;
          this.#send(client.ws, JSON.stringify({
            type: 'warning',
            code: 'RESUME_GAP',
            since: started.get(sub),
            oldest_available: page.prunedThrough + 1,
            message: `Changes after ${started.get(sub)} up to ${page.prunedThrough} are no longer retained; the stream resumes after them.`,
            remediation: 'Refetch the subscribed tables over REST, then keep the last change id you receive to resume from next time.',
          }));
        }
        started.set(sub, page.prunedThrough);
      }
    }
    const eligible = (sub: Subscription, row: ChangeRow) => started.has(sub) && sub.position === started.get(sub) && row.id > started.get(sub)!;
    // A gap moves the position up to the watermark; eligibility compares with the moved value.
    for (const [sub, position] of started) if (sub.position !== null && sub.position < position) sub.position = position;
    await this.#deliver(page.rows, eligible);
    const full = page.rows.length >= pageLimit;
    const reached = full ? page.rows.at(-1)!.id : feed.cursor;
    for (const { client, sub } of behind) {
      if (sub.position === started.get(sub)) {
        sub.position = Math.max(sub.position, reached) >= feed.cursor ? null : Math.max(sub.position, reached);
        this.#saveState(client.identity.clientId, client.state);
      }
    }
    return full;
  }

  /**
   * Sends each change to the sockets subscribed to its table whose subscription is `eligible`, that
   * may SELECT its row image (service: always; anon and users: realtime.visible, one statement per
   * table per role) and whose filter matches — in id order.
   */
  async #deliver(rows: ChangeRow[], eligible: (sub: Subscription, row: ChangeRow) => boolean): Promise<void> {
    const tables = new Set(rows.map((row) => row.table_name));
    const anonTables = new Map<string, (string | null)[]>();
    const userTables = new Map<string, (string | null)[]>();
    for (const client of this.#clients.values()) {
      for (const [table, sub] of Object.entries(client.state.subscriptions)) {
        if (!tables.has(table) || !rows.some((row) => row.table_name === table && eligible(sub, row))) continue;
        if (client.identity.role === 'anon') anonTables.set(table, [null]);
        if (client.identity.role === 'user') {
          const users = userTables.get(table) ?? [];
          if (!users.includes(client.identity.userId)) users.push(client.identity.userId);
          userTables.set(table, users);
        }
      }
    }
    const checks = [visibilityCheck('anon', rows, anonTables), visibilityCheck('user', rows, userTables)].filter((c) => c.statements.length > 0);
    const visible = new Map<string, Set<number>>();
    // The user session runs as the batch's first user; realtime.visible sets each user's claims in turn.
    const firstUser = [...userTables.values()][0]?.[0] ?? null;
    const answers = await Promise.all(checks.map(async (check) =>
      parseVisibility(check, await this.#execute(check.role, check.role === 'user' ? firstUser : null, check.statements))));
    for (const answer of answers) for (const [key, ids] of answer) visible.set(key, ids);
    for (const row of rows) {
      let message: string | null = null;
      for (const client of this.#clients.values()) {
        const sub = client.state.subscriptions[row.table_name];
        if (!sub || !eligible(sub, row)) continue;
        if (client.identity.role !== 'service' && !visible.get(viewerKey(client.identity))?.has(row.id)) continue;
        if (!matchesFilter(sub.filter, row)) continue;
        message ??= changeMessage(row);
        this.#send(client.ws, message);
      }
    }
  }
}
