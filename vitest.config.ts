import { defineConfig, type Plugin } from 'vitest/config';

/** `.sql` files import as their text, as wrangler's `Text` rule bundles them for the Workers. */
const sqlText: Plugin = {
  name: 'sql-text',
  transform(code, id) {
    return id.endsWith('.sql') ? { code: `export default ${JSON.stringify(code)};`, map: null } : undefined;
  },
};

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [sqlText],
        test: {
          name: 'unit',
          include: ['test/**/*.unit.test.ts'],
          environment: 'node',
          sequence: { groupOrder: 0 },
        },
      },
      {
        plugins: [sqlText],
        test: {
          name: 'build',
          include: ['test/**/*.build.test.ts'],
          environment: 'node',
          sequence: { groupOrder: 1 },
          testTimeout: 120_000,
        },
      },
      {
        plugins: [sqlText],
        test: {
          name: 'integration',
          include: ['test/**/*.integration.test.ts'],
          environment: 'node',
          sequence: { groupOrder: 2 },
          globalSetup: ['test/setup/platform.global.ts'],
          testTimeout: 60_000,
          hookTimeout: 240_000,
          // Two cores: a couple of files at a time keeps PGlite and workerd responsive.
          maxWorkers: 2,
        },
      },
    ],
  },
});
