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
import { and, asc, eq, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import { appMigrations } from '../../../migrations/app/index.ts';
import { apps } from '../../shared/control-schema.ts';
import { toApiError } from '../../shared/errors.ts';
import { unwrap } from '../../shared/rpc.ts';
import { controlDb } from '../db.ts';
import type { Env } from '../env.ts';
import { invalidateAppGate } from './gate-cache.ts';

/** The bundled bootstrap version: how many per-app migrations this build ships. */
export const bundledAppVersion = appMigrations.length;

/** Seconds an upgrade attempt holds the app (and, after a failure, how long until the next try). */
const upgradeLeaseSeconds = 60;

/** Behind the bundled version, servable, and nobody holds a live lease. */
const upgradable = and(
  lt(apps.bootstrap_version, bundledAppVersion),
  inArray(apps.provisioning_status, ['ready', 'migrating']),
  or(isNull(apps.provisioning_lease_until), lt(apps.provisioning_lease_until, sql`now()`)),
);

/** True when an app row is behind the bundled bootstrap version and could be upgraded now. */
export function needsUpgrade(row: { provisioning_status: string; bootstrap_version: number }): boolean {
  return row.bootstrap_version < bundledAppVersion && (row.provisioning_status === 'ready' || row.provisioning_status === 'migrating');
}

/**
 * Takes the upgrade of `appId` if it is behind and nobody holds a live lease: the app becomes
 * `migrating`. @returns the attempt number to pass to {@link runUpgrade}, or null when not taken.
 * @throws ApiError EXTERNAL_DB_ERROR when the control database is unreachable.
 */
export async function claimUpgrade(env: Env, appId: string): Promise<number | null> {
  const [claimed] = await controlDb(env).update(apps)
    .set({
      provisioning_status: 'migrating',
      provisioning_lease_until: sql`now() + make_interval(secs => ${upgradeLeaseSeconds})`,
      provisioning_attempts: sql`${apps.provisioning_attempts} + 1`,
      updated_at: sql`now()`,
    })
    .where(and(eq(apps.id, appId), upgradable))
    .returning({ attempt: apps.provisioning_attempts });
  invalidateAppGate(appId);
  return claimed?.attempt ?? null;
}

/**
 * Runs a claimed upgrade to the end and records the outcome (only the attempt that holds the claim
 * may). Never throws: a failure is logged, and the app goes back to `ready` at its old version.
 */
export async function runUpgrade(env: Env, appId: string, attempt: number): Promise<void> {
  const db = controlDb(env);
  const ownAttempt = and(eq(apps.id, appId), eq(apps.provisioning_status, 'migrating'), eq(apps.provisioning_attempts, attempt));
  try {
    const result = unwrap(await env.DB_OWNER.upgrade(appId));
    await db.update(apps)
      .set({ provisioning_status: 'ready', bootstrap_version: result.version, provisioning_lease_until: null, updated_at: sql`now()` })
      .where(ownAttempt);
    if (result.applied.length > 0) console.log(`[upgrade] ${appId}: applied ${result.applied.join(', ')}`);
  } catch (error) {
    const apiError = toApiError(error);
    console.error(`[upgrade] ${appId} failed: ${apiError.code} ${apiError.message} ${apiError.internal ?? ''}`);
    await db.update(apps)
      .set({ provisioning_status: 'ready', provisioning_lease_until: sql`now() + make_interval(secs => ${upgradeLeaseSeconds})`, updated_at: sql`now()` })
      .where(ownAttempt)
      .catch((e: unknown) => console.error(`[upgrade] could not record the failure of ${appId}: ${String(e)}`));
  } finally {
    invalidateAppGate(appId);
  }
}

/**
 * Upgrades every behind app, four at a time (the minute tick). Out: how many were upgraded.
 * @throws ApiError EXTERNAL_DB_ERROR when the control database is unreachable.
 */
export async function upgradeBehindApps(env: Env, limit = 100): Promise<{ upgraded: number }> {
  const rows = await controlDb(env).select({ id: apps.id }).from(apps).where(upgradable).orderBy(asc(apps.created_at)).limit(limit);
  let upgraded = 0;
  const queue = rows.map((r) => r.id);
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
