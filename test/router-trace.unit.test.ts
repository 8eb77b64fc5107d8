/**
 * The router's subrequest trace (workers/router/trace.ts), which the benchmarks print: it counts the
 * calls made on each binding of a wrapped env, leaves named Durable Object namespaces to be counted
 * where they are used, and answers the counts in `x-bb-trace`.
 */
import { describe, expect, it } from 'vitest';
import { SubrequestTrace, tracedEnv, traceOf } from '../workers/router/trace.ts';

describe('SubrequestTrace', () => {
  it('counts each method call on each binding, passing arguments and results through', async () => {
    const trace = new SubrequestTrace();
    const env = tracedEnv({
      CONTROL: { resolveGate: async (input: { appId: string }) => ({ app: input.appId }), fetch: async () => new Response('ok') },
      RATE_LIMITER: { idFromName: (name: string) => name },
      APPS_DOMAIN: 'localhost',
    }, trace, ['RATE_LIMITER']);
    expect(await env.CONTROL.resolveGate({ appId: 'app_x' })).toEqual({ app: 'app_x' });
    await env.CONTROL.resolveGate({ appId: 'app_y' });
    expect(await (await env.CONTROL.fetch()).text()).toBe('ok');
    expect(env.RATE_LIMITER.idFromName('k')).toBe('k');
    expect(env.APPS_DOMAIN).toBe('localhost');
    traceOf(env)!.count('RATE_LIMITER.add', true);
    expect(Object.fromEntries(trace.awaited)).toEqual({ 'CONTROL.resolveGate': 2, 'CONTROL.fetch': 1 });
    expect(Object.fromEntries(trace.background)).toEqual({ 'RATE_LIMITER.add': 1 });
  });

  it('puts the counts in x-bb-trace, keeping status, headers and body', async () => {
    const trace = new SubrequestTrace();
    trace.count('DATA.fetch');
    const response = trace.annotate(new Response('body', { status: 201, headers: { 'x-request-id': 'r1' } }));
    expect(response.status).toBe(201);
    expect(response.headers.get('x-request-id')).toBe('r1');
    expect(JSON.parse(response.headers.get('x-bb-trace')!)).toEqual({ 'DATA.fetch': 1, background: {} });
    expect(await response.text()).toBe('body');
  });

  it('an env that was not traced has no trace', () => {
    expect(traceOf({})).toBeUndefined();
  });
});
