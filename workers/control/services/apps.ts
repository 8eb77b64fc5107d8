/**
 * Apps (API.md §2): create (idempotent per owner + name), list, status, delete, config.
 */
import { and, desc, eq, sql } from 'drizzle-orm';
import { isUniqueViolation, selectAppById } from '../../shared/control-db.ts';
import { apiKeys, appRecord, apps, type AppRow } from '../../shared/control-schema.ts';
import { randomBase64, randomString } from '../../shared/crypto.ts';
import { ApiError } from '../../shared/errors.ts';
import { newAppId } from '../../shared/ids.ts';
import type { ServiceKeyPrincipal } from '../../shared/principal.ts';
import { initAppBody, type InitAppBody } from '../../shared/schemas/apps.ts';
import { appIdPattern } from '../../shared/validation.ts';
import { keyManagesApp } from '../authz.ts';
import { controlDb } from '../db.ts';
import type { Env } from '../env.ts';
import { provisionerFor } from '../provisioners/provisioner.ts';
import { queueAppPurge, userCodeInventory } from './app-purge.ts';
import { needsProvisioning, provisionApp } from './provisioning.ts';
import { invalidateAppGate } from './gate-cache.ts';

export { initAppBody, type AppRow, type InitAppBody };

/** Context every app operation needs. */
export interface AppContext {
  env: Env;
  ctx: ExecutionContext;
  caller: ServiceKeyPrincipal;
  /** Public API base, e.g. `https://api.butterbase.ai`. */
  apiBase: string;
}

/** The regions apps may choose (`REGIONS`, comma-separated; default `us-east-1`). */
export function regionsOf(env: Pick<Env, 'REGIONS'>): string[] {
  return (env.REGIONS || 'us-east-1').split(',').map((r) => r.trim());
}

function appUrl(env: Env, subdomain: string): string {
  return (env.APP_URL_TEMPLATE || 'https://{subdomain}.butterbase.dev').replace('{subdomain}', subdomain);
}

/** The provisioning state of an app as GET /apps/{id}/status shows it (API.md §2). */
function statusOf(row: AppRow) {
  return {
    app_id: row.id,
    name: row.name,
    db_provisioned: row.db_provisioned,
    provisioning_status: row.provisioning_status,
    provisioning_error: row.provisioning_error,
  };
}

function initResponse(c: AppContext, row: AppRow) {
  return {
    ...statusOf(row),
    api_url: `${c.apiBase}/v1/${row.id}`,
    subdomain: row.subdomain,
    url: appUrl(c.env, row.subdomain),
    anon_key: row.anon_key,
    region: row.region,
    _meta: {
      next_actions: [
        { action: 'poll_status', description: `GET /apps/${row.id}/status until provisioning_status is "ready"`, recommended: row.provisioning_status !== 'ready' },
        { action: 'apply_schema', description: `POST /v1/${row.id}/schema/apply with your tables (dry_run first)`, recommended: row.provisioning_status === 'ready' },
      ],
    },
  };
}

function subdomainFromName(name: string): string {
  const base = name.replace(/_/g, '-').replace(/-+/g, '-').replace(/^-+|-+$/g, '');
  return base === '' ? 'app' : base.slice(0, 58).replace(/-+$/, '');
}

/**
 * POST /init: creates the app and starts provisioning in the background, or returns the caller's
 * existing app of that name (a failed one is retried).
 * @returns status 201 for a new app, 200 for an existing one, and the §2 body.
 * @throws ApiError VALIDATION_INVALID_SCHEMA (unknown region), RESOURCE_ALREADY_EXISTS (explicit subdomain taken),
 *   AUTH_INSUFFICIENT_PERMISSIONS (app-scoped key).
 */
export async function initApp(c: AppContext, body: InitAppBody): Promise<{ status: 200 | 201; body: ReturnType<typeof initResponse> }> {
  const { env } = c;
  const regions = regionsOf(env);
  const region = body.region ?? env.DEFAULT_REGION ?? regions[0]!;
  if (!regions.includes(region)) {
    throw new ApiError('VALIDATION_INVALID_SCHEMA', `Unknown region "${region}".`, {
      details: [{ path: 'region', message: `must be one of ${regions.join(', ')}`, code: 'invalid_value' }],
      remediation: `Pick one of: ${regions.join(', ')} (GET /v1/regions).`,
    });
  }
  const db = controlDb(env);
  const existing = await findByName(env, c.caller.accountId, body.name);
  if (existing) return { status: 200, body: initResponse(c, await retryIfFailed(c, existing)) };

  for (let attempt = 0; attempt < 6; attempt++) {
    const subdomain = body.subdomain ?? (attempt === 0 ? subdomainFromName(body.name) : `${subdomainFromName(body.name)}-${randomString(4, 'abcdefghijklmnopqrstuvwxyz0123456789')}`);
    const id = newAppId();
    try {
      const [inserted] = await db.insert(apps)
        .values({ id, account_id: c.caller.accountId, name: body.name, subdomain, db_name: id, region, anon_key: randomBase64(32) })
        .onConflictDoNothing({ target: [apps.account_id, apps.name] })
        .returning();
      if (!inserted) {
        // A concurrent /init with the same name won the race: return its app.
        const winner = await findByName(env, c.caller.accountId, body.name);
        if (winner) return { status: 200, body: initResponse(c, winner) };
        continue;
      }
      const row = appRecord(inserted);
      invalidateAppGate(row.id);
      c.ctx.waitUntil(provisionApp(env, row.id));
      return { status: 201, body: initResponse(c, row) };
    } catch (error) {
      if (isUniqueViolation(error, 'apps_subdomain_key')) {
        if (body.subdomain) {
          throw new ApiError('RESOURCE_ALREADY_EXISTS', `Subdomain "${body.subdomain}" is already taken.`, {
            remediation: 'Choose another subdomain, or omit it to get one derived from the name.',
          });
        }
        continue;
      }
      throw error;
    }
  }
  throw new ApiError('RESOURCE_CONFLICT', 'Could not find a free subdomain for this app name.', {
    remediation: 'Pass an explicit, unusual subdomain.',
  });
}

async function findByName(env: Env, accountId: string, name: string): Promise<AppRow | undefined> {
  const [row] = await controlDb(env).select().from(apps).where(and(eq(apps.account_id, accountId), eq(apps.name, name)));
  return row && appRecord(row);
}

async function retryIfFailed(c: AppContext, row: AppRow): Promise<AppRow> {
  if (row.provisioning_status === 'failed') {
    const [retried] = await controlDb(c.env).update(apps)
      .set({ provisioning_status: 'provisioning', provisioning_error: null, provisioning_lease_until: null, updated_at: sql`now()` })
      .where(and(eq(apps.id, row.id), eq(apps.provisioning_status, 'failed')))
      .returning();
    row = retried ? appRecord(retried) : row;
    invalidateAppGate(row.id);
  }
  if (needsProvisioning(row)) c.ctx.waitUntil(provisionApp(c.env, row.id));
  return row;
}

/**
 * Loads an app the caller may manage.
 * @throws ApiError APP_NOT_FOUND when it does not exist or belongs to someone else (existence is hidden).
 */
export async function loadOwnedApp(env: Env, caller: ServiceKeyPrincipal, appId: string): Promise<AppRow> {
  if (!appIdPattern.test(appId)) throw new ApiError('APP_NOT_FOUND', `App ${appId} not found.`);
  const row = await selectAppById(env, appId);
  if (!row || !keyManagesApp(caller, row)) throw new ApiError('APP_NOT_FOUND', `App ${appId} not found.`);
  return appRecord(row);
}

/** GET /apps: the caller's apps, newest first. Stalled provisioning is resumed in the background. */
export async function listApps(c: AppContext) {
  const rows = await controlDb(c.env).select().from(apps)
    .where(eq(apps.account_id, c.caller.accountId))
    .orderBy(desc(apps.created_at), apps.id);
  const visible = rows.filter((r) => keyManagesApp(c.caller, r));
  for (const row of visible) if (needsProvisioning(row)) c.ctx.waitUntil(provisionApp(c.env, row.id));
  return {
    apps: visible.map((r) => ({
      id: r.id,
      name: r.name,
      subdomain: r.subdomain,
      db_name: r.db_name,
      db_provisioned: r.db_provisioned,
      provisioning_status: r.provisioning_status,
      region: r.region,
      visibility: r.visibility,
      listed: r.listed,
      created_at: r.created_at,
    })),
  };
}

/** GET /apps/{id}/status. A `provisioning` app nobody is working on is resumed. */
export async function appStatus(c: AppContext, appId: string) {
  const row = await loadOwnedApp(c.env, c.caller, appId);
  if (needsProvisioning(row)) c.ctx.waitUntil(provisionApp(c.env, row.id));
  return statusOf(row);
}

/**
 * DELETE /apps/{id}: drops the app's database, then its record (signing keys, app-scoped keys,
 * functions, deployments and Durable Object classes go with it; audit rows stay), then queues the
 * purges of what lives outside the control database: its stored objects (storage Worker) and what
 * its user code left — site files, Durable Object storage, dispatch scripts (hosting Worker,
 * services/app-purge.ts, whose names are read before the rows go). A failed drop leaves the app in
 * `deleting`; deleting again retries.
 * @throws ApiError APP_NOT_FOUND, EXTERNAL_DB_ERROR
 */
export async function deleteApp(c: AppContext, appId: string): Promise<{ message: string; app_id: string }> {
  const row = await loadOwnedApp(c.env, c.caller, appId);
  const db = controlDb(c.env);
  await db.update(apps).set({ provisioning_status: 'deleting', updated_at: sql`now()` }).where(eq(apps.id, row.id));
  invalidateAppGate(row.id);
  const userCode = await userCodeInventory(c.env, row.id);
  await provisionerFor(c.env).dropDatabase(row.db_name);
  await db.batch([
    db.delete(apiKeys).where(eq(apiKeys.target_app_id, row.id)),
    db.delete(apps).where(eq(apps.id, row.id)),
  ]);
  invalidateAppGate(row.id);
  await purgeStorage(c.env, row.id);
  await queueAppPurge(c.env, userCode);
  return { message: `App ${row.id} and its database were deleted.`, app_id: row.id };
}

/**
 * Asks the storage Worker (queue STORAGE_PURGE) to delete the app's objects. A queue rather than an
 * RPC: the purge of a large app outlasts one request, is retried until it is done, and storage
 * needs no binding back to control. A failed send is logged; the app is gone either way, and the
 * storage Worker deletes objects of apps that no longer exist when their notifications arrive.
 */
async function purgeStorage(env: AppContext['env'], appId: string): Promise<void> {
  if (!env.STORAGE_PURGE) return;
  try {
    await env.STORAGE_PURGE.send({ type: 'app_deleted', appId });
  } catch (error) {
    console.error(`[apps] storage purge of ${appId} not queued: ${String(error)}`);
  }
}

/**
 * GET /v1/{app}/config: the app record (§2) plus the public anon key and pause state, the CORS
 * methods/headers/credentials, and the SDK's `cors_allowed_origins` alias of `allowed_origins`
 * (API.md §2 Gap: the SDK's AppConfig type names it so).
 */
export function configOf(row: AppRow) {
  return {
    id: row.id,
    name: row.name,
    subdomain: row.subdomain,
    db_name: row.db_name,
    db_provisioned: row.db_provisioned,
    provisioning_status: row.provisioning_status,
    region: row.region,
    allowed_origins: row.allowed_origins,
    cors_allowed_origins: row.allowed_origins,
    cors_allowed_methods: row.cors_allowed_methods,
    cors_allowed_headers: row.cors_allowed_headers,
    cors_allow_credentials: row.cors_allow_credentials,
    storage_config: row.storage_config,
    jwt_config: row.jwt_config,
    auth_hook_function: row.auth_hook_function,
    access_mode: row.access_mode,
    paused: row.paused,
    paused_at: row.paused_at,
    paused_reason: row.paused_reason,
    anon_key: row.anon_key,
    visibility: row.visibility,
    listed: row.listed,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}
