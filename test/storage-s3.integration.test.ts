/**
 * The local S3-compatible endpoint with S3 clients nobody here wrote — Debian's aws cli and the AWS
 * SDK for JavaScript — and the SigV4 checks an S3 store makes (clock skew, unknown keys, payload
 * hashes, expiry limits). Resumable uploads through the storage API: a 64 MiB file in parts, one sent
 * twice and one retried after its connection died mid-body; an aborted upload leaves nothing. The
 * R2 event-notification consumer: objects without a record are removed, objects deleted through S3
 * lose their record.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { AwsV4Signer } from 'aws4fetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amzDate } from '../workers/shared/s3-presign.ts';
import { api, createReadyApp, type ApiResponse } from './helpers/api.ts';
import { raiseRateLimit } from './helpers/control-db.ts';
import { bucketUrl, eventually, headObject, listKeys, localS3, requestUpload, s3Client, s3ErrorCode } from './helpers/storage.ts';

const awsCli = '/usr/bin/aws';
/** The 40 MB and 64 MiB transfers take 10–20 s on a quiet machine; a busy shared one needs more. */
const bigTransferTimeoutMs = 180_000;
let scratch = '';

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'bb-s3-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** Runs Debian's aws cli against the local endpoint with the platform's key pair and nothing else configured. */
function aws(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const s3 = localS3();
  return new Promise((resolve) => {
    execFile(awsCli, ['--endpoint-url', s3.endpoint, ...args], {
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: scratch,
        AWS_ACCESS_KEY_ID: s3.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
        AWS_DEFAULT_REGION: s3.region,
        AWS_CONFIG_FILE: join(scratch, 'no-config'),
        AWS_SHARED_CREDENTIALS_FILE: join(scratch, 'no-credentials'),
        AWS_PAGER: '',
      },
    }, (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }));
  });
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('Debian aws cli against the local S3 endpoint', () => {
  const prefix = `cli-${Date.now().toString(36)}`;

  it('multipart-uploads a 40 MB file with `aws s3 cp`, lists it and downloads identical bytes', async () => {
    const version = await aws(['--version']);
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout).toMatch(/^aws-cli\/2\./);
    const source = join(scratch, 'big.bin');
    const bytes = randomBytes(40 * 1000 * 1000);
    await writeFile(source, bytes);
    const up = await aws(['s3', 'cp', source, `s3://${localS3().bucket}/${prefix}/big.bin`, '--only-show-errors']);
    expect(up.code, up.stderr).toBe(0);
    // More than one part: its ETag is the multipart form "<md5 of part md5s>-<parts>".
    const head = await s3Client().fetch(bucketUrl(`${prefix}/big.bin`), { method: 'HEAD' });
    expect(head.headers.get('etag')).toMatch(/^"[0-9a-f]{32}-5"$/);
    expect(head.headers.get('content-length')).toBe(String(bytes.length));

    const listed = await aws(['s3', 'ls', `s3://${localS3().bucket}/${prefix}/`]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`\\s${bytes.length} big\\.bin\\n`));
    const top = await aws(['s3', 'ls', `s3://${localS3().bucket}/`]);
    expect(top.stdout).toContain(`PRE ${prefix}/`);

    const target = join(scratch, 'big-copy.bin');
    const down = await aws(['s3', 'cp', `s3://${localS3().bucket}/${prefix}/big.bin`, target, '--only-show-errors']);
    expect(down.code, down.stderr).toBe(0);
    expect(sha256(await readFile(target))).toBe(sha256(bytes));

    const removed = await aws(['s3', 'rm', `s3://${localS3().bucket}/${prefix}/big.bin`, '--only-show-errors']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(await headObject(`${prefix}/big.bin`)).toBe(404);
  }, bigTransferTimeoutMs);

  it('wrong credentials get S3 errors the cli reports', async () => {
    const s3 = localS3();
    const run = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(awsCli, ['--endpoint-url', s3.endpoint, 's3', 'ls', `s3://${s3.bucket}/`], {
        env: { PATH: process.env.PATH ?? '', HOME: scratch, AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: 'not-the-secret', AWS_DEFAULT_REGION: 'auto', AWS_CONFIG_FILE: join(scratch, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(scratch, 'none') },
      }, (error, _stdout, stderr) => resolve({ code: error ? 1 : 0, stderr }));
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('SignatureDoesNotMatch');
  });
});

describe('the AWS SDK for JavaScript against the local S3 endpoint', () => {
  const s3 = localS3();
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    // As for R2: no flexible checksums (aws-chunked trailers), which R2 does not take either.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const key = `sdk-${Date.now().toString(36)}/hello world.txt`;

  it('PutObject, HeadObject, GetObject with Range, ListObjectsV2 and DeleteObject (header-signed)', async () => {
    await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: 'hello from the sdk', ContentType: 'text/plain', Metadata: { purpose: 'test' } }));
    const head = await client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }));
    expect({ length: head.ContentLength, type: head.ContentType, meta: head.Metadata }).toEqual({ length: 18, type: 'text/plain', meta: { purpose: 'test' } });
    const part = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key, Range: 'bytes=6-9' }));
    expect(await part.Body!.transformToString()).toBe('from');
    expect(part.ContentRange).toBe('bytes 6-9/18');
    const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: key.split('/')[0] + '/' }));
    expect(listed.Contents?.map((c) => [c.Key, c.Size])).toEqual([[key, 18]]);
    await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: key }));
    await expect(client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
  });

  it("a URL from the SDK's getSignedUrl (PutObject with ContentType) uploads, and refuses another type", async () => {
    const url = await getSignedUrl(client, new PutObjectCommand({ Bucket: s3.bucket, Key: key, ContentType: 'image/png' }), { expiresIn: 60, signableHeaders: new Set(['content-type']) });
    expect((await fetch(url, { method: 'PUT', headers: { 'content-type': 'image/gif' }, body: 'x' })).status).toBe(403);
    expect((await fetch(url, { method: 'PUT', headers: { 'content-type': 'image/png' }, body: 'png!' })).status).toBe(200);
    expect(await headObject(key)).toBe(200);
    await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: key }));
  });
});

describe('SigV4 checks of the local endpoint', () => {
  const s3 = localS3();
  const key = `sig-${Date.now().toString(36)}/object.txt`;

  it('a header-signed request more than 15 minutes off → 403 RequestTimeTooSkewed', async () => {
    const res = await s3Client().fetch(bucketUrl(key), { method: 'PUT', body: 'late', aws: { datetime: amzDate(new Date(Date.now() - 20 * 60_000)) } });
    expect(res.status).toBe(403);
    expect(s3ErrorCode(await res.text())).toBe('RequestTimeTooSkewed');
  });

  it('a presigned URL dated an hour ahead → 403 RequestTimeTooSkewed; one valid for more than 7 days → 400', async () => {
    const ahead = new AwsV4Signer({ url: `${bucketUrl(key)}?X-Amz-Expires=60`, method: 'GET', accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, service: 's3', region: 'auto', signQuery: true, datetime: amzDate(new Date(Date.now() + 3_600_000)) });
    const early = await fetch((await ahead.sign()).url);
    expect(early.status).toBe(403);
    expect(s3ErrorCode(await early.text())).toBe('RequestTimeTooSkewed');
    const week = new AwsV4Signer({ url: `${bucketUrl(key)}?X-Amz-Expires=604801`, method: 'GET', accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, service: 's3', region: 'auto', signQuery: true });
    const long = await fetch((await week.sign()).url);
    expect(long.status).toBe(400);
    expect(s3ErrorCode(await long.text())).toBe('AuthorizationQueryParametersError');
  });

  it('an unknown access key → 403 InvalidAccessKeyId; another region in the scope → 400', async () => {
    const stranger = await s3Client({ ...s3, accessKeyId: 'f'.repeat(32) }).fetch(bucketUrl(key));
    expect(stranger.status).toBe(403);
    expect(s3ErrorCode(await stranger.text())).toBe('InvalidAccessKeyId');
    const region = await s3Client({ ...s3, region: 'eu-west-1' }).fetch(bucketUrl(key));
    expect(region.status).toBe(400);
    expect(s3ErrorCode(await region.text())).toBe('AuthorizationHeaderMalformed');
  });

  it('a body that does not match its signed x-amz-content-sha256 → 400 and nothing is stored', async () => {
    const res = await s3Client().fetch(bucketUrl(key), { method: 'PUT', body: 'actual body', headers: { 'x-amz-content-sha256': sha256(new TextEncoder().encode('another body')) } });
    expect(res.status).toBe(400);
    expect(['XAmzContentSHA256Mismatch', 'BadDigest']).toContain(s3ErrorCode(await res.text()));
    expect(await headObject(key)).toBe(404);
  });
});

describe('resumable uploads through the storage API', () => {
  let appId = '';
  const MiB = 1024 * 1024;

  beforeAll(async () => {
    ({ appId } = await createReadyApp('st-mpu'));
    await raiseRateLimit(appId);
    expect((await api(`/v1/${appId}/config/storage`, { method: 'PATCH', body: { maxFileSizeMb: 100 } })).status).toBe(200);
  });

  function startUpload(body: Record<string, unknown>): Promise<ApiResponse> {
    return api(`/storage/${appId}/uploads`, { body });
  }

  async function putPart(url: string, bytes: Uint8Array): Promise<string> {
    const res = await fetch(url, { method: 'PUT', body: bytes });
    expect(res.status, await res.clone().text()).toBe(200);
    return res.headers.get('etag')!;
  }

  /** Sends `sent` of the part's bytes with the full Content-Length, then drops the connection. */
  function dropMidBody(url: string, bytes: Uint8Array, sent: number): Promise<void> {
    return new Promise((resolve) => {
      const req = httpRequest(url, { method: 'PUT', headers: { 'content-length': String(bytes.length) } });
      req.on('error', () => resolve());
      req.on('response', (res) => {
        res.resume();
        resolve();
      });
      req.write(bytes.subarray(0, sent), () => setTimeout(() => {
        req.destroy();
        resolve();
      }, 200));
    });
  }

  it('64 MiB in 8 parts, one sent twice and one retried after a failure mid-body, completes with the right bytes', async () => {
    const bytes = randomBytes(64 * MiB);
    const started = await startUpload({ filename: 'film.mp4', contentType: 'video/mp4', sizeBytes: bytes.length });
    expect(started.status, started.text).toBe(201);
    const upload = started.body;
    expect(upload).toMatchObject({ objectKey: `${appId}/service/${upload.objectId}_film.mp4`, uploadId: expect.any(String), sizeBytes: 64 * MiB, partSizeBytes: 8 * MiB, partCount: 8, expiresIn: 3600 });
    expect(upload._meta.resource_info.storage_used_bytes).toBe(64 * MiB);
    expect(upload.parts.map((p: { partNumber: number; sizeBytes: number }) => [p.partNumber, p.sizeBytes])).toEqual(Array.from({ length: 8 }, (_, i) => [i + 1, 8 * MiB]));
    const slice = (n: number) => bytes.subarray((n - 1) * 8 * MiB, n * 8 * MiB);
    const url = (n: number) => upload.parts[n - 1].url as string;

    // A part of the wrong size is refused by its own URL (its length is signed).
    const short = await fetch(url(1), { method: 'PUT', body: slice(1).subarray(1) });
    expect(short.status).toBe(403);
    expect(s3ErrorCode(await short.text())).toBe('SignatureDoesNotMatch');

    await dropMidBody(url(5), slice(5), 3 * MiB);
    const etags = new Map<number, string>();
    for (const batch of [[1, 2, 3], [4, 5, 6], [7, 8]]) {
      await Promise.all(batch.map(async (n) => etags.set(n, await putPart(url(n), slice(n)))));
    }
    // Sent again: the part uploaded last is the one that counts (its ETag replaces the first one's).
    const first3 = etags.get(3)!;
    etags.set(3, await putPart(url(3), slice(3)));
    expect(etags.get(3)).toMatch(/^".+"$/);
    expect(first3).toMatch(/^".+"$/);

    // Resuming: fresh URLs for the same parts.
    const resumed = await api(`/storage/${appId}/uploads/${upload.objectId}`);
    expect(resumed.status, resumed.text).toBe(200);
    expect(resumed.body).toMatchObject({ uploadId: upload.uploadId, partCount: 8 });
    expect(resumed.body.parts[0].url).not.toBe(url(1));

    const incomplete = await api(`/storage/${appId}/uploads/${upload.objectId}/complete`, { body: { parts: [...etags].slice(0, 7).map(([partNumber, etag]) => ({ partNumber, etag })) } });
    expect(incomplete.status, incomplete.text).toBe(400);
    expect(incomplete.body.error.code).toBe('VALIDATION_INVALID_SCHEMA');
    const wrong = await api(`/storage/${appId}/uploads/${upload.objectId}/complete`, {
      body: { parts: [...etags].map(([partNumber, etag]) => ({ partNumber, etag: partNumber === 2 ? etags.get(1)! : etag })) },
    });
    expect(wrong.status, wrong.text).toBe(400);
    expect(wrong.body.error.code).toBe('VALIDATION_INVALID_SCHEMA');

    const parts = [...etags].sort(([a], [b]) => a - b).map(([partNumber, etag]) => ({ partNumber, etag }));
    const done = await api(`/storage/${appId}/uploads/${upload.objectId}/complete`, { body: { parts } });
    expect(done.status, done.text).toBe(200);
    expect(done.body).toEqual({ objectId: upload.objectId, objectKey: upload.objectKey, sizeBytes: 64 * MiB, etag: expect.stringMatching(/-8$/), uploadedAt: expect.any(String) });
    const again = await api(`/storage/${appId}/uploads/${upload.objectId}/complete`, { body: { parts } });
    expect(again.body).toEqual(done.body);

    const download = await api(`/storage/${appId}/download/${upload.objectId}`);
    expect(download.status, download.text).toBe(200);
    const got = new Uint8Array(await (await fetch(download.body.downloadUrl)).arrayBuffer());
    expect(got.length).toBe(bytes.length);
    expect(sha256(got)).toBe(sha256(bytes));
    const seam = await fetch(download.body.downloadUrl, { headers: { Range: `bytes=${4 * 8 * MiB - 5}-${4 * 8 * MiB + 4}` } });
    expect(Buffer.from(await seam.arrayBuffer()).equals(bytes.subarray(4 * 8 * MiB - 5, 4 * 8 * MiB + 5))).toBe(true);
    const listed = await api(`/storage/${appId}/objects`);
    expect(listed.body.objects.find((o: { id: string }) => o.id === upload.objectId)).toMatchObject({ size_bytes: 64 * MiB, content_type: 'video/mp4', uploaded_at: expect.any(String) });
  }, bigTransferTimeoutMs);

  it('an aborted upload leaves nothing behind: no record, no object, its part URLs are dead, its quota is free', async () => {
    const before = (await requestUpload(appId, { filename: 'probe.txt', contentType: 'text/plain', sizeBytes: 1 })).body._meta.resource_info.storage_used_bytes as number;
    const bytes = randomBytes(12 * MiB);
    const started = await startUpload({ filename: 'abandoned.bin', contentType: 'application/octet-stream', sizeBytes: bytes.length });
    expect(started.status, started.text).toBe(201);
    const upload = started.body;
    expect(upload.parts.map((p: { sizeBytes: number }) => p.sizeBytes)).toEqual([8 * MiB, 4 * MiB]);
    await putPart(upload.parts[0].url, bytes.subarray(0, 8 * MiB));
    const aborted = await api(`/storage/${appId}/uploads/${upload.objectId}`, { method: 'DELETE' });
    expect(aborted.status, aborted.text).toBe(204);

    expect((await api(`/storage/${appId}/uploads/${upload.objectId}`)).status).toBe(404);
    expect((await api(`/storage/${appId}/objects`)).body.objects.map((o: { id: string }) => o.id)).not.toContain(upload.objectId);
    const late = await fetch(upload.parts[1].url, { method: 'PUT', body: bytes.subarray(8 * MiB) });
    expect(late.status).toBe(404);
    expect(s3ErrorCode(await late.text())).toBe('NoSuchUpload');
    expect((await api(`/storage/${appId}/uploads/${upload.objectId}/complete`, { body: { parts: [{ partNumber: 1, etag: 'x' }] } })).status).toBe(404);
    expect(await listKeys(upload.objectKey)).toEqual([]);
    const after = (await requestUpload(appId, { filename: 'probe.txt', contentType: 'text/plain', sizeBytes: 1 })).body._meta.resource_info.storage_used_bytes as number;
    expect(after).toBe(before + 1);
  });

  it('refuses part sizes S3 cannot take and completing an upload that is not multipart', async () => {
    const small = await startUpload({ filename: 'x.bin', contentType: 'application/octet-stream', sizeBytes: 20 * MiB, partSizeBytes: 4 * MiB });
    expect(small.status).toBe(400);
    expect(small.body.error.code).toBe('VALIDATION_INVALID_SCHEMA');
    const tooBig = await startUpload({ filename: 'x.bin', contentType: 'application/octet-stream', sizeBytes: 101 * MiB });
    expect(tooBig.body.error.code).toBe('QUOTA_FILE_SIZE_EXCEEDED');
    const single = await requestUpload(appId, { filename: 'one.txt', contentType: 'text/plain', sizeBytes: 3 });
    const notMultipart = await api(`/storage/${appId}/uploads/${single.body.objectId}/complete`, { body: { parts: [{ partNumber: 1, etag: 'x' }] } });
    expect(notMultipart.status).toBe(409);
    expect(notMultipart.body.error.code).toBe('STATE_INVALID_TRANSITION');
    const anonymous = await api(`/storage/${appId}/uploads`, { token: null, body: { filename: 'x', contentType: 'text/plain', sizeBytes: 1 } });
    expect(anonymous.body.error.code).toBe('AUTH_REQUIRED');
  });
});

describe('R2 event notifications keep the records true', () => {
  let appId = '';

  beforeAll(async () => {
    ({ appId } = await createReadyApp('st-events'));
  });

  it('an object written under an app without a record (a late or forged upload) is removed', async () => {
    const ghost = `${appId}/service/${crypto.randomUUID()}_ghost.txt`;
    const put = await s3Client().fetch(bucketUrl(ghost), { method: 'PUT', body: 'boo', headers: { 'content-type': 'text/plain' } });
    expect(put.status).toBe(200);
    expect(await eventually(() => headObject(ghost), (status) => status === 404)).toBe(404);
  });

  it('an object deleted through the S3 API loses its record', async () => {
    const res = await requestUpload(appId, { filename: 'gone.txt', contentType: 'text/plain', sizeBytes: 4 });
    expect((await fetch(res.body.uploadUrl, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'gone' })).status).toBe(200);
    await eventually(() => api(`/storage/${appId}/objects`), (r) => r.body.objects[0]?.uploaded_at !== null);
    expect((await s3Client().fetch(bucketUrl(res.body.objectKey), { method: 'DELETE' })).status).toBe(204);
    const listed = await eventually(() => api(`/storage/${appId}/objects`), (r) => r.body.objects.length === 0);
    expect(listed.body.objects).toEqual([]);
  });

  it("objects outside the storage API's layout are left alone", async () => {
    const other = `_deployments/${appId}/site.zip`;
    expect((await s3Client().fetch(bucketUrl(other), { method: 'PUT', body: 'zip' })).status).toBe(200);
    // A ghost written after it is removed by the same consumer: once it is gone, the first was seen too.
    const ghost = `${appId}/service/${crypto.randomUUID()}_after.txt`;
    expect((await s3Client().fetch(bucketUrl(ghost), { method: 'PUT', body: 'boo' })).status).toBe(200);
    expect(await eventually(() => headObject(ghost), (status) => status === 404)).toBe(404);
    expect(await headObject(other)).toBe(200);
    await s3Client().fetch(bucketUrl(other), { method: 'DELETE' });
  });
});
