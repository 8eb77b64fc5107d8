// A Node module hook: `.sql` files import as their text, as wrangler's `Text` rule bundles them for the
// Workers (vitest.config.ts does the same for tests). bench/profile.ts registers it.
import { readFile } from 'node:fs/promises';

export async function load(url, context, nextLoad) {
  if (!url.endsWith('.sql')) return nextLoad(url, context);
  const text = await readFile(new URL(url), 'utf8');
  return { format: 'module', source: `export default ${JSON.stringify(text)};`, shortCircuit: true };
}
