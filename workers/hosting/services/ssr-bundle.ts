/**
 * Edge SSR bundles (API.md §10.3): the zip is the contents of `.vercel/output/static/`, i.e. Cloudflare
 * Pages advanced mode — `_worker.js` as one file, or a `_worker.js/` directory of modules whose entry is
 * `_worker.js/index.js`, next to the static assets. This module splits a checked archive into the
 * worker's modules and the assets, and measures the worker as Cloudflare does (gzip-compressed, at
 * most 5 MiB → `WORKER_TOO_LARGE`). `_routes.json` is parsed; it and the worker are never served.
 */
import { z } from 'zod';
import type { ArchiveFile } from './archive.ts';
import { pagesRoutes, type PagesRoutes, type WorkerModuleType } from './site-keys.ts';

/** Largest worker bundle, gzip-compressed (API.md §10.3: 5 MB; Cloudflare's paid-plan Worker size). */
export const maxWorkerCompressedBytes = 5 * 1024 * 1024;

/** Why a bundle was refused: `code` is the stable error code, stored as the deployment's `error` prefix. */
export class SsrBundleError extends Error {
  constructor(readonly code: 'BUILD_FAILED' | 'WORKER_TOO_LARGE', message: string) {
    super(message);
    this.name = 'SsrBundleError';
  }
}

/** One module of the worker. */
export interface WorkerModuleFile {
  /** Module name as the runtime sees it: `_worker.js` or `_worker.js/{path}`. */
  name: string;
  type: WorkerModuleType;
  bytes: Uint8Array;
}

/** A split bundle. */
export interface SsrBundle {
  mainModule: string;
  modules: WorkerModuleFile[];
  /** The static assets (everything else but `_routes.json`). */
  assets: ArchiveFile[];
  routes: PagesRoutes | null;
  /** The worker's modules gzip-compressed, bytes (what the 5 MiB limit is measured on). */
  compressedBytes: number;
}

/** A module's type by its extension (wrangler's default module rules: .wasm, .txt/.html/.sql, .bin; JS otherwise). */
export function moduleTypeOf(name: string): WorkerModuleType | null {
  if (/\.(m?js)$/i.test(name)) return 'js';
  if (/\.cjs$/i.test(name)) return 'cjs';
  if (/\.wasm$/i.test(name)) return 'wasm';
  if (/\.(txt|html|sql)$/i.test(name)) return 'text';
  if (/\.bin$/i.test(name)) return 'data';
  return null;
}

const routesFile = z.object({
  version: z.literal(1),
  include: z.array(z.string().startsWith('/')).min(1).max(100),
  exclude: z.array(z.string().startsWith('/')).max(100).default([]),
}).refine((r) => r.include.length + r.exclude.length <= 100, { message: 'at most 100 include and exclude rules together' });

/**
 * Splits `files` (already checked by readArchive) into worker modules and assets, and reads them.
 * @throws SsrBundleError BUILD_FAILED (no `_worker.js`, a directory without `index.js`, a module of
 *   an unknown type, a bad `_routes.json`), WORKER_TOO_LARGE (over {@link maxWorkerCompressedBytes})
 */
export async function splitBundle(files: ArchiveFile[]): Promise<SsrBundle> {
  const workerFiles = files.filter((f) => f.path === '_worker.js' || f.path.startsWith('_worker.js/'));
  if (workerFiles.length === 0) {
    throw new SsrBundleError('BUILD_FAILED', 'The zip has no _worker.js at its root. Zip the contents of .vercel/output/static/ (Cloudflare Pages advanced mode): _worker.js as a file or a _worker.js/ directory with index.js, plus the static assets.');
  }
  const single = workerFiles.some((f) => f.path === '_worker.js');
  const mainModule = single ? '_worker.js' : '_worker.js/index.js';
  if (!single && !workerFiles.some((f) => f.path === mainModule)) {
    throw new SsrBundleError('BUILD_FAILED', 'The _worker.js/ directory has no index.js (its entry module).');
  }
  const modules: WorkerModuleFile[] = [];
  for (const file of workerFiles) {
    const type = file.path === '_worker.js' ? 'js' : moduleTypeOf(file.path);
    if (!type) {
      throw new SsrBundleError('BUILD_FAILED', `${file.path} is not a module the runtime can load (use .js/.mjs, .cjs, .wasm, .txt/.html/.sql or .bin).`);
    }
    modules.push({ name: file.path, type, bytes: await file.read() });
  }
  const compressedBytes = await gzipSize(modules.map((m) => m.bytes));
  if (compressedBytes > maxWorkerCompressedBytes) {
    throw new SsrBundleError('WORKER_TOO_LARGE', `The worker (_worker.js) is ${compressedBytes} bytes gzip-compressed; at most ${maxWorkerCompressedBytes} bytes (5 MiB) are allowed. Move large data to Storage or the static assets, and build for production (minified).`);
  }
  let routes: PagesRoutes | null = null;
  const routesEntry = files.find((f) => f.path === '_routes.json');
  if (routesEntry) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(await routesEntry.read()));
    } catch (error) {
      throw new SsrBundleError('BUILD_FAILED', `_routes.json is not JSON (${error instanceof Error ? error.message : String(error)}).`);
    }
    const checked = routesFile.safeParse(parsed);
    if (!checked.success) {
      throw new SsrBundleError('BUILD_FAILED', `_routes.json is not valid: ${checked.error.issues.map((i) => `${i.path.join('.') || 'file'} ${i.message}`).join('; ')} (expected { "version": 1, "include": ["/*"], "exclude": [] }).`);
    }
    routes = pagesRoutes.parse(checked.data);
  }
  const assets = files.filter((f) => !workerFiles.includes(f) && f !== routesEntry);
  return { mainModule, modules, assets, routes, compressedBytes };
}

/** Total gzip size of the parts compressed as one stream, bytes. */
async function gzipSize(parts: Uint8Array[]): Promise<number> {
  const stream = new CompressionStream('gzip');
  const writer = stream.writable.getWriter();
  const writing = (async () => {
    for (const part of parts) await writer.write(part);
    await writer.close();
  })();
  let size = 0;
  const reader = stream.readable.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
  }
  await writing;
  return size;
}

/**
 * Whether a request path invokes the worker under Pages' `_routes.json` rules: `exclude` wins over
 * `include`; `*` matches any run of characters (also `/`); with no rules every path does.
 */
export function invokesWorker(routes: PagesRoutes | null, pathname: string): boolean {
  if (!routes) return true;
  const matches = (pattern: string) => routePattern(pattern).test(pathname);
  if (routes.exclude.some(matches)) return false;
  return routes.include.some(matches);
}

const compiledRoutes = new Map<string, RegExp>();

function routePattern(pattern: string): RegExp {
  let regex = compiledRoutes.get(pattern);
  if (!regex) {
    const body = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
    // Pages: "/foo/*" also matches "/foo" itself.
    regex = new RegExp(pattern.endsWith('/*') ? `^(${body}|${body.slice(0, -3)})$` : `^${body}$`);
    if (compiledRoutes.size < 1000) compiledRoutes.set(pattern, regex);
  }
  return regex;
}
