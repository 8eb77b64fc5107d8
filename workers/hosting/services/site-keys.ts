/**
 * Key layout of the hosting bucket (SITES):
 * - `uploads/{app_id}/{deployment_id}.zip` — the uploaded zip, removed once the deployment is built.
 * - `sites/{app_id}/{deployment_id}/manifest.json` — the {@link SiteManifest} (files, rules).
 * - `sites/{app_id}/{deployment_id}/files/{path}` — each site file, `path` as in the zip.
 * - `sites/{app_id}/{deployment_id}/worker/{module}` — an Edge SSR deployment's `_worker.js` modules.
 * Deleting a deployment deletes its `sites/{app_id}/{deployment_id}/` prefix.
 */
import { z } from 'zod';
import { headerRule, redirectRule } from './pages-rules.ts';

export const uploadKey = (appId: string, deploymentId: string) => `uploads/${appId}/${deploymentId}.zip`;
export const sitePrefix = (appId: string, deploymentId: string) => `sites/${appId}/${deploymentId}/`;
export const manifestKey = (appId: string, deploymentId: string) => `${sitePrefix(appId, deploymentId)}manifest.json`;
export const fileKey = (appId: string, deploymentId: string, path: string) => `${sitePrefix(appId, deploymentId)}files/${path}`;
export const workerModuleKey = (appId: string, deploymentId: string, module: string) => `${sitePrefix(appId, deploymentId)}worker/${module}`;

/** How a `_worker.js` module is given to the runtime (Worker Loader module kinds; wrangler's default module rules). */
export const workerModuleTypes = ['js', 'cjs', 'text', 'data', 'wasm'] as const;
export type WorkerModuleType = (typeof workerModuleTypes)[number];

/** Pages' `_routes.json`: which paths invoke the worker (`include`) and which go straight to the assets (`exclude` wins). */
export const pagesRoutes = z.object({ include: z.array(z.string()), exclude: z.array(z.string()) });
export type PagesRoutes = z.infer<typeof pagesRoutes>;

/** The worker half of an Edge SSR deployment's manifest (API.md §10.3). */
export const workerManifest = z.object({
  /** The module the runtime starts from: `_worker.js`, or `_worker.js/index.js` for a directory of modules. */
  mainModule: z.string(),
  /** Module name (a path, `_worker.js/…`) → its type; the source is at {@link workerModuleKey}. */
  modules: z.record(z.string(), z.enum(workerModuleTypes)),
  /** The app's frontend env as it was when the deployment was built: KEY → value sealed under the platform master key. */
  env: z.record(z.string(), z.string()),
  /** The bundle's `_routes.json`, or null (every path invokes the worker). */
  routes: pagesRoutes.nullable(),
});
export type WorkerManifest = z.infer<typeof workerManifest>;

/** What serving needs to know about a deployment, written once when it is built. */
export const siteManifest = z.object({
  deploymentId: z.string(),
  /** Site path (no leading slash) → R2 etag (quoted), size, Content-Type. */
  files: z.record(z.string(), z.object({ etag: z.string(), size: z.number().int().nonnegative(), type: z.string() })),
  redirects: z.array(redirectRule),
  headers: z.array(headerRule),
  /** Present for an Edge SSR deployment: its worker; `files` are then the assets its ASSETS binding serves. */
  worker: workerManifest.optional(),
});
export type SiteManifest = z.infer<typeof siteManifest>;

/** Deletes every object under `prefix` (1000 per list page). */
export async function deletePrefix(bucket: R2Bucket, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, cursor, limit: 1000 });
    if (page.objects.length) await bucket.delete(page.objects.map((o) => o.key));
    deleted += page.objects.length;
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return deleted;
}
