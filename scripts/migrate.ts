/**
 * `npm run migrate`: applies migrations/control/*.sql to the control-plane database named by
 * CONTROL_DATABASE_URL (Neon in production; set NEON_FETCH_ENDPOINT to use a local endpoint).
 * Each migration runs in one transaction with its ledger row; reruns are no-ops.
 */
import { join } from 'node:path';
import { migrateControlPlane, useFetchEndpoint } from './lib/control-db.ts';
import { repoRoot } from './lib/platform.ts';

const url = process.env.CONTROL_DATABASE_URL;
if (!url) {
  console.error('Set CONTROL_DATABASE_URL to the control-plane database connection string.');
  process.exit(1);
}
useFetchEndpoint(process.env.NEON_FETCH_ENDPOINT);
const result = await migrateControlPlane(url, join(repoRoot, 'migrations'));
console.log(`applied: ${result.applied.join(', ') || 'none'}; already applied: ${result.skipped.length}`);
