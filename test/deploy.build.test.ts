/**
 * Every Worker's wrangler.toml builds for production with `wrangler deploy --dry-run` (offline, no
 * account), so `npm run deploy` is not the first time a config meets wrangler — including the
 * first-deploy variants that break the router ↔ auth/mcp binding cycles.
 */
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deployWorker, withoutRouterReferences } from '../scripts/deploy.ts';

describe('wrangler deploy --dry-run', () => {
  for (const name of ['router', 'control', 'data', 'auth', 'mcp'] as const) {
    it(`builds the ${name} Worker`, async () => {
      const outDir = mkdtempSync(join(tmpdir(), `bb-build-${name}-`));
      const { code, output } = await deployWorker(name, { dryRun: true, outDir, quiet: true });
      expect(code, output).toBe(0);
      expect(existsSync(outDir)).toBe(true);
      expect(readdirSync(outDir).some((f) => f.endsWith('.js'))).toBe(true);
    });
  }

  for (const name of ['auth', 'mcp'] as const) {
    it(`builds the first-deploy ${name} Worker without router bindings`, async () => {
      const outDir = mkdtempSync(join(tmpdir(), `bb-build-first-${name}-`));
      const { code, output } = await deployWorker(name, { dryRun: true, outDir, quiet: true, withoutBackReferences: true });
      expect(code, output).toBe(0);
      expect(output).not.toContain('butterbase-router');
    });
  }
});

describe('first-deploy configs', () => {
  it('drop only the bindings that point at the router', () => {
    const config = {
      services: [{ binding: 'ROUTER', service: 'butterbase-router' }, { binding: 'DB_GATEWAY', service: 'butterbase-data' }],
      durable_objects: { bindings: [{ name: 'RATE_LIMITER', class_name: 'RateLimiter', script_name: 'butterbase-router' }] },
    };
    expect(withoutRouterReferences(config)).toEqual({
      services: [{ binding: 'DB_GATEWAY', service: 'butterbase-data' }],
      durable_objects: { bindings: [] },
    });
  });
});
