/**
 * Pure parts of storage: key layout and filename sanitizing, the content-type allow-list, the
 * download Content-Disposition, part layouts, and SigV4 verification against requests signed by the
 * AWS SDK's own signer (`@smithy/signature-v4`) — header-signed and presigned — and by aws4fetch.
 */
import { createHash, createHmac } from 'node:crypto';
import { HttpRequest } from '@smithy/core/protocols';
import { S3RequestPresigner } from '@aws-sdk/s3-request-presigner';
import { SignatureV4 } from '@smithy/signature-v4';
import { AwsClient } from 'aws4fetch';
import { describe, expect, it } from 'vitest';
import { amzDate, presignUrl } from '../workers/shared/s3-presign.ts';
import { verifySigV4 } from '../workers/storage/s3/sigv4.ts';
import { appOfKey, contentDisposition, contentTypeAllowed, objectKey, sanitizeFilename } from '../workers/storage/services/names.ts';
import { partSizes } from '../workers/storage/services/urls.ts';

describe('object keys and filenames', () => {
  const id = '0f7c6b2a-1d3e-4f5a-8b9c-0d1e2f3a4b5c';
  const cases: [string, string][] = [
    ['photo.png', 'photo.png'],
    ['my photo (1).png', 'my_photo__1_.png'],
    ['../../etc/passwd', '.._.._etc_passwd'],
    ['a\\b/c', 'a_b_c'],
    ['日本.txt', '__.txt'],
    ['😀.gif', '_.gif'],
  ];
  for (const [filename, expected] of cases) {
    it(`${JSON.stringify(filename)} → ${expected}`, () => expect(sanitizeFilename(filename)).toBe(expected));
  }

  it('cuts long names to 200 characters keeping the extension, and keys stay under the app prefix', () => {
    const long = sanitizeFilename(`${'a'.repeat(300)}.tar.gz`);
    expect(long).toHaveLength(200);
    expect(long.endsWith('.gz')).toBe(true);
    const key = objectKey('app_0123456789ab', null, id, '../x.png');
    expect(key).toBe(`app_0123456789ab/service/${id}_.._x.png`);
    expect(key.split('/')).toHaveLength(3);
    expect(appOfKey(key)).toBe('app_0123456789ab');
    expect(appOfKey(objectKey('app_0123456789ab', '2b1f0c1e-8f2a-4b8e-9d55-1c2f3a4b5c6d', id, 'a'))).toBe('app_0123456789ab');
    for (const other of ['_deployments/app_0123456789ab/x.zip', 'app_0123456789ab/service/not-a-uuid_x', 'app_0123456789ab/x', 'cli-test/big.bin']) {
      expect(appOfKey(other), other).toBeNull();
    }
  });
});

describe('allowedContentTypes', () => {
  const cases: [string, string[], boolean][] = [
    ['image/png', ['*/*'], true],
    ['image/png', ['image/*'], true],
    ['IMAGE/PNG; charset=binary', ['image/png'], true],
    ['image/svg+xml', ['image/*'], true],
    ['imagex/png', ['image/*'], false],
    ['text/html', ['image/*', 'application/pdf'], false],
    ['application/pdf', ['image/*', 'application/pdf'], true],
    ['application/pdfx', ['application/pdf'], false],
  ];
  for (const [type, allowed, expected] of cases) {
    it(`${type} with ${JSON.stringify(allowed)} → ${expected}`, () => expect(contentTypeAllowed(type, allowed)).toBe(expected));
  }
});

describe('Content-Disposition of downloads (RFC 6266)', () => {
  it('names the original file in ASCII and UTF-8, inline only for passive types', () => {
    expect(contentDisposition('Café menu.pdf', 'application/pdf')).toBe(`inline; filename="Caf_ menu.pdf"; filename*=UTF-8''Caf%C3%A9%20menu.pdf`);
    expect(contentDisposition('x/../"quoted".png', 'image/png')).toBe(`inline; filename="_quoted_.png"; filename*=UTF-8''%22quoted%22.png`);
    expect(contentDisposition('page.html', 'text/html')).toMatch(/^attachment; /);
    expect(contentDisposition('logo.svg', 'image/svg+xml')).toMatch(/^attachment; /);
    expect(contentDisposition('100%.txt', 'text/plain; charset=utf-8')).toBe(`inline; filename="100_.txt"; filename*=UTF-8''100%25.txt`);
  });
});

describe('multipart part layout', () => {
  it('splits a file into equal parts with the rest in the last one', () => {
    expect(partSizes(64, 8)).toEqual([8, 8, 8, 8, 8, 8, 8, 8]);
    expect(partSizes(12, 8)).toEqual([8, 4]);
    expect(partSizes(5, 8)).toEqual([5]);
  });
});

class Sha256 {
  readonly #hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#hash = secret ? createHmac('sha256', toBytes(secret)) : createHash('sha256');
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.#hash.update(toBytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }
  reset(): void {}
}

function toBytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data;
  return ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
}

describe('SigV4 verification', () => {
  const credentials = { accessKeyId: '0123456789abcdef0123456789abcdef', secretAccessKey: 'f'.repeat(64) };
  const target = { endpoint: 'http://127.0.0.1:8787/s3', bucket: 'butterbase-storage', region: 'auto', ...credentials };
  const signer = new SignatureV4({ credentials, region: 'auto', service: 's3', sha256: Sha256, uriEscapePath: false });
  const now = new Date('2026-07-01T10:00:00Z');
  const options = { nowMs: now.getTime(), regions: ['auto', 'us-east-1'] };

  function received(url: string, method: string, headers: Record<string, string>) {
    return { method, url: new URL(url), headers: new Headers(headers) };
  }

  it('accepts a header-signed request from the AWS SDK signer, refuses it with a changed header or path', async () => {
    const body = 'hello';
    const request = new HttpRequest({
      protocol: 'http:', hostname: '127.0.0.1', port: 8787, method: 'PUT',
      path: '/s3/butterbase-storage/dir/hello%20world.txt', query: { 'x-id': 'PutObject' },
      headers: { host: '127.0.0.1:8787', 'content-type': 'text/plain', 'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'), 'x-amz-meta-note': 'a  b' },
      body,
    });
    const signed = await signer.sign(request, { signingDate: now });
    const url = 'http://127.0.0.1:8787/s3/butterbase-storage/dir/hello%20world.txt?x-id=PutObject';
    const ok = await verifySigV4(received(url, 'PUT', signed.headers), credentials, options);
    expect(ok).toEqual({ ok: true, verified: { mode: 'header', payloadHash: signed.headers['x-amz-content-sha256'] } });
    const changed = await verifySigV4(received(url, 'PUT', { ...signed.headers, 'content-type': 'text/html' }), credentials, options);
    expect(changed).toMatchObject({ ok: false, failure: { code: 'SignatureDoesNotMatch' } });
    const moved = await verifySigV4(received(url.replace('hello', 'bye'), 'PUT', signed.headers), credentials, options);
    expect(moved).toMatchObject({ ok: false, failure: { code: 'SignatureDoesNotMatch' } });
    const late = await verifySigV4(received(url, 'PUT', signed.headers), credentials, { ...options, nowMs: options.nowMs + 16 * 60_000 });
    expect(late).toMatchObject({ ok: false, failure: { code: 'RequestTimeTooSkewed' } });
  });

  it('accepts @aws-sdk/s3-request-presigner\'s query-signed URLs and our own, until they expire', async () => {
    const presigner = new S3RequestPresigner({ credentials, region: 'auto', sha256: Sha256 });
    const presigned = await presigner.presign(new HttpRequest({
      protocol: 'http:', hostname: '127.0.0.1', port: 8787, method: 'GET', path: '/s3/butterbase-storage/a.txt',
      query: { 'response-content-disposition': 'attachment; filename="a b.txt"' }, headers: { host: '127.0.0.1:8787' },
    }), { signingDate: now, expiresIn: 60 });
    const query = Object.entries(presigned.query ?? {}).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&');
    const sdkUrl = `http://127.0.0.1:8787/s3/butterbase-storage/a.txt?${query}`;
    expect(await verifySigV4(received(sdkUrl, 'GET', { host: '127.0.0.1:8787' }), credentials, options)).toMatchObject({ ok: true, verified: { mode: 'query' } });
    const ours = await presignUrl(target, { method: 'PUT', key: 'a.txt', expiresInSeconds: 60, now, signedHeaders: { 'content-type': 'text/plain', 'content-length': '5' } });
    const headers = { host: '127.0.0.1:8787', 'content-type': 'text/plain', 'content-length': '5' };
    expect(await verifySigV4(received(ours, 'PUT', headers), credentials, options)).toMatchObject({ ok: true });
    expect(await verifySigV4(received(ours, 'PUT', { ...headers, 'content-length': '6' }), credentials, options)).toMatchObject({ ok: false, failure: { code: 'SignatureDoesNotMatch' } });
    const expired = await verifySigV4(received(ours, 'PUT', headers), credentials, { ...options, nowMs: options.nowMs + 61_000 });
    expect(expired).toMatchObject({ ok: false, failure: { code: 'AccessDenied', message: 'Request has expired' } });
    expect(await verifySigV4(received(ours, 'PUT', headers), { ...credentials, secretAccessKey: 'e'.repeat(64) }, options)).toMatchObject({ ok: false, failure: { code: 'SignatureDoesNotMatch' } });
    expect(await verifySigV4(received(ours, 'PUT', headers), { ...credentials, accessKeyId: 'x'.repeat(32) }, options)).toMatchObject({ ok: false, failure: { code: 'InvalidAccessKeyId' } });
  });

  it('accepts aws4fetch header signing (bare ?uploads query, empty body hash)', async () => {
    const client = new AwsClient({ ...credentials, service: 's3', region: 'auto' });
    const signed = await client.sign('http://127.0.0.1:8787/s3/butterbase-storage/big.bin?uploads', { method: 'POST', aws: { datetime: amzDate(now) } });
    const headers = Object.fromEntries(signed.headers);
    expect(await verifySigV4(received(signed.url, 'POST', { ...headers, host: '127.0.0.1:8787' }), credentials, options)).toMatchObject({ ok: true, verified: { mode: 'header' } });
  });

  it('refuses unsigned and malformed requests with the S3 codes', async () => {
    const url = 'http://127.0.0.1:8787/s3/butterbase-storage/a.txt';
    expect(await verifySigV4(received(url, 'GET', {}), credentials, options)).toMatchObject({ ok: false, failure: { code: 'AccessDenied' } });
    expect(await verifySigV4(received(`${url}?X-Amz-Algorithm=AWS4-HMAC-SHA256`, 'GET', {}), credentials, options)).toMatchObject({ ok: false, failure: { code: 'AuthorizationQueryParametersError' } });
    expect(await verifySigV4(received(url, 'GET', { authorization: 'AWS AKID:sig' }), credentials, options)).toMatchObject({ ok: false, failure: { code: 'AuthorizationHeaderMalformed' } });
  });
});
