/**
 * The reaper (the storage Worker's part of the minute tick): reservations whose upload never
 * received bytes are removed once they run out (`reserved_until`: the URL's expiry plus a grace
 * period). They already stopped counting toward the quota at that moment; this removes the records
 * and aborts their open multipart uploads. A reservation whose bytes did land (a notification was
 * lost or is late) is completed instead. Only apps on the control plane's due list are visited.
 */
import type { Env } from '../env.ts';
import { recordLanded } from './events.ts';
import { dropReservation, expiredReservations, nextReservationEnd } from './records.ts';
import { dueApps, rescheduleApp } from './settings.ts';

/** Apps visited per tick and reservations handled per app per tick (the rest wait for the next tick). */
const appsPerTick = 50;
const reservationsPerApp = 200;

/** What one tick did. */
export interface ReapSummary {
  apps: number;
  reaped: number;
  completed: number;
  failed: number;
}

/**
 * Reaps the reservations that ran out by `nowMs` (the tick's scheduled time, so tests can fix the
 * clock). A failing app is logged and retried on the next tick; the others still run.
 */
export async function reapExpired(env: Env, nowMs: number): Promise<ReapSummary> {
  const summary: ReapSummary = { apps: 0, reaped: 0, completed: 0, failed: 0 };
  for (const due of await dueApps(env, nowMs, appsPerTick)) {
    summary.apps++;
    try {
      const expired = await expiredReservations(env, due.appId, nowMs, reservationsPerApp);
      for (const record of expired) {
        const landed = record.upload_id ? null : await env.FILES.head(record.key);
        if (landed) {
          await recordLanded(env, due.appId, { key: record.key, sizeBytes: landed.size, etag: landed.etag });
          summary.completed++;
          continue;
        }
        if (record.upload_id) {
          await env.FILES.resumeMultipartUpload(record.key, record.upload_id).abort().catch(() => {});
        }
        if (await dropReservation(env, due.appId, record.id)) summary.reaped++;
      }
      const next = expired.length === reservationsPerApp ? nowMs : await nextReservationEnd(env, due.appId);
      await rescheduleApp(env, due, next);
    } catch (error) {
      summary.failed++;
      console.error(`[storage] reaping ${due.appId} failed: ${String(error)}`);
    }
  }
  return summary;
}
