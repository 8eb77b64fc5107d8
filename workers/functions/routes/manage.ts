/**
 * Routes (owner auth, API.md §8.1): POST /v1/:app/functions (deploy by name), GET list, GET one,
 * DELETE (soft), PATCH env, PATCH settings, POST invoke (owner test-invoke), GET logs, GET logs/stream (SSE).
 */
import { requireServiceKey } from '../../shared/owner.ts';
import { Cron } from 'croner';
import { Hono, type Context } from 'hono';
import { encryptSecret } from '../../shared/crypto.ts';
import { ApiError } from '../../shared/errors.ts';
import { principalOf, requestId } from '../../shared/http.ts';
import type { Principal, ServiceKeyPrincipal } from '../../shared/principal.ts';
import {
  deployFunctionBody, functionEnvBody, functionLogsQuery, functionSettingsBody, platformEnvPrefix, triggerConfigs,
  type DeployFunctionBody, type TriggerInput,
} from '../../shared/schemas/functions.ts';
import { parseJsonBody, parseWith } from '../../shared/validation.ts';
import type { Env } from '../env.ts';
import { buildFunction } from '../services/build.ts';
import { settleFunctionWrite } from '../services/record-cache.ts';
import { forwardedRequest, invokeHttp } from '../services/http-invoke.ts';
import {
  consoleLines, currentSource, findFunction, findFunctionForLogs, functionNotFound, invocationStats, listFunctions, readInvocations,
  saveDeploy, saveEnv, saveSettings, softDelete, versionIds, type FunctionRow, type StoredTrigger,
} from '../services/records.ts';
import { deleteScripts, dispatchConfig, uploadScript, versionUpload } from '../services/dispatch-namespace.ts';

type FunctionsContext = Context<{ Bindings: Env }>;

export const manageRoutes = new Hono<{ Bindings: Env }>();

/**
 * The caller must be the app owner's service key (the router already hid other accounts' apps).
 * @throws ApiError AUTH_REQUIRED, the router's credential code, AUTH_INSUFFICIENT_PERMISSIONS (end users)
 */
export function requireOwner(principal: Principal): ServiceKeyPrincipal {
  return requireServiceKey(principal, {
    anonymous: 'Managing functions needs a service key: send Authorization: Bearer bb_sk_….',
    endUser: 'End-user tokens cannot manage functions; use a service key.',
  });
}

function owner(c: FunctionsContext): string {
  requireOwner(principalOf(c));
  return c.req.param('app')!;
}

/** The function's public URL (null without an enabled http trigger). */
function functionUrl(env: Env, appId: string, row: Pick<FunctionRow, 'name' | 'triggers'>): string | null {
  const http = row.triggers.find((t) => t.type === 'http');
  return http?.enabled ? `${env.PUBLIC_API_URL.replace(/\/$/, '')}/v1/${appId}/fn/${row.name}` : null;
}

/** Triggers as read back: webhook secrets as `***`. */
function publicTriggers(triggers: StoredTrigger[]) {
  return triggers.map((t) => {
    const { secret_sealed: sealed, ...config } = t.config;
    return { type: t.type, config: sealed === undefined ? config : { ...config, secret: '***' }, enabled: t.enabled };
  });
}

/**
 * Checks and normalises the deploy's triggers: `triggers`, else legacy `trigger`, else one `http`;
 * at most one per type; each config checked by type; cron schedules parsed (croner) with their
 * timezone; webhook secrets sealed.
 * @throws ApiError VALIDATION_INVALID_SCHEMA naming the trigger and field
 */
async function normaliseTriggers(env: Env, body: DeployFunctionBody): Promise<StoredTrigger[]> {
  const given: TriggerInput[] = body.triggers ?? (body.trigger ? [{ ...body.trigger, enabled: true }] : [{ type: 'http', config: {}, enabled: true }]);
  const seen = new Set<string>();
  const out: StoredTrigger[] = [];
  for (const [index, trigger] of given.entries()) {
    if (seen.has(trigger.type)) throw new ApiError('VALIDATION_INVALID_SCHEMA', `At most one trigger per type: "${trigger.type}" appears twice.`);
    seen.add(trigger.type);
    const config = parseWith(triggerConfigs[trigger.type], trigger.config, `triggers[${index}].config`) as Record<string, unknown>;
    if (trigger.type === 'cron') {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: String(config.timezone) });
        new Cron(String(config.schedule), { timezone: String(config.timezone), paused: true }).nextRun();
      } catch (error) {
        throw new ApiError('VALIDATION_INVALID_SCHEMA', `triggers[${index}].config: invalid cron schedule or timezone: ${(error as Error).message}`, {
          remediation: 'Use a 5-field cron expression such as "*/5 * * * *" and an IANA timezone such as "UTC" or "Europe/Paris".',
        });
      }
    }
    if (trigger.type === 'webhook') {
      const { secret, ...rest } = config;
      out.push({ type: trigger.type, config: { ...rest, secret_sealed: await encryptSecret(String(secret), env.PLATFORM_MASTER_KEY) }, enabled: trigger.enabled });
      continue;
    }
    out.push({ type: trigger.type, config, enabled: trigger.enabled });
  }
  return out;
}

async function sealEnv(env: Env, values: Record<string, string>): Promise<Record<string, string>> {
  const entries = await Promise.all(Object.entries(values).map(async ([key, value]) => [key, await encryptSecret(value, env.PLATFORM_MASTER_KEY)] as const));
  return Object.fromEntries(entries);
}

manageRoutes.post('/v1/:app/functions', async (c) => {
  const appId = owner(c);
  const body = await parseJsonBody(c.req.raw, deployFunctionBody);
  const built = await buildFunction(body.code);
  const triggers = await normaliseTriggers(c.env, body);
  const agentTool = body.agent_tool === undefined && body.agent_tool_description === undefined ? null : {
    agent_tool: body.agent_tool ?? false,
    agent_tool_description: body.agent_tool_description ?? null,
    agent_tool_mode: body.agent_tool_mode ?? null,
    agent_tool_exposed_to: body.agent_tool_exposed_to ?? null,
  };
  // Workers for Platforms: the version's script is uploaded under its id before anything is recorded,
  // so a Cloudflare API failure (502) leaves the function as it was.
  const versionId = crypto.randomUUID();
  const dispatch = dispatchConfig(c.env);
  if (dispatch) await uploadScript(dispatch, versionId, versionUpload(dispatch, built.code, { appId, functionName: body.name }));
  const save = saveDeploy(c.env, {
    versionId,
    appId,
    name: body.name,
    description: body.description ?? null,
    source: body.code,
    compiled: built.code,
    envVars: body.envVars ? await sealEnv(c.env, body.envVars) : undefined,
    triggers,
    timeoutMs: body.timeoutMs,
    memoryLimitMb: body.memoryLimitMb,
    allowImpersonation: body.allow_service_key_impersonation,
    agentTool,
  });
  if (dispatch) save.catch(() => c.executionCtx.waitUntil(deleteScripts(dispatch, [versionId])));
  const row = await save;
  await settleFunctionWrite(c.env, appId, row.name);
  return c.json({
    id: row.id,
    name: row.name,
    url: functionUrl(c.env, appId, row),
    triggers: row.triggers.map((t) => ({ type: t.type, enabled: t.enabled })),
    deployedAt: row.deployed_at.toISOString(),
    versionId: row.current_version_id,
    cacheInvalidation: { success: true, attempts: 1 },
  }, 201);
});

manageRoutes.get('/v1/:app/functions', async (c) => {
  const appId = owner(c);
  const rows = await listFunctions(c.env, appId);
  const stats = await invocationStats(c.env, rows.map((r) => r.id));
  return c.json({
    functions: rows.map((row) => {
      const s = stats.get(row.id);
      return {
        id: row.id,
        name: row.name,
        description: row.description,
        triggers: publicTriggers(row.triggers),
        url: functionUrl(c.env, appId, row),
        status: 'active',
        deployedAt: row.deployed_at.toISOString(),
        lastInvoked: s?.lastInvoked?.toISOString() ?? null,
        lastStatus: s?.lastStatus ?? null,
        invocationCount: s?.count ?? 0,
        errorRate: s && s.count > 0 ? s.errors / s.count : 0,
        avgDuration: s?.avgDurationMs ?? null,
        allow_service_key_impersonation: row.allow_service_key_impersonation,
        ...(row.agent_tool as Record<string, unknown> | null ?? {}),
      };
    }),
  });
});

async function liveFunction(c: FunctionsContext, appId: string): Promise<FunctionRow> {
  const name = c.req.param('name')!;
  const row = await findFunction(c.env, appId, name);
  if (!row) throw functionNotFound(name);
  return row;
}

manageRoutes.get('/v1/:app/functions/:name', async (c) => {
  const appId = owner(c);
  const row = await liveFunction(c, appId);
  const s = (await invocationStats(c.env, [row.id])).get(row.id);
  return c.json({
    id: row.id,
    name: row.name,
    description: row.description,
    code: await currentSource(c.env, row),
    triggers: publicTriggers(row.triggers),
    timeoutMs: row.timeout_ms,
    memoryLimitMb: row.memory_limit_mb,
    deployedAt: row.deployed_at.toISOString(),
    lastInvoked: s?.lastInvoked?.toISOString() ?? null,
    invocationCount: s?.count ?? 0,
    errorCount: s?.errors ?? 0,
    avgDuration: s?.avgDurationMs ?? null,
    envKeys: Object.keys(row.env_vars).sort(),
    allow_service_key_impersonation: row.allow_service_key_impersonation,
    url: functionUrl(c.env, appId, row),
  });
});

manageRoutes.delete('/v1/:app/functions/:name', async (c) => {
  const appId = owner(c);
  const name = c.req.param('name');
  const deleted = await softDelete(c.env, appId, name);
  if (!deleted) throw functionNotFound(name);
  await settleFunctionWrite(c.env, appId, name);
  const dispatch = dispatchConfig(c.env);
  if (dispatch) {
    // Best effort, after the answer: a leftover script is never served (only current versions run).
    c.executionCtx.waitUntil(versionIds(c.env, deleted).then(async (ids) => {
      const count = await deleteScripts(dispatch, ids);
      console.log(`[functions] deleted ${count}/${ids.length} dispatch scripts of ${appId}/${name}`);
    }).catch((error: unknown) => console.error(`[functions] dispatch scripts of ${appId}/${name} not deleted: ${String(error)}`)));
  }
  return c.json({ success: true });
});

manageRoutes.patch('/v1/:app/functions/:name/env', async (c) => {
  const appId = owner(c);
  const body = await parseJsonBody(c.req.raw, functionEnvBody);
  const reserved = Object.keys(body.envVars).filter((key) => key.toUpperCase().startsWith(platformEnvPrefix));
  if (reserved.length > 0) {
    throw new ApiError('VALIDATION_INVALID_NAME', `Variables starting with ${platformEnvPrefix} are set by the platform: ${reserved.join(', ')}.`, {
      remediation: `Rename the variables so they do not start with ${platformEnvPrefix}.`,
    });
  }
  const row = await liveFunction(c, appId);
  const merged: Record<string, string> = { ...row.env_vars };
  for (const [key, value] of Object.entries(body.envVars)) {
    if (value === null) delete merged[key];
    else merged[key] = await encryptSecret(value, c.env.PLATFORM_MASTER_KEY);
  }
  await saveEnv(c.env, row.id, merged);
  await settleFunctionWrite(c.env, appId, row.name);
  return c.json({ success: true, envKeys: Object.keys(merged).sort() });
});

manageRoutes.patch('/v1/:app/functions/:name/settings', async (c) => {
  const appId = owner(c);
  const body = await parseJsonBody(c.req.raw, functionSettingsBody);
  const row = await liveFunction(c, appId);
  await saveSettings(c.env, row.id, body.allow_service_key_impersonation);
  await settleFunctionWrite(c.env, appId, row.name);
  return c.json({ success: true, allow_service_key_impersonation: body.allow_service_key_impersonation });
});

manageRoutes.post('/v1/:app/functions/:name/invoke', async (c) => {
  const appId = owner(c);
  const row = await liveFunction(c, appId);
  const request = forwardedRequest(c.env, c.req.raw, `/v1/${appId}/fn/${row.name}`, 'POST');
  return invokeHttp(c, appId, row, request, 'optional');
});

/** One log row as the logs routes render it (API.md §8.1). */
function logEntry(r: Awaited<ReturnType<typeof readInvocations>>['rows'][number]) {
  return {
    id: r.id,
    timestamp: r.created_at.toISOString(),
    method: r.method,
    path: r.path,
    statusCode: r.status_code,
    duration: r.duration_ms,
    memoryUsed: null,
    trigger: r.trigger_type,
    error: r.error,
    stack: r.stack,
    consoleLogs: consoleLines.parse(r.console_logs),
  };
}

/** How often the stream looks for new invocations (ms), and how long one stream stays open (ms). */
const streamPollMs = 1000;
const streamMaxMs = 5 * 60_000;

manageRoutes.get('/v1/:app/functions/:name/logs/stream', async (c) => {
  const appId = owner(c);
  const query = parseWith(functionLogsQuery, c.req.query(), 'query');
  const row = await liveFunction(c, appId);
  const encoder = new TextEncoder();
  const seen = new Set<string>();
  let since = query.since ?? new Date().toISOString();
  let stopped = false;
  const started = Date.now();
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(encoder.encode(`: streaming logs of ${row.name}\n\n`));
      while (!stopped && Date.now() - started < streamMaxMs) {
        try {
          const { rows } = await readInvocations(c.env, row.id, { limit: 100, since, errorsOnly: query.level === 'error' });
          for (const r of rows.reverse()) {
            if (seen.has(r.id)) continue;
            seen.add(r.id);
            since = r.created_at.toISOString();
            controller.enqueue(encoder.encode(`id: ${r.id}\nevent: log\ndata: ${JSON.stringify(logEntry(r))}\n\n`));
          }
          if (rows.length === 0) controller.enqueue(encoder.encode(': heartbeat\n\n'));
        } catch (error) {
          console.error(`[functions] log stream of ${row.id}: ${String(error)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, streamPollMs));
      }
      if (!stopped) controller.close();
    },
    cancel() {
      stopped = true;
    },
  });
  return new Response(stream, { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-request-id': requestId(c) } });
});

manageRoutes.get('/v1/:app/functions/:name/logs', async (c) => {
  const appId = owner(c);
  const query = parseWith(functionLogsQuery, c.req.query(), 'query');
  const name = c.req.param('name');
  const row = await findFunctionForLogs(c.env, appId, name, query.include_deleted);
  if (!row) throw functionNotFound(name);
  const { rows, hasMore } = await readInvocations(c.env, row.id, { limit: query.limit, since: query.since, errorsOnly: query.level === 'error' });
  return c.json({
    logs: rows.map(logEntry),
    hasMore,
  }, 200, { 'x-request-id': requestId(c) });
});
