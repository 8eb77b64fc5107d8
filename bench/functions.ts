/**
 * `npm run bench:functions`: serverless functions through the router, in one run:
 *   - POST /v1/{app}/fn/{trivial}   beside a bare hello Worker (the runtime's floor),
 *   - POST /v1/{app}/fn/{one-query} (one ctx.db.query as the end user, RLS on) beside the REST GET of
 *     the same row as that user,
 *   - the first call after each deploy (a new version: a fresh isolate is loaded) beside warm calls,
 *   - the trivial invoke's added latency without load (one connection, interleaved with hello).
 * Env: BENCH_CONNECTIONS (16), BENCH_SECONDS (10), BENCH_DEPLOYS (10), BENCH_SEQUENTIAL (400).
 */
import { lostByDevProxy } from '../scripts/lib/dev-proxy.ts';
import { benchClient, measure, printLatencies, printTable, sequentialLatency, startBenchPlatform, startHelloWorker } from './lib.ts';

const platform = await startBenchPlatform();
const hello = await startHelloWorker();
try {
  const { service, post, readyApp } = benchClient(platform);
  const { app_id: appId } = await readyApp('bench-functions');
  await post(`/v1/${appId}/schema/apply`, {
    schema: { tables: { items: { columns: {
      id: { type: 'uuid', primaryKey: true, default: 'gen_random_uuid()' }, user_id: { type: 'uuid' }, title: { type: 'text', nullable: false },
    } } } },
  });
  await post(`/v1/${appId}/rls`, { table_name: 'items', user_column: 'user_id' });
  const anon = { 'content-type': 'application/json' };
  await post(`/auth/${appId}/signup`, { email: 'bench@example.com', password: 'Bench!pass1' }, anon);
  const login = await post(`/auth/${appId}/login`, { email: 'bench@example.com', password: 'Bench!pass1' }, anon);
  const user = { authorization: `Bearer ${login.access_token}`, 'content-type': 'application/json' };
  const [row] = await post(`/v1/${appId}/items`, [{ title: 'bench', user_id: login.user.id }], user);
  const none = [{ type: 'http', config: { auth: 'none' } }];
  await post(`/v1/${appId}/functions`, { name: 'trivial', code: 'export default async function handler() { return new Response("ok") }', triggers: none });
  await post(`/v1/${appId}/functions`, {
    name: 'one-query',
    code: `export default async function handler(req, ctx) {
      const { rows } = await ctx.db.query('SELECT * FROM items WHERE id = $1', [${JSON.stringify(row.id)}]);
      return Response.json(rows[0] ?? null);
    }`,
  });

  const baseline = await measure('hello Worker', { url: hello.url });
  const health = await measure('GET /health (router only)', { url: `${platform.url}/health` });
  const trivial = await measure('POST /fn/trivial', { url: `${platform.url}/v1/${appId}/fn/trivial`, method: 'POST', headers: anon, body: '{}' });
  printTable('Functions benchmark — trivial function', [baseline, health, trivial], baseline);
  // Under 16 connections p50 is mostly queueing behind the 2 cores; the added latency of an invoke is
  // measured without load: one connection, requests one after another, hello and invoke interleaved.
  const latencies = [];
  for (let round = 0; round < 2; round++) {
    latencies.push(await sequentialLatency('hello Worker', { url: hello.url }));
    latencies.push(await sequentialLatency('POST /fn/trivial', { url: `${platform.url}/v1/${appId}/fn/trivial`, method: 'POST', headers: anon, body: '{}' }));
  }
  printLatencies('Functions benchmark — trivial function, unloaded', latencies, latencies[0]!);
  const overhead = (latencies[1]!.p50Ms - latencies[0]!.p50Ms + latencies[3]!.p50Ms - latencies[2]!.p50Ms) / 2;
  console.log(`warm invoke overhead over the hello Worker, unloaded: p50 ${overhead >= 0 ? '+' : ''}${overhead.toFixed(2)} ms (mean of the two rounds; target ≤ 2 ms)`);
  console.log(`under 16 connections: p50 +${(trivial.p50Ms - baseline.p50Ms).toFixed(1)} ms (throughput-bound: ${trivial.requestsPerSecond.toFixed(0)} vs ${baseline.requestsPerSecond.toFixed(0)} req/s)`);

  const rest = await measure('GET /v1/{app}/items/{id} (REST)', { url: `${platform.url}/v1/${appId}/items/${row.id}`, headers: user });
  const query = await measure('POST /fn/one-query (ctx.db.query)', { url: `${platform.url}/v1/${appId}/fn/one-query`, method: 'POST', headers: user, body: '{}' });
  printTable('Functions benchmark — one row as the end user', [rest, query], rest);

  const deploys = Number(process.env.BENCH_DEPLOYS ?? 10);
  const timed = async () => {
    for (;;) {
      const started = performance.now();
      const res = await fetch(`${platform.url}/v1/${appId}/fn/cold`, { method: 'POST', headers: anon, body: '{}' });
      const body = await res.text();
      if (lostByDevProxy(res.status, body)) continue;
      if (!res.ok) throw new Error(`cold: ${res.status} ${body.slice(0, 200)}`);
      return performance.now() - started;
    }
  };
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < deploys; i++) {
    await post(`/v1/${appId}/functions`, { name: 'cold', code: `export default async function handler() { return new Response("v${i}") }`, triggers: none });
    cold.push(await timed());
    for (let j = 0; j < 5; j++) warm.push(await timed());
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  console.log(`\nFunctions benchmark — first call after a deploy (${deploys} deploys, sequential, one connection)`);
  console.log(`cold (first call after deploy): median ${median(cold).toFixed(1)} ms, max ${Math.max(...cold).toFixed(1)} ms`);
  console.log(`warm (next 5 calls each):       median ${median(warm).toFixed(1)} ms, max ${Math.max(...warm).toFixed(1)} ms`);
  console.log(`cold − warm: median +${(median(cold) - median(warm)).toFixed(1)} ms, worst +${(Math.max(...cold) - median(warm)).toFixed(1)} ms (target ≤ 50 ms)`);
} finally {
  await hello.stop();
  await platform.stop();
}
