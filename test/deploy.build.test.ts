/**
 * Every Worker's wrangler.toml builds for production with `wrangler deploy --dry-run` (offline, no
 * account), so `npm run deploy` is not the first time a config meets wrangler.
 */
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deployWorker } from '../scripts/deploy.ts';

describe('wrangler deploy --dry-run', () => {
  for (const name of ['router', 'control', 'data', 'auth', 'mcp'] as const) {
    it(`builds the ${name} Worker`, () => {
      const outDir = mkdtempSync(join(tmpdir(), `bb-build-${name}-`));
      const { code, output } = deployWorker(name, { dryRun: true, outDir, quiet: true });
      expect(code, output).toBe(0);
      expect(existsSync(outDir)).toBe(true);
      expect(readdirSync(outDir).some((f) => f.endsWith('.js'))).toBe(true);
    });
  }
});
