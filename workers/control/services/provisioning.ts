/**
 * App provisioning: create the app's database, run the bootstrap migrations through DbGateway,
 * then — and only then — mark the app `ready`. A lease (`provisioning_lease_until`) makes exactly
 * one worker run it at a time; a worker that dies leaves the lease to expire and the next status
 * read resumes the work (every step is idempotent). A failure is recorded as `failed` with a reason.
 */
import { toApiError } from '../../shared/errors.ts';
import { unwrap } from '../../shared/rpc.ts';
import { controlSql } from '../db.ts';
import type { Env } from '../env.ts';
import { provisionerFor } from '../provisioners/provisioner.ts';
import { invalidateAppGate } from './gate-cache.ts';

/** How long one provisioning attempt may hold the app before another may take over (default 120 s). */
function leaseSeconds(env: Env): number {
  return Number(env.PROVISIONING_LEASE_SECONDS || 120);
}

/**
 * Provisions `appId` if it is `provisioning` and nobody holds a live lease; otherwise does nothing.
 * Never throws: failures end in `provisioning_status = 'failed'` with `provisioning_error`.
 */
export async function provisionApp(env: Env, appId: string): Promise<void> {
  const sql = controlSql(env);
  const leased = await sql.query(
    `UPDATE apps SET provisioning_lease_until = now() + make_interval(secs => $2),
            provisioning_attempts = provisioning_attempts + 1, updated_at = now()
      WHERE id = $1 AND provisioning_status = 'provisioning'
        AND (provisioning_lease_until IS NULL OR provisioning_lease_until < now())
      RETURNING db_name`,
    [appId, leaseSeconds(env)],
  );
  const dbName = leased[0]?.db_name as string | undefined;
  if (!dbName) return;
  try {
    await provisionerFor(env).createDatabase(dbName);
    unwrap(await env.DB_GATEWAY.bootstrap(appId));
    await sql.query(
      `UPDATE apps SET provisioning_status = 'ready', db_provisioned = true, provisioning_error = NULL,
              provisioning_lease_until = NULL, updated_at = now()
        WHERE id = $1 AND provisioning_status = 'provisioning'`,
      [appId],
    );
    invalidateAppGate(appId);
  } catch (error) {
    const apiError = toApiError(error);
    console.error(`[provision] ${appId} failed: ${apiError.code} ${apiError.message} ${apiError.internal ?? ''}`);
    await sql
      .query(
        `UPDATE apps SET provisioning_status = 'failed', provisioning_error = $2, provisioning_lease_until = NULL, updated_at = now()
          WHERE id = $1 AND provisioning_status = 'provisioning'`,
        [appId, `${apiError.code}: ${apiError.message}`],
      )
      .catch((e: unknown) => console.error(`[provision] could not record failure of ${appId}: ${String(e)}`));
    invalidateAppGate(appId);
  }
}

/** True when a `provisioning` app has no live lease, i.e. nobody is working on it. */
export function needsProvisioning(row: { provisioning_status: string; provisioning_lease_until: string | Date | null }): boolean {
  if (row.provisioning_status !== 'provisioning') return false;
  return row.provisioning_lease_until === null || new Date(row.provisioning_lease_until).getTime() < Date.now();
}
