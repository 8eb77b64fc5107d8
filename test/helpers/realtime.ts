/**
 * Realtime test helpers: a real `ws` client that records every message, end users signed in over
 * the real auth routes, and the `messages` table of the README walkthrough (user isolation with a
 * public-read column, realtime enabled).
 */
import { inject } from 'vitest';
import WebSocket from 'ws';
import { api } from './api.ts';

/** A message the server sent (parsed JSON). */
export type ServerMessage = Record<string, any> & { type: string };

/** A connected realtime socket that records what it receives. */
export class RealtimeSocket {
  readonly messages: ServerMessage[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.messages.push(JSON.parse(data.toString()) as ServerMessage);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      for (const wake of this.#waiters.splice(0)) wake();
    }));
  }

  /** Opens a socket and waits until it is open (the server may still refuse it with a close). */
  static async open(url: string, headers: Record<string, string> = {}): Promise<RealtimeSocket> {
    const ws = new WebSocket(url, { headers });
    const socket = new RealtimeSocket(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return socket;
  }

  /** Opens a socket and waits for `connected`. */
  static async connect(url: string, headers: Record<string, string> = {}): Promise<RealtimeSocket> {
    const socket = await RealtimeSocket.open(url, headers);
    await socket.next((m) => m.type === 'connected');
    return socket;
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Waits until `done` holds over the messages so far (or the socket closes). @throws on timeout. */
  async until(done: (messages: ServerMessage[]) => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.messages)) {
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error(`socket closed while waiting for ${what}: ${JSON.stringify(this.messages.slice(-5))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; last messages: ${JSON.stringify(this.messages.slice(-5))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1000));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The first message (from `from` on) matching `match`, waiting for it. */
  async next(match: (m: ServerMessage) => boolean, timeoutMs = 20_000, from = 0): Promise<ServerMessage> {
    await this.until((ms) => ms.slice(from).some(match), timeoutMs, 'a matching message');
    return this.messages.slice(from).find(match)!;
  }

  /** Sends a message and waits for the next message of `type` after it. */
  async request(message: unknown, type: string, timeoutMs = 20_000): Promise<ServerMessage> {
    const from = this.messages.length;
    this.send(message);
    return this.next((m) => m.type === type, timeoutMs, from);
  }

  /** Subscribes and waits for the ack. */
  async subscribe(table: string, extra: Record<string, unknown> = {}): Promise<ServerMessage> {
    return this.request({ type: 'subscribe', table, ...extra }, 'subscribed');
  }

  /** The `change` messages so far. */
  changes(table?: string): ServerMessage[] {
    return this.messages.filter((m) => m.type === 'change' && (table === undefined || m.table === table));
  }

  close(code = 1000): void {
    this.ws.close(code);
  }
}

/** The realtime URL of an app on a platform (`?token=` / `?since=` when given). */
export function realtimeUrl(appId: string, options: { token?: string | null; since?: number | string; baseUrl?: string } = {}): string {
  const base = (options.baseUrl ?? inject('platformUrl')).replace(/^http/, 'ws');
  const query = new URLSearchParams();
  if (options.token) query.set('token', options.token);
  if (options.since !== undefined) query.set('since', String(options.since));
  const text = query.toString();
  return `${base}/v1/${appId}/realtime${text ? `?${text}` : ''}`;
}

/** An end user signed up and signed in over the real auth routes. */
export interface EndUser {
  id: string;
  email: string;
  token: string;
}

/** Signs a new end user up and in. */
export async function signedInUser(appId: string, name: string, options: { baseUrl?: string } = {}): Promise<EndUser> {
  const email = `${name}-${crypto.randomUUID().slice(0, 8)}@example.com`;
  const password = 'Str0ng!pass-for-tests';
  // Each user signs up from an address of its own (the router passes cf-connecting-ip on), past the per-IP auth limits.
  const headers = { 'cf-connecting-ip': `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}` };
  const signup = await api(`/auth/${appId}/signup`, { token: null, body: { email, password }, baseUrl: options.baseUrl, headers });
  if (signup.status !== 201) throw new Error(`signup failed: ${signup.status} ${signup.text}`);
  const login = await api(`/auth/${appId}/login`, { token: null, body: { email, password }, baseUrl: options.baseUrl, headers });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${login.text}`);
  return { id: login.body.user.id, email, token: login.body.access_token };
}

/** The walkthrough's `messages` table: user isolation on user_id, public read on `published`, realtime on. */
export const messagesSchema = {
  tables: {
    messages: {
      columns: {
        id: { type: 'uuid', primaryKey: true, default: 'gen_random_uuid()' },
        user_id: { type: 'uuid' },
        room: { type: 'text' },
        body: { type: 'text', nullable: false },
        published: { type: 'boolean', default: 'false' },
      },
    },
  },
};

/** Creates the `messages` table with user isolation + public read and enables realtime on it. */
export async function setUpMessages(appId: string, options: { token?: string; baseUrl?: string } = {}): Promise<void> {
  const applied = await api(`/v1/${appId}/schema/apply`, { body: { schema: messagesSchema }, ...options });
  if (applied.status !== 200) throw new Error(`schema apply failed: ${applied.text}`);
  const rls = await api(`/v1/${appId}/rls`, { body: { table_name: 'messages', user_column: 'user_id', public_read_column: 'published' }, ...options });
  if (rls.status !== 200) throw new Error(`rls failed: ${rls.text}`);
  const configured = await api(`/v1/${appId}/realtime/configure`, { body: { tables: ['messages'] }, ...options });
  if (configured.status !== 200) throw new Error(`configure failed: ${configured.text}`);
}
