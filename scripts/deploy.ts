/**
 * `npm run deploy` deploys every Worker with its own wrangler.toml: data first (others bind to its
 * DbGateway entrypoint), the router last. `npm run deploy:check` (`--dry-run`) builds each one with
 * `wrangler deploy --dry-run` into dist/<name>/ without an account or network.
 *
 * The first deploy to an account (`--first`) has to break two binding cycles — the router binds
 * auth and mcp, while auth uses the router's RateLimiter class and mcp binds the router — so it
 * deploys auth and mcp without those back-references, then the router, then both again in full.
 * Before a real deploy, run the control-plane migrations: `CONTROL_DATABASE_URL=… npm run migrate`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, writeWorkerConfig, type WorkerConfig, type WorkerName } from './lib/platform.ts';

const order: WorkerName[] = ['data', 'control', 'auth', 'mcp', 'router'];

/** Options for one `wrangler deploy`. */
export interface DeployOptions {
  dryRun: boolean;
  /** Where a dry run writes the bundle. Default dist/<name>. */
  outDir?: string;
  /** Capture wrangler's output instead of streaming it. */
  quiet?: boolean;
  /** Drop bindings that point at Workers not deployed yet (first deploy). */
  withoutBackReferences?: boolean;
}

/** The first-deploy variant of a config: no binding to the router or its Durable Object class. */
export function withoutRouterReferences(config: WorkerConfig): WorkerConfig {
  const services = (config.services as { service: string }[] | undefined)?.filter((s) => s.service !== 'butterbase-router');
  const durable = config.durable_objects as { bindings?: { script_name?: string }[] } | undefined;
  const bindings = durable?.bindings?.filter((b) => b.script_name !== 'butterbase-router');
  return { ...config, services, durable_objects: durable ? { ...durable, bindings } : undefined };
}

/**
 * Runs `wrangler deploy` for one Worker from a generated config (its wrangler.toml, absolute paths).
 * @returns wrangler's exit code and, when `quiet`, its output.
 */
export async function deployWorker(name: WorkerName, options: DeployOptions): Promise<{ code: number; output: string }> {
  const configDir = mkdtempSync(join(tmpdir(), `bb-deploy-${name}-`));
  const config = await writeWorkerConfig(configDir, name, {}, options.withoutBackReferences ? withoutRouterReferences : undefined);
  const args = ['deploy', '-c', config];
  if (options.dryRun) args.push('--dry-run', '--outdir', options.outDir ?? join(repoRoot, 'dist', name));
  const result = spawnSync(join(repoRoot, 'node_modules/.bin/wrangler'), args, {
    cwd: repoRoot,
    stdio: options.quiet ? 'pipe' : 'inherit',
    encoding: 'utf8',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  });
  return { code: result.status ?? 1, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

async function main(): Promise<void> {
  const dryRun = process.argv.includes('--dry-run');
  const first = process.argv.includes('--first');
  const steps: { name: WorkerName; partial: boolean }[] = first
    ? [
        { name: 'data', partial: false }, { name: 'control', partial: false },
        { name: 'auth', partial: true }, { name: 'mcp', partial: true }, { name: 'router', partial: false },
        { name: 'auth', partial: false }, { name: 'mcp', partial: false },
      ]
    : order.map((name) => ({ name, partial: false }));
  for (const step of steps) {
    console.log(`\n== ${dryRun ? 'building' : 'deploying'} ${step.name}${step.partial ? ' (without router bindings, first deploy)' : ''}`);
    const { code } = await deployWorker(step.name, { dryRun, withoutBackReferences: step.partial });
    if (code !== 0) {
      console.error(`${step.name}: wrangler deploy failed (exit ${code})`);
      process.exit(code);
    }
  }
  console.log(dryRun ? '\nAll Workers build.' : '\nAll Workers deployed.');
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
