/**
 * `npm run deploy` deploys every Worker of the registry (workers/registry.ts) with its own
 * wrangler.toml, each after the Workers it binds to (data first: others bind to its DbGateway and
 * DbOwner entrypoints; the router, which binds them all, last). `npm run deploy:check` (`--dry-run`)
 * builds each one with `wrangler deploy --dry-run` into dist/<name>/ without an account or network.
 *
 * Bindings that point back at the router (mcp calls it; auth uses its RateLimiter class) form cycles.
 * The first deploy to an account (`--first`) breaks them: it deploys those Workers once without the
 * back-references, then the router, then them again in full.
 * Before a real deploy, run the control-plane migrations: `CONTROL_DATABASE_URL=… npm run migrate`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { workerRegistry, workerSpec } from '../workers/registry.ts';
import { readWorkerConfig, repoRoot, writeWorkerConfig, type WorkerConfig, type WorkerName } from './lib/platform.ts';

const routerScript = workerSpec('router').script;

/** Options for one `wrangler deploy`. */
export interface DeployOptions {
  dryRun: boolean;
  /** Where a dry run writes the bundle. Default dist/<name>. */
  outDir?: string;
  /** Capture wrangler's output instead of streaming it. */
  quiet?: boolean;
  /** Drop bindings that point at the router (first deploy). */
  withoutBackReferences?: boolean;
}

/** The scripts a config binds to: service bindings and Durable Object classes of other scripts. */
export function boundScripts(config: WorkerConfig): string[] {
  const services = ((config.services as { service: string }[] | undefined) ?? []).map((s) => s.service);
  const durable = config.durable_objects as { bindings?: { script_name?: string }[] } | undefined;
  const classes = (durable?.bindings ?? []).flatMap((b) => (b.script_name ? [b.script_name] : []));
  return [...new Set([...services, ...classes])].filter((script) => script !== config.name);
}

/** The first-deploy variant of a config: no binding to the router or its Durable Object classes. */
export function withoutRouterReferences(config: WorkerConfig): WorkerConfig {
  const services = (config.services as { service: string }[] | undefined)?.filter((s) => s.service !== routerScript);
  const durable = config.durable_objects as { bindings?: { script_name?: string }[] } | undefined;
  const bindings = durable?.bindings?.filter((b) => b.script_name !== routerScript);
  return { ...config, services, durable_objects: durable ? { ...durable, bindings } : undefined };
}

/** One step of a deploy: a Worker, and whether it goes without its router back-references. */
export interface DeployStep {
  name: WorkerName;
  partial: boolean;
}

/**
 * The deploy order: each Worker after the Workers it binds to, ignoring bindings back to the router
 * (the router goes last). With `first`, Workers that bind the router are deployed partially before
 * it and in full after it.
 * @throws Error when bindings other than the router's back-references form a cycle.
 */
export async function deploySteps(first: boolean): Promise<DeployStep[]> {
  const configs = new Map<WorkerName, WorkerConfig>();
  for (const worker of workerRegistry) configs.set(worker.name, await readWorkerConfig(worker.name));
  const scriptToName = new Map(workerRegistry.map((w) => [w.script as string, w.name]));
  const order: WorkerName[] = [];
  const state = new Map<WorkerName, 'visiting' | 'done'>();
  const visit = (name: WorkerName, path: WorkerName[]) => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') throw new Error(`binding cycle: ${[...path, name].join(' → ')}`);
    state.set(name, 'visiting');
    for (const script of boundScripts(configs.get(name)!)) {
      const dependency = scriptToName.get(script);
      if (dependency && dependency !== 'router') visit(dependency, [...path, name]);
    }
    state.set(name, 'done');
    order.push(name);
  };
  for (const worker of workerRegistry) if (worker.name !== 'router') visit(worker.name, []);
  const backReferencing = order.filter((name) => boundScripts(configs.get(name)!).includes(routerScript));
  if (!first) return [...order, 'router' as const].map((name) => ({ name, partial: false }));
  return [
    ...order.map((name) => ({ name, partial: backReferencing.includes(name) })),
    { name: 'router', partial: false },
    ...backReferencing.map((name) => ({ name, partial: false })),
  ];
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
  const steps = await deploySteps(process.argv.includes('--first'));
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
