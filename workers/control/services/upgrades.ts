/**
 * Upgrades of existing app databases (DESIGN.md "Data"): when the platform ships a new per-app
 * bootstrap migration, every app whose database is behind (`apps.bootstrap_version` below the
 * bundled count) is upgraded through DbOwner under the database's advisory lock. While it runs the
 * app is `migrating`: reads are served, writes get 503 APP_MIGRATING with Retry-After (the router).
 *
 * Who starts an upgrade: the gate, lazily, on the first request for a behind app (production), and
 * the minute tick for every behind app (locally the dev platform runs the tick at start-up, so apps
 * are current before the first request). A lease (`provisioning_lease_until`) lets one attempt run
 * at a time; an attempt that dies leaves the lease to expire and the next request or tick retakes it.
 * A failed upgrade puts the app back to `ready` at its old version and is retried after the lease.
 */
import { appMigrations } from '../../../migrations/app/index.ts';
import { toApiError } from '../../shared/errors.ts';
import { unwrap } from '../../shared/rpc.ts';
import { controlSql } from '../db.ts';
import type { Env } from '../env.ts';
import { invalidateAppGate } from './gate-cache.ts';

/** The bundled bootstrap version: how many per-app migrations this build ships. */
export const bundledAppVersion = appMigrations.length;

/** Seconds an upgrade attempt holds the app (and, after a failure, how long until the next try). */
const upgradeLeaseSeconds = 60;

/** True when an app row is behind the bundled bootstrap version and could be upgraded now. */
export function needsUpgrade(row: { provisioning_status: string; bootstrap_version: number }): boolean {
  return row.bootstrap_version < bundledAppVersion && (row.provisioning_status === 'ready' || row.provisioning_status === 'migrating');
}

/**
 * Takes the upgrade of `appId` if it is behind and nobody holds a live lease: the app becomes
 * `migrating`. @returns the attempt number to pass to {@link runUpgrade}, or null when not taken.
 */
export async function claimUpgrade(env: Env, appId: string): Promise<number | null> {
  const rows = await controlSql(env).query(
    `UPDATE apps SET provisioning_status = 'migrating', provisioning_lease_until = now() + make_interval(secs => $3),
            provisioning_attempts = provisioning_attempts + 1, updated_at = now()
      WHERE id = $1 AND bootstrap_version < $2
        AND provisioning_status IN ('ready', 'migrating')
        AND (provisioning_lease_until IS NULL OR provisioning_lease_until < now())
      RETURNING provisioning_attempts`,
    [appId, bundledAppVersion, upgradeLeaseSeconds],
  );
  invalidateAppGate(appId);
  return rows.length > 0 ? Number(rows[0]!.provisioning_attempts) : null;
}

/**
 * Runs a claimed upgrade to the end and records the outcome (only the attempt that holds the claim
 * may). Never throws: a failure is logged, and the app goes back to `ready` at its old version.
 */
export async function runUpgrade(env: Env, appId: string, attempt: number): Promise<void> {
  const sql = controlSql(env);
  try {
    const result = unwrap(await env.DB_OWNER.upgrade(appId));
    await sql.query(
      `UPDATE apps SET provisioning_status = 'ready', bootstrap_version = $2, provisioning_lease_until = NULL, updated_at = now()
        WHERE id = $1 AND provisioning_status = 'migrating' AND provisioning_attempts = $3`,
      [appId, result.version, attempt],
    );
    if (result.applied.length > 0) console.log(`[upgrade] ${appId}: applied ${result.applied.join(', ')}`);
  } catch (error) {
    const apiError = toApiError(error);
    console.error(`[upgrade] ${appId} failed: ${apiError.code} ${apiError.message} ${apiError.internal ?? ''}`);
    await sql
      .query(
        `UPDATE apps SET provisioning_status = 'ready', provisioning_lease_until = now() + make_interval(secs => $3), updated_at = now()
          WHERE id = $1 AND provisioning_status = 'migrating' AND provisioning_attempts = $2`,
        [appId, attempt, upgradeLeaseSeconds],
      )
      .catch((e: unknown) => console.error(`[upgrade] could not record the failure of ${appId}: ${String(e)}`));
  } finally {
    invalidateAppGate(appId);
  }
}

/**
 * Upgrades every behind app, a few at a time (the minute tick). Out: how many were upgraded.
 * @throws ApiError EXTERNAL_DB_ERROR when the control database is unreachable.
 */
export async function upgradeBehindApps(env: Env, limit = 100): Promise<{ upgraded: number }> {
  const rows = await controlSql(env).query(
    `SELECT id FROM apps WHERE bootstrap_version < $1 AND provisioning_status IN ('ready', 'migrating')
        AND (provisioning_lease_until IS NULL OR provisioning_lease_until < now())
      ORDER BY created_at LIMIT $2`,
    [bundledAppVersion, limit],
  );
  let upgraded = 0;
  const queue = rows.map((r) => String(r.id));
  const worker = async () => {
    for (let appId = queue.shift(); appId !== undefined; appId = queue.shift()) {
      const attempt = await claimUpgrade(env, appId);
      if (attempt === null) continue;
      await runUpgrade(env, appId, attempt);
      upgraded++;
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return { upgraded };
}
