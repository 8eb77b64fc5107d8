/**
 * Builds the Edge SSR fixture (test/fixtures/ssr-app, a SvelteKit app) with the framework's official
 * Cloudflare build and writes the Pages advanced-mode output the tests deploy to
 * test/fixtures/ssr-app/output/ (commit it: tests never build). Run after the fixture changes:
 *
 *   npm run build:ssr-fixture        # = npx tsx scripts/build-ssr-fixture.ts
 *
 * Steps, all inside the fixture folder with its own package.json and lock (pinned versions; not the
 * platform's dependencies): `npm ci` (or `npm install` when there is no lock yet); `vite build`, where
 * @sveltejs/adapter-cloudflare writes `_worker.js` + static assets to .svelte-kit/cloudflare/; then
 * `wrangler pages functions build --build-output-directory …`, the bundling step `wrangler pages deploy`
 * runs on an advanced-mode `_worker.js` (the adapter's `_worker.js` still imports the server chunks),
 * which yields one self-contained `_worker.js`. The output folder is the static assets with that bundle.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './lib/platform.ts';

/** The fixture's source folder and its committed build output. */
export const ssrFixtureDir = join(repoRoot, 'test/fixtures/ssr-app');
export const ssrFixtureOutput = join(ssrFixtureDir, 'output');

function run(command: string, args: string[]): void {
  process.stdout.write(`$ ${command} ${args.join(' ')}\n`);
  execFileSync(command, args, { cwd: ssrFixtureDir, stdio: 'inherit', env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } });
}

function main(): void {
  run('npm', [existsSync(join(ssrFixtureDir, 'package-lock.json')) ? 'ci' : 'install', '--no-audit', '--no-fund']);
  run('npx', ['vite', 'build']);
  const pagesDir = join(ssrFixtureDir, '.svelte-kit/cloudflare');
  const bundleDir = join(ssrFixtureDir, '.svelte-kit/bundled');
  rmSync(bundleDir, { recursive: true, force: true });
  run('npx', ['wrangler', 'pages', 'functions', 'build', '--build-output-directory', pagesDir, '--outdir', bundleDir,
    '--compatibility-date', '2026-04-01', '--compatibility-flags', 'nodejs_compat']);
  rmSync(ssrFixtureOutput, { recursive: true, force: true });
  mkdirSync(ssrFixtureOutput, { recursive: true });
  for (const name of readdirSync(pagesDir)) {
    if (name === '_worker.js') continue;
    cpSync(join(pagesDir, name), join(ssrFixtureOutput, name), { recursive: true });
  }
  cpSync(join(bundleDir, '_worker.js'), join(ssrFixtureOutput, '_worker.js'));
  const size = statSync(join(ssrFixtureOutput, '_worker.js')).size;
  process.stdout.write(`wrote ${ssrFixtureOutput} (_worker.js ${size} bytes)\n`);
}

main();
