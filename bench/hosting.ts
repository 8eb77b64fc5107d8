/**
 * `npm run bench:hosting`: app-host serving through the platform, in one run:
 *   - a static asset GET on the app host (router: gate by subdomain → hosting: active deployment,
 *     manifest, R2 get) beside a bare R2 get through a binding in the same runtime (bench/hosting-direct);
 *   - a user Durable Object request at /_do/{name}/{instance} (router → hosting → UserObjectHost →
 *     Worker Loader facet, counting in storage) beside a bare Durable Object doing the same;
 *   requests/s, p50/p99 and the ratio. Edge SSR is not built yet (its routes answer 501).
 * Env: BENCH_CONNECTIONS (16), BENCH_SECONDS (10).
 */
import { zipSync, strToU8 } from 'fflate';
import { benchClient, measure, printTable, startBenchPlatform, startBenchWorker } from './lib.ts';

const asset = `console.log(${JSON.stringify('x'.repeat(4000))});\n`;
const counter = 'export class Counter {\n  constructor(public state: DurableObjectState) {}\n  async fetch() { const n = ((await this.state.storage.get("n")) ?? 0) + 1; await this.state.storage.put("n", n); return Response.json({ n }); }\n}';

const platform = await startBenchPlatform();
const direct = await startBenchWorker('bench/hosting-direct/wrangler.toml');
try {
  const { service, call, readyApp } = benchClient(platform);
  const init = await readyApp('bench-hosting');
  const appId = init.app_id;
  const created = await call('POST', `/v1/${appId}/frontend/deployments`, { framework: 'react-vite' });
  const zip = zipSync({ 'index.html': strToU8('<!doctype html><script src="/assets/index-B7x9Qa2c.js"></script>'), 'assets/index-B7x9Qa2c.js': strToU8(asset) });
  await fetch(created.uploadUrl, { method: 'PUT', headers: { 'content-type': 'application/zip' }, body: zip });
  await call('POST', `/v1/${appId}/frontend/deployments/${created.id}/start`);
  for (;;) {
    const status = (await call('GET', `/v1/${appId}/frontend/deployments/${created.id}`)).status;
    if (status === 'READY') break;
    if (status === 'ERROR') throw new Error('deployment failed');
    await new Promise((r) => setTimeout(r, 200));
  }
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
  console.log('Edge SSR: not built yet (its routes answer 501 FEATURE_NOT_AVAILABLE), so no SSR row.');
} finally {
  await direct.stop();
  await platform.stop();
}
