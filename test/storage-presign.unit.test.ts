/**
 * Presigned URLs from workers/shared/s3-presign.ts (aws4fetch) are byte-identical to the ones the AWS
 * SDK's presigner (`@aws-sdk/s3-request-presigner`, a client nobody here wrote) makes for the same
 * request, credentials, time and expiry — uploads signing content-type and content-length, downloads
 * with a response-content-disposition override, multipart part URLs.
 */
import { createHash, createHmac } from 'node:crypto';
import { S3RequestPresigner } from '@aws-sdk/s3-request-presigner';
import { formatUrl } from '@aws-sdk/core/util';
import { HttpRequest } from '@smithy/core/protocols';
import { describe, expect, it } from 'vitest';
import { presignUrl, type S3Target } from '../workers/shared/s3-presign.ts';

function bytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data;
  return ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
}

/** The SDK's Checksum interface over node:crypto (what @smithy/hash-node does). */
class Sha256 {
  readonly #hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#hash = secret ? createHmac('sha256', bytes(secret)) : createHash('sha256');
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.#hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }
  reset(): void {}
}

const targets: S3Target[] = [
  { endpoint: 'https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com', bucket: 'butterbase-storage', region: 'auto', accessKeyId: 'a'.repeat(32), secretAccessKey: 'b'.repeat(64) },
  { endpoint: 'http://127.0.0.1:8787/s3', bucket: 'butterbase-storage', region: 'auto', accessKeyId: 'LOCALKEY0123456789', secretAccessKey: 'c2VjcmV0/with+chars=' },
];

async function sdkUrl(target: S3Target, input: { method: string; key: string; headers?: Record<string, string>; query?: Record<string, string>; expiresIn: number; now: Date }): Promise<string> {
  const endpoint = new URL(target.endpoint);
  const presigner = new S3RequestPresigner({
    credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
    region: target.region,
    sha256: Sha256,
  });
  const request = new HttpRequest({
    protocol: endpoint.protocol,
    hostname: endpoint.hostname,
    port: endpoint.port ? Number(endpoint.port) : undefined,
    method: input.method,
    path: `${endpoint.pathname.replace(/\/$/, '')}/${target.bucket}/${input.key}`,
    query: { ...input.query },
    headers: { ...input.headers },
  });
  const signed = await presigner.presign(request, {
    expiresIn: input.expiresIn,
    signingDate: input.now,
    signableHeaders: new Set(Object.keys(input.headers ?? {})),
  });
  return formatUrl(signed);
}

const now = new Date('2026-07-01T12:34:56.789Z');
const key = 'app_0123456789ab/2b1f0c1e-8f2a-4b8e-9d55-1c2f3a4b5c6d/0f7c6b2a-1d3e-4f5a-8b9c-0d1e2f3a4b5c_cat-photo_1.png';

describe('presigned URLs match @aws-sdk/s3-request-presigner byte for byte', () => {
  for (const target of targets) {
    it(`upload URL signing content-type and content-length (${new URL(target.endpoint).host})`, async () => {
      const headers = { 'content-type': 'image/png', 'content-length': '3145728' };
      const ours = await presignUrl(target, { method: 'PUT', key, expiresInSeconds: 300, signedHeaders: headers, now });
      expect(ours).toBe(await sdkUrl(target, { method: 'PUT', key, headers, expiresIn: 300, now }));
      expect(new URL(ours).searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host');
    });

    it(`download URL with a response-content-disposition override (${new URL(target.endpoint).host})`, async () => {
      const query = { 'response-content-disposition': `attachment; filename="caf_ (1).png"; filename*=UTF-8''caf%C3%A9%20(1).png` };
      const ours = await presignUrl(target, { method: 'GET', key, expiresInSeconds: 3600, query, now });
      expect(ours).toBe(await sdkUrl(target, { method: 'GET', key, query, expiresIn: 3600, now }));
    });

    it(`multipart part URL (${new URL(target.endpoint).host})`, async () => {
      const query = { partNumber: '7', uploadId: 'AAECAwQFBgcICQ+/~_-.' };
      const headers = { 'content-length': String(8 * 1024 * 1024) };
      const ours = await presignUrl(target, { method: 'PUT', key, expiresInSeconds: 604_800, signedHeaders: headers, query, now });
      expect(ours).toBe(await sdkUrl(target, { method: 'PUT', key, headers, query, expiresIn: 604_800, now }));
    });
  }

  it('refuses expiries SigV4 does not allow', async () => {
    await expect(presignUrl(targets[0]!, { method: 'GET', key, expiresInSeconds: 604_801 })).rejects.toThrow(RangeError);
    await expect(presignUrl(targets[0]!, { method: 'GET', key, expiresInSeconds: 0 })).rejects.toThrow(RangeError);
  });
});
