/**
 * Edge SSR bundle rules (workers/hosting/services/ssr-bundle.ts): splitting a Pages advanced-mode zip
 * into worker modules and assets, module types, the 5 MiB gzip limit, `_routes.json` checks and matching.
 */
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { readArchive } from '../workers/hosting/services/archive.ts';
import { invokesWorker, maxWorkerCompressedBytes, moduleTypeOf, splitBundle, SsrBundleError } from '../workers/hosting/services/ssr-bundle.ts';

const enc = (text: string) => new TextEncoder().encode(text);
const bundle = async (files: Record<string, string | Uint8Array>) =>
  splitBundle(await readArchive(zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, typeof v === 'string' ? enc(v) : v])))));
const refusal = async (files: Record<string, string | Uint8Array>) => {
  try {
    await bundle(files);
  } catch (error) {
    expect(error).toBeInstanceOf(SsrBundleError);
    return { code: (error as SsrBundleError).code, message: (error as Error).message };
  }
  throw new Error('expected a refusal');
};

describe('splitBundle', () => {
  it('takes _worker.js as one module and everything else but _routes.json as assets', async () => {
    const split = await bundle({ '_worker.js': 'export default {}', 'index.css': 'x', '_routes.json': '{"version":1,"include":["/*"],"exclude":["/index.css"]}', '_headers': '/*\n  X-A: b\n' });
    expect(split.mainModule).toBe('_worker.js');
    expect(split.modules.map((m) => [m.name, m.type])).toEqual([['_worker.js', 'js']]);
    expect(split.assets.map((a) => a.path).sort()).toEqual(['_headers', 'index.css']);
    expect(split.routes).toEqual({ include: ['/*'], exclude: ['/index.css'] });
    expect(split.compressedBytes).toBeGreaterThan(0);
  });

  it('takes a _worker.js/ directory with index.js as its entry and typed modules', async () => {
    const split = await bundle({ '_worker.js/index.js': 'import "./a.mjs"', '_worker.js/a.mjs': '', '_worker.js/q.wasm': new Uint8Array([0, 97, 115, 109]), '_worker.js/t.txt': 'x', '_worker.js/d.bin': 'x', '_worker.js/c.cjs': '' });
    expect(split.mainModule).toBe('_worker.js/index.js');
    expect(Object.fromEntries(split.modules.map((m) => [m.name, m.type]))).toEqual({
      '_worker.js/index.js': 'js', '_worker.js/a.mjs': 'js', '_worker.js/q.wasm': 'wasm', '_worker.js/t.txt': 'text', '_worker.js/d.bin': 'data', '_worker.js/c.cjs': 'cjs',
    });
    expect(split.assets).toEqual([]);
    expect(split.routes).toBeNull();
  });

  it('refuses what cannot run, each with its code', async () => {
    expect(await refusal({ 'index.html': 'x' })).toMatchObject({ code: 'BUILD_FAILED', message: expect.stringContaining('no _worker.js at its root') });
    expect(await refusal({ '_worker.js/main.js': 'x' })).toMatchObject({ code: 'BUILD_FAILED', message: expect.stringContaining('no index.js') });
    expect(await refusal({ '_worker.js/index.js': 'x', '_worker.js/logo.png': 'x' })).toMatchObject({ code: 'BUILD_FAILED', message: expect.stringContaining('logo.png is not a module') });
    expect(await refusal({ '_worker.js': 'x', '_routes.json': '{' })).toMatchObject({ code: 'BUILD_FAILED', message: expect.stringContaining('_routes.json is not JSON') });
    expect(await refusal({ '_worker.js': 'x', '_routes.json': '{"version":1,"include":["nope"]}' })).toMatchObject({ code: 'BUILD_FAILED', message: expect.stringContaining('_routes.json is not valid') });
    const random = new Uint8Array(maxWorkerCompressedBytes + 65536);
    for (let i = 0; i < random.length; i += 65536) crypto.getRandomValues(random.subarray(i, i + 65536));
    expect(await refusal({ '_worker.js': random })).toMatchObject({ code: 'WORKER_TOO_LARGE' });
  });

  it('measures gzip size, so a worker above 5 MiB raw but below it compressed is fine', async () => {
    const bytes = new Uint8Array(3 * 1024 * 1024);
    for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
    const hex = Buffer.from(bytes).toString('hex'); // 6 MiB of text, about half that gzip-compressed
    const split = await bundle({ '_worker.js': `export const blob = "${hex}";` });
    expect(split.compressedBytes).toBeGreaterThan(2 * 1024 * 1024);
    expect(split.compressedBytes).toBeLessThan(maxWorkerCompressedBytes);
  });
});

describe('moduleTypeOf and invokesWorker', () => {
  it('types modules as wrangler\'s default rules do', () => {
    expect(moduleTypeOf('a/b.js')).toBe('js');
    expect(moduleTypeOf('x.html')).toBe('text');
    expect(moduleTypeOf('x.png')).toBeNull();
  });

  it('follows _routes.json: exclude wins, * spans segments, /x/* covers /x', () => {
    const routes = { include: ['/*'], exclude: ['/_app/immutable/*', '/robots.txt'] };
    expect(invokesWorker(routes, '/notes/1')).toBe(true);
    expect(invokesWorker(routes, '/_app/immutable/a/b.js')).toBe(false);
    expect(invokesWorker(routes, '/_app/immutable')).toBe(false);
    expect(invokesWorker(routes, '/robots.txt')).toBe(false);
    expect(invokesWorker(routes, '/robots.txt2')).toBe(true);
    expect(invokesWorker({ include: ['/api/*'], exclude: [] }, '/about')).toBe(false);
    expect(invokesWorker(null, '/anything')).toBe(true);
  });
});
