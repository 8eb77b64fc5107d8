/**
 * Key layout of the hosting bucket (SITES):
 * - `uploads/{app_id}/{deployment_id}.zip` — the uploaded zip, removed once the deployment is built.
 * - `sites/{app_id}/{deployment_id}/manifest.json` — the {@link SiteManifest} (files, rules).
 * - `sites/{app_id}/{deployment_id}/files/{path}` — each site file, `path` as in the zip.
 * Deleting a deployment deletes its `sites/{app_id}/{deployment_id}/` prefix.
 */
import { z } from 'zod';
import { headerRule, redirectRule } from './pages-rules.ts';

export const uploadKey = (appId: string, deploymentId: string) => `uploads/${appId}/${deploymentId}.zip`;
export const sitePrefix = (appId: string, deploymentId: string) => `sites/${appId}/${deploymentId}/`;
export const manifestKey = (appId: string, deploymentId: string) => `${sitePrefix(appId, deploymentId)}manifest.json`;
export const fileKey = (appId: string, deploymentId: string, path: string) => `${sitePrefix(appId, deploymentId)}files/${path}`;

/** What serving needs to know about a deployment, written once when it is built. */
export const siteManifest = z.object({
  deploymentId: z.string(),
  /** Site path (no leading slash) → R2 etag (quoted), size, Content-Type. */
  files: z.record(z.string(), z.object({ etag: z.string(), size: z.number().int().nonnegative(), type: z.string() })),
  redirects: z.array(redirectRule),
  headers: z.array(headerRule),
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
