/**
 * A small real-HTTP client for integration tests: every call goes through the router over TCP.
 */
import { inject } from 'vitest';
import { lostByDevProxy } from '../../scripts/lib/dev-proxy.ts';

/** What a test sees of a response. */
export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** Options of {@link api}. */
export interface ApiOptions {
  method?: string;
  /** JSON body (objects are serialised); a string is sent as-is. */
  body?: unknown;
  /** Bearer token; `null` sends none. Default: the bootstrap service key. */
  token?: string | null;
  headers?: Record<string, string>;
  /** Base URL. Default: the shared test platform. */
  baseUrl?: string;
  /**
   * Where the request goes instead of the network: e.g. an in-process platform's `fetch`
   * (test/helpers/in-process.ts), called with the path. Default: real HTTP to `baseUrl`.
   */
  via?: Via;
}

/** A request sender for {@link ApiOptions.via}: the path (with query) and the request init. */
export type Via = (path: string, init: RequestInit) => Promise<Response>;

/** Calls the platform and parses JSON (when the body is JSON). */
export async function api<T = any>(path: string, options: ApiOptions = {}): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? inject('serviceKey') : options.token;
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const init: RequestInit = { method: options.method ?? (body === undefined ? 'GET' : 'POST'), headers, body };
  let response: Response;
  let text: string;
  for (let attempt = 1; ; attempt++) {
    response = options.via ? await options.via(path, init) : await fetch(`${options.baseUrl ?? inject('platformUrl')}${path}`, init);
    text = await response.text();
    // The dev proxy's lost request (scripts/lib/dev-proxy.ts) never reached the platform.
    if (options.via || attempt === 3 || !lostByDevProxy(response.status, text)) break;
  }
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

/** A unique, valid app name for one test. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

/** Polls GET /apps/{id}/status until it leaves `provisioning`. */
export async function waitForApp(appId: string, options: { token?: string; baseUrl?: string; via?: Via; timeoutMs?: number } = {}) {
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  for (;;) {
    const status = await api(`/apps/${appId}/status`, { token: options.token, baseUrl: options.baseUrl, via: options.via });
    if (status.status !== 200) throw new Error(`status ${status.status}: ${status.text}`);
    if (status.body.provisioning_status !== 'provisioning') return status.body;
    if (Date.now() > deadline) throw new Error(`app ${appId} still provisioning after ${options.timeoutMs ?? 90_000} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Creates an app and waits until it is ready; returns its id and anon key. */
export async function createReadyApp(prefix = 'it', options: { token?: string; baseUrl?: string; via?: Via } = {}): Promise<{ appId: string; anonKey: string; name: string }> {
  const name = uniqueName(prefix);
  const created = await api('/init', { body: { name }, token: options.token, baseUrl: options.baseUrl, via: options.via });
  if (created.status !== 201) throw new Error(`init failed: ${created.status} ${created.text}`);
  const status = await waitForApp(created.body.app_id, options);
  if (status.provisioning_status !== 'ready') throw new Error(`app not ready: ${JSON.stringify(status)}`);
  return { appId: created.body.app_id, anonKey: created.body.anon_key, name };
}
