/**
 * `npm run bench:hosting`: app-host serving through the platform, in one run:
 *   - a static asset GET on the app host (router: gate by subdomain → hosting: active deployment,
 *     manifest, R2 get) beside a bare R2 get through a binding in the same runtime (bench/hosting-direct);
 *   - an Edge SSR request on the app host (router → hosting: active deployment, manifest, _routes.json →
 *     the bundle in its Worker Loader isolate) beside a bare hello Worker (bench/hello): a one-line
 *     `_worker.js` (the platform's overhead) and the SvelteKit fixture's `/` page (test/fixtures/ssr-app,
 *     a real server-side render without data fetches);
 *   - a user Durable Object request at /_do/{name}/{instance} (router → hosting → UserObjectHost →
 *     Worker Loader facet, counting in storage) beside a bare Durable Object doing the same;
 *   requests/s, p50/p99 and the ratio.
 * Env: BENCH_CONNECTIONS (16), BENCH_SECONDS (10).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { zipSync, strToU8, type Zippable } from 'fflate';
import { repoRoot } from '../scripts/lib/platform.ts';
import { benchClient, measure, printTable, startBenchPlatform, startBenchWorker, startHelloWorker } from './lib.ts';

/** The committed SvelteKit fixture build (scripts/build-ssr-fixture.ts), zipped. */
function ssrFixtureZip(): Uint8Array {
  const root = join(repoRoot, 'test/fixtures/ssr-app/output');
  const files: Zippable = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else files[relative(root, path)] = readFileSync(path);
    }
  };
  walk(root);
  return zipSync(files);
}

const asset = `console.log(${JSON.stringify('x'.repeat(4000))});\n`;
const counter = 'export class Counter {\n  constructor(public state: DurableObjectState) {}\n  async fetch() { const n = ((await this.state.storage.get("n")) ?? 0) + 1; await this.state.storage.put("n", n); return Response.json({ n }); }\n}';

const platform = await startBenchPlatform();
const direct = await startBenchWorker('bench/hosting-direct/wrangler.toml');
const hello = await startHelloWorker();
try {
  const { service, call, readyApp } = benchClient(platform);
  /** Creates, uploads, starts and waits for a deployment under `base`. */
  const deploy = async (appId: string, base: 'frontend' | 'edge-ssr', framework: string, zip: Uint8Array) => {
    const created = await call('POST', `/v1/${appId}/${base}/deployments`, { framework });
    await fetch(created.uploadUrl, { method: 'PUT', headers: { 'content-type': 'application/zip' }, body: zip });
    await call('POST', `/v1/${appId}/${base}/deployments/${created.id}/start`);
    for (;;) {
      const row = await call('GET', `/v1/${appId}/${base}/deployments/${created.id}`);
      if (row.status === 'READY') return;
      if (row.status === 'ERROR') throw new Error(`deployment failed: ${row.error}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const init = await readyApp('bench-hosting');
  const appId = init.app_id;
  await deploy(appId, 'frontend', 'react-vite', zipSync({ 'index.html': strToU8('<!doctype html><script src="/assets/index-B7x9Qa2c.js"></script>'), 'assets/index-B7x9Qa2c.js': strToU8(asset) }));
  const tinySsr = await readyApp('bench-ssr-tiny');
  await deploy(tinySsr.app_id, 'edge-ssr', 'other-edge', zipSync({ '_worker.js': strToU8('export default { fetch() { return new Response("hello"); } };') }));
  const svelte = await readyApp('bench-ssr-svelte');
  await deploy(svelte.app_id, 'edge-ssr', 'other-edge', ssrFixtureZip());
  const deployed = await call('POST', `/v1/${appId}/durable-objects`, { name: 'counter', code: counter, access_mode: 'public' });
  if (deployed.status !== 'READY') throw new Error(`DO deploy: ${JSON.stringify(deployed)}`);
  await fetch(`${direct.url}/r2/asset.js`, { method: 'PUT', body: asset });

  const port = new URL(platform.url).port;
  const appHost = { host: `${init.subdomain}.localhost:${port}` };
  const staticRows = [
    await measure('bare R2 get (binding)', { url: `${direct.url}/r2/asset.js` }),
    await measure('GET /assets/… on the app host', { url: `${platform.url}/assets/index-B7x9Qa2c.js`, headers: appHost }),
  ];
  printTable('Hosting: a 4 KB static asset', staticRows, staticRows[0]!);
  const objectRows = [
    await measure('bare Durable Object (counter)', { url: `${direct.url}/do/bench` }),
    await measure('GET /_do/counter/bench on the app host', { url: `${platform.url}/_do/counter/bench`, headers: appHost }),
  ];
  printTable('Hosting: a Durable Object request', objectRows, objectRows[0]!);
  const ssrRows = [
    await measure('bare hello Worker', { url: hello.url }),
    await measure('SSR: one-line _worker.js on the app host', { url: `${platform.url}/`, headers: { host: `${tinySsr.subdomain}.localhost:${port}` } }),
    await measure('SSR: SvelteKit page / on the app host', { url: `${platform.url}/`, headers: { host: `${svelte.subdomain}.localhost:${port}` } }),
  ];
  printTable('Hosting: an Edge SSR request', ssrRows, ssrRows[0]!);
} finally {
  await hello.stop();
  await direct.stop();
  await platform.stop();
}
