/**
 * `npm run deploy` deploys every Worker of the registry (workers/registry.ts) with its own
 * wrangler.toml, each after the Workers it binds to (data first: others bind to its DbGateway and
 * DbOwner entrypoints; the router, which binds them all, last). `npm run deploy:check` (`--dry-run`)
 * builds each one with `wrangler deploy --dry-run` into dist/<name>/ without an account or network.
 *
 * Some bindings form cycles (mcp calls the router, auth uses its RateLimiter class, the router binds
 * both; data asks control to audit, control binds data's DbOwner). The first deploy to an account
 * (`--first`) breaks them: a Worker whose bound scripts do not exist yet is deployed once without
 * those bindings, and again in full at the end.
 * Before a real deploy, run the control-plane migrations: `CONTROL_DATABASE_URL=… npm run migrate`.
 *
 * Workers for Platforms (production user code): with BUTTERBASE_DISPATCH_NAMESPACE and
 * CLOUDFLARE_ACCOUNT_ID set, the functions Worker is deployed with a `[[dispatch_namespaces]]`
 * binding DISPATCHER to that namespace (outbound Worker: butterbase-functions-outbound, parameters
 * appId and functionName) and the vars DISPATCH_NAMESPACE and CLOUDFLARE_ACCOUNT_ID; it then uploads
 * each deployed function version there. Its API token is a secret:
 * `wrangler secret put CLOUDFLARE_API_TOKEN -c workers/functions/wrangler.toml`.
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
  /** Leave out the bindings to these scripts (first deploy: they do not exist yet). */
  without?: readonly string[];
  /** Functions only: run user code in this Workers for Platforms dispatch namespace. */
  dispatch?: DispatchSettings;
}

/** Where production user code runs (Workers for Platforms). */
export interface DispatchSettings {
  namespace: string;
  accountId: string;
}

/** The outbound Worker of the dispatch namespace, and the parameters the functions Worker passes it. */
export const dispatchOutbound = { service: workerSpec('functions-outbound').script, parameters: ['appId', 'functionName'] } as const;

/** The dispatch settings from BUTTERBASE_DISPATCH_NAMESPACE and CLOUDFLARE_ACCOUNT_ID, or undefined when unset. */
export function dispatchSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): DispatchSettings | undefined {
  const namespace = env.BUTTERBASE_DISPATCH_NAMESPACE;
  if (!namespace) return undefined;
  if (!env.CLOUDFLARE_ACCOUNT_ID) throw new Error('BUTTERBASE_DISPATCH_NAMESPACE is set but CLOUDFLARE_ACCOUNT_ID is not');
  return { namespace, accountId: env.CLOUDFLARE_ACCOUNT_ID };
}

/** The functions Worker's config for Workers for Platforms: the DISPATCHER binding and its vars. */
export function withDispatchNamespace(config: WorkerConfig, settings: DispatchSettings): WorkerConfig {
  return {
    ...config,
    dispatch_namespaces: [{ binding: 'DISPATCHER', namespace: settings.namespace, outbound: { ...dispatchOutbound, parameters: [...dispatchOutbound.parameters] } }],
    vars: { ...(config.vars as Record<string, string> | undefined), DISPATCH_NAMESPACE: settings.namespace, CLOUDFLARE_ACCOUNT_ID: settings.accountId },
  };
}

/** The scripts a config binds to: service bindings, Durable Object classes of other scripts, dispatch outbound Workers. */
export function boundScripts(config: WorkerConfig): string[] {
  const services = ((config.services as { service: string }[] | undefined) ?? []).map((s) => s.service);
  const durable = config.durable_objects as { bindings?: { script_name?: string }[] } | undefined;
  const classes = (durable?.bindings ?? []).flatMap((b) => (b.script_name ? [b.script_name] : []));
  const outbound = ((config.dispatch_namespaces as { outbound?: { service: string } }[] | undefined) ?? []).flatMap((d) => (d.outbound ? [d.outbound.service] : []));
  return [...new Set([...services, ...classes, ...outbound])].filter((script) => script !== config.name);
}

/** A config without the bindings that point at `scripts` (service bindings and Durable Object classes). */
export function withoutBindingsTo(config: WorkerConfig, scripts: readonly string[]): WorkerConfig {
  const services = (config.services as { service: string }[] | undefined)?.filter((s) => !scripts.includes(s.service));
  const durable = config.durable_objects as { bindings?: { script_name?: string }[] } | undefined;
  const bindings = durable?.bindings?.filter((b) => !b.script_name || !scripts.includes(b.script_name));
  return { ...config, services, durable_objects: durable ? { ...durable, bindings } : undefined };
}

/** The first-deploy variant of a config: no binding to the router or its Durable Object classes. */
export function withoutRouterReferences(config: WorkerConfig): WorkerConfig {
  return withoutBindingsTo(config, [routerScript]);
}

/** One step of a deploy: a Worker, and the scripts it goes without (not deployed yet, first deploy only). */
export interface DeployStep {
  name: WorkerName;
  partial: boolean;
  /** Scripts whose bindings this step leaves out (empty unless partial). */
  without: string[];
}

/**
 * The deploy order: each Worker after the Workers it binds to, where bindings form no cycle
 * (data first; the router, which binds every Worker it forwards to, last). With `first` (an account
 * that has none of the scripts yet), a Worker whose bindings point at scripts not deployed yet —
 * the other side of a cycle, e.g. auth and mcp → router, data ↔ control — is deployed once without
 * those bindings, and again in full once everything exists. With `dispatch` (Workers for Platforms),
 * the functions Worker's config includes its dispatch namespace binding, so its outbound Worker
 * (butterbase-functions-outbound) is deployed before it.
 */
export async function deploySteps(first: boolean, dispatch?: DispatchSettings): Promise<DeployStep[]> {
  const configs = new Map<WorkerName, WorkerConfig>();
  for (const worker of workerRegistry) {
    const config = await readWorkerConfig(worker.name);
    configs.set(worker.name, worker.name === 'functions' && dispatch ? withDispatchNamespace(config, dispatch) : config);
  }
  const scriptToName = new Map(workerRegistry.map((w) => [w.script as string, w.name]));
  const order: WorkerName[] = [];
  const state = new Map<WorkerName, 'visiting' | 'done'>();
  const visit = (name: WorkerName) => {
    if (state.has(name)) return; // done, or on the current path (a cycle: the first deploy breaks it)
    state.set(name, 'visiting');
    for (const script of boundScripts(configs.get(name)!)) {
      const dependency = scriptToName.get(script);
      if (dependency && dependency !== 'router') visit(dependency);
    }
    state.set(name, 'done');
    order.push(name);
  };
  for (const worker of workerRegistry) if (worker.name !== 'router') visit(worker.name);
  order.push('router');
  if (!first) return order.map((name) => ({ name, partial: false, without: [] }));
  const deployed = new Set<string>();
  const steps: DeployStep[] = [];
  const again: WorkerName[] = [];
  for (const name of order) {
    const missing = boundScripts(configs.get(name)!).filter((script) => scriptToName.has(script) && !deployed.has(script));
    steps.push({ name, partial: missing.length > 0, without: missing });
    if (missing.length > 0) again.push(name);
    deployed.add(workerSpec(name).script);
  }
  return [...steps, ...again.map((name) => ({ name, partial: false, without: [] }))];
}

/**
 * Runs `wrangler deploy` for one Worker from a generated config (its wrangler.toml, absolute paths).
 * @returns wrangler's exit code and, when `quiet`, its output.
 */
export async function deployWorker(name: WorkerName, options: DeployOptions): Promise<{ code: number; output: string }> {
  const configDir = mkdtempSync(join(tmpdir(), `bb-deploy-${name}-`));
  const without = options.without ?? [];
  const dispatch = name === 'functions' ? options.dispatch : undefined;
  const config = await writeWorkerConfig(configDir, name, {}, (c) => {
    const full = dispatch ? withDispatchNamespace(c, dispatch) : c;
    return without.length > 0 ? withoutBindingsTo(full, without) : full;
  });
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
  const dispatch = dispatchSettingsFromEnv();
  if (dispatch) console.log(`functions: user code runs in the dispatch namespace ${dispatch.namespace} (Workers for Platforms)`);
  const steps = await deploySteps(process.argv.includes('--first'), dispatch);
  for (const step of steps) {
    console.log(`\n== ${dryRun ? 'building' : 'deploying'} ${step.name}${step.partial ? ` (first deploy, without its bindings to ${step.without.join(', ')})` : ''}`);
    const { code } = await deployWorker(step.name, { dryRun, without: step.without, dispatch });
    if (code !== 0) {
      console.error(`${step.name}: wrangler deploy failed (exit ${code})`);
      process.exit(code);
    }
  }
  console.log(dryRun ? '\nAll Workers build.' : '\nAll Workers deployed.');
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
