/**
 * `npm run build:sdk-bundle -- <butterbase checkout>`: bundles the unmodified Butterbase SDK
 * (`packages/sdk` of github.com/butterbase-ai/butterbase, with its workspace dependency
 * `packages/shared`) into one ESM file, node_modules/.cache/butterbase/sdk.mjs, for the tests that
 * drive the real SDK (test/sdk.integration.test.ts, test/oauth.integration.test.ts). The SDK is not
 * published where this project's CI can install it, so those tests run only when
 * `BUTTERBASE_SDK_BUNDLE` names such a bundle; this prints the line to set it.
 * Bundled with esbuild (wrangler's own bundler, already installed); nothing of the SDK is changed.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { repoRoot } from './lib/platform.ts';

const checkout = process.argv[2];
if (!checkout) {
  console.error('usage: npm run build:sdk-bundle -- <path to a butterbase-ai/butterbase checkout>');
  process.exit(2);
}
const root = resolve(checkout);
const entry = join(root, 'packages/sdk/src/index.ts');
const shared = join(root, 'packages/shared/src/index.ts');
for (const file of [entry, shared]) {
  if (!existsSync(file)) {
    console.error(`not found: ${file} (expected a checkout of butterbase-ai/butterbase with packages/sdk and packages/shared)`);
    process.exit(2);
  }
}
const outDir = join(repoRoot, 'node_modules/.cache/butterbase');
mkdirSync(outDir, { recursive: true });
const outfile = join(outDir, 'sdk.mjs');
await build({
  entryPoints: [entry],
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  outfile,
  alias: { '@butterbase/shared': shared },
  mainFields: ['module', 'main'],
  logLevel: 'error',
});
console.log(`wrote ${outfile}\nrun the SDK tests with: BUTTERBASE_SDK_BUNDLE=${outfile} npx vitest run --project integration test/sdk.integration.test.ts test/oauth.integration.test.ts`);
