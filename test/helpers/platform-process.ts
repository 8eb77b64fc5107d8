/** Settings shared by every platform instance the tests start. */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../scripts/lib/platform.ts';

/** One PGlite template for all test instances and runs (initdb once, ~5 s). */
export const sharedTemplateDir = join(repoRoot, 'node_modules/.cache/butterbase/pglite-template');

const logDir = join(repoRoot, 'node_modules/.cache/butterbase/logs');
mkdirSync(logDir, { recursive: true });

/** Platform output goes to node_modules/.cache/butterbase/logs/<name>.log (printed only with BB_TEST_VERBOSE=1). */
export function testLog(name: string): (line: string) => void {
  const file = join(logDir, `${name}.log`);
  return (line) => {
    appendFileSync(file, `${new Date().toISOString()} ${line}\n`);
    if (process.env.BB_TEST_VERBOSE) process.stdout.write(`[${name}] ${line}\n`);
  };
}
