/**
 * App provisioning: create the app's database, run the bootstrap migrations through DbGateway,
 * then — and only then — mark the app `ready`. A lease (`provisioning_lease_until`) makes one attempt
 * run at a time; an attempt that dies (a crash, or `waitUntil`'s 30 s budget after the response)
 * leaves the lease to expire and the next status read resumes the work (every step is idempotent).
 * Each attempt is numbered (`provisioning_attempts`) and only the newest may record the outcome, so
 * a slow attempt overtaken by a resumed one cannot overwrite it. A failure is recorded as `failed`
 * with a reason. An app deleted while it was being provisioned gets its database dropped again.
 */
import { toApiError } from '../../shared/errors.ts';
import { unwrap } from '../../shared/rpc.ts';
import { controlSql } from '../db.ts';
import type { Env } from '../env.ts';
import { provisionerFor } from '../provisioners/provisioner.ts';
import { invalidateAppGate } from './gate-cache.ts';

/**
 * How long one attempt may hold the app before another may take over (default 45 s): longer than a
 * normal attempt (local ~2 s, Neon a few seconds), short enough that a cut-off attempt is resumed
 * while callers are still polling (MCP init_app waits 60 s).
 */
function leaseSeconds(env: Env): number {
  return Number(env.PROVISIONING_LEASE_SECONDS || 45);
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
      RETURNING db_name, provisioning_attempts`,
    [appId, leaseSeconds(env)],
  );
  const dbName = leased[0]?.db_name as string | undefined;
  if (!dbName) return;
  const attempt = Number(leased[0]!.provisioning_attempts);
  const provisioner = provisionerFor(env);
  try {
    await provisioner.createDatabase(dbName);
    const upgraded = unwrap(await env.DB_OWNER.upgrade(appId));
    const marked = await sql.query(
      `UPDATE apps SET provisioning_status = 'ready', db_provisioned = true, provisioning_error = NULL,
              provisioning_lease_until = NULL, bootstrap_version = $3, updated_at = now()
        WHERE id = $1 AND provisioning_status = 'provisioning' AND provisioning_attempts = $2
        RETURNING id`,
      [appId, attempt, upgraded.version],
    );
    invalidateAppGate(appId);
    if (marked.length === 0) await dropIfDeleted(env, appId, dbName);
  } catch (error) {
    const apiError = toApiError(error);
    console.error(`[provision] ${appId} failed: ${apiError.code} ${apiError.message} ${apiError.internal ?? ''}`);
    await sql
      .query(
        `UPDATE apps SET provisioning_status = 'failed', provisioning_error = $2, provisioning_lease_until = NULL, updated_at = now()
          WHERE id = $1 AND provisioning_status = 'provisioning' AND provisioning_attempts = $3`,
        [appId, `${apiError.code}: ${apiError.message}`, attempt],
      )
      .catch((e: unknown) => console.error(`[provision] could not record failure of ${appId}: ${String(e)}`));
    invalidateAppGate(appId);
  }
}

/**
 * After an attempt could not mark its app ready: if the app was deleted (or is being deleted)
 * meanwhile, the database this attempt created would be orphaned, so drop it (best effort).
 */
async function dropIfDeleted(env: Env, appId: string, dbName: string): Promise<void> {
  const rows = await controlSql(env).query('SELECT provisioning_status FROM apps WHERE id = $1', [appId]);
  if (rows.length > 0 && rows[0]!.provisioning_status !== 'deleting') return;
  await provisionerFor(env)
    .dropDatabase(dbName)
    .catch((error: unknown) => console.error(`[provision] could not drop the database of deleted app ${appId}: ${String(error)}`));
}

/** True when a `provisioning` app has no live lease, i.e. nobody is working on it. */
export function needsProvisioning(row: { provisioning_status: string; provisioning_lease_until: string | Date | null }): boolean {
  if (row.provisioning_status !== 'provisioning') return false;
  return row.provisioning_lease_until === null || new Date(row.provisioning_lease_until).getTime() < Date.now();
}

/**
 * Resumes provisioning of apps nobody is working on (a crash or a cut-off `waitUntil` left them
 * `provisioning` with an expired lease), a few per tick. Out: how many were resumed.
 */
export async function resumeStalledProvisioning(env: Env, limit = 20): Promise<{ resumed: number }> {
  const rows = await controlSql(env).query(
    `SELECT id FROM apps WHERE provisioning_status = 'provisioning'
        AND (provisioning_lease_until IS NULL OR provisioning_lease_until < now())
      ORDER BY created_at LIMIT $1`,
    [limit],
  );
  for (const row of rows) await provisionApp(env, String(row.id));
  return { resumed: rows.length };
}
