/**
 * `npm run bench:profile`: where the platform's own JavaScript spends its time on the hot paths. The
 * real router, control and data code runs in this process (test/helpers/in-process.ts) over the
 * embedded database of a started platform, under Node's sampling CPU profiler (node:inspector), for
 * `GET /v1/{app}/config` with a service key and the REST GET by id / filtered list / insert as an
 * end user. Prints, per path, the share of samples by function (self time) and by source file, with
 * the database endpoint's own time (it runs in this process too) shown as its files.
 * What this cannot show: workerd's own costs (isolate hops, RPC serialisation), which `bench/rest.ts`
 * measures as CPU ms per request of the workerd process.
 * Env: BENCH_PROFILE_REQUESTS (2000 per path).
 */
import { register } from 'node:module';
import { Session } from 'node:inspector/promises';
import { relative } from 'node:path';
import { benchClient, startBenchPlatform } from './lib.ts';

register('./sql-text-loader.mjs', import.meta.url);
const { inProcessPlatform } = await import('../test/helpers/in-process.ts');

const requests = Number(process.env.BENCH_PROFILE_REQUESTS ?? 2000);
const root = new URL('..', import.meta.url).pathname;

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

function summarise(title: string, profile: Profile, perRequestMs: number): void {
  const self = new Map<number, number>();
  profile.samples.forEach((node, i) => self.set(node, (self.get(node) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  const place = (url: string) => {
    if (!url) return '(native / runtime)';
    const path = url.startsWith('file://') ? new URL(url).pathname : url;
    const rel = relative(root, path);
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(rel);
    return pkg ? `npm:${pkg[1]}` : rel.startsWith('..') ? path : rel;
  };
  let total = 0;
  for (const node of profile.nodes) {
    const time = self.get(node.id) ?? 0;
    if (node.callFrame.functionName === '(idle)' || node.callFrame.functionName === '(program)') continue;
    total += time;
    const file = place(node.callFrame.url);
    const fn = `${node.callFrame.functionName || '(anonymous)'}  ${file}:${node.callFrame.lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + time);
    byFile.set(file, (byFile.get(file) ?? 0) + time);
  }
  const top = (map: Map<string, number>, n: number) => [...map].sort((a, b) => b[1] - a[1]).slice(0, n)
    .map(([k, v]) => `| ${(100 * v / total).toFixed(1)} % | ${k} |`).join('\n');
  console.log(`\n### ${title} — ${perRequestMs.toFixed(2)} ms wall per request in-process (one at a time)\n`);
  console.log('| self time | source file or package |\n|---|---|');
  console.log(top(byFile, 12));
  console.log('\n| self time | function |\n|---|---|');
  console.log(top(byFunction, 15));
}

const platform = await startBenchPlatform();
try {
  const { post, readyApp } = benchClient(platform);
  const { app_id: appId } = await readyApp('bench-profile');
  await post(`/v1/${appId}/schema/apply`, { schema: { tables: { items: { columns: {
    id: { type: 'uuid', primaryKey: true, default: 'gen_random_uuid()' }, user_id: { type: 'uuid' }, title: { type: 'text', nullable: false }, n: { type: 'integer' },
  } } } } });
  await post(`/v1/${appId}/rls`, { table_name: 'items', user_column: 'user_id' });
  const anon = { 'content-type': 'application/json' };
  await post(`/auth/${appId}/signup`, { email: 'profile@example.com', password: 'Bench!pass1' }, anon);
  const login = await post(`/auth/${appId}/login`, { email: 'profile@example.com', password: 'Bench!pass1' }, anon);
  const user = { authorization: `Bearer ${login.access_token}`, 'content-type': 'application/json' };
  const rows = await post(`/v1/${appId}/items`, Array.from({ length: 200 }, (_, n) => ({ title: `item ${n}`, n, user_id: login.user.id })), user);
  const service = { authorization: `Bearer ${platform.serviceKey}` };

  const inProcess = await inProcessPlatform(platform.local, { control: { RATE_LIMIT_PER_MINUTE: '100000000' } });
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  const paths: [string, string, RequestInit][] = [
    ['GET /v1/{app}/config (service key)', `/v1/${appId}/config`, { headers: service }],
    ['GET /v1/{app}/items/{id} (end user)', `/v1/${appId}/items/${rows[0].id}`, { headers: user }],
    ['GET /v1/{app}/items?n=gte.100&order=n.asc&limit=20 (end user)', `/v1/${appId}/items?n=gte.100&order=n.asc&limit=20`, { headers: user }],
    ['POST /v1/{app}/items (end user)', `/v1/${appId}/items`, { method: 'POST', headers: user, body: JSON.stringify({ title: 'profiled', n: 1 }) }],
  ];
  for (const [title, path, init] of paths) {
    for (let i = 0; i < 50; i++) await (await inProcess.fetch(path, init)).arrayBuffer();
    await session.post('Profiler.start');
    const started = performance.now();
    for (let i = 0; i < requests; i++) {
      const res = await inProcess.fetch(path, init);
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`${title}: ${res.status}`);
    }
    const elapsed = performance.now() - started;
    const { profile } = await session.post('Profiler.stop') as { profile: Profile };
    summarise(title, profile, elapsed / requests);
    await inProcess.settle();
  }
  session.disconnect();
} finally {
  await platform.stop();
}
