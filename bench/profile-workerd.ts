/**
 * `npm run bench:profile-workerd`: where each Worker's JavaScript time goes on the REST hot path,
 * measured inside workerd itself (unlike bench/profile.ts, which runs the Workers' code in Node).
 *
 * Starts a bench platform, seeds one row as an end user, finds workerd's own V8 inspector (the
 * `--inspector-addr` miniflare gives it lists one target per Worker, `core:user:{script}`), starts the
 * CPU profiler in every platform Worker, drives `GET /v1/{app}/items/{id}` (or `GET /v1/{app}/config`
 * with PROFILE_TARGET=config) with autocannon, and prints per Worker: JavaScript ms per request and
 * the functions with the most self time. What is not JavaScript — HTTP parsing, the hops between
 * isolates, the database fetch — is workerd's native time: compare with the bench's CPU ms/request.
 * Env: BENCH_SECONDS (6), PROFILE_TOP (15).
 */
import { execFileSync } from 'node:child_process';
import WebSocket from 'ws';
import { benchClient, measure, startBenchPlatform } from './lib.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Inspector {
  worker: string;
  send: (method: string, params?: Record<string, unknown>) => Promise<any>;
  close: () => void;
}

/** The inspector targets of workerd processes in process group `pgid` (the `/json` list of whichever port serves it). */
async function workerdTargets(pgid: number): Promise<{ id: string; webSocketDebuggerUrl: string }[]> {
  const pids = execFileSync('pgrep', ['-g', String(pgid), 'workerd']).toString().trim().split('\n');
  const listening = execFileSync('ss', ['-ltnpH']).toString().split('\n').filter((line) => pids.some((pid) => line.includes(`pid=${pid},`)));
  for (const line of listening) {
    const port = /:(\d+)$/.exec(line.split(/\s+/)[3] ?? '')?.[1];
    if (!port) continue;
    try {
      const res = await fetch(`http://127.0.0.1:${port}/json`, { signal: AbortSignal.timeout(500) });
      const list: unknown = res.ok ? await res.json() : null;
      if (Array.isArray(list) && list.some((t) => String(t.id).startsWith('core:user:'))) return list;
    } catch {
      /* not the inspector */
    }
  }
  throw new Error('workerd inspector not found');
}

async function connect(worker: string, url: string): Promise<Inspector> {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let next = 0;
  const pending = new Map<number, (result: unknown) => void>();
  ws.on('message', (data) => {
    const message = JSON.parse(String(data));
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
    pending.delete(message.id);
  });
  return {
    worker,
    send: (method, params = {}) => new Promise((resolve) => {
      const id = ++next;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    }),
    close: () => ws.close(),
  };
}

const samplingMicros = 100;
const platform = await startBenchPlatform();
try {
  const { post, readyApp } = benchClient(platform);
  const { app_id: appId } = await readyApp('bench-profile-workerd');
  await post(`/v1/${appId}/schema/apply`, { schema: { tables: { items: { columns: {
    id: { type: 'uuid', primaryKey: true, default: 'gen_random_uuid()' }, user_id: { type: 'uuid' }, title: { type: 'text', nullable: false },
  } } } } });
  await post(`/v1/${appId}/rls`, { table_name: 'items', user_column: 'user_id' });
  const anon = { 'content-type': 'application/json' };
  await post(`/auth/${appId}/signup`, { email: 'profile@example.com', password: 'Bench!pass1' }, anon);
  const login = await post(`/auth/${appId}/login`, { email: 'profile@example.com', password: 'Bench!pass1' }, anon);
  const user = { authorization: `Bearer ${login.access_token}`, 'content-type': 'application/json' };
  const [row] = await post(`/v1/${appId}/items`, [{ title: 'profiled', user_id: login.user.id }], user);
  const target = process.env.PROFILE_TARGET === 'config'
    ? { name: 'GET /v1/{app}/config (service key)', url: `${platform.url}/v1/${appId}/config`, headers: { authorization: `Bearer ${platform.serviceKey}` } }
    : { name: 'GET /v1/{app}/items/{id} (end user)', url: `${platform.url}/v1/${appId}/items/${row.id}`, headers: user };

  const workers = ['router', 'control', 'data'];
  const targets = await workerdTargets(platform.processGroup);
  const inspectors = await Promise.all(workers.map((w) => {
    const t = targets.find((x) => x.id === `core:user:butterbase-${w}`);
    if (!t) throw new Error(`no inspector target for ${w}`);
    return connect(w, t.webSocketDebuggerUrl);
  }));
  for (const inspector of inspectors) {
    await inspector.send('Profiler.enable');
    await inspector.send('Profiler.setSamplingInterval', { interval: samplingMicros });
    await inspector.send('Profiler.start');
  }
  const run = await measure(target.name, target, { connections: 16, durationSeconds: Number(process.env.BENCH_SECONDS ?? 6) });
  const requests = run.requestsPerSecond * Number(process.env.BENCH_SECONDS ?? 6);
  console.log(`\n${target.name}: ${run.requestsPerSecond.toFixed(0)} req/s under the profiler (16 connections)`);
  const top = Number(process.env.PROFILE_TOP ?? 15);
  for (const inspector of inspectors) {
    const { profile } = await inspector.send('Profiler.stop') as { profile: { nodes: ProfileNode[]; samples: number[] } };
    inspector.close();
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    const self = new Map<string, number>();
    let busy = 0;
    for (const id of profile.samples) {
      const frame = nodes.get(id)!.callFrame;
      if (frame.functionName === '(idle)') continue;
      busy++;
      const key = `${frame.functionName || '(anonymous)'}${frame.url ? ` ${frame.url.split('/').pop()}:${frame.lineNumber + 1}` : ''}`;
      self.set(key, (self.get(key) ?? 0) + 1);
    }
    const msPerRequest = (busy * samplingMicros) / 1000 / Math.max(1, requests);
    console.log(`\n${inspector.worker}: ${msPerRequest.toFixed(2)} ms of JavaScript per request (${busy} samples at ${samplingMicros} µs)`);
    for (const [name, count] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`  ${((100 * count) / busy).toFixed(1).padStart(5)}%  ${name}`);
    }
  }
} finally {
  await platform.stop();
}
