/**
 * `npm run dev`: the whole platform on this machine — embedded Postgres (PGlite, or DATABASE_URL),
 * every Worker under one `wrangler dev` — then prints the URL, the service key and the local S3
 * endpoint's key pair.
 * Env: BB_PORT (8787), BB_DB_PORT (5488), BB_STATE_DIR (.butterbase), DATABASE_URL, BB_LOG_LEVEL.
 * Ctrl-C stops wrangler and closes every database; nothing is left running.
 */
import { join } from 'node:path';
import { repoRoot, startPlatform } from './lib/platform.ts';

const stateDir = process.env.BB_STATE_DIR ?? join(repoRoot, '.butterbase');
console.log('Starting Butterbase (first start initialises the database template, ~10 s)…');
const platform = await startPlatform({
  stateDir,
  port: Number(process.env.BB_PORT ?? 8787),
  dbPort: Number(process.env.BB_DB_PORT ?? 5488),
  logLevel: (process.env.BB_LOG_LEVEL as 'info' | undefined) ?? 'warn',
  tickEveryMs: 60_000,
}).catch((error: unknown) => {
  console.error(`Could not start the platform: ${(error as Error).message}`);
  process.exit(1);
});

const keyLine = platform.serviceKeyIsNew
  ? `Service key (shown once; also saved to ${join(stateDir, 'bootstrap.json')}, mode 0600):\n    ${platform.serviceKey}`
  : `Service key: ${platform.serviceKey.slice(0, 12)}… (the full key is in ${join(stateDir, 'bootstrap.json')})`;
console.log(`
Butterbase is running.
  API:      ${platform.url}
  MCP:      ${platform.url}/mcp
  Database: ${platform.dbUrl}/sql (Neon SQL-over-HTTP)
  S3:       ${platform.s3.endpoint} (bucket ${platform.s3.bucket}, region ${platform.s3.region}; key pair in ${join(stateDir, 's3-credentials.json')})
            AWS_ACCESS_KEY_ID=${platform.s3.accessKeyId} AWS_SECRET_ACCESS_KEY=${platform.s3.secretAccessKey}
  ${keyLine}

Try it:
  export BUTTERBASE_API_KEY=$(node -p "require('${join(stateDir, 'bootstrap.json')}').service_key")
  curl -s -X POST ${platform.url}/init -H "Authorization: Bearer $BUTTERBASE_API_KEY" -H 'content-type: application/json' -d '{"name":"my-app"}'

Press Ctrl-C to stop.`);

let stopping = false;
async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log('\nStopping…');
  await platform.stop();
  console.log('Stopped; all data is saved.');
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
void platform.exited.then((code) => {
  if (!stopping) {
    console.error(`wrangler exited unexpectedly (code ${code}).`);
    void shutdown(1);
  }
});
