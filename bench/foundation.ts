/**
 * `npm run bench:foundation`: requests/s and p50/p99 latency, in one run, for
 *   - a bare hello Worker in the same runtime (wrangler dev / workerd) — the floor,
 *   - GET /health (router only),
 *   - GET /v1/{app}/config (router → control RPC gate → control Worker → control database),
 * and the ratios between them, with CPU ms per request of workerd, this process (the embedded
 * database) and the load generator, measured in alternating rounds (lib.ts `measureInterleaved`).
 * Env: BENCH_CONNECTIONS (16), BENCH_SECONDS (10 per endpoint, split over BENCH_ROUNDS, 3).
 */
import { measureInterleaved, platformCpu, printTable, printTraces, startBenchPlatform, startHelloWorker, traceRequest, type Measurement } from './lib.ts';

const platform = await startBenchPlatform();
const hello = await startHelloWorker();
try {
  const auth = { authorization: `Bearer ${platform.serviceKey}` };
  const created = await (await fetch(`${platform.url}/init`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bench' }) })).json() as { app_id: string };
  for (;;) {
    const status = await (await fetch(`${platform.url}/apps/${created.app_id}/status`, { headers: auth })).json() as { provisioning_status: string };
    if (status.provisioning_status === 'ready') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const cpu = platformCpu(platform);
  // Alternating rounds, so the ratios compare figures taken side by side (lib.ts measureInterleaved).
  const [baseline, health, config] = await measureInterleaved([
    { name: 'hello Worker', request: { url: hello.url }, cpu: hello.cpu },
    { name: 'GET /health', request: { url: `${platform.url}/health` }, cpu },
    { name: 'GET /v1/{app}/config', request: { url: `${platform.url}/v1/${created.app_id}/config`, headers: auth }, cpu },
  ]) as [Measurement, Measurement, Measurement];
  printTable('Foundation benchmark', [baseline, health, config], baseline);
  printTraces('Foundation', [
    await traceRequest('GET /health', { url: `${platform.url}/health` }),
    await traceRequest('GET /v1/{app}/config', { url: `${platform.url}/v1/${created.app_id}/config`, headers: auth }),
  ]);
} finally {
  await hello.stop();
  await platform.stop();
}
