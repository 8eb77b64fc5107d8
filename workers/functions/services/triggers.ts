/**
 * Non-HTTP triggers (API.md §8.1): cron runs on the platform's minute tick, each due (function,
 * minute) exactly once even when two isolates tick (a claim row in `function_cron_runs`); websocket
 * `event` messages from the realtime Worker; and the housekeeping the tick does for functions.
 */
import { Cron } from 'croner';
import { lt } from 'drizzle-orm';
import { functionCronRuns, functionWebhookDeliveries } from '../../shared/control-schema.ts';
import type { AuthHookRequest, FunctionEventRequest, FunctionEventResult, StorageUploadEvent } from '../../shared/contracts.ts';
import type { Env } from '../env.ts';
import { invoke, type FunctionsContext } from './invoke.ts';
import { controlDb, findFunction, functionsWithTrigger, loadApp, triggerOf, type FunctionRow } from './records.ts';

const minuteMs = 60_000;

/** The start of the minute `timeMs` falls in. */
export function minuteOf(timeMs: number): number {
  return Math.floor(timeMs / minuteMs) * minuteMs;
}

/** True when the function's cron trigger is due in the minute starting at `minuteMs` (its timezone applied). */
export function cronDue(row: FunctionRow, minuteMs: number): boolean {
  const trigger = triggerOf(row, 'cron');
  if (!trigger?.enabled) return false;
  try {
    return new Cron(String(trigger.config.schedule), { timezone: String(trigger.config.timezone ?? 'UTC'), paused: true }).match(new Date(minuteMs));
  } catch {
    return false;
  }
}

/** Claims (function, minute); true for the one tick that inserted the row. */
async function claimRun(env: Env, functionId: string, minuteMs: number): Promise<boolean> {
  const rows = await controlDb(env).insert(functionCronRuns).values({ function_id: functionId, scheduled_minute: new Date(minuteMs) })
    .onConflictDoNothing().returning({ id: functionCronRuns.function_id });
  return rows.length > 0;
}

/**
 * Runs every cron function due in the minute of `scheduledTimeMs`, each exactly once across ticks.
 * A run that fails is logged as an invocation (status 5xx) and not retried.
 * Out: `{ due, ran, failed }`.
 */
export async function runCron(env: Env, ctx: FunctionsContext, scheduledTimeMs: number): Promise<{ due: number; ran: number; failed: number }> {
  const minute = minuteOf(scheduledTimeMs);
  const due = (await functionsWithTrigger(env, 'cron')).filter((row) => cronDue(row, minute));
  let ran = 0;
  let failed = 0;
  await Promise.all(due.map(async (row) => {
    if (!(await claimRun(env, row.id, minute))) return;
    const request = new Request(new URL(`/v1/${row.app_id}/fn/${row.name}`, env.PUBLIC_API_URL), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-butterbase-trigger': 'cron' },
      body: JSON.stringify({ trigger: 'cron', scheduledTime: new Date(minute).toISOString(), schedule: triggerOf(row, 'cron')?.config.schedule }),
    });
    try {
      const response = await invoke(env, ctx, {
        appId: row.app_id, fn: row, request, trigger: 'cron',
        caller: { type: 'loopback', keyId: null, scope: null, userId: null }, userId: null,
        requestId: `cron-${row.id}-${minute}`, ip: null,
      });
      await response.body?.cancel();
      ran += 1;
      if (response.status >= 500) failed += 1;
    } catch (error) {
      failed += 1;
      console.error(`[functions] cron run of ${row.app_id}/${row.name} at ${new Date(minute).toISOString()} failed: ${String(error)}`);
    }
  }));
  return { due: due.length, ran, failed };
}

/**
 * Runs the function whose enabled websocket trigger has `config.event = input.event` (API.md §9):
 * POST `{event, payload}` with header `x-user-id`, as the socket's end user (RLS applies) or, for an
 * anonymous socket, with no user. Out: `{found, status, data}` (data parsed as JSON when it is JSON).
 */
export async function runEvent(env: Env, ctx: FunctionsContext, input: FunctionEventRequest): Promise<FunctionEventResult> {
  const rows = await functionsWithTrigger(env, 'websocket');
  const row = rows.find((r) => r.app_id === input.appId && triggerOf(r, 'websocket')?.config.event === input.event);
  if (!row) return { found: false, status: 404, data: null };
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-butterbase-trigger': 'websocket' };
  if (input.userId) headers['x-user-id'] = input.userId;
  const request = new Request(new URL(`/v1/${row.app_id}/fn/${row.name}`, env.PUBLIC_API_URL), {
    method: 'POST', headers, body: JSON.stringify({ event: input.event, payload: input.payload ?? null }),
  });
  const response = await invoke(env, ctx, {
    appId: row.app_id, fn: row, request, trigger: 'websocket',
    caller: input.userId ? { type: 'end_user_jwt', keyId: null, scope: null, userId: input.userId } : { type: 'anonymous', keyId: null, scope: null, userId: null },
    userId: input.userId, requestId: crypto.randomUUID(), ip: null,
  });
  const text = await response.text();
  let data: unknown = text;
  try {
    data = JSON.parse(text);
  } catch {
    /* the text as-is */
  }
  return { found: true, status: response.status, data };
}

/** Housekeeping: expired webhook idempotency keys and cron claims older than two days. Out: rows removed. */
export async function purgeExpired(env: Env, nowMs: number): Promise<{ webhookKeys: number; cronClaims: number }> {
  const db = controlDb(env);
  const keys = await db.delete(functionWebhookDeliveries).where(lt(functionWebhookDeliveries.expires_at, new Date(nowMs))).returning({ id: functionWebhookDeliveries.function_id });
  const claims = await db.delete(functionCronRuns).where(lt(functionCronRuns.scheduled_minute, new Date(nowMs - 2 * 86_400_000))).returning({ id: functionCronRuns.function_id });
  return { webhookKeys: keys.length, cronClaims: claims.length };
}

/**
 * Runs the app's post-auth hook, if one is configured (API.md §6): POST `{event, user, isNewUser,
 * provider}` as `butterbase_service`, `ctx.user = null`, caller `loopback`. A hook naming a function
 * that no longer exists is logged and skipped. Out: `{ran, status}`.
 */
export async function runAuthHook(env: Env, ctx: FunctionsContext, input: AuthHookRequest): Promise<{ ran: boolean; status: number | null }> {
  const app = await loadApp(env, input.appId);
  const name = app.auth_hook_function;
  if (!name) return { ran: false, status: null };
  const row = await findFunction(env, input.appId, name);
  if (!row) {
    console.error(`[functions] auth hook "${name}" of ${input.appId} is not deployed`);
    return { ran: false, status: null };
  }
  const request = new Request(new URL(`/v1/${row.app_id}/fn/${row.name}`, env.PUBLIC_API_URL), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-butterbase-trigger': 'auth_hook' },
    body: JSON.stringify({ event: input.event, user: input.user, isNewUser: input.isNewUser, provider: input.provider }),
  });
  const response = await invoke(env, ctx, {
    appId: row.app_id, fn: row, request, trigger: 'auth_hook',
    caller: { type: 'loopback', keyId: null, scope: null, userId: null }, userId: null,
    requestId: crypto.randomUUID(), ip: null,
  });
  await response.body?.cancel();
  return { ran: true, status: response.status };
}

/** True when an `s3_upload` trigger's `prefix` (of the filename) and `contentTypes` accept the object. */
export function uploadMatches(config: Record<string, unknown>, event: Pick<StorageUploadEvent, 'filename' | 'content_type'>): boolean {
  const prefix = typeof config.prefix === 'string' ? config.prefix : '';
  if (!event.filename.startsWith(prefix)) return false;
  const types = Array.isArray(config.contentTypes) ? config.contentTypes.map(String) : [];
  if (types.length === 0) return true;
  const type = event.content_type.split(';')[0]!.trim().toLowerCase();
  return types.some((t) => t.toLowerCase() === type || t === '*/*' || (t.endsWith('/*') && type.startsWith(t.slice(0, -1).toLowerCase())));
}

/** Runs the app's matching `s3_upload` functions for one upload-completed event (see UploadTriggerRpc). */
export async function runUploadTriggers(env: Env, ctx: FunctionsContext, event: StorageUploadEvent): Promise<{ ran: number }> {
  const rows = (await functionsWithTrigger(env, 's3_upload'))
    .filter((r) => r.app_id === event.app_id && uploadMatches(triggerOf(r, 's3_upload')!.config, event));
  await Promise.all(rows.map(async (row) => {
    const request = new Request(new URL(`/v1/${row.app_id}/fn/${row.name}`, env.PUBLIC_API_URL), {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-butterbase-trigger': 's3_upload' }, body: JSON.stringify(event),
    });
    try {
      const response = await invoke(env, ctx, {
        appId: row.app_id, fn: row, request, trigger: 's3_upload',
        caller: { type: 'loopback', keyId: null, scope: null, userId: null }, userId: null, requestId: crypto.randomUUID(), ip: null,
      });
      await response.body?.cancel();
    } catch (error) {
      console.error(`[functions] s3_upload run of ${row.app_id}/${row.name} failed: ${String(error)}`);
    }
  }));
  return { ran: rows.length };
}
