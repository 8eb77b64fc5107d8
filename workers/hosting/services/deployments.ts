/**
 * Frontend deployment records (control-plane `frontend_deployments`, `frontend_sites`) and their wire
 * shape (API.md §10.2). Status changes are conditional UPDATEs, so a cancel and a finishing build
 * can never both win, and activation is one statement that flips `frontend_sites` only if the
 * deployment is (still) READY — the old site serves until then.
 */
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import { controlDb, controlSql } from '../../shared/control-db.ts';
import { frontendDeployments, frontendSites, type deploymentKinds, type deploymentStatuses } from '../../shared/control-schema.ts';
import { ApiError } from '../../shared/errors.ts';
import type { Env } from '../env.ts';

export type DeploymentRow = typeof frontendDeployments.$inferSelect;
export type DeploymentStatus = (typeof deploymentStatuses)[number];
/** `static` (API.md §10.2, base `/frontend`) or `ssr` (§10.3, base `/edge-ssr`). */
export type DeploymentKind = (typeof deploymentKinds)[number];

/** The route base of a kind's deployments (`/v1/{app_id}/{base}/deployments`). */
export const kindBase: Record<DeploymentKind, string> = { static: 'frontend', ssr: 'edge-ssr' };

/** Upload URL validity (API.md §10.2: 15 min) and size cap (100 MB). */
export const uploadTtlSeconds = 900;
export const maxUploadBytes = 104_857_600;
/** Deployments that are not finished yet, per app; more → QUOTA_DEPLOYMENT_LIMIT. */
export const maxPendingDeployments = 10;

/**
 * The list item of GET …/deployments (API.md §10.2; an SSR deployment adds §10.3's
 * `workerScriptSizeBytes` (gzip-compressed bytes) and `workerScriptModuleCount`), plus `active`
 * (beyond the reference).
 */
export function deploymentWire(row: DeploymentRow, url: string, activeId: string | null) {
  const ssr = row.kind === 'ssr' ? { workerScriptSizeBytes: row.worker_script_size_bytes, workerScriptModuleCount: row.worker_script_module_count } : {};
  return {
    id: row.id,
    framework: row.framework,
    url,
    status: row.status,
    error: row.error,
    fileCount: row.file_count,
    totalSizeBytes: row.total_size_bytes,
    ...ssr,
    createdAt: row.created_at.toISOString(),
    startedAt: row.started_at?.toISOString() ?? null,
    completedAt: row.completed_at?.toISOString() ?? null,
    updatedAt: row.updated_at.toISOString(),
    active: row.id === activeId,
  };
}

/** GET …/deployments/{id}: the list item plus the reference's Cloudflare fields and `buildConfig`. */
export function deploymentDetailWire(row: DeploymentRow, url: string, activeId: string | null) {
  return { ...deploymentWire(row, url, activeId), cloudflareProjectName: null, cloudflareDeploymentId: null, buildConfig: row.build_config };
}

/**
 * A new WAITING deployment of `kind` (unfinished deployments of both kinds count toward the limit).
 * @throws ApiError QUOTA_DEPLOYMENT_LIMIT when too many are unfinished
 */
export async function createDeployment(env: Env, appId: string, framework: string, kind: DeploymentKind = 'static'): Promise<DeploymentRow> {
  const db = controlDb(env);
  const pending = await db.select({ n: sql<number>`count(*)::int` }).from(frontendDeployments)
    .where(and(eq(frontendDeployments.app_id, appId), inArray(frontendDeployments.status, ['WAITING', 'UPLOADING', 'BUILDING'])));
  if ((pending[0]?.n ?? 0) >= maxPendingDeployments) {
    throw new ApiError('QUOTA_DEPLOYMENT_LIMIT', `App ${appId} already has ${maxPendingDeployments} unfinished deployments.`, {
      remediation: `Start, cancel or delete the unfinished deployments (GET /v1/{app_id}/${kindBase[kind]}/deployments) first.`,
    });
  }
  const [row] = await db.insert(frontendDeployments).values({
    app_id: appId,
    framework,
    kind,
    upload_expires_at: new Date(Date.now() + uploadTtlSeconds * 1000),
    build_config: { framework },
  }).returning();
  return row!;
}

/** The app's deployments of `kind`, newest first, and the active one's id (of either kind). */
export async function listDeployments(env: Env, appId: string, kind: DeploymentKind = 'static'): Promise<{ rows: DeploymentRow[]; activeId: string | null }> {
  const db = controlDb(env);
  const [rows, activeId] = await Promise.all([
    db.select().from(frontendDeployments).where(and(eq(frontendDeployments.app_id, appId), eq(frontendDeployments.kind, kind)))
      .orderBy(desc(frontendDeployments.created_at)).limit(100),
    activeDeploymentId(env, appId),
  ]);
  return { rows, activeId };
}

/**
 * One deployment of the app, of `kind` (a static deployment is not found under /edge-ssr and back).
 * @throws ApiError RESOURCE_NOT_FOUND (also for a malformed id)
 */
export async function getDeployment(env: Env, appId: string, id: string, kind: DeploymentKind = 'static'): Promise<DeploymentRow> {
  const notFound = new ApiError('RESOURCE_NOT_FOUND', `Deployment ${id} not found.`, { remediation: `List the deployments (GET /v1/{app_id}/${kindBase[kind]}/deployments) to find its id.` });
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) throw notFound;
  const [row] = await controlDb(env).select().from(frontendDeployments)
    .where(and(eq(frontendDeployments.app_id, appId), eq(frontendDeployments.id, id), eq(frontendDeployments.kind, kind)));
  if (!row) throw notFound;
  return row;
}

/**
 * Moves a deployment from one of `from` to `to` (with extra column values) in one conditional
 * UPDATE. Out: the updated row, or null when its status was not in `from` any more.
 */
export async function transition(
  env: Env,
  id: string,
  from: readonly DeploymentStatus[],
  to: DeploymentStatus,
  values: Partial<Pick<DeploymentRow, 'error' | 'file_count' | 'total_size_bytes' | 'upload_size_bytes' | 'started_at' | 'completed_at' | 'worker_script_size_bytes' | 'worker_script_module_count'>> = {},
): Promise<DeploymentRow | null> {
  const [row] = await controlDb(env).update(frontendDeployments)
    .set({ status: to, ...values, updated_at: new Date() })
    .where(and(eq(frontendDeployments.id, id), inArray(frontendDeployments.status, [...from])))
    .returning();
  return row ?? null;
}

/** Records the uploaded zip's size (status stays WAITING until start). Out: false when no longer WAITING. */
export async function recordUpload(env: Env, id: string, sizeBytes: number): Promise<boolean> {
  const rows = await controlDb(env).update(frontendDeployments)
    .set({ upload_size_bytes: sizeBytes, updated_at: new Date() })
    .where(and(eq(frontendDeployments.id, id), eq(frontendDeployments.status, 'WAITING')))
    .returning({ id: frontendDeployments.id });
  return rows.length === 1;
}

/**
 * Finishes a build: BUILDING → READY and makes it the app's active deployment, in one statement (so
 * a cancel that landed first wins and nothing switches). Out: true when it became READY and active.
 */
export async function completeAndActivate(env: Env, appId: string, id: string, fileCount: number, totalSizeBytes: number): Promise<boolean> {
  const rows = await controlSql(env).query(
    `WITH ready AS (
       UPDATE frontend_deployments SET status = 'READY', file_count = $3, total_size_bytes = $4, completed_at = now(), updated_at = now()
        WHERE id = $2 AND app_id = $1 AND status = 'BUILDING' RETURNING id, app_id)
     INSERT INTO frontend_sites (app_id, active_deployment_id, updated_at) SELECT app_id, id, now() FROM ready
     ON CONFLICT (app_id) DO UPDATE SET active_deployment_id = excluded.active_deployment_id, updated_at = now()
     RETURNING active_deployment_id`,
    [appId, id, fileCount, totalSizeBytes],
  );
  forgetServingDeployment(appId);
  return rows.length === 1;
}

/**
 * Makes a READY deployment the active one again (rollback), in one statement.
 * @throws ApiError INVALID_STATUS when it is not READY
 */
export async function activate(env: Env, appId: string, id: string): Promise<void> {
  const rows = await controlSql(env).query(
    `INSERT INTO frontend_sites (app_id, active_deployment_id, updated_at)
       SELECT app_id, id, now() FROM frontend_deployments WHERE id = $2 AND app_id = $1 AND status = 'READY'
     ON CONFLICT (app_id) DO UPDATE SET active_deployment_id = excluded.active_deployment_id, updated_at = now()
     RETURNING active_deployment_id`,
    [appId, id],
  );
  forgetServingDeployment(appId);
  if (rows.length !== 1) throw new ApiError('INVALID_STATUS', `Deployment ${id} is not READY; only a READY deployment can be activated.`);
}

/** The deployment the app host serves, or null. */
export async function activeDeploymentId(env: Env, appId: string): Promise<string | null> {
  const [row] = await controlDb(env).select({ id: frontendSites.active_deployment_id }).from(frontendSites).where(eq(frontendSites.app_id, appId));
  return row?.id ?? null;
}

/** How long an app host trusts its isolate's answer to "which deployment is live" (ms). */
const servingTtlMs = 1_000;
const serving = new Map<string, { id: string | null; expiresAtMs: number }>();

/**
 * {@link activeDeploymentId} for serving requests, remembered per isolate for 1 s so an asset GET
 * costs no control-database read. A switch (deploy, rollback, delete) made in this isolate is seen at
 * once; other isolates see it within the second — the old site keeps serving until then, never a mix.
 */
export async function servingDeploymentId(env: Env, appId: string, nowMs = Date.now()): Promise<string | null> {
  const hit = serving.get(appId);
  if (hit && hit.expiresAtMs > nowMs) return hit.id;
  const id = await activeDeploymentId(env, appId);
  if (serving.size >= 10_000) serving.delete(serving.keys().next().value!);
  serving.set(appId, { id, expiresAtMs: nowMs + servingTtlMs });
  return id;
}

/** Forgets the remembered live deployment of `appId` in this isolate (after any switch). */
export function forgetServingDeployment(appId: string): void {
  serving.delete(appId);
}

/** Deletes a deployment row (the site pointer is cleared by its foreign key). */
export async function deleteDeploymentRow(env: Env, id: string): Promise<void> {
  await controlDb(env).delete(frontendDeployments).where(eq(frontendDeployments.id, id));
  for (const [appId, hit] of serving) if (hit.id === id) serving.delete(appId);
}

/** READY deployments beyond the newest `keep` that are not active: the ones to prune. */
export async function surplusReady(env: Env, appId: string, keep: number): Promise<string[]> {
  const activeId = await activeDeploymentId(env, appId);
  const ready = await controlDb(env).select({ id: frontendDeployments.id }).from(frontendDeployments)
    .where(and(eq(frontendDeployments.app_id, appId), eq(frontendDeployments.status, 'READY')))
    .orderBy(desc(frontendDeployments.completed_at));
  return ready.map((r) => r.id).filter((id) => id !== activeId).slice(Math.max(keep - 1, 0));
}
