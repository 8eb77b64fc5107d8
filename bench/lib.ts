/**
 * Benchmark helpers: a platform instance for measuring, the hello-Worker baseline, and an
 * autocannon run (in its own process) that reports requests/s, latency percentiles and the CPU
 * milliseconds per request each process spent (from /proc: workerd, this process — which hosts the
 * embedded database — and the load generator).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lostByDevProxy } from '../scripts/lib/dev-proxy.ts';
import { freePort, processGroupMembers, repoRoot, startPlatform, type Platform } from '../scripts/lib/platform.ts';

/** One measured endpoint. */
export interface Measurement {
  name: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  /** CPU ms per request by process (`workerd` = the Workers' process group, `db` = this process). */
  cpuMsPerRequest: Record<string, number>;
  /** How many alternating rounds the figures sum ({@link measureInterleaved}); absent: one run. */
  rounds?: number;
}

/** Clock ticks per second of /proc's utime/stime (`getconf CLK_TCK`, 100 on Linux). */
const ticksPerSecond = 100;

/** utime + stime (+ waited-for children when `children`) of /proc/<pid>/stat, in ms; 0 if gone. */
function procCpuMs(stat: string, children = false): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the command: state(0) ppid pgrp … utime(11) stime(12) cutime(13) cstime(14).
  const ticks = Number(fields[11]) + Number(fields[12]) + (children ? Number(fields[13]) + Number(fields[14]) : 0);
  return (ticks * 1000) / ticksPerSecond;
}

/**
 * Total CPU ms of the live `workerd` processes in process group `pgid` (a `wrangler dev` run): the
 * Workers' runtime and wrangler's dev proxy. wrangler itself and its bundler's file watcher (esbuild
 * polls its inputs, ~0.13 of a core on an idle platform) are left out — they work whether or not
 * requests come, so counting them made a slow endpoint look costlier per request than it is.
 */
export function processGroupCpuMs(pgid: number): number {
  return processGroupMembers(pgid).filter((p) => p.command === 'workerd').reduce((total, p) => total + procCpuMs(p.stat), 0);
}

/** CPU ms of this process (the benchmark script and the embedded database it hosts). */
export function selfCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** Settings shared by every run in a benchmark. */
export interface RunSettings {
  connections: number;
  durationSeconds: number;
}

export const defaultSettings: RunSettings = {
  connections: Number(process.env.BENCH_CONNECTIONS ?? 16),
  durationSeconds: Number(process.env.BENCH_SECONDS ?? 10),
};

/**
 * Starts a platform in a temporary state folder with the per-app budget out of the way and
 * subrequest tracing available ({@link traceRequest}; only requests asking for it are traced), plus
 * `vars` per Worker.
 */
export async function startBenchPlatform(vars: NonNullable<Parameters<typeof startPlatform>[0]['vars']> = {}): Promise<Platform> {
  const stateDir = await mkdtemp(join(tmpdir(), 'bb-bench-'));
  return startPlatform({
    stateDir,
    port: 0,
    dbPort: 0,
    templateDir: join(repoRoot, 'node_modules/.cache/butterbase/pglite-template'),
    log: process.env.BENCH_LOG ? (line) => process.stderr.write(`${line}\n`) : () => {},
    logLevel: process.env.BENCH_LOG ? 'log' : undefined,
    vars: { ...vars, control: { RATE_LIMIT_PER_MINUTE: '100000000', ...vars.control }, router: { TRACE_SUBREQUESTS: 'true', ...vars.router } },
  });
}

/** Starts the hello Worker under its own `wrangler dev` (same workerd); returns its URL and a stop function. */
export function startHelloWorker(): Promise<{ url: string; cpu: CpuCounters; stop: () => Promise<void> }> {
  return startBenchWorker('bench/hello/wrangler.toml');
}

/**
 * Starts one bench Worker (its wrangler.toml, relative to the repo) under its own `wrangler dev` in
 * the same workerd as the platform; resolves once `/` answers 200.
 */
export async function startBenchWorker(config: string): Promise<{ url: string; cpu: CpuCounters; stop: () => Promise<void> }> {
  const port = await freePort();
  const stateDir = await mkdtemp(join(tmpdir(), 'bb-bench-worker-'));
  const child = spawn(
    join(repoRoot, 'node_modules/.bin/wrangler'),
    ['dev', '-c', join(repoRoot, config), '--ip', '127.0.0.1', '--port', String(port),
      '--inspector-port', String(await freePort()), '--persist-to', stateDir, '--log-level', 'error', '--show-interactive-dev-session=false'],
    { cwd: repoRoot, detached: true, stdio: 'ignore', env: { ...process.env, WRANGLER_REGISTRY_PATH: join(stateDir, 'registry'), WRANGLER_SEND_METRICS: 'false' } },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 240; i++) {
    try {
      if ((await fetch(url)).ok) break;
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return {
    url,
    cpu: { workerd: () => processGroupCpuMs(child.pid!) },
    stop: async () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    },
  };
}

/** CPU counters to difference around a run (cumulative ms). */
export type CpuCounters = Record<string, () => number>;

/** One autocannon run in its own process (`sh` reports the child's CPU from its own /proc stat). */
async function autocannonRun(
  request: { url: string; method?: string; headers?: Record<string, string>; body?: string },
  connections: number,
  durationSeconds: number,
): Promise<{ result: any; cpuMs: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'bb-bench-run-'));
  const out = join(dir, 'result.json');
  const args = [join(repoRoot, 'node_modules/autocannon/autocannon.js'), '-j', '-c', String(connections), '-d', String(durationSeconds), '-m', request.method ?? 'GET'];
  for (const [k, v] of Object.entries(request.headers ?? {})) args.push('-H', `${k}=${v}`);
  if (request.body !== undefined) args.push('-b', request.body);
  args.push(request.url);
  const script = 'out="$1"; shift; "$@" > "$out" 2>/dev/null; cat /proc/$$/stat';
  const stat = await new Promise<string>((resolve, reject) => {
    const child = spawn('sh', ['-c', script, 'sh', out, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (chunk) => (text += chunk));
    child.on('error', reject);
    child.on('close', () => resolve(text));
  });
  const result = JSON.parse(await readFile(out, 'utf8'));
  await rm(dir, { recursive: true, force: true });
  return { result, cpuMs: procCpuMs(stat.trim(), true) };
}

/**
 * Runs autocannon against one request shape (after a short warm-up) and summarises it; `cpu` names
 * the processes whose CPU time per request to report (the load generator is always reported).
 * One round of {@link measureInterleaved}.
 */
export async function measure(
  name: string,
  request: BenchTarget['request'],
  settings: RunSettings = defaultSettings,
  cpu: CpuCounters = {},
): Promise<Measurement> {
  const [measured] = await measureInterleaved([{ name, request, cpu }], settings, 1);
  return measured!;
}

/** One endpoint for {@link measureInterleaved}: its name, the request, and the CPU counters to report. */
export interface BenchTarget {
  name: string;
  request: { url: string; method?: 'GET' | 'POST' | 'PATCH'; headers?: Record<string, string>; body?: string };
  cpu?: CpuCounters;
}

/**
 * Measures several endpoints in alternating rounds (round 1: A, B, C…; round 2: A, B, C…), each round
 * `settings.durationSeconds / rounds` seconds per endpoint (at least 1), and sums them per endpoint:
 * requests/s is all requests over all the time, CPU ms per request all CPU over all requests, p50 and
 * p99 the median of the rounds'. On a shared VM whose speed drifts by tens of percent over a minute,
 * the ratio of two endpoints measured a minute apart says more about the drift than about the code;
 * interleaved, both see the same drift. Rounds: env BENCH_ROUNDS (default 3). Each endpoint gets a
 * 2 s warm-up before its first round.
 * Out: one {@link Measurement} per target, in `targets` order.
 */
export async function measureInterleaved(targets: BenchTarget[], settings: RunSettings = defaultSettings, rounds = Number(process.env.BENCH_ROUNDS ?? 3)): Promise<Measurement[]> {
  const sliceSeconds = Math.max(1, Math.round(settings.durationSeconds / rounds));
  const totals = targets.map(() => ({ requests: 0, seconds: 0, p50s: [] as number[], p99s: [] as number[], errors: 0, non2xx: 0, cpu: {} as Record<string, number>, loadMs: 0 }));
  for (const target of targets) await autocannonRun(target.request, settings.connections, 2);
  for (let round = 0; round < rounds; round++) {
    for (const [i, target] of targets.entries()) {
      const cpu = target.cpu ?? {};
      const before = Object.fromEntries(Object.entries(cpu).map(([k, read]) => [k, read()]));
      const { result, cpuMs } = await autocannonRun(target.request, settings.connections, sliceSeconds);
      const total = totals[i]!;
      for (const [k, read] of Object.entries(cpu)) total.cpu[k] = (total.cpu[k] ?? 0) + read() - before[k]!;
      total.requests += result.requests.total as number;
      total.seconds += (result.duration as number) ?? sliceSeconds;
      total.p50s.push(result.latency.p50);
      total.p99s.push(result.latency.p99);
      total.errors += result.errors;
      total.non2xx += result.non2xx;
      total.loadMs += cpuMs;
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  return targets.map((target, i) => {
    const total = totals[i]!;
    const requests = Math.max(1, total.requests);
    const cpuMsPerRequest: Record<string, number> = {};
    for (const [k, ms] of Object.entries(total.cpu)) cpuMsPerRequest[k] = ms / requests;
    cpuMsPerRequest.load = total.loadMs / requests;
    return {
      name: target.name,
      requestsPerSecond: total.requests / Math.max(total.seconds, 0.001),
      p50Ms: median(total.p50s),
      p99Ms: median(total.p99s),
      errors: total.errors,
      non2xx: total.non2xx,
      cpuMsPerRequest,
      rounds,
    };
  });
}

/** The CPU counters of a platform run: its workerd process group and this process (the database). */
export function platformCpu(platform: Platform): CpuCounters {
  return { workerd: () => processGroupCpuMs(platform.processGroup), db: selfCpuMs };
}

/** Prints measurements as a table, with each one's throughput and p50 relative to `baseline`. */
export function printTable(title: string, rows: Measurement[], baseline: Measurement, settings: RunSettings = defaultSettings): void {
  const rounds = rows[0]?.rounds ?? 1;
  console.log(`\n${title}  (${settings.connections} connections, ${settings.durationSeconds} s each${rounds > 1 ? ` in ${rounds} alternating rounds` : ''}, loopback, 2 cores shared with the load generator)`);
  const header = ['endpoint', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', `req/s vs ${baseline.name}`, `p50 vs ${baseline.name}`, 'CPU ms/req'];
  const lines = rows.map((r) => [
    r.name,
    r.requestsPerSecond.toFixed(0),
    r.p50Ms.toFixed(1),
    r.p99Ms.toFixed(1),
    String(r.non2xx + r.errors),
    `${(r.requestsPerSecond / baseline.requestsPerSecond).toFixed(3)}×`,
    `${(r.p50Ms / Math.max(baseline.p50Ms, 0.001)).toFixed(1)}×`,
    Object.entries(r.cpuMsPerRequest).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(format(header));
  for (const line of lines) console.log(format(line));
}

/**
 * JSON calls to a bench platform with its service key (`post` and `call` throw on a non-2xx answer,
 * naming the path), and `readyApp`, which creates an app and waits until its database is ready.
 */
export function benchClient(platform: Platform) {
  const service: Record<string, string> = { authorization: `Bearer ${platform.serviceKey}`, 'content-type': 'application/json' };
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = service): Promise<any> => {
    const res = await fetch(`${platform.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text === '' ? undefined : JSON.parse(text);
  };
  const post = (path: string, body: unknown, headers: Record<string, string> = service) => call('POST', path, body, headers);
  /** Out: the `POST /init` answer once `provisioning_status` is `ready`. */
  const readyApp = async (name: string): Promise<{ app_id: string; subdomain: string; [field: string]: unknown }> => {
    const created = await post('/init', { name });
    while ((await call('GET', `/apps/${created.app_id}/status`)).provisioning_status !== 'ready') await new Promise((r) => setTimeout(r, 200));
    return created;
  };
  return { service, call, post, readyApp };
}

/** What one traced request made the router call: binding calls it awaited, and those handed to waitUntil. */
export interface RequestTrace {
  name: string;
  awaited: Record<string, number>;
  background: Record<string, number>;
}

/**
 * Sends one request with the `x-bb-trace` header (workers/router/trace.ts) and returns the router's
 * binding calls for it. @throws Error when the answer carries no trace (tracing off) or is not 2xx.
 */
export async function traceRequest(name: string, target: { url: string; method?: string; headers?: Record<string, string>; body?: string }): Promise<RequestTrace> {
  const res = await fetch(target.url, { method: target.method ?? 'GET', headers: { ...target.headers, 'x-bb-trace': '1' }, body: target.body });
  await res.arrayBuffer();
  const header = res.headers.get('x-bb-trace');
  if (!res.ok || !header) throw new Error(`trace of ${name}: ${res.status}, trace header ${header === null ? 'missing' : 'present'}`);
  const { background, ...awaited } = JSON.parse(header) as Record<string, number> & { background: Record<string, number> };
  return { name, awaited, background };
}

/** Prints traced requests: the router's awaited binding calls (Durable Object calls among them) and background calls. */
export function printTraces(title: string, traces: RequestTrace[]): void {
  const list = (counts: Record<string, number>) => Object.entries(counts).map(([k, v]) => `${k} ×${v}`).join(', ') || '—';
  console.log(`\n${title}: what the router calls per request (one traced request each)\n`);
  console.log('| request | awaited binding calls | Durable Object calls awaited | handed to waitUntil |');
  console.log('|---|---|---|---|');
  for (const t of traces) {
    const durable = Object.entries(t.awaited).filter(([k]) => /RATE_LIMITER|_HUB|OBJECT/.test(k)).reduce((n, [, v]) => n + v, 0);
    console.log(`| ${t.name} | ${list(t.awaited)} | ${durable} | ${list(t.background)} |`);
  }
}

/** One endpoint's latency with a single connection and no load (requests sent one after another). */
export interface SequentialLatency {
  name: string;
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
}

/**
 * Sends `count` requests one after another over one keep-alive connection (after `warmup` more) and
 * returns the latency percentiles in ms (performance.now, sub-ms resolution) — the added latency of a
 * path, as opposed to {@link measure}'s throughput under 16 connections, where p50 is mostly queueing.
 * @throws Error when an answer is not 2xx
 */
export async function sequentialLatency(
  name: string,
  request: { url: string; method?: string; headers?: Record<string, string>; body?: string },
  count = Number(process.env.BENCH_SEQUENTIAL ?? 400),
  warmup = 50,
): Promise<SequentialLatency> {
  const samples: number[] = [];
  for (let i = 0; i < warmup + count; i++) {
    const started = performance.now();
    const res = await fetch(request.url, { method: request.method ?? 'GET', headers: request.headers, body: request.body });
    const body = await res.text();
    if (lostByDevProxy(res.status, body)) {
      i--;
      continue;
    }
    if (!res.ok) throw new Error(`${name}: ${res.status} ${body.slice(0, 300)}`);
    if (i >= warmup) samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
  return { name, count, p50Ms: at(0.5), p90Ms: at(0.9), p99Ms: at(0.99) };
}

/** Prints sequential latencies with each one's p50 over `baseline`'s. */
export function printLatencies(title: string, rows: SequentialLatency[], baseline: SequentialLatency): void {
  console.log(`\n${title}  (one connection, requests one after another, ${baseline.count} each)`);
  const table = rows.map((r) => ({
    endpoint: r.name,
    'p50 ms': r.p50Ms.toFixed(2),
    'p90 ms': r.p90Ms.toFixed(2),
    'p99 ms': r.p99Ms.toFixed(2),
    [`p50 over ${baseline.name}`]: `${r.p50Ms - baseline.p50Ms >= 0 ? '+' : ''}${(r.p50Ms - baseline.p50Ms).toFixed(2)} ms`,
  }));
  const columns = Object.keys(table[0]!);
  const widths = columns.map((c) => Math.max(c.length, ...table.map((t) => String(t[c as keyof typeof t]).length)));
  console.log(columns.map((c, i) => c.padEnd(widths[i]!)).join('  '));
  for (const t of table) console.log(columns.map((c, i) => (i === 0 ? String(t[c as keyof typeof t]).padEnd(widths[i]!) : String(t[c as keyof typeof t]).padStart(widths[i]!))).join('  '));
}
