/**
 * Pure parts of hosting: zip checks (unzipit over fflate-built archives), Pages `_redirects` and
 * `_headers`, byte ranges and path resolution.
 */
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { ArchiveError, readArchive } from '../workers/hosting/services/archive.ts';
import { contentTypeOf } from '../workers/hosting/services/build.ts';
import { applyHeaderRules, findRedirect, parseHeaders, parseRedirects, RulesError } from '../workers/hosting/services/pages-rules.ts';
import { parseRange, resolvePath } from '../workers/hosting/services/serve.ts';

const text = (s: string) => new TextEncoder().encode(s);

async function problemOf(files: Parameters<typeof zipSync>[0], limits?: Parameters<typeof readArchive>[1]) {
  try {
    await readArchive(zipSync(files), limits);
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(ArchiveError);
    return (error as ArchiveError).problem;
  }
}

describe('readArchive', () => {
  it('lists regular files and strips a single top folder holding index.html', async () => {
    const files = await readArchive(zipSync({ 'dist/index.html': text('a'), 'dist/assets/x.js': text('b'), 'dist/empty/': new Uint8Array(0) }));
    expect(files.map((f) => [f.path, f.sizeBytes])).toEqual([['index.html', 1], ['assets/x.js', 1]]);
    expect(new TextDecoder().decode(await files[1]!.read())).toBe('b');
  });

  it.each([
    ['zip-slip', { 'a/../../x': text('x') }, 'unsafe_path'],
    ['absolute', { '/etc/x': text('x') }, 'unsafe_path'],
    ['drive letter', { 'C:/x': text('x') }, 'unsafe_path'],
    ['backslash', { 'a\\b.js': text('x') }, 'unsafe_path'],
    ['control character', { 'a\u0001.js': text('x') }, 'unsafe_path'],
    ['dot segment', { './a.js': text('x') }, 'unsafe_path'],
    ['symlink', { link: [text('/etc/passwd'), { os: 3, attrs: 0o120777 * 65536 }] }, 'symlink'],
    ['fifo', { pipe: [text(''), { os: 3, attrs: 0o010644 * 65536 }] }, 'special_file'],
    ['bomb', { 'big.bin': [new Uint8Array(8 * 1024 * 1024), { level: 9 }] }, 'compression_ratio'],
    ['empty', {}, 'empty'],
  ] as const)('refuses %s', async (_name, files, problem) => {
    expect(await problemOf(files as never)).toBe(problem);
  });

  it('enforces the file count, file size and total size limits', async () => {
    const limits = { maxFiles: 2, maxFileBytes: 10, maxTotalBytes: 15, maxRatio: 200 };
    expect(await problemOf({ a: text('1'), b: text('2'), c: text('3') }, limits)).toBe('too_many_files');
    expect(await problemOf({ a: text('x'.repeat(11)) }, limits)).toBe('file_too_large');
    expect(await problemOf({ a: text('x'.repeat(8)), b: text('y'.repeat(8)) }, limits)).toBe('too_large');
  });

  it('refuses an entry that inflates to more than it declares', async () => {
    const zip = zipSync({ 'index.html': [text('x'.repeat(1000)), { level: 6 }] });
    // Lower the declared uncompressed size in the central directory (offset 24 of the entry).
    const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
    let central = zip.byteLength - 4;
    while (central > 0 && view.getUint32(central, true) !== 0x02014b50) central--;
    view.setUint32(central + 24, 10, true);
    const files = await readArchive(zip);
    await expect(files[0]!.read()).rejects.toMatchObject({ problem: 'size_mismatch' });
  });
  it('refuses bytes that are not a zip', async () => {
    await expect(readArchive(text('nope'))).rejects.toMatchObject({ problem: 'not_a_zip' });
  });
});

describe('_redirects and _headers', () => {
  const rules = parseRedirects('# c\n/old /new 301\n/blog/:year/* /posts/:year/:splat\n/* /index.html 200\n');
  it('parses and matches in order with placeholders and splats', () => {
    expect(rules[1]).toEqual({ from: '/blog/:year/*', to: '/posts/:year/:splat', status: 302 });
    expect(findRedirect(rules, '/old')).toEqual({ to: '/new', status: 301 });
    expect(findRedirect(rules, '/old/')).toEqual({ to: '/new', status: 301 });
    expect(findRedirect(rules, '/blog/2024/a/b')).toEqual({ to: '/posts/2024/a/b', status: 302 });
    expect(findRedirect(rules, '/anything')).toEqual({ to: '/index.html', status: 200 });
  });
  it('refuses malformed lines with their number', () => {
    expect(() => parseRedirects('/a\n')).toThrow(RulesError);
    expect(() => parseRedirects('/a /b 418')).toThrow(/line 1: status 418/);
    expect(() => parseRedirects('a /b')).toThrow(/starting with \//);
    expect(() => parseRedirects('/a/*/* /b')).toThrow(/one \*/);
    expect(() => parseHeaders('  X-A: b')).toThrow(/must follow a URL pattern/);
    expect(() => parseHeaders('/a\n  nocolon')).toThrow(/Name: value/);
  });
  it('applies every matching _headers rule, joining repeats and detaching', () => {
    const headerRules = parseHeaders('/*\n  X-Frame-Options: DENY\n  X-Tag: a\n/assets/*\n  X-Tag: b\n  ! X-Frame-Options\n');
    const headers = new Headers({ 'x-frame-options': 'SAMEORIGIN' });
    applyHeaderRules(headerRules, '/assets/x.js', headers);
    expect(headers.get('x-tag')).toBe('a, b');
    expect(headers.has('x-frame-options')).toBe(false);
  });
});

describe('serving helpers', () => {
  it('parses byte ranges (RFC 9110)', () => {
    expect(parseRange('bytes=0-3', 10)).toEqual({ offset: 0, length: 4 });
    expect(parseRange('bytes=5-', 10)).toEqual({ offset: 5, length: 5 });
    expect(parseRange('bytes=-3', 10)).toEqual({ offset: 7, length: 3 });
    expect(parseRange('bytes=8-100', 10)).toEqual({ offset: 8, length: 2 });
    expect(parseRange('bytes=10-', 10)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-1,4-5', 10)).toBeNull();
    expect(parseRange('items=0-1', 10)).toBeNull();
  });
  it('resolves directories and pretty URLs', () => {
    const manifest = { deploymentId: 'd', redirects: [], headers: [], files: Object.fromEntries(['index.html', 'docs/index.html', 'about.html', 'a.js'].map((p) => [p, { etag: '"e"', size: 1, type: 't' }])) };
    expect(resolvePath(manifest, '/')).toBe('index.html');
    expect(resolvePath(manifest, '/docs')).toBe('docs/index.html');
    expect(resolvePath(manifest, '/docs/')).toBe('docs/index.html');
    expect(resolvePath(manifest, '/about')).toBe('about.html');
    expect(resolvePath(manifest, '/a.js')).toBe('a.js');
    expect(resolvePath(manifest, '/missing')).toBeNull();
  });
  it('types files with charsets for text', () => {
    expect(contentTypeOf('a.html')).toBe('text/html; charset=utf-8');
    expect(contentTypeOf('a.js')).toBe('text/javascript; charset=utf-8');
    expect(contentTypeOf('a.wasm')).toBe('application/wasm');
    expect(contentTypeOf('a.png')).toBe('image/png');
    expect(contentTypeOf('noext')).toBe('application/octet-stream');
  });
});

describe('custom host candidates (router)', () => {
  it('looks up only hosts that could be custom domains', async () => {
    const { customHostCandidate } = await import('../workers/router/routes.ts');
    const hosts = { appsDomain: 'butterbase.dev', apiHostnames: ['api.butterbase.ai'] };
    expect(customHostCandidate('www.example.com', hosts)).toBe(true);
    expect(customHostCandidate('Shop.Example.COM:443', hosts)).toBe(true);
    for (const host of ['api.butterbase.ai', 'my-app.butterbase.dev', 'butterbase.dev', '127.0.0.1:8787', 'localhost:8787', 'my-app.localhost:8787', '[::1]:8787', null]) {
      expect(customHostCandidate(host, hosts), String(host)).toBe(false);
    }
  });
});
