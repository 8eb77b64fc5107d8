/**
 * App provisioning: create the app's database, run the bootstrap migrations through DbOwner,
 * then — and only then — mark the app `ready`. A lease (`provisioning_lease_until`) makes one attempt
 * run at a time; an attempt that dies (a crash, or `waitUntil`'s 30 s budget after the response)
 * leaves the lease to expire and the next status read or minute tick resumes the work (every step
 * is idempotent). Each attempt is numbered (`provisioning_attempts`) and only the newest may record
 * the outcome, so a slow attempt overtaken by a resumed one cannot overwrite it. A failure is
 * recorded as `failed` with a public reason (the detail is logged). An app deleted while it was
 * being provisioned gets its database dropped again.
 */
import { and, asc, eq, isNull, lt, or, sql } from 'drizzle-orm';
import { apps } from '../../shared/control-schema.ts';
import { toApiError } from '../../shared/errors.ts';
import { unwrap } from '../../shared/rpc.ts';
import { controlDb } from '../db.ts';
import type { Env } from '../env.ts';
import { provisionerFor, provisioningErrorText } from '../provisioners/provisioner.ts';
import { invalidateAppGate } from './gate-cache.ts';

/**
 * How long one attempt may hold the app before another may take over (default 45 s): longer than a
 * normal attempt (local ~2 s, Neon a few seconds), short enough that a cut-off attempt is resumed
 * while callers are still polling (MCP init_app waits 60 s).
 */
function leaseSeconds(env: Env): number {
  return Number(env.PROVISIONING_LEASE_SECONDS || 45);
}

/** No live lease: nobody is working on the app. */
const leaseFree = or(isNull(apps.provisioning_lease_until), lt(apps.provisioning_lease_until, sql`now()`));

/**
 * Provisions `appId` if it is `provisioning` and nobody holds a live lease; otherwise does nothing.
 * Never throws: failures end in `provisioning_status = 'failed'` with `provisioning_error`.
 */
export async function provisionApp(env: Env, appId: string): Promise<void> {
  const db = controlDb(env);
  const [leased] = await db.update(apps)
    .set({
      provisioning_lease_until: sql`now() + make_interval(secs => ${leaseSeconds(env)})`,
      provisioning_attempts: sql`${apps.provisioning_attempts} + 1`,
      updated_at: sql`now()`,
    })
    .where(and(eq(apps.id, appId), eq(apps.provisioning_status, 'provisioning'), leaseFree))
    .returning({ dbName: apps.db_name, attempt: apps.provisioning_attempts });
  if (!leased) return;
  const { dbName, attempt } = leased;
  const ownAttempt = and(eq(apps.id, appId), eq(apps.provisioning_status, 'provisioning'), eq(apps.provisioning_attempts, attempt));
  try {
    await provisionerFor(env).createDatabase(dbName);
    const upgraded = unwrap(await env.DB_OWNER.upgrade(appId));
    const marked = await db.update(apps)
      .set({
        provisioning_status: 'ready', db_provisioned: true, provisioning_error: null,
        provisioning_lease_until: null, bootstrap_version: upgraded.version, updated_at: sql`now()`,
      })
      .where(ownAttempt)
      .returning({ id: apps.id });
    invalidateAppGate(appId);
    if (marked.length === 0) await dropIfDeleted(env, appId, dbName);
  } catch (error) {
    const apiError = toApiError(error);
    console.error(`[provision] ${appId} failed: ${apiError.code} ${apiError.message} ${apiError.internal ?? ''}`);
    await db.update(apps)
      .set({ provisioning_status: 'failed', provisioning_error: provisioningErrorText(error), provisioning_lease_until: null, updated_at: sql`now()` })
      .where(ownAttempt)
      .catch((e: unknown) => console.error(`[provision] could not record failure of ${appId}: ${String(e)}`));
    invalidateAppGate(appId);
  }
}

/**
 * After an attempt could not mark its app ready: if the app was deleted (or is being deleted)
 * meanwhile, the database this attempt created would be orphaned, so drop it (best effort).
 */
async function dropIfDeleted(env: Env, appId: string, dbName: string): Promise<void> {
  const [row] = await controlDb(env).select({ status: apps.provisioning_status }).from(apps).where(eq(apps.id, appId));
  if (row && row.status !== 'deleting') return;
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
 * @throws ApiError EXTERNAL_DB_ERROR when the control database is unreachable.
 */
export async function resumeStalledProvisioning(env: Env, limit = 20): Promise<{ resumed: number }> {
  const rows = await controlDb(env).select({ id: apps.id }).from(apps)
    .where(and(eq(apps.provisioning_status, 'provisioning'), leaseFree))
    .orderBy(asc(apps.created_at))
    .limit(limit);
  for (const row of rows) await provisionApp(env, row.id);
  return { resumed: rows.length };
}
