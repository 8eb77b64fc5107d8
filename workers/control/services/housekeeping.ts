/**
 * Housekeeping on the minute tick (issue 9 item 8): once an hour (ticks whose scheduled minute is
 * :00) every current app database drops rows past their use — refresh tokens and one-time codes a day
 * after they expired, dev-outbox mail after 7 days, claimed function idempotency keys whose TTL ran
 * out, realtime changes past the app's retention window (`realtime.prune`, default 24 h; the capture
 * trigger also prunes every 1000th change, so a busy app stays bounded between hours) — in one owner
 * batch per app (DbOwner), four apps at a time. A failing app is logged and the
 * others continue.
 */
import { and, eq, inArray } from 'drizzle-orm';
import { apps } from '../../shared/control-schema.ts';
import { unwrap } from '../../shared/rpc.ts';
import { controlDb } from '../db.ts';
import type { Env } from '../env.ts';
import { bundledAppVersion } from './upgrades.ts';

/** The statements run in each app database. */
export const purgeStatements = [
  `DELETE FROM auth.refresh_tokens WHERE expires_at < now() - interval '1 day'`,
  `DELETE FROM auth.one_time_codes WHERE expires_at < now() - interval '1 day'`,
  `DELETE FROM auth.dev_outbox WHERE created_at < now() - interval '7 days'`,
  `DELETE FROM functions._idempotency_keys WHERE expires_at IS NOT NULL AND expires_at < now()`,
  // Returns the number of changes removed (one row), not a row per change.
  `SELECT realtime.prune(now(), 100000) AS removed`,
];

/** Rows a purge batch removed: the DELETEs' row counts plus what `realtime.prune` reports. */
function removedRows(results: { rowCount: number; rows: Record<string, unknown>[] }[]): number {
  return results.reduce((sum, r) => sum + (r.rows[0] && 'removed' in r.rows[0] ? Number(r.rows[0].removed) : r.rowCount), 0);
}

/** True for the tick that purges: the first of each hour (scheduled time in ms since the epoch). */
export function isPurgeMinute(scheduledTimeMs: number): boolean {
  return Math.floor(scheduledTimeMs / 60_000) % 60 === 0;
}

/**
 * Purges every ready, current app database (or, with `only`, those of these ids) when
 * `scheduledTimeMs` is a purge minute. Out: `{ purgedApps, purgedRows, failedApps }` (zeros on other minutes).
 */
export async function purgeAppDatabases(env: Env, scheduledTimeMs: number, only?: readonly string[]): Promise<{ purgedApps: number; purgedRows: number; failedApps: number }> {
  const out = { purgedApps: 0, purgedRows: 0, failedApps: 0 };
  if (!isPurgeMinute(scheduledTimeMs) || only?.length === 0) return out;
  const rows = await controlDb(env).select({ id: apps.id }).from(apps)
    .where(and(eq(apps.provisioning_status, 'ready'), eq(apps.bootstrap_version, bundledAppVersion), only ? inArray(apps.id, [...only]) : undefined));
  const queue = rows.map((r) => r.id);
  const worker = async () => {
    for (let appId = queue.shift(); appId !== undefined; appId = queue.shift()) {
      try {
        const results = unwrap(await env.DB_OWNER.execute(appId, purgeStatements.map((query) => ({ query }))));
        out.purgedRows += removedRows(results);
        out.purgedApps++;
      } catch (error) {
        out.failedApps++;
        console.error(`[housekeeping] purge of ${appId} failed: ${String(error)}`);
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return out;
}
