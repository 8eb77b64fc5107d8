/**
 * Routes: frontend deployments, static (API.md §10.2, base /v1/:app/frontend) and Edge SSR (§10.3,
 * base /v1/:app/edge-ssr) — one lifecycle, one table, one active site per app, so the same routes
 * serve both kinds (owner auth except the signed upload URL). create → PUT the zip to `uploadUrl` →
 * start → poll get/sync; list, cancel, delete, activate (rollback across kinds, beyond the
 * reference), env (keys only on read; one env per app, shared by both bases: static builds ignore
 * it, an SSR deployment snapshots it when built). The from-source build routes answer
 * FEATURE_NOT_AVAILABLE until a build service exists.
 */
import { and, asc, eq, sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { controlDb } from '../../shared/control-db.ts';
import { frontendEnv } from '../../shared/control-schema.ts';
import { encryptSecret } from '../../shared/crypto.ts';
import { ApiError } from '../../shared/errors.ts';
import { createEdgeSsrDeploymentBody, createFrontendDeploymentBody, frontendEnvBody } from '../../shared/schemas/hosting.ts';
import { parseJsonBody } from '../../shared/validation.ts';
import { requireOwner, siteUrl, type HostingContext } from '../caller.ts';
import type { Env } from '../env.ts';
import { buildDeployment } from '../services/build.ts';
import type { HostingExecutionContext } from '../services/ssr.ts';
import {
  activate, activeDeploymentId, createDeployment, deleteDeploymentRow, deploymentDetailWire, deploymentWire, getDeployment, kindBase, listDeployments,
  maxUploadBytes, recordUpload, transition, uploadTtlSeconds, type DeploymentKind,
} from '../services/deployments.ts';
import { deletePrefix, sitePrefix, uploadKey } from '../services/site-keys.ts';
import { uploadUrl, verifyUpload } from '../services/upload-token.ts';

const zipTypes = new Set(['application/zip', 'application/x-zip-compressed', 'application/octet-stream']);

/** The deployment routes of one kind under `/v1/:app/{frontend|edge-ssr}`. */
function deploymentRoutes(kind: DeploymentKind): Hono<{ Bindings: Env }> {
  const routes = new Hono<{ Bindings: Env }>();
  const base = `/v1/:app/${kindBase[kind]}`;

  // Before /deployments/:id, which would otherwise take "from-source" for an id.
  routes.all(`${base}/deployments/from-source/*`, (c) => fromSource(c, kind));
  routes.all(`${base}/deployments/from-source`, (c) => fromSource(c, kind));

  routes.post(`${base}/deployments`, async (c) => {
    const app = requireOwner(c);
    const body = await parseJsonBody(c.req.raw, kind === 'ssr' ? createEdgeSsrDeploymentBody : createFrontendDeploymentBody);
    const row = await createDeployment(c.env, app.id, body.framework, kind);
    const expiresAt = Math.floor(row.upload_expires_at.getTime() / 1000);
    return c.json({
      id: row.id,
      uploadUrl: await uploadUrl(new URL(c.req.url).origin, c.env.PLATFORM_MASTER_KEY, app.id, row.id, expiresAt, kindBase[kind]),
      expiresIn: uploadTtlSeconds,
      maxSizeBytes: maxUploadBytes,
    }, 201);
  });

  routes.put(`${base}/deployments/:id/upload`, async (c) => {
    const appId = c.req.param('app')!;
    const id = c.req.param('id')!;
    const expires = Number(c.req.query('expires'));
    const signature = c.req.query('signature') ?? '';
    if (!Number.isInteger(expires) || !(await verifyUpload(c.env.PLATFORM_MASTER_KEY, appId, id, expires, signature))) {
      throw new ApiError('AUTH_INVALID_TOKEN', 'The upload URL is not valid (its signature does not match).', {
        remediation: `Use the uploadUrl exactly as POST /v1/{app_id}/${kindBase[kind]}/deployments returned it.`,
      });
    }
    if (Date.now() / 1000 > expires) throw new ApiError('UPLOAD_EXPIRED', 'The upload URL expired.');
    const row = await getDeployment(c.env, appId, id, kind);
    if (row.status !== 'WAITING') throw new ApiError('INVALID_STATUS', `Deployment ${id} is ${row.status}; uploads are accepted only while it is WAITING.`);
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (!zipTypes.has(type)) {
      throw new ApiError('VALIDATION_INVALID_TYPE', `Content-Type must be application/zip (got "${type || 'none'}").`, {
        remediation: 'curl -X PUT "$UPLOAD_URL" -H "Content-Type: application/zip" --data-binary @site.zip',
      });
    }
    const length = Number(c.req.header('content-length'));
    if (!c.req.header('content-length') || !Number.isInteger(length) || length < 0) {
      throw new ApiError('VALIDATION_MISSING_FIELD', 'The upload needs a Content-Length header.', { remediation: 'Send the zip with curl --data-binary @site.zip (it sets Content-Length).' });
    }
    if (length > maxUploadBytes) {
      throw new ApiError('QUOTA_FILE_SIZE_EXCEEDED', `The zip is ${length} bytes; a deployment may be at most ${maxUploadBytes} bytes.`, {
        details: { file_size_bytes: length, max_file_size_bytes: maxUploadBytes },
        remediation: 'Deploy only the build output (e.g. dist/), without source maps or media that belong in Storage.',
      });
    }
    if (length === 0 || !c.req.raw.body) throw new ApiError('BUILD_FAILED', 'The upload is empty.');
    const fixed = new FixedLengthStream(length);
    const [stored] = await Promise.all([
      c.env.SITES.put(uploadKey(appId, id), fixed.readable, { httpMetadata: { contentType: 'application/zip' } }),
      c.req.raw.body.pipeTo(fixed.writable),
    ]);
    if (!(await recordUpload(c.env, id, stored.size))) {
      await c.env.SITES.delete(uploadKey(appId, id));
      throw new ApiError('INVALID_STATUS', `Deployment ${id} left WAITING while the upload ran.`);
    }
    return c.json({ id, sizeBytes: stored.size });
  });

  routes.post(`${base}/deployments/:id/start`, async (c) => {
    const app = requireOwner(c);
    const row = await getDeployment(c.env, app.id, c.req.param('id'), kind);
    if (row.status !== 'WAITING') throw new ApiError('INVALID_STATUS', `Deployment ${row.id} is ${row.status}; only a WAITING deployment can be started.`);
    if (row.upload_size_bytes === null) {
      if (row.upload_expires_at.getTime() < Date.now()) throw new ApiError('UPLOAD_EXPIRED', 'The upload URL expired before a zip was uploaded.');
      throw new ApiError('STATE_PREREQUISITE_MISSING', `Nothing has been uploaded to deployment ${row.id} yet.`, {
        remediation: 'PUT the zip to the uploadUrl first (Content-Type: application/zip), then start.',
      });
    }
    const started = await transition(c.env, row.id, ['WAITING'], 'UPLOADING', { started_at: new Date() });
    if (!started) throw new ApiError('INVALID_STATUS', `Deployment ${row.id} is no longer WAITING.`);
    c.executionCtx.waitUntil(buildDeployment(c.env, c.executionCtx as unknown as HostingExecutionContext, started));
    // API.md §10.3: SSR start answers `{ id, status }`; §10.2 adds the site URL.
    return c.json(kind === 'ssr' ? { id: started.id, status: started.status } : { id: started.id, status: started.status, url: siteUrl(c.env, app) });
  });

  routes.get(`${base}/deployments`, async (c) => {
    const app = requireOwner(c);
    const { rows, activeId } = await listDeployments(c.env, app.id, kind);
    return c.json({ deployments: rows.map((row) => deploymentWire(row, siteUrl(c.env, app), activeId)) });
  });

  routes.get(`${base}/deployments/:id`, async (c) => {
    const app = requireOwner(c);
    const row = await getDeployment(c.env, app.id, c.req.param('id'), kind);
    return c.json(deploymentDetailWire(row, siteUrl(c.env, app), await activeDeploymentId(c.env, app.id)));
  });

  routes.post(`${base}/deployments/:id/sync`, async (c) => {
    const app = requireOwner(c);
    const row = await getDeployment(c.env, app.id, c.req.param('id'), kind);
    return c.json(deploymentDetailWire(row, siteUrl(c.env, app), await activeDeploymentId(c.env, app.id)));
  });

  routes.post(`${base}/deployments/:id/cancel`, async (c) => {
    const app = requireOwner(c);
    const row = await getDeployment(c.env, app.id, c.req.param('id'), kind);
    const canceled = await transition(c.env, row.id, ['WAITING', 'UPLOADING', 'BUILDING'], 'CANCELED', { completed_at: new Date() });
    if (!canceled) throw new ApiError('INVALID_STATUS', `Deployment ${row.id} is ${row.status}; only an unfinished deployment can be canceled.`);
    c.executionCtx.waitUntil(c.env.SITES.delete(uploadKey(app.id, row.id)));
    return c.json(deploymentDetailWire(canceled, siteUrl(c.env, app), await activeDeploymentId(c.env, app.id)));
  });

  routes.post(`${base}/deployments/:id/activate`, async (c) => {
    const app = requireOwner(c);
    const row = await getDeployment(c.env, app.id, c.req.param('id'), kind);
    await activate(c.env, app.id, row.id);
    return c.json(deploymentDetailWire(row, siteUrl(c.env, app), row.id));
  });

  routes.delete(`${base}/deployments/:id`, async (c) => {
    const app = requireOwner(c);
    const row = await getDeployment(c.env, app.id, c.req.param('id'), kind);
    if (row.status === 'UPLOADING' || row.status === 'BUILDING') {
      throw new ApiError('INVALID_STATUS', `Deployment ${row.id} is ${row.status}; cancel it first.`);
    }
    await deleteDeploymentRow(c.env, row.id);
    await Promise.all([deletePrefix(c.env.SITES, sitePrefix(app.id, row.id)), c.env.SITES.delete(uploadKey(app.id, row.id))]);
    return c.json({ deleted: true });
  });

  const putEnv = async (c: HostingContext) => {
    const app = requireOwner(c);
    const vars = await parseJsonBody(c.req.raw, frontendEnvBody);
    const now = new Date();
    const values = await Promise.all(Object.entries(vars).map(async ([key, value]) => ({
      app_id: app.id, key, value: await encryptSecret(value, c.env.PLATFORM_MASTER_KEY), updated_at: now,
    })));
    await controlDb(c.env).insert(frontendEnv).values(values).onConflictDoUpdate({
      target: [frontendEnv.app_id, frontendEnv.key],
      set: { value: sql`excluded.value`, updated_at: now },
    });
    const keys = Object.keys(vars);
    return c.json({ message: `${keys.length} environment variable${keys.length === 1 ? '' : 's'} saved; they apply to the next deployment.`, keys });
  };
  routes.put(`${base}/env`, putEnv);
  routes.patch(`${base}/env`, putEnv);

  routes.get(`${base}/env`, async (c) => {
    const app = requireOwner(c);
    const rows = await controlDb(c.env).select({ key: frontendEnv.key, created_at: frontendEnv.created_at, updated_at: frontendEnv.updated_at })
      .from(frontendEnv).where(and(eq(frontendEnv.app_id, app.id))).orderBy(asc(frontendEnv.key));
    return c.json({ envVars: rows.map((r) => ({ key: r.key, createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString() })) });
  });
  return routes;
}

/** The static frontend routes (API.md §10.2), mounted by the hosting Worker. */
export const frontendRoutes = deploymentRoutes('static');
/** The Edge SSR routes (API.md §10.3), mounted by the hosting Worker. */
export const edgeSsrRoutes = deploymentRoutes('ssr');

function fromSource(c: HostingContext, kind: DeploymentKind): never {
  requireOwner(c);
  if (kind === 'ssr') {
    throw new ApiError('FEATURE_NOT_AVAILABLE', 'Server-side builds (from-source) are not available on this deployment yet.', {
      remediation: 'Build locally (e.g. npx @cloudflare/next-on-pages, or your framework\'s Cloudflare Pages adapter), zip the contents of the output folder (cd .vercel/output/static && zip -r ../ssr.zip .) with _worker.js at its root, then POST /v1/{app_id}/edge-ssr/deployments, PUT the zip to uploadUrl and POST …/deployments/{id}/start.',
    });
  }
  throw new ApiError('FEATURE_NOT_AVAILABLE', 'Server-side builds (from-source) are not available on this deployment yet.', {
    remediation: 'Build locally (npm run build), zip the output folder (cd dist && zip -r ../site.zip .), then POST /v1/{app_id}/frontend/deployments, PUT the zip to uploadUrl and POST …/deployments/{id}/start.',
  });
}
