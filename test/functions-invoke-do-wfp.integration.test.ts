/**
 * ctx.invokeDO under the Workers for Platforms runner: the function is uploaded to a local fake of
 * the Cloudflare API and dispatched through the fake DISPATCHER of test/fixtures/wfp-functions, so
 * user code reaches ctx.invokeDO only through its one service binding (FunctionSession) with the
 * signed session token — whose claims, not the caller's arguments, fix the app. The DO side is the
 * real hosting Worker (DoInvoker → UserObjectHost), the same as under the Worker Loader.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '../scripts/lib/platform.ts';
import { startWfpPlatform, type WfpPlatform } from './helpers/wfp-platform.ts';
import { api, createReadyApp } from './helpers/api.ts';
import { siteRequest } from './helpers/hosting.ts';


let wfp: WfpPlatform;
let platform: Platform;
let appId: string;
let otherAppId: string;
let subdomain: string;

const call = (path: string, options: Parameters<typeof api>[1] = {}) => api(path, { baseUrl: platform.url, token: platform.serviceKey, ...options });

const counter = `export class Counter {
  constructor(public state: DurableObjectState) {}
  async fetch(req: Request): Promise<Response> {
    const n = ((await this.state.storage.get<number>('n')) ?? 0) + 1;
    await this.state.storage.put('n', n);
    return Response.json({ n, caller: req.headers.get('x-butterbase-caller'), depth: req.headers.get('x-butterbase-loop-depth') });
  }
}`;

const relay = `export default async function handler(req: Request, ctx: any): Promise<Response> {
  const { name, instance } = await req.json() as { name: string; instance: string };
  try {
    const res = await ctx.invokeDO(name, instance, { hello: 'do' });
    return Response.json({ status: res.status, body: await res.json() });
  } catch (error: any) {
    return Response.json({ error: { code: error.code, message: error.message } }, { status: 418 });
  }
}`;

/** An app-host request to the class's `/_do` edge on this test's platform. */
const edgeGet = (path: string) => siteRequest(subdomain, path, { platformUrl: platform.url });

beforeAll(async () => {
  wfp = await startWfpPlatform('wfp-ido', 'functions');
  ({ platform } = wfp);
  ({ appId } = await createReadyApp('wfp-ido', { baseUrl: platform.url, token: platform.serviceKey }));
  ({ appId: otherAppId } = await createReadyApp('wfp-ido-other', { baseUrl: platform.url, token: platform.serviceKey }));
  const listed = await call('/apps');
  subdomain = (listed.body.apps as { id: string; subdomain: string }[]).find((a) => a.id === appId)!.subdomain;
  const deployedClass = await call(`/v1/${appId}/durable-objects`, { body: { name: 'counter', code: counter, access_mode: 'public' } });
  expect(deployedClass.body.status, deployedClass.text).toBe('READY');
  for (const app of [appId, otherAppId]) {
    const deployed = await call(`/v1/${app}/functions`, { body: { name: 'relay', code: relay, triggers: [{ type: 'http', config: { auth: 'none' } }] } });
    expect(deployed.status, deployed.text).toBe(201);
  }
}, 300_000);

afterAll(async () => {
  await wfp?.stop();
});

describe('ctx.invokeDO on Workers for Platforms', () => {
  it('reaches the app\'s class through the session binding; state is shared with the /_do edge', async () => {
    const first = await call(`/v1/${appId}/fn/relay`, { body: { name: 'counter', instance: 'wfp' } });
    expect(first.status, first.text).toBe(200);
    // Dispatched, not loaded: the fake DISPATCHER marked the response.
    expect(JSON.parse(first.headers.get('x-fake-dispatch')!)).toMatchObject({ name: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(first.body).toEqual({ status: 200, body: { n: 1, caller: 'fn:relay', depth: '1' } });
    const edge = await edgeGet('/_do/counter/wfp');
    expect(edge.status, edge.text).toBe(200);
    expect(JSON.parse(edge.text)).toMatchObject({ n: 2, caller: null });
    expect((await call(`/v1/${appId}/fn/relay`, { body: { name: 'counter', instance: 'wfp' } })).body.body.n).toBe(3);
  });

  it('the token fixes the app: another app\'s function gets RESOURCE_NOT_FOUND for the class', async () => {
    const answer = await call(`/v1/${otherAppId}/fn/relay`, { body: { name: 'counter', instance: 'wfp' } });
    expect(answer.status, answer.text).toBe(418);
    expect(answer.body.error.code).toBe('RESOURCE_NOT_FOUND');
  });
});
