import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.unit.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'build',
          include: ['test/**/*.build.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.integration.test.ts'],
          environment: 'node',
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
