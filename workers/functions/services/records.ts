/**
 * Function records in the control plane (migrations/control/0005_functions.sql) through drizzle over
 * workers/shared/control-db.ts, whose error boundary maps every failure to API.md §1.4.
 */
import { and, desc, eq, gte, inArray, isNotNull, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { controlDb, selectAppById } from '../../shared/control-db.ts';
import { appRecord, apps, functionInvocations, functions, functionVersions, type AppRow } from '../../shared/control-schema.ts';
import { ApiError } from '../../shared/errors.ts';
import type { TriggerType } from '../../shared/schemas/functions.ts';
import type { Env } from '../env.ts';
import type { ConsoleLine } from './runner.ts';
import { functionCacheTtlMs, functionRecordCache, type FunctionWithApp } from './record-cache.ts';

export { controlDb };

/** A stored trigger: `config` as deployed, except a webhook's secret, kept sealed in `secret_sealed`. */
export const storedTrigger = z.object({
  type: z.enum(['http', 'cron', 'websocket', 'webhook', 's3_upload']),
  config: z.record(z.string(), z.unknown()),
  enabled: z.boolean(),
});
export type StoredTrigger = z.infer<typeof storedTrigger>;

const storedTriggers = z.array(storedTrigger);
const sealedEnv = z.record(z.string(), z.string());
export const consoleLines = z.array(z.object({ level: z.string(), message: z.string(), timestamp: z.number() }));

/** A live function row with its JSON columns checked. */
export type FunctionRow = Omit<typeof functions.$inferSelect, 'env_vars' | 'triggers'> & {
  env_vars: Record<string, string>;
  triggers: StoredTrigger[];
};

/** Checks the JSON columns of a `functions` row. @throws ZodError (→ INTERNAL_ERROR) */
export function functionRecord(row: typeof functions.$inferSelect): FunctionRow {
  return { ...row, env_vars: sealedEnv.parse(row.env_vars), triggers: storedTriggers.parse(row.triggers) };
}

/** The trigger of `type`, when the function has one. */
export function triggerOf(row: FunctionRow, type: TriggerType): StoredTrigger | undefined {
  return row.triggers.find((t) => t.type === type);
}

/** @throws ApiError RESOURCE_NOT_FOUND naming the function. */
export function functionNotFound(name: string): ApiError {
  return new ApiError('RESOURCE_NOT_FOUND', `Function "${name}" not found.`, {
    remediation: 'List the app\'s functions (GET /v1/{app_id}/functions) or deploy it (POST /v1/{app_id}/functions).',
  });
}

/** The live (not deleted) function `name` of `appId`, or null. */
export async function findFunction(env: Env, appId: string, name: string): Promise<FunctionRow | null> {
  const [row] = await controlDb(env).select().from(functions)
    .where(and(eq(functions.app_id, appId), eq(functions.name, name), isNull(functions.deleted_at)));
  return row ? functionRecord(row) : null;
}

/**
 * The live function `name` of `appId` and its app row in one round trip (the invocation path), or null
 * when there is no such function.
 */
export async function findFunctionWithApp(env: Env, appId: string, name: string): Promise<{ fn: FunctionRow; app: AppRow } | null> {
  const [row] = await controlDb(env).select({ fn: functions, app: apps }).from(functions).innerJoin(apps, eq(apps.id, functions.app_id))
    .where(and(eq(functions.app_id, appId), eq(functions.name, name), isNull(functions.deleted_at)));
  return row ? { fn: functionRecord(row.fn), app: appRecord(row.app) } : null;
}

/**
 * {@link findFunctionWithApp} through the isolate's record cache (services/record-cache.ts): the
 * invocation path's lookup, at most `FUNCTION_CACHE_TTL_MS` old.
 */
export function findLiveFunction(env: Env, appId: string, name: string): Promise<FunctionWithApp> {
  return functionRecordCache.get(appId, name, functionCacheTtlMs(env), () => findFunctionWithApp(env, appId, name));
}

/** The live function, else (with `includeDeleted`) the most recently deleted one of that name, or null. */
export async function findFunctionForLogs(env: Env, appId: string, name: string, includeDeleted: boolean): Promise<FunctionRow | null> {
  const live = await findFunction(env, appId, name);
  if (live || !includeDeleted) return live;
  const [row] = await controlDb(env).select().from(functions)
    .where(and(eq(functions.app_id, appId), eq(functions.name, name), isNotNull(functions.deleted_at)))
    .orderBy(desc(functions.deleted_at)).limit(1);
  return row ? functionRecord(row) : null;
}

/** Every live function of an app, by name. */
export async function listFunctions(env: Env, appId: string): Promise<FunctionRow[]> {
  const rows = await controlDb(env).select().from(functions)
    .where(and(eq(functions.app_id, appId), isNull(functions.deleted_at))).orderBy(functions.name);
  return rows.map(functionRecord);
}

/** Every live function (of every app) with an enabled trigger of `type`. */
export async function functionsWithTrigger(env: Env, type: TriggerType): Promise<FunctionRow[]> {
  const rows = await controlDb(env).select().from(functions)
    .where(and(isNull(functions.deleted_at), sql`${functions.triggers} @> ${JSON.stringify([{ type, enabled: true }])}::jsonb`));
  return rows.map(functionRecord);
}

/** What a deploy writes. */
export interface DeployRecord {
  appId: string;
  name: string;
  description: string | null;
  source: string;
  compiled: string;
  /** Sealed values; undefined keeps the env of a replaced function. */
  envVars: Record<string, string> | undefined;
  triggers: StoredTrigger[];
  timeoutMs: number;
  memoryLimitMb: number;
  allowImpersonation: boolean;
  agentTool: Record<string, unknown> | null;
  /** The new version's id, chosen before the write (production uploads its script under it first). */
  versionId: string;
}

/**
 * Creates or replaces the live function `name` (API.md §8.1), then stores a new immutable version and
 * makes it current. Concurrent deploys of one name both land on the one live row (ON CONFLICT).
 * @returns the function row as now stored
 */
export async function saveDeploy(env: Env, record: DeployRecord): Promise<FunctionRow> {
  const db = controlDb(env);
  const values = {
    app_id: record.appId,
    name: record.name,
    description: record.description,
    triggers: record.triggers,
    timeout_ms: record.timeoutMs,
    memory_limit_mb: record.memoryLimitMb,
    allow_service_key_impersonation: record.allowImpersonation,
    agent_tool: record.agentTool,
    deployed_at: new Date(),
    ...(record.envVars ? { env_vars: record.envVars } : {}),
  };
  const [fn] = await db.insert(functions).values(values).onConflictDoUpdate({
    target: [functions.app_id, functions.name],
    targetWhere: sql`deleted_at IS NULL`,
    set: values,
  }).returning({ id: functions.id });
  const [version] = await db.insert(functionVersions).values({ id: record.versionId, function_id: fn!.id, source: record.source, compiled: record.compiled })
    .returning({ id: functionVersions.id });
  const [row] = await db.update(functions).set({ current_version_id: version!.id }).where(eq(functions.id, fn!.id)).returning();
  return functionRecord(row!);
}

/** The stripped module of a version. @throws ApiError INTERNAL_ERROR when the version row is missing. */
export async function versionCode(env: Env, versionId: string): Promise<string> {
  const [row] = await controlDb(env).select({ compiled: functionVersions.compiled }).from(functionVersions).where(eq(functionVersions.id, versionId));
  if (!row) throw new ApiError('INTERNAL_ERROR', 'The function\'s deployed version is missing.', { internal: `function_versions ${versionId} not found` });
  return row.compiled;
}

/** The source of the current version (GET …/functions/{name} `code`). */
export async function currentSource(env: Env, row: FunctionRow): Promise<string> {
  if (!row.current_version_id) return '';
  const [version] = await controlDb(env).select({ source: functionVersions.source }).from(functionVersions).where(eq(functionVersions.id, row.current_version_id));
  return version?.source ?? '';
}

/** Soft-deletes the live function. @returns its id, or null when there was none */
export async function softDelete(env: Env, appId: string, name: string): Promise<string | null> {
  const rows = await controlDb(env).update(functions).set({ deleted_at: new Date() })
    .where(and(eq(functions.app_id, appId), eq(functions.name, name), isNull(functions.deleted_at))).returning({ id: functions.id });
  return rows[0]?.id ?? null;
}

/** The ids of every version a function ever had (their dispatch scripts are named by them). */
export async function versionIds(env: Env, functionId: string): Promise<string[]> {
  const rows = await controlDb(env).select({ id: functionVersions.id }).from(functionVersions).where(eq(functionVersions.function_id, functionId));
  return rows.map((r) => r.id);
}

/** Replaces the sealed env of a function (after a merge). */
export async function saveEnv(env: Env, functionId: string, sealed: Record<string, string>): Promise<void> {
  await controlDb(env).update(functions).set({ env_vars: sealed }).where(eq(functions.id, functionId));
}

/** Sets `allow_service_key_impersonation`. */
export async function saveSettings(env: Env, functionId: string, allow: boolean): Promise<void> {
  await controlDb(env).update(functions).set({ allow_service_key_impersonation: allow }).where(eq(functions.id, functionId));
}

/** One invocation as logged. */
export interface InvocationLog {
  functionId: string;
  appId: string;
  versionId: string | null;
  trigger: TriggerType | 'auth_hook';
  method: string;
  path: string;
  statusCode: number;
  durationMs: number;
  error: string | null;
  stack: string | null;
  consoleLogs: ConsoleLine[];
}

/** Invocation logs waiting to be written by this isolate, and the flush that will write them. */
const pendingLogs: (typeof functionInvocations.$inferInsert)[] = [];
let flushing: Promise<void> | null = null;

/** How long logs gather before one multi-row insert writes them (ms). */
const logFlushDelayMs = 200;

/**
 * Queues one invocation log row; rows gathered over {@link logFlushDelayMs} are written in one
 * insert (one control-database round trip for many invocations under load). The returned promise
 * settles when the row is written — hand it to `waitUntil`.
 */
export function recordInvocation(env: Env, log: InvocationLog): Promise<void> {
  pendingLogs.push(invocationRow(log));
  flushing ??= new Promise<void>((resolve) => setTimeout(resolve, logFlushDelayMs)).then(async () => {
    flushing = null;
    const rows = pendingLogs.splice(0, pendingLogs.length);
    if (rows.length > 0) await controlDb(env).insert(functionInvocations).values(rows);
  });
  return flushing;
}

function invocationRow(log: InvocationLog): typeof functionInvocations.$inferInsert {
  return {
    function_id: log.functionId,
    app_id: log.appId,
    version_id: log.versionId,
    trigger_type: log.trigger,
    method: log.method,
    path: log.path.slice(0, 2000),
    status_code: log.statusCode,
    duration_ms: Math.round(log.durationMs),
    error: log.error?.slice(0, 4000) ?? null,
    stack: log.stack?.slice(0, 16_000) ?? null,
    console_logs: log.consoleLogs,
  };
}

/** Invocation logs newest first: at most `limit` (+1 to tell `hasMore`), since `since`, errors only for level=error. */
export async function readInvocations(env: Env, functionId: string, options: { limit: number; since?: string; errorsOnly: boolean }) {
  const conditions = [eq(functionInvocations.function_id, functionId)];
  if (options.since) conditions.push(gte(functionInvocations.created_at, new Date(options.since)));
  if (options.errorsOnly) conditions.push(sql`(${functionInvocations.status_code} >= 500 OR ${functionInvocations.error} IS NOT NULL)`);
  const rows = await controlDb(env).select().from(functionInvocations).where(and(...conditions))
    .orderBy(desc(functionInvocations.created_at)).limit(options.limit + 1);
  return { rows: rows.slice(0, options.limit), hasMore: rows.length > options.limit };
}

/** Per-function invocation figures for the list and get routes. */
export interface InvocationStats {
  count: number;
  errors: number;
  avgDurationMs: number | null;
  lastInvoked: Date | null;
  lastStatus: number | null;
}

/** Figures of each function id (all time). */
export async function invocationStats(env: Env, functionIds: string[]): Promise<Map<string, InvocationStats>> {
  const out = new Map<string, InvocationStats>();
  if (functionIds.length === 0) return out;
  const rows = await controlDb(env).select({
    id: functionInvocations.function_id,
    count: sql<number>`count(*)::int`,
    errors: sql<number>`count(*) FILTER (WHERE ${functionInvocations.status_code} >= 500)::int`,
    avg: sql<number | null>`avg(${functionInvocations.duration_ms})::float8`,
    last: sql<string | null>`max(${functionInvocations.created_at})`,
    lastStatus: sql<number | null>`(array_agg(${functionInvocations.status_code} ORDER BY ${functionInvocations.created_at} DESC))[1]`,
  }).from(functionInvocations).where(inArray(functionInvocations.function_id, functionIds)).groupBy(functionInvocations.function_id);
  for (const row of rows) {
    out.set(row.id, {
      count: Number(row.count),
      errors: Number(row.errors),
      avgDurationMs: row.avg === null ? null : Number(row.avg),
      lastInvoked: row.last ? new Date(row.last) : null,
      lastStatus: row.lastStatus === null ? null : Number(row.lastStatus),
    });
  }
  return out;
}

/** The app row (anon key, env, auth config…). @throws ApiError APP_NOT_FOUND */
export async function loadApp(env: Env, appId: string): Promise<AppRow> {
  const row = await selectAppById(env, appId);
  if (!row) throw new ApiError('APP_NOT_FOUND', `App ${appId} not found.`);
  return appRecord(row);
}
