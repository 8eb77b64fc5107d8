/**
 * The router reads a small request body to the end even when it answers on its own (here a 404), so
 * the runtime keeps the client's keep-alive connection open: under `wrangler dev` a connection closed
 * over an unread body loses the next request sent on it (workers/router/handler.ts `drainUnreadBody`).
 */
import { describe, expect, it } from 'vitest';
import router from '../workers/router/handler.ts';

const env = { APPS_DOMAIN: 'localhost' } as never;
const ctx = { waitUntil() {}, passThroughOnException() {} } as unknown as ExecutionContext;

function post(body: string, headers: Record<string, string> = { 'content-length': String(body.length) }): Request {
  return new Request('http://127.0.0.1:8787/no/such/route', { method: 'POST', body, headers: { host: '127.0.0.1:8787', ...headers } });
}

describe('the router and request bodies it does not forward', () => {
  it('reads a small body to the end before answering a route of its own', async () => {
    const request = post(JSON.stringify({ pad: 'x'.repeat(10_000) }));
    const response = await router.fetch(request, env, ctx);
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('RESOURCE_NOT_FOUND');
    expect(request.bodyUsed).toBe(true);
  });

  it('leaves alone a body over 1 MiB or of unknown length (those stream; it would not buffer them)', async () => {
    const large = post('x'.repeat(1024 * 1024 + 1));
    expect((await router.fetch(large, env, ctx)).status).toBe(404);
    expect(large.bodyUsed).toBe(false);
    const unknown = post('{}', {});
    expect((await router.fetch(unknown, env, ctx)).status).toBe(404);
    expect(unknown.bodyUsed).toBe(false);
  });
});
