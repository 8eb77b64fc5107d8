/**
 * Deleting an app purges what its user code left outside the control database (issue 11), through
 * the real platform on Workers for Platforms: DELETE /apps/{id} → control queues
 * `butterbase-app-purge` → the hosting Worker's consumer empties the app's prefixes of the hosting
 * bucket and deletes the dispatch scripts of its Durable Object classes (`do-{app_id}`: on Workers for
 * Platforms their storage goes with the script's classes), Edge SSR deployments and function versions
 * from the (fake) Cloudflare API. Both Workers run their WfP fixtures against
 * test/fakes/cloudflare-api.ts; hosting's fixture (test/fixtures/purge-hosting) adds a read-only hook
 * that lists the bucket directly, so the assertions do not rest on the purge's own report. A second app, left in
 * place, keeps everything.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, repoRoot, startPlatform, type Platform, type WorkerConfig } from '../scripts/lib/platform.ts';
import { startFakeCloudflareApi, type FakeCloudflareApi } from './fakes/cloudflare-api.ts';
import { api, createReadyApp, type ApiOptions } from './helpers/api.ts';
import { siteRequest, zipOf } from './helpers/hosting.ts';
import { sharedTemplateDir, testLog } from './helpers/platform-process.ts';
import { wfpSettings } from './helpers/wfp-platform.ts';

let stateDir = '';
let fake: FakeCloudflareApi;
let platform: Platform;
const lines: string[] = [];
const fileLog = testLog('hosting-purge-platform');

function call(path: string, options: ApiOptions = {}) {
  return api(path, { baseUrl: platform.url, token: platform.serviceKey, ...options });
}

/** The app's subdomain (GET /apps). */
async function subdomainOf(appId: string): Promise<string> {
  return (await call('/apps')).body.apps.find((a: { id: string }) => a.id === appId).subdomain;
}
const site = (subdomain: string, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}) => siteRequest(subdomain, path, { ...options, platformUrl: platform.url });

/** Lists the hosting bucket under `prefix` through the fixture's hook (on the observer app's host). */
async function bucketKeys(observer: string, prefix: string): Promise<string[]> {
  const res = await site(observer, `/?prefix=${encodeURIComponent(prefix)}`, { headers: { 'x-test-inspect': 'sites' } });
  expect(res.status, res.text).toBe(200);
  return JSON.parse(res.text).keys;
}

/** Polls `check` until it returns true (bounded). */
async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Deploys a zip (static `frontend` or `edge-ssr`) and waits for READY. Out: the deployment id. */
async function deployZip(appId: string, base: 'frontend' | 'edge-ssr', zip: Uint8Array): Promise<string> {
  const created = await call(`/v1/${appId}/${base}/deployments`, { body: { framework: base === 'frontend' ? 'static' : 'other-edge' } });
  expect(created.status, created.text).toBe(201);
  const put = await fetch(created.body.uploadUrl, { method: 'PUT', headers: { 'content-type': 'application/zip' }, body: zip });
  expect(put.status, await put.text()).toBe(200);
  expect((await call(`/v1/${appId}/${base}/deployments/${created.body.id}/start`, { method: 'POST' })).status).toBe(200);
  let status = '';
  await eventually(`deployment ${created.body.id}`, async () => {
    status = (await call(`/v1/${appId}/${base}/deployments/${created.body.id}`)).body.status;
    return !['WAITING', 'UPLOADING', 'BUILDING'].includes(status);
  }, 60_000);
  expect(status).toBe('READY');
  return created.body.id;
}

/** A class that keeps a key-value note and, where the storage has SQL, a table of entries. */
const notebook = `export class Notebook {
  constructor(public state: DurableObjectState) {}
  async fetch(req: Request): Promise<Response> {
    const sql = (this.state.storage as any).sql;
    if (req.method === "POST") {
      await this.state.storage.put("note", await req.text());
      if (sql) {
        sql.exec("CREATE TABLE IF NOT EXISTS entries (body TEXT)");
        sql.exec("INSERT INTO entries VALUES (?)", "entry");
      }
    }
    const entries = sql ? sql.exec("SELECT count(*) AS n FROM sqlite_master WHERE name = 'entries'").one().n : 0;
    return Response.json({ note: (await this.state.storage.get("note")) ?? null, entries });
  }
}`;

interface AppUnderTest {
  appId: string;
  subdomain: string;
  staticId: string;
  ssrId: string;
  /** A deployment whose zip is uploaded but not built (it waits under uploads/). */
  pendingId: string;
  versionIds: string[];
  /** The dispatch script of its Durable Object classes. */
  doScript: string;
}

/**
 * An app with a READY static deployment, a READY SSR deployment (active), an uploaded but unstarted
 * deployment, a function deployed twice and a Notebook class (in its Durable Object script).
 */
async function populatedApp(prefix: string): Promise<AppUnderTest> {
  const { appId } = await createReadyApp(prefix, { baseUrl: platform.url, token: platform.serviceKey });
  const subdomain = await subdomainOf(appId);
  const staticId = await deployZip(appId, 'frontend', zipOf({ 'index.html': `<h1>${prefix}</h1>`, 'assets/app.js': 'console.log(1)' }));
  const ssrId = await deployZip(appId, 'edge-ssr', zipOf({ '_worker.js': 'export default { fetch() { return new Response("ssr page"); } };', 'static.txt': 'asset' }));
  const pending = await call(`/v1/${appId}/frontend/deployments`, { body: { framework: 'static' } });
  expect(pending.status, pending.text).toBe(201);
  const put = await fetch(pending.body.uploadUrl, { method: 'PUT', headers: { 'content-type': 'application/zip' }, body: zipOf({ 'index.html': 'later' }) });
  expect(put.status, await put.text()).toBe(200);
  const versionIds: string[] = [];
  for (const v of [1, 2]) {
    const deployed = await call(`/v1/${appId}/functions`, { body: { name: 'hello', code: `export default async function handler() { return Response.json({ v: ${v} }); }` } });
    expect(deployed.status, deployed.text).toBe(201);
    versionIds.push(deployed.body.versionId);
  }
  const registered = await call(`/v1/${appId}/durable-objects`, { body: { name: 'notebook', code: notebook, access_mode: 'public' } });
  expect(registered.body.status, registered.text).toBe('READY');
  const doScript = `do-${appId}`;
  expect(fake.scripts.get(doScript)?.durableObjectClasses).toEqual(['Notebook']);
  return { appId, subdomain, staticId, ssrId, pendingId: pending.body.id, versionIds, doScript };
}

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'bb-hosting-purge-'));
  fake = await startFakeCloudflareApi(wfpSettings);
  const dispatchVars = {
    CLOUDFLARE_API_URL: fake.url,
    CLOUDFLARE_ACCOUNT_ID: wfpSettings.accountId,
    DISPATCH_NAMESPACE: wfpSettings.namespace,
    CLOUDFLARE_API_TOKEN: wfpSettings.apiToken,
  };
  platform = await startPlatform({
    stateDir, port: 0, dbPort: await freePort(), templateDir: sharedTemplateDir, logLevel: 'log',
    log: (line) => {
      lines.push(line);
      fileLog(line);
    },
    vars: { functions: dispatchVars, hosting: dispatchVars },
    configs: {
      functions: (config: WorkerConfig) => ({ ...config, main: join(repoRoot, 'test/fixtures/wfp-functions/index.ts') }),
      hosting: (config: WorkerConfig) => ({ ...config, main: join(repoRoot, 'test/fixtures/purge-hosting/index.ts') }),
    },
  });
});

afterAll(async () => {
  await platform?.stop();
  await fake?.close();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

describe('DELETE /apps/{id} purges the app\'s hosting state', () => {
  it('removes its site files and its Durable Object, SSR and function scripts; another app keeps all of its own', async () => {
    const doomed = await populatedApp('purged');
    const kept = await populatedApp('kept');

    // Before: everything the purge must remove is there (so the checks below can fail).
    const doomedFiles = await bucketKeys(kept.subdomain, `sites/${doomed.appId}/`);
    expect(doomedFiles).toEqual(expect.arrayContaining([
      `sites/${doomed.appId}/${doomed.staticId}/files/index.html`,
      `sites/${doomed.appId}/${doomed.ssrId}/worker/_worker.js`,
    ]));
    expect(await bucketKeys(kept.subdomain, `uploads/${doomed.appId}/`)).toEqual([`uploads/${doomed.appId}/${doomed.pendingId}.zip`]);
    for (const script of [doomed.doScript, doomed.ssrId, ...doomed.versionIds]) expect(fake.scripts.has(script), script).toBe(true);

    const deleted = await call(`/apps/${doomed.appId}`, { method: 'DELETE' });
    expect(deleted.status, deleted.text).toBe(200);

    await eventually('the purge of the deleted app', async () =>
      (await bucketKeys(kept.subdomain, `sites/${doomed.appId}/`)).length === 0
      && [doomed.doScript, doomed.ssrId, ...doomed.versionIds].every((s) => !fake.scripts.has(s)));
    expect(await bucketKeys(kept.subdomain, `uploads/${doomed.appId}/`)).toEqual([]);
    const report = lines.find((l) => l.includes(`[hosting] purged app ${doomed.appId}:`));
    expect(report, lines.filter((l) => l.includes('[hosting]')).join('\n')).toMatch(new RegExp(`${doomedFiles.length + 1} site objects, 0 Durable Object instances \\(0 keys, 0 tables\\), 4 dispatch scripts`));
    for (const script of [doomed.doScript, doomed.ssrId]) {
      expect(fake.requests).toContainEqual({ method: 'DELETE', path: `/accounts/${wfpSettings.accountId}/workers/dispatch/namespaces/${wfpSettings.namespace}/scripts/${script}`, status: 200 });
    }

    // The other app is untouched: files, scripts (its Durable Object classes too), and it still serves.
    expect(await bucketKeys(kept.subdomain, `sites/${kept.appId}/`)).toEqual(expect.arrayContaining([`sites/${kept.appId}/${kept.staticId}/files/index.html`]));
    expect(await bucketKeys(kept.subdomain, `uploads/${kept.appId}/`)).toEqual([`uploads/${kept.appId}/${kept.pendingId}.zip`]);
    for (const script of [kept.doScript, kept.ssrId, ...kept.versionIds]) expect(fake.scripts.has(script), script).toBe(true);
    expect(fake.scripts.get(kept.doScript)!.durableObjectClasses).toEqual(['Notebook']);
    expect((await site(kept.subdomain, '/')).text).toBe('ssr page');
  });
});
