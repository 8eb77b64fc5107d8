/**
 * Every Worker of the registry builds for production with `wrangler deploy --dry-run` (offline, no
 * account), with exactly the bindings its config declares — including the router's, which come from
 * the registry, and the first-deploy variants that break the router ↔ auth/mcp binding cycles.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { workerRegistry, type WorkerName } from '../workers/registry.ts';
import { boundScripts, deploySteps, deployWorker, dispatchSettingsFromEnv, withDispatchNamespace, withoutRouterReferences } from '../scripts/deploy.ts';
import { readWorkerConfig, type WorkerConfig } from '../scripts/lib/platform.ts';

/** The binding names a config declares (services and Durable Objects). */
function bindingNames(config: WorkerConfig): string[] {
  const services = ((config.services as { binding: string }[] | undefined) ?? []).map((s) => s.binding);
  const durable = ((config.durable_objects as { bindings?: { name: string }[] } | undefined)?.bindings ?? []).map((b) => b.name);
  return [...services, ...durable];
}

describe('wrangler deploy --dry-run', () => {
  for (const { name } of workerRegistry) {
    it(`builds the ${name} Worker with every binding its config declares`, async () => {
      const outDir = mkdtempSync(join(tmpdir(), `bb-build-${name}-`));
      const { code, output } = await deployWorker(name, { dryRun: true, outDir, quiet: true });
      expect(code, output).toBe(0);
      expect(readdirSync(outDir).filter((f) => f.endsWith('.js'))).not.toEqual([]);
      for (const binding of bindingNames(await readWorkerConfig(name))) expect(output).toContain(`env.${binding} `);
    });
  }

  it('builds the production functions Worker with its Workers for Platforms dispatch namespace and outbound Worker', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'bb-build-wfp-'));
    const { code, output } = await deployWorker('functions', { dryRun: true, outDir, quiet: true, dispatch: { namespace: 'bb-prod-fns', accountId: 'acc0123' } });
    expect(code, output).toBe(0);
    expect(output).toContain('env.DISPATCHER (bb-prod-fns (outbound -> butterbase-functions-outbound))');
    expect(output).toContain('env.DISPATCH_NAMESPACE ("bb-prod-fns")');
    expect(output).toContain('env.CLOUDFLARE_ACCOUNT_ID ("acc0123")');
    // The Worker Loader stays bound (the runner falls back to it when DISPATCHER is not configured).
    expect(output).toContain('env.LOADER');
  });

  for (const name of ['auth', 'mcp'] as const) {
    it(`builds the first-deploy ${name} Worker without router bindings`, async () => {
      // The full build names the router among its bindings, so the absence below means something.
      const full = await deployWorker(name, { dryRun: true, outDir: mkdtempSync(join(tmpdir(), `bb-build-full-${name}-`)), quiet: true });
      expect(full.output).toContain('butterbase-router');
      const outDir = mkdtempSync(join(tmpdir(), `bb-build-first-${name}-`));
      const { code, output } = await deployWorker(name, { dryRun: true, outDir, quiet: true, without: ['butterbase-router'] });
      expect(code, output).toBe(0);
      expect(output).not.toContain('butterbase-router');
    });
  }
});

describe('the registry drives the platform', () => {
  it('gives the router one service binding per Worker it forwards to', async () => {
    const router = await readWorkerConfig('router');
    const targets = workerRegistry.filter((w) => 'routerBinding' in w).map((w) => ({ binding: w.routerBinding, service: w.script }));
    expect(router.services).toEqual(expect.arrayContaining(targets));
    expect((router.services as unknown[]).length).toBe(targets.length);
  });

  it('binds the owner entrypoint of the database only to control and auth', async () => {
    const owners: WorkerName[] = [];
    for (const { name } of workerRegistry) {
      const services = ((await readWorkerConfig(name)).services as { service: string; entrypoint?: string }[] | undefined) ?? [];
      if (services.some((s) => s.service === 'butterbase-data' && s.entrypoint === 'DbOwner')) owners.push(name);
      // A binding to the data Worker without an entrypoint would reach its fetch handler, not a capability.
      for (const s of services.filter((s) => s.service === 'butterbase-data' && s.entrypoint !== undefined)) {
        expect(['DbGateway', 'DbOwner']).toContain(s.entrypoint);
      }
    }
    expect(owners.sort()).toEqual(['auth', 'control']);
  });

  it('deploys every Worker once with the router last', async () => {
    const steps = await deploySteps(false);
    expect(steps.map((s) => s.name).sort()).toEqual(workerRegistry.map((w) => w.name).sort());
    expect(steps.at(-1)).toEqual({ name: 'router', partial: false, without: [] });
  });

  it('on a first deploy, never binds a script that does not exist yet, and ends with every Worker in full', async () => {
    const steps = await deploySteps(true);
    const scripts = new Map(workerRegistry.map((w) => [w.name as string, w.script as string]));
    const registered = new Set(scripts.values());
    const deployed = new Set<string>();
    for (const step of steps) {
      const bound = boundScripts(await readWorkerConfig(step.name)).filter((s) => registered.has(s) && !step.without.includes(s));
      for (const script of bound) expect(deployed, `${step.name} binds ${script} before it exists`).toContain(script);
      deployed.add(scripts.get(step.name)!);
    }
    for (const { name } of workerRegistry) {
      const last = steps.findLastIndex((s) => s.name === name);
      expect(steps[last]!.partial, name).toBe(false);
    }
    // The cycles of this platform: auth and mcp bind the router; data and control bind each other.
    expect(steps.filter((s) => s.partial).map((s) => s.name).sort()).toEqual(expect.arrayContaining(['auth', 'mcp']));
  });
});

describe('Workers for Platforms deploy settings', () => {
  const dispatch = { namespace: 'bb-prod-fns', accountId: 'acc0123' };

  it('come from BUTTERBASE_DISPATCH_NAMESPACE and CLOUDFLARE_ACCOUNT_ID, and need both', () => {
    expect(dispatchSettingsFromEnv({})).toBeUndefined();
    expect(dispatchSettingsFromEnv({ BUTTERBASE_DISPATCH_NAMESPACE: 'ns', CLOUDFLARE_ACCOUNT_ID: 'acc' })).toEqual({ namespace: 'ns', accountId: 'acc' });
    expect(() => dispatchSettingsFromEnv({ BUTTERBASE_DISPATCH_NAMESPACE: 'ns' })).toThrow(/CLOUDFLARE_ACCOUNT_ID/);
  });

  it('bind DISPATCHER with the outbound Worker and its parameters, keeping every other binding', async () => {
    const base = await readWorkerConfig('functions');
    const config = withDispatchNamespace(base, dispatch);
    expect(config.dispatch_namespaces).toEqual([{ binding: 'DISPATCHER', namespace: 'bb-prod-fns', outbound: { service: 'butterbase-functions-outbound', parameters: ['appId', 'functionName'] } }]);
    expect(config.vars).toMatchObject({ DISPATCH_NAMESPACE: 'bb-prod-fns', CLOUDFLARE_ACCOUNT_ID: 'acc0123' });
    expect(config.services).toEqual(base.services);
    expect(boundScripts(config)).toContain('butterbase-functions-outbound');
  });

  it('deploy the outbound Worker before the functions Worker, on a first deploy too', async () => {
    for (const first of [false, true]) {
      const steps = (await deploySteps(first, dispatch)).map((s) => s.name);
      expect(steps.indexOf('functions-outbound'), `first=${first}`).toBeLessThan(steps.indexOf('functions'));
    }
  });
});

describe('first-deploy configs', () => {
  it('drop only the bindings that point at the router', () => {
    const config = {
      services: [{ binding: 'ROUTER', service: 'butterbase-router' }, { binding: 'DB_OWNER', service: 'butterbase-data' }],
      durable_objects: { bindings: [{ name: 'RATE_LIMITER', class_name: 'RateLimiter', script_name: 'butterbase-router' }] },
    };
    expect(withoutRouterReferences(config)).toEqual({
      services: [{ binding: 'DB_OWNER', service: 'butterbase-data' }],
      durable_objects: { bindings: [] },
    });
  });
});
