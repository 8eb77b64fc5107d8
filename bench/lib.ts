/**
 * Benchmark helpers: a platform instance for measuring, the hello-Worker baseline, and an
 * autocannon run that reports requests/s and latency percentiles.
 */
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { freePort, repoRoot, startPlatform, type Platform } from '../scripts/lib/platform.ts';

/** One measured endpoint. */
export interface Measurement {
  name: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
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

/** Starts a platform in a temporary state folder with the per-app budget out of the way (plus `vars` per Worker). */
export async function startBenchPlatform(vars: NonNullable<Parameters<typeof startPlatform>[0]['vars']> = {}): Promise<Platform> {
  const stateDir = await mkdtemp(join(tmpdir(), 'bb-bench-'));
  return startPlatform({
    stateDir,
    port: 0,
    dbPort: 0,
    templateDir: join(repoRoot, 'node_modules/.cache/butterbase/pglite-template'),
    log: process.env.BENCH_LOG ? (line) => process.stderr.write(`${line}\n`) : () => {},
    logLevel: process.env.BENCH_LOG ? 'log' : undefined,
    vars: { ...vars, control: { RATE_LIMIT_PER_MINUTE: '100000000', ...vars.control } },
  });
}

/** Starts the hello Worker under its own `wrangler dev` (same workerd); returns its URL and a stop function. */
export function startHelloWorker(): Promise<{ url: string; stop: () => Promise<void> }> {
  return startBenchWorker('bench/hello/wrangler.toml');
}

/**
 * Starts one bench Worker (its wrangler.toml, relative to the repo) under its own `wrangler dev` in
 * the same workerd as the platform; resolves once `/` answers 200.
 */
export async function startBenchWorker(config: string): Promise<{ url: string; stop: () => Promise<void> }> {
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
    stop: async () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    },
  };
}

/** Runs autocannon against one request shape (after a short warm-up) and summarises it. */
export async function measure(
  name: string,
  request: { url: string; method?: 'GET' | 'POST' | 'PATCH'; headers?: Record<string, string>; body?: string },
  settings: RunSettings = defaultSettings,
): Promise<Measurement> {
  const options = {
    url: request.url,
    method: request.method ?? 'GET',
    headers: request.headers,
    body: request.body,
    connections: settings.connections,
  };
  await autocannon({ ...options, duration: 2 });
  const result = await autocannon({ ...options, duration: settings.durationSeconds });
  return {
    name,
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

/** Prints measurements as a table, with each one's throughput and p50 relative to `baseline`. */
export function printTable(title: string, rows: Measurement[], baseline: Measurement, settings: RunSettings = defaultSettings): void {
  console.log(`\n${title}  (${settings.connections} connections, ${settings.durationSeconds} s each, loopback, 2 cores shared with the load generator)`);
  const header = ['endpoint', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', `req/s vs ${baseline.name}`, `p50 vs ${baseline.name}`];
  const lines = rows.map((r) => [
    r.name,
    r.requestsPerSecond.toFixed(0),
    r.p50Ms.toFixed(1),
    r.p99Ms.toFixed(1),
    String(r.non2xx + r.errors),
    `${(r.requestsPerSecond / baseline.requestsPerSecond).toFixed(3)}×`,
    `${(r.p50Ms / Math.max(baseline.p50Ms, 0.001)).toFixed(1)}×`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(format(header));
  for (const line of lines) console.log(format(line));
}
