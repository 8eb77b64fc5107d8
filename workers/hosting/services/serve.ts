/**
 * Serving a deployed static site on its app host (API.md §10.2; Cloudflare Pages' serving rules):
 * `_redirects` 3xx rules first; then the file (`/` and `/dir/` → `index.html`, `/about` →
 * `about`, `about.html` or `about/index.html`); then a 200/404 rewrite rule (the SPA fallback is one);
 * then `404.html` with status 404. Responses carry Content-Type, a strong ETag (If-None-Match → 304),
 * Cache-Control (content-hashed names `immutable` for a year, everything else revalidated on each
 * use, so a new deployment is visible at once), Accept-Ranges and single byte ranges (206/416), HEAD
 * without a body, and the site's `_headers` rules last.
 */
import type { Env } from '../env.ts';
import { applyHeaderRules, findRedirect } from './pages-rules.ts';
import { fileKey, manifestKey, siteManifest, type SiteManifest } from './site-keys.ts';

/** Content-hashed file names (`index-B7x9Qa2c.js`, `main.3f2a9c1d.css`): a chunk of ≥ 8 hash characters with a digit. */
const hashedName = /[.-](?=[A-Za-z0-9_]*\d)[A-Za-z0-9_]{8,}\.[A-Za-z0-9]+$/;
const immutable = 'public, max-age=31536000, immutable';
const revalidate = 'public, max-age=0, must-revalidate';

const manifests = new Map<string, SiteManifest>();
const maxCachedManifests = 200;

/** A deployment's manifest (immutable once written, so cached per isolate). Null when it is gone. */
export async function loadManifest(env: Env, appId: string, deploymentId: string): Promise<SiteManifest | null> {
  const cached = manifests.get(deploymentId);
  if (cached) return cached;
  const object = await env.SITES.get(manifestKey(appId, deploymentId));
  if (!object) return null;
  const manifest = siteManifest.parse(await object.json());
  if (manifests.size >= maxCachedManifests) manifests.delete(manifests.keys().next().value!);
  manifests.set(deploymentId, manifest);
  return manifest;
}

/** The site path a URL path names (no leading slash), or null when no file of the site matches. */
export function resolvePath(manifest: SiteManifest, pathname: string): string | null {
  const path = pathname.replace(/^\/+/, '');
  const candidates = path === '' || path.endsWith('/') ? [`${path}index.html`] : [path, `${path}.html`, `${path}/index.html`];
  return candidates.find((p) => Object.hasOwn(manifest.files, p)) ?? null;
}

/** Serves `request` from the deployment's files (see the module comment). */
export async function serveSite(env: Env, request: Request, appId: string, manifest: SiteManifest): Promise<Response> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return new Response('Method Not Allowed', { status: 405, headers: { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' } });
  }
  const url = new URL(request.url);
  let pathname: string;
  try {
    pathname = decodeURIComponent(url.pathname);
  } catch {
    return new Response('Bad Request', { status: 400, headers: { 'content-type': 'text/plain; charset=utf-8' } });
  }
  if (pathname.includes('\u0000')) return new Response('Bad Request', { status: 400 });
  const rule = findRedirect(manifest.redirects, pathname);
  if (rule && rule.status >= 300 && rule.status < 400) {
    const location = new URL(rule.to, url);
    if (!rule.to.includes('?')) location.search = url.search;
    return new Response(null, { status: rule.status, headers: { location: location.toString(), 'cache-control': revalidate } });
  }
  const found = resolvePath(manifest, pathname);
  if (found) return serveFile(env, request, appId, manifest, found, 200);
  if (rule) {
    const rewritten = resolvePath(manifest, rule.to.split('?')[0]!);
    if (rewritten) return serveFile(env, request, appId, manifest, rewritten, rule.status, pathname);
  }
  if (Object.hasOwn(manifest.files, '404.html')) return serveFile(env, request, appId, manifest, '404.html', 404, pathname);
  return new Response('Not Found', { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': revalidate } });
}

async function serveFile(env: Env, request: Request, appId: string, manifest: SiteManifest, path: string, status: number, requestPath = `/${path}`): Promise<Response> {
  const file = manifest.files[path]!;
  const headers = new Headers({
    'content-type': file.type,
    etag: file.etag,
    'cache-control': status === 200 && hashedName.test(path) ? immutable : revalidate,
    'accept-ranges': 'bytes',
    'x-content-type-options': 'nosniff',
  });
  applyHeaderRules(manifest.headers, requestPath, headers);
  if (status === 200 && matchesEtag(request.headers.get('if-none-match'), file.etag)) {
    headers.delete('content-type');
    return new Response(null, { status: 304, headers });
  }
  const range = status === 200 ? parseRange(request.headers.get('range'), file.size) : null;
  if (range === 'unsatisfiable') {
    headers.set('content-range', `bytes */${file.size}`);
    return new Response(null, { status: 416, headers });
  }
  const head = request.method === 'HEAD';
  if (range) {
    headers.set('content-range', `bytes ${range.offset}-${range.offset + range.length - 1}/${file.size}`);
    headers.set('content-length', String(range.length));
    if (head) return new Response(null, { status: 206, headers });
    const object = await env.SITES.get(fileKey(appId, manifest.deploymentId, path), { range });
    if (!object) return new Response('Not Found', { status: 404 });
    return new Response(object.body, { status: 206, headers });
  }
  headers.set('content-length', String(file.size));
  if (head) return new Response(null, { status, headers });
  const object = await env.SITES.get(fileKey(appId, manifest.deploymentId, path));
  if (!object) return new Response('Not Found', { status: 404 });
  return new Response(object.body, { status, headers });
}

/** RFC 9110 §13.1.2 If-None-Match: `*` or a list of (weak-compared) entity tags. */
function matchesEtag(header: string | null, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const bare = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((tag) => bare(tag) === bare(etag));
}

/**
 * One byte range of RFC 9110 §14.1.2 (`bytes=a-b`, `bytes=a-`, `bytes=-n`) within `size`; several
 * ranges or a malformed header → null (the whole file is sent); outside the file → `unsatisfiable`.
 */
export function parseRange(header: string | null, size: number): { offset: number; length: number } | 'unsatisfiable' | null {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return null;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return 'unsatisfiable';
    const length = Math.min(suffix, size);
    return size === 0 ? 'unsatisfiable' : { offset: size - length, length };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { offset: start, length: end - start + 1 };
}
