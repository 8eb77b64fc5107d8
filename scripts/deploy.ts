/**
 * `npm run deploy` deploys every Worker with its own wrangler.toml (data first, since others bind to
 * its DbGateway entrypoint; the router last). `npm run deploy:check` (`--dry-run`) builds each one
 * with `wrangler deploy --dry-run` into dist/<name>/ without an account or network.
 * Before a real deploy, run the control-plane migrations: `CONTROL_DATABASE_URL=… npm run migrate`.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot, workerConfigs } from './lib/platform.ts';

const dryRun = process.argv.includes('--dry-run');
const order = ['data', 'control', 'auth', 'mcp', 'router'] as const;

/** Runs `wrangler deploy` for one Worker; returns wrangler's exit code (and its output when `quiet`). */
export function deployWorker(name: (typeof order)[number], options: { dryRun: boolean; outDir?: string; quiet?: boolean }): { code: number; output: string } {
  const worker = workerConfigs.find((w) => w.name === name)!;
  const args = ['deploy', '-c', join(repoRoot, worker.config)];
  if (options.dryRun) args.push('--dry-run', '--outdir', options.outDir ?? join(repoRoot, 'dist', name));
  const result = spawnSync(join(repoRoot, 'node_modules/.bin/wrangler'), args, {
    cwd: repoRoot,
    stdio: options.quiet ? 'pipe' : 'inherit',
    encoding: 'utf8',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  });
  return { code: result.status ?? 1, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const name of order) {
    console.log(`\n== ${dryRun ? 'building' : 'deploying'} ${name}`);
    const { code } = deployWorker(name, { dryRun });
    if (code !== 0) {
      console.error(`${name}: wrangler deploy failed (exit ${code})`);
      process.exit(code);
    }
  }
  console.log(dryRun ? '\nAll Workers build.' : '\nAll Workers deployed.');
}
