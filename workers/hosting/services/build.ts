/**
 * Building a static deployment (API.md §10.2 `start`): UPLOADING → BUILDING → READY | ERROR. The zip
 * is read from the bucket by ranges ({@link readArchive} checks it), each file is written under the
 * deployment's prefix, `_redirects` / `_headers` are parsed (the SPA fallback `/* /index.html 200` is
 * added for react-vite and nextjs-static when the site has no `_redirects`), and the manifest is
 * written last. Only then does one statement make it READY and active; any failure leaves the
 * previous site serving and this deployment ERROR with the reason, its files removed.
 *
 * An Edge SSR deployment (API.md §10.3) is split by services/ssr-bundle.ts: its worker modules go under
 * `worker/`, the rest are its assets (same rules as a static site); the app's frontend env is
 * snapshotted (sealed) into the manifest; and the worker is loaded once through the SSR runner before
 * anything switches — a bundle that does not load is ERROR with the runtime's message, never live.
 * Its errors are stored as `CODE: message` (BUILD_FAILED, WORKER_TOO_LARGE).
 */
import mime from 'mime';
import type { Reader } from 'unzipit';
import { eq } from 'drizzle-orm';
import { controlDb } from '../../shared/control-db.ts';
import { frontendEnv } from '../../shared/control-schema.ts';
import { toApiError } from '../../shared/errors.ts';
import type { Env } from '../env.ts';
import { ArchiveError, readArchive } from './archive.ts';
import { completeAndActivate, deleteDeploymentRow, surplusReady, transition, type DeploymentRow } from './deployments.ts';
import { parseHeaders, parseRedirects, RulesError, type HeaderRule, type RedirectRule } from './pages-rules.ts';
import { deletePrefix, fileKey, manifestKey, sitePrefix, uploadKey, workerModuleKey, type SiteManifest, type WorkerManifest } from './site-keys.ts';
import { ssrRunner, workerSource, type HostingExecutionContext } from './ssr.ts';
import { splitBundle, SsrBundleError } from './ssr-bundle.ts';

const spaFrameworks = new Set(['react-vite', 'nextjs-static']);

/** unzipit's random-access reader over an R2 object (range GETs). */
function r2Reader(bucket: R2Bucket, key: string, size: number): Reader {
  return {
    getLength: async () => size,
    read: async (offset: number, length: number) => {
      const object = await bucket.get(key, { range: { offset, length } });
      if (!object) throw new Error('the uploaded zip disappeared');
      return new Uint8Array(await object.arrayBuffer());
    },
  };
}

/** The Content-Type a site file is served with (`; charset=utf-8` for text). */
export function contentTypeOf(path: string): string {
  const type = mime.getType(path) ?? 'application/octet-stream';
  const textual = type.startsWith('text/') || type === 'application/javascript' || type === 'application/json' || type === 'image/svg+xml' || type === 'application/xml' || type === 'application/manifest+json';
  return textual ? `${type}; charset=utf-8` : type;
}

/**
 * Runs the build of a deployment already moved to UPLOADING (`ctx` gives an SSR bundle its
 * ASSETS and outbound entrypoints for the load check). Never throws: the outcome is in the row.
 * Out: the final status.
 */
export async function buildDeployment(env: Env, ctx: HostingExecutionContext, row: DeploymentRow): Promise<'READY' | 'ERROR' | 'CANCELED'> {
  const { app_id: appId, id } = row;
  const zipKey = uploadKey(appId, id);
  try {
    const head = await env.SITES.head(zipKey);
    if (!head) throw new ArchiveError('not_a_zip', 'The uploaded zip is missing.');
    if (!(await transition(env, id, ['UPLOADING'], 'BUILDING'))) return 'CANCELED';
    const archive = await readArchive(r2Reader(env.SITES, zipKey, head.size));
    let files = archive;
    let worker: WorkerManifest | undefined;
    if (row.kind === 'ssr') {
      const bundle = await splitBundle(archive);
      files = bundle.assets;
      const modules: WorkerManifest['modules'] = {};
      for (const module of bundle.modules) {
        await env.SITES.put(workerModuleKey(appId, id, module.name), module.bytes);
        modules[module.name] = module.type;
      }
      const envRows = await controlDb(env).select({ key: frontendEnv.key, value: frontendEnv.value }).from(frontendEnv).where(eq(frontendEnv.app_id, appId));
      worker = { mainModule: bundle.mainModule, modules, env: Object.fromEntries(envRows.map((r) => [r.key, r.value])), routes: bundle.routes };
      await transition(env, id, ['BUILDING'], 'BUILDING', { worker_script_size_bytes: bundle.compressedBytes, worker_script_module_count: bundle.modules.length });
    }
    let redirects: RedirectRule[] = [];
    let headers: HeaderRule[] = [];
    const manifest: SiteManifest = { deploymentId: id, files: {}, redirects, headers };
    let totalBytes = 0;
    for (const file of files) {
      const bytes = await file.read();
      if (file.path === '_redirects') redirects = parseRedirects(new TextDecoder().decode(bytes));
      if (file.path === '_headers') headers = parseHeaders(new TextDecoder().decode(bytes));
      const type = contentTypeOf(file.path);
      const stored = await env.SITES.put(fileKey(appId, id, file.path), bytes, { httpMetadata: { contentType: type } });
      manifest.files[file.path] = { etag: stored.httpEtag, size: bytes.byteLength, type };
      totalBytes += bytes.byteLength;
    }
    const hasRedirects = files.some((f) => f.path === '_redirects');
    if (!hasRedirects && spaFrameworks.has(row.framework) && manifest.files['index.html']) redirects = [{ from: '/*', to: '/index.html', status: 200 }];
    manifest.redirects = redirects;
    manifest.headers = headers;
    if (worker) {
      manifest.worker = worker;
      const failure = await ssrRunner(env).probe(workerSource(env, ctx, appId, id, worker));
      if (failure) throw new SsrBundleError('BUILD_FAILED', `The worker failed to load: ${failure}`);
    }
    await env.SITES.put(manifestKey(appId, id), JSON.stringify(manifest), { httpMetadata: { contentType: 'application/json' } });
    if (!(await completeAndActivate(env, appId, id, files.length, totalBytes))) {
      await deletePrefix(env.SITES, sitePrefix(appId, id));
      return 'CANCELED';
    }
    await pruneOld(env, appId);
    return 'READY';
  } catch (error) {
    const known = error instanceof ArchiveError || error instanceof RulesError || error instanceof SsrBundleError;
    let message = known ? error.message : `The deployment could not be built: ${toApiError(error).message}`;
    if (row.kind === 'ssr') message = `${error instanceof SsrBundleError ? error.code : 'BUILD_FAILED'}: ${message}`;
    if (!known) console.error(`[hosting] build ${id} failed: ${String(error)}`);
    await transition(env, id, ['UPLOADING', 'BUILDING'], 'ERROR', { error: message, completed_at: new Date() }).catch(() => null);
    await deletePrefix(env.SITES, sitePrefix(appId, id)).catch(() => 0);
    return 'ERROR';
  } finally {
    await env.SITES.delete(zipKey).catch(() => undefined);
  }
}

/** Deletes READY deployments beyond KEEP_READY_DEPLOYMENTS (never the active one), files first. */
async function pruneOld(env: Env, appId: string): Promise<void> {
  const keep = Math.max(1, Number(env.KEEP_READY_DEPLOYMENTS ?? 3) || 3);
  for (const id of await surplusReady(env, appId, keep)) {
    await deletePrefix(env.SITES, sitePrefix(appId, id));
    await deleteDeploymentRow(env, id);
  }
}
