/**
 * File storage (API.md §7) through the real platform — router, storage Worker, DbGateway, the
 * embedded Postgres and R2 under miniflare — with the clients an app uses: the Butterbase SDK's
 * two-call upload pattern (POST /upload, PUT the bytes with the file's type), plain fetch on the
 * presigned URLs, and the service key. Every §7 error path, the ACL, presigned URLs that bind type
 * and size, hostile filenames, parallel reservations against a nearly full quota, deletes that
 * reach the bucket, app deletion, and apps created before storage existed.
 */
import { neon, neonConfig } from '@neondatabase/serverless';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { appMigrations } from '../migrations/app/index.ts';
import { migrate } from '../workers/shared/migrator.ts';
import { presignUrl } from '../workers/shared/s3-presign.ts';
import { api, createReadyApp, type ApiResponse } from './helpers/api.ts';
import { controlDb, createOtherAccount, raiseRateLimit } from './helpers/control-db.ts';
import { endUser, eventually, headObject, listKeys, localS3, pngBytes, requestUpload, s3ErrorCode, sdkUpload } from './helpers/storage.ts';

function expectError(res: ApiResponse, status: number, code: string) {
  expect({ status: res.status, code: res.body?.error?.code }, res.text).toEqual({ status, code });
}

function patchStorage(appId: string, body: Record<string, unknown>) {
  return api(`/v1/${appId}/config/storage`, { method: 'PATCH', body });
}

async function objectIds(appId: string, token?: string): Promise<string[]> {
  const res = await api(`/storage/${appId}/objects`, { token });
  expect(res.status, res.text).toBe(200);
  return res.body.objects.map((o: { id: string }) => o.id);
}

describe('the SDK pattern: an end user uploads a 3 MB PNG and downloads it', () => {
  let appId = '';
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };
  const png = pngBytes(3 * 1024 * 1024 + 17, 7);
  let privateId = '';
  let publicId = '';

  beforeAll(async () => {
    ({ appId } = await createReadyApp('st-sdk'));
    await raiseRateLimit(appId);
    alice = await endUser(appId, 'alice@example.com');
    bob = await endUser(appId, 'bob@example.com');
  });

  it('POST /upload then PUT with the file type stores the bytes; the download URL returns them, and Range a slice', async () => {
    const { reservation, put } = await sdkUpload(appId, new File([png], 'holiday photo.png', { type: 'image/png' }), { token: alice.token });
    expect(put.status, await put.clone().text()).toBe(200);
    expect(put.headers.get('etag')).toMatch(/^"[0-9a-f]{32}"$/);
    expect(reservation).toEqual({
      uploadUrl: expect.stringContaining('/s3/butterbase-storage/'),
      objectKey: `${appId}/${alice.id}/${reservation.objectId}_holiday_photo.png`,
      expiresIn: 300,
      objectId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      _meta: { resource_info: { storage_used_bytes: png.length, storage_limit_bytes: 1024 ** 3, storage_used_percent: 0, files_count: 1 } },
    });
    privateId = reservation.objectId;
    const signed = new URL(reservation.uploadUrl).searchParams;
    expect(signed.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host');
    expect(signed.get('X-Amz-Expires')).toBe('300');

    const download = await api(`/storage/${appId}/download/${privateId}`, { token: alice.token });
    expect(download.status, download.text).toBe(200);
    expect(download.body).toEqual({ downloadUrl: expect.any(String), filename: 'holiday photo.png', expiresIn: 3600 });
    const got = await fetch(download.body.downloadUrl);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('image/png');
    expect(got.headers.get('content-disposition')).toBe(`inline; filename="holiday photo.png"; filename*=UTF-8''holiday%20photo.png`);
    expect(Buffer.from(await got.arrayBuffer()).equals(Buffer.from(png))).toBe(true);

    const slice = await fetch(download.body.downloadUrl, { headers: { Range: 'bytes=1048570-1048589' } });
    expect(slice.status).toBe(206);
    expect(slice.headers.get('content-range')).toBe(`bytes 1048570-1048589/${png.length}`);
    expect(Buffer.from(await slice.arrayBuffer()).equals(Buffer.from(png.subarray(1048570, 1048590)))).toBe(true);
    const tail = await fetch(download.body.downloadUrl, { headers: { Range: 'bytes=-5' } });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer()).equals(Buffer.from(png.subarray(png.length - 5)))).toBe(true);
    const beyond = await fetch(download.body.downloadUrl, { headers: { Range: `bytes=${png.length}-` } });
    expect(beyond.status).toBe(416);
    expect(s3ErrorCode(await beyond.text())).toBe('InvalidRange');
  });

  it('the record learns size, ETag and uploaded_at once the bytes landed', async () => {
    const listed = await eventually(() => api(`/storage/${appId}/objects`, { token: alice.token }), (r) => r.body.objects[0]?.uploaded_at !== null);
    expect(listed.body.objects).toEqual([{
      id: privateId, user_id: alice.id, key: expect.stringContaining(`${appId}/${alice.id}/`), filename: 'holiday photo.png',
      content_type: 'image/png', size_bytes: png.length, public: false, created_at: expect.any(String), uploaded_at: expect.any(String),
    }]);
  });

  it('another user gets 404 on a private file (never 403), and anonymous callers never see it', async () => {
    expectError(await api(`/storage/${appId}/download/${privateId}`, { token: bob.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api(`/storage/${appId}/download/${privateId}`, { token: null }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api(`/storage/${appId}/${privateId}`, { method: 'DELETE', token: bob.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api(`/storage/${appId}/${privateId}`, { method: 'DELETE', token: null }), 404, 'RESOURCE_NOT_FOUND');
    expect(await objectIds(appId, bob.token)).toEqual([]);
    expectError(await api(`/storage/${appId}/objects`, { token: null }), 401, 'AUTH_REQUIRED');
    expectError(await requestUpload(appId, { filename: 'a.png', contentType: 'image/png', sizeBytes: 1 }, { token: null }), 401, 'AUTH_REQUIRED');
  });

  it('a file uploaded with public: true is readable by other users and by anonymous callers', async () => {
    const { reservation, put } = await sdkUpload(appId, new File([pngBytes(1000, 3)], 'logo.png', { type: 'image/png' }), { token: alice.token, public: true });
    expect(put.status).toBe(200);
    publicId = reservation.objectId;
    for (const token of [bob.token, null]) {
      const download = await api(`/storage/${appId}/download/${publicId}`, { token });
      expect(download.status, download.text).toBe(200);
      expect((await fetch(download.body.downloadUrl)).status).toBe(200);
    }
    expectError(await api(`/storage/${appId}/${publicId}`, { method: 'DELETE', token: bob.token }), 404, 'RESOURCE_NOT_FOUND');
  });

  it('publicReadEnabled lets every signed-in user read every file, but not anonymous callers, and not delete', async () => {
    expect((await patchStorage(appId, { publicReadEnabled: true })).status).toBe(200);
    // The storage Worker reads the setting from the control plane on each request.
    const download = await api(`/storage/${appId}/download/${privateId}`, { token: bob.token });
    expect(download.status, download.text).toBe(200);
    expectError(await api(`/storage/${appId}/download/${privateId}`, { token: null }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api(`/storage/${appId}/${privateId}`, { method: 'DELETE', token: bob.token }), 404, 'RESOURCE_NOT_FOUND');
    expect((await patchStorage(appId, { publicReadEnabled: false })).status).toBe(200);
    expectError(await api(`/storage/${appId}/download/${privateId}`, { token: bob.token }), 404, 'RESOURCE_NOT_FOUND');
  });

  it('the service key sees and deletes everything; a deleted object is gone from the bucket too', async () => {
    const { reservation } = await sdkUpload(appId, new File(['by the owner'], 'notes.txt', { type: 'text/plain' }));
    expect(reservation.objectKey).toBe(`${appId}/service/${reservation.objectId}_notes.txt`);
    expect(new Set(await objectIds(appId))).toEqual(new Set([privateId, publicId, reservation.objectId]));
    const listed = await api(`/storage/${appId}/objects`);
    expect(listed.body.objects.find((o: { id: string }) => o.id === reservation.objectId).user_id).toBeNull();
    const keys = listed.body.objects.map((o: { key: string }) => o.key);
    const oldUrl = (await api(`/storage/${appId}/download/${privateId}`)).body.downloadUrl;
    for (const key of keys) expect(await headObject(key)).toBe(200);

    for (const id of [privateId, publicId, reservation.objectId]) {
      const deleted = await api(`/storage/${appId}/${id}`, { method: 'DELETE' });
      expect(deleted.status, deleted.text).toBe(204);
      expect(deleted.text).toBe('');
    }
    expect(await objectIds(appId)).toEqual([]);
    for (const key of keys) expect(await headObject(key)).toBe(404);
    const stale = await fetch(oldUrl);
    expect(stale.status).toBe(404);
    expect(s3ErrorCode(await stale.text())).toBe('NoSuchKey');
    expectError(await api(`/storage/${appId}/${privateId}`, { method: 'DELETE' }), 404, 'RESOURCE_NOT_FOUND');

    // Uploads and deletes are in the app's audit log, with who did them.
    const audit = await eventually(() => api(`/v1/${appId}/audit-logs?resource_type=storage_object`), (r) => r.body.total >= 6);
    const events = audit.body.logs.map((l: { event_type: string; actor_type: string; resource_id: string }) => `${l.event_type} ${l.actor_type} ${l.resource_id}`);
    expect(events).toEqual(expect.arrayContaining([
      `storage.upload end_user ${privateId}`, `storage.upload end_user ${publicId}`, `storage.upload service_key ${reservation.objectId}`,
      `storage.delete service_key ${privateId}`, `storage.delete service_key ${publicId}`, `storage.delete service_key ${reservation.objectId}`,
    ]));
  });
});

describe('§7 error paths', () => {
  let appId = '';
  let otherAppId = '';
  let user: { id: string; token: string };

  beforeAll(async () => {
    ({ appId } = await createReadyApp('st-err'));
    ({ appId: otherAppId } = await createReadyApp('st-err2'));
    await raiseRateLimit(appId);
    user = await endUser(appId, 'carol@example.com');
  });

  const valid = { filename: 'a.png', contentType: 'image/png', sizeBytes: 10 };
  const bodies: [string, Record<string, unknown>, number, string][] = [
    ['filename missing', { contentType: 'image/png', sizeBytes: 10 }, 400, 'VALIDATION_MISSING_FIELD'],
    ['filename empty', { ...valid, filename: '' }, 400, 'VALIDATION_INVALID_SCHEMA'],
    ['filename of 300 characters', { ...valid, filename: `${'x'.repeat(296)}.png` }, 400, 'VALIDATION_INVALID_SCHEMA'],
    ['filename with NUL', { ...valid, filename: 'a\u0000b.png' }, 400, 'VALIDATION_INVALID_INPUT'],
    ['filename with a newline', { ...valid, filename: 'a\nb.png' }, 400, 'VALIDATION_INVALID_SCHEMA'],
    ['contentType empty', { ...valid, contentType: '' }, 400, 'VALIDATION_INVALID_SCHEMA'],
    ['contentType not a MIME type', { ...valid, contentType: 'png please' }, 400, 'VALIDATION_INVALID_SCHEMA'],
    ['contentType with a line break', { ...valid, contentType: 'image/png\r\nx-evil: 1' }, 400, 'VALIDATION_INVALID_SCHEMA'],
    ['sizeBytes zero', { ...valid, sizeBytes: 0 }, 400, 'VALIDATION_INVALID_SCHEMA'],
    ['sizeBytes fractional', { ...valid, sizeBytes: 1.5 }, 400, 'VALIDATION_INVALID_TYPE'],
    ['sizeBytes a string', { ...valid, sizeBytes: '10' }, 400, 'VALIDATION_INVALID_TYPE'],
    ['public not a boolean', { ...valid, public: 'yes' }, 400, 'VALIDATION_INVALID_TYPE'],
    ['unknown field', { ...valid, bucket: 'x' }, 400, 'VALIDATION_INVALID_SCHEMA'],
    ['over the 10 MB default file limit', { ...valid, sizeBytes: 10 * 1024 * 1024 + 1 }, 400, 'QUOTA_FILE_SIZE_EXCEEDED'],
  ];
  for (const [name, body, status, code] of bodies) {
    it(`POST /upload: ${name} → ${status} ${code}`, async () => {
      expectError(await requestUpload(appId, body), status, code);
    });
  }

  it('POST /upload: malformed JSON → 400 VALIDATION_INVALID_SCHEMA; QUOTA_FILE_SIZE_EXCEEDED names the sizes', async () => {
    expectError(await api(`/storage/${appId}/upload`, { method: 'POST', body: '{"filename":', headers: { 'content-type': 'application/json' } }), 400, 'VALIDATION_INVALID_SCHEMA');
    const tooBig = await requestUpload(appId, { ...valid, sizeBytes: 10 * 1024 * 1024 + 1 });
    expect(tooBig.body.error.details).toEqual({ file_size_bytes: 10 * 1024 * 1024 + 1, max_file_size_bytes: 10 * 1024 * 1024 });
  });

  it('allowedContentTypes with wildcards: image/* admits image/png and image/svg+xml, refuses others with 400 VALIDATION_INVALID_TYPE', async () => {
    const patched = await patchStorage(appId, { allowedContentTypes: ['IMAGE/*', 'application/pdf'] });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body.storage_config.allowedContentTypes).toEqual(['image/*', 'application/pdf']);
    expectError(await patchStorage(appId, { allowedContentTypes: ['images'] }), 400, 'VALIDATION_INVALID_SCHEMA');
    expectError(await patchStorage(appId, { allowedContentTypes: [] }), 400, 'VALIDATION_INVALID_SCHEMA');
    for (const contentType of ['image/png', 'image/svg+xml', 'application/pdf', 'Image/PNG; charset=binary']) {
      const ok = await requestUpload(appId, { ...valid, contentType });
      expect(ok.status, `${contentType}: ${ok.text}`).toBe(200);
    }
    for (const contentType of ['text/html', 'application/pdfx', 'imagex/png']) {
      const refused = await requestUpload(appId, { ...valid, contentType });
      expectError(refused, 400, 'VALIDATION_INVALID_TYPE');
      expect(refused.body.error.details).toEqual({ content_type: contentType, allowed_content_types: ['image/*', 'application/pdf'] });
    }
    expect((await patchStorage(appId, { allowedContentTypes: ['*/*'] })).status).toBe(200);
  });

  it('maxFileSizeMb and storageLimitBytes come from PATCH config/storage; over the quota → 429 QUOTA_STORAGE_EXCEEDED', async () => {
    expect((await patchStorage(appId, { maxFileSizeMb: 20 })).status).toBe(200);
    expect((await requestUpload(appId, { ...valid, sizeBytes: 15 * 1024 * 1024 })).status).toBe(200);
    const usage = (await requestUpload(appId, valid)).body._meta.resource_info.storage_used_bytes as number;
    expect((await patchStorage(appId, { storageLimitBytes: usage + 100 })).status).toBe(200);
    const over = await requestUpload(appId, { ...valid, sizeBytes: 101 });
    expectError(over, 429, 'QUOTA_STORAGE_EXCEEDED');
    expect(over.body.error.details).toEqual({ current_usage_bytes: usage, limit_bytes: usage + 100, requested_bytes: 101 });
    const fits = await requestUpload(appId, { ...valid, sizeBytes: 100 });
    expect(fits.status, fits.text).toBe(200);
    expect(fits.body._meta.resource_info).toMatchObject({ storage_used_bytes: usage + 100, storage_limit_bytes: usage + 100, storage_used_percent: 100 });
    expect((await patchStorage(appId, { storageLimitBytes: 1024 ** 3, maxFileSizeMb: 10 })).status).toBe(200);
  });

  it('unknown, malformed and foreign object ids → 404 RESOURCE_NOT_FOUND; an unfinished upload → 409 STATE_PREREQUISITE_MISSING', async () => {
    const unknown = crypto.randomUUID();
    expectError(await api(`/storage/${appId}/download/${unknown}`), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api(`/storage/${appId}/download/not-a-uuid`), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api(`/storage/${appId}/${unknown}`, { method: 'DELETE' }), 404, 'RESOURCE_NOT_FOUND');
    const pending = await requestUpload(otherAppId, valid);
    expectError(await api(`/storage/${appId}/download/${pending.body.objectId}`), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api(`/storage/${otherAppId}/download/${pending.body.objectId}`), 409, 'STATE_PREREQUISITE_MISSING');
    expectError(await api(`/storage/${appId}/download/${unknown}?expiresIn=604801`), 400, 'VALIDATION_INVALID_SCHEMA');
  });

  it('apps that do not exist or belong to another account → 404 APP_NOT_FOUND; bad credentials → 401', async () => {
    expectError(await requestUpload('app_000000000000', valid), 404, 'APP_NOT_FOUND');
    const stranger = await createOtherAccount('st-stranger');
    expectError(await requestUpload(appId, valid, { token: stranger.key }), 404, 'APP_NOT_FOUND');
    expectError(await api(`/storage/${appId}/objects`, { token: stranger.key }), 404, 'APP_NOT_FOUND');
    expectError(await requestUpload(appId, valid, { token: `bb_sk_${'0'.repeat(40)}` }), 401, 'AUTH_INVALID_API_KEY');
    expectError(await requestUpload(otherAppId, valid, { token: user.token }), 401, 'AUTH_INVALID_END_USER_JWT');
  });

  it('an end user deleted while their token is still valid → AUTH_RLS_REQUIRES_USER_JWT (the user foreign key)', async () => {
    const dora = await endUser(appId, 'dora@example.com');
    const removed = await api(`/v1/${appId}/admin/auth/users/${dora.id}`, { method: 'DELETE' });
    expect(removed.status, removed.text).toBe(200);
    expectError(await requestUpload(appId, valid, { token: dora.token }), 401, 'AUTH_RLS_REQUIRES_USER_JWT');
  });

  it('a paused app → 503 APP_PAUSED with Retry-After; resumed, it serves again', async () => {
    expect((await api(`/v1/${otherAppId}/config/pause`, { method: 'PATCH', body: { paused: true } })).status).toBe(200);
    const paused = await requestUpload(otherAppId, valid);
    expectError(paused, 503, 'APP_PAUSED');
    expect(paused.headers.get('retry-after')).toBe('60');
    expect((await api(`/v1/${otherAppId}/config/pause`, { method: 'PATCH', body: { paused: false } })).status).toBe(200);
    expect((await requestUpload(otherAppId, valid)).status).toBe(200);
  });

  it('a storage_config the platform cannot read → 500 QUOTA_STORAGE_ERROR, never a crash', async () => {
    const { appId: broken } = await createReadyApp('st-broken');
    await controlDb().query(`UPDATE apps SET storage_config = '{"maxFileSizeMb":"ten"}' WHERE id = $1`, [broken]);
    expectError(await requestUpload(broken, valid), 500, 'QUOTA_STORAGE_ERROR');
  });
});

describe('presigned URLs bind what was declared (the store refuses anything else with 403)', () => {
  let appId = '';
  let otherAppId = '';
  const body = pngBytes(4096, 11);

  beforeAll(async () => {
    ({ appId } = await createReadyApp('st-sig'));
    ({ appId: otherAppId } = await createReadyApp('st-sig2'));
    await raiseRateLimit(appId);
  });

  async function reservation(app = appId, sizeBytes = body.length) {
    const res = await requestUpload(app, { filename: 'pic.png', contentType: 'image/png', sizeBytes });
    expect(res.status, res.text).toBe(200);
    return res.body as { uploadUrl: string; objectKey: string; objectId: string };
  }

  async function put(url: string, bytes: Uint8Array, contentType = 'image/png'): Promise<{ status: number; code: string | undefined; text: string }> {
    const res = await fetch(url, { method: 'PUT', headers: { 'content-type': contentType }, body: bytes });
    const text = await res.text();
    return { status: res.status, code: s3ErrorCode(text), text };
  }

  it('another Content-Type, a larger body or a smaller body → 403 SignatureDoesNotMatch; the declared one → 200', async () => {
    const { uploadUrl, objectKey } = await reservation();
    expect(await put(uploadUrl, body, 'image/jpeg')).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    expect(await put(uploadUrl, pngBytes(body.length + 1, 11))).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    expect(await put(uploadUrl, body.subarray(0, body.length - 1))).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    expect(await headObject(objectKey)).toBe(404);
    expect(await put(uploadUrl, body)).toMatchObject({ status: 200 });
    expect(await headObject(objectKey)).toBe(200);
  });

  it('a tampered signature, key or expiry → 403 SignatureDoesNotMatch', async () => {
    const { uploadUrl, objectKey } = await reservation();
    const url = new URL(uploadUrl);
    const signature = url.searchParams.get('X-Amz-Signature')!;
    const flipped = new URL(uploadUrl);
    flipped.searchParams.set('X-Amz-Signature', `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}`);
    const otherKey = new URL(uploadUrl.replace(encodeURIComponent(objectKey.split('/').at(-1)!), 'other.png'));
    const longer = new URL(uploadUrl);
    longer.searchParams.set('X-Amz-Expires', '604800');
    const method = await fetch(uploadUrl, { method: 'GET' });
    for (const tampered of [flipped, otherKey, longer]) {
      expect(await put(tampered.toString(), body), tampered.toString()).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    }
    expect(method.status).toBe(403);
    expect(s3ErrorCode(await method.text())).toBe('SignatureDoesNotMatch');
    expect(await headObject(objectKey)).toBe(404);
  });

  it('an expired URL → 403 AccessDenied "Request has expired"', async () => {
    const { objectKey } = await reservation();
    const s3 = localS3();
    const expired = await presignUrl(s3, {
      method: 'PUT', key: objectKey, expiresInSeconds: 60, now: new Date(Date.now() - 5 * 60_000),
      signedHeaders: { 'content-type': 'image/png', 'content-length': String(body.length) },
    });
    const refused = await put(expired, body);
    expect(refused).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(refused.text).toContain('<Message>Request has expired</Message>');
    expect(refused.text).toContain('<X-Amz-Expires>60</X-Amz-Expires>');
  });

  it("app A's upload URL used on app B's key → 403, and B's object is untouched", async () => {
    const a = await reservation();
    const b = await reservation(otherAppId);
    expect(await put(b.uploadUrl, body)).toMatchObject({ status: 200 });
    const crossed = a.uploadUrl.replace(a.objectKey, b.objectKey);
    expect(crossed).not.toBe(a.uploadUrl);
    expect(await put(crossed, pngBytes(body.length, 99))).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    const download = await api(`/storage/${otherAppId}/download/${b.objectId}`);
    const bytes = new Uint8Array(await (await fetch(download.body.downloadUrl)).arrayBuffer());
    expect(Buffer.from(bytes).equals(Buffer.from(body))).toBe(true);
  });

  it('a request with no signature at all → 403 AccessDenied; an unknown bucket → 404 NoSuchBucket', async () => {
    const { objectKey } = await reservation();
    const bare = await fetch(`${inject('platformUrl')}/s3/butterbase-storage/${objectKey}`);
    expect(bare.status).toBe(403);
    expect(s3ErrorCode(await bare.text())).toBe('AccessDenied');
    const other = await presignUrl({ ...localS3(), bucket: 'someone-elses' }, { method: 'GET', key: objectKey, expiresInSeconds: 60 });
    const missing = await fetch(other);
    expect(missing.status).toBe(404);
    expect(s3ErrorCode(await missing.text())).toBe('NoSuchBucket');
  });

  it('hostile filenames are sanitized in the key (kept as given in the record) and cannot leave the app prefix', async () => {
    const cases: [string, string][] = [
      ['../../../etc/passwd', '.._.._.._etc_passwd'],
      ['..\\..\\boot.ini', '.._.._boot.ini'],
      ['/absolute/path.png', '_absolute_path.png'],
      ['café "menu" <1>.pdf', 'caf___menu___1_.pdf'],
      [`${'ü'.repeat(251)}.png`, `${'_'.repeat(196)}.png`],
    ];
    for (const [filename, sanitized] of cases) {
      const res = await requestUpload(appId, { filename, contentType: 'application/pdf', sizeBytes: 5 });
      expect(res.status, `${filename}: ${res.text}`).toBe(200);
      expect(res.body.objectKey).toBe(`${appId}/service/${res.body.objectId}_${sanitized}`);
      const put = await fetch(res.body.uploadUrl, { method: 'PUT', headers: { 'content-type': 'application/pdf' }, body: 'hello' });
      expect(put.status).toBe(200);
      const download = await api(`/storage/${appId}/download/${res.body.objectId}`);
      expect(download.body.filename).toBe(filename);
      const got = await fetch(download.body.downloadUrl);
      expect(got.headers.get('content-disposition')).toMatch(/^inline; filename="[\x20-\x7e]*"; filename\*=UTF-8''/);
    }
    expect((await listKeys(`${appId}/`)).every((key) => key.startsWith(`${appId}/service/`))).toBe(true);
    const html = await requestUpload(appId, { filename: 'page.html', contentType: 'text/html', sizeBytes: 4 });
    await fetch(html.body.uploadUrl, { method: 'PUT', headers: { 'content-type': 'text/html' }, body: '<b/>' });
    const page = await fetch((await api(`/storage/${appId}/download/${html.body.objectId}`)).body.downloadUrl);
    expect(page.headers.get('content-disposition')).toMatch(/^attachment; /);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('browsers may PUT to presigned URLs from any origin (CORS preflight and exposed ETag)', async () => {
    const { uploadUrl } = await reservation();
    const preflight = await fetch(uploadUrl, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' },
    });
    expect(preflight.status).toBe(200);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('PUT');
    const put = await fetch(uploadUrl, { method: 'PUT', headers: { origin: 'http://localhost:5173', 'content-type': 'image/png' }, body });
    expect(put.status).toBe(200);
    expect(put.headers.get('access-control-allow-origin')).toBe('*');
    expect(put.headers.get('access-control-expose-headers')).toContain('ETag');
  });
});

describe('the quota under concurrency', () => {
  it('20 parallel reservations against a nearly full quota: exactly the ones that fit succeed, never over the limit', async () => {
    const { appId } = await createReadyApp('st-quota');
    await raiseRateLimit(appId);
    expect((await patchStorage(appId, { storageLimitBytes: 10_000 })).status).toBe(200);
    expect((await requestUpload(appId, { filename: 'big.bin', contentType: 'application/octet-stream', sizeBytes: 8_000 })).status).toBe(200);
    const attempts = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      requestUpload(appId, { filename: `part-${i}.bin`, contentType: 'application/octet-stream', sizeBytes: 200 })));
    const accepted = attempts.filter((r) => r.status === 200);
    const refused = attempts.filter((r) => r.status !== 200);
    expect(accepted.length).toBe(10);
    for (const r of refused) expectError(r, 429, 'QUOTA_STORAGE_EXCEEDED');
    const used = accepted.map((r) => r.body._meta.resource_info.storage_used_bytes as number).sort((a, b) => a - b);
    expect(used).toEqual(Array.from({ length: 10 }, (_, i) => 8_000 + 200 * (i + 1)));
    const listed = await api(`/storage/${appId}/objects`);
    expect(listed.body.objects.reduce((sum: number, o: { size_bytes: number }) => sum + o.size_bytes, 0)).toBe(10_000);
  });
});

describe('deleting an app', () => {
  it('removes its objects from the bucket (purged through a queue)', async () => {
    const { appId } = await createReadyApp('st-purge');
    for (const name of ['a.txt', 'b.txt']) {
      const { put } = await sdkUpload(appId, new File([name], name, { type: 'text/plain' }));
      expect(put.status).toBe(200);
    }
    expect((await listKeys(`${appId}/`)).length).toBe(2);
    expect((await api(`/apps/${appId}`, { method: 'DELETE' })).status).toBe(200);
    expect(await eventually(() => listKeys(`${appId}/`), (keys) => keys.length === 0)).toEqual([]);
  });
});

describe('apps created before storage existed', () => {
  it('are upgraded to the storage schema on their first request and then store files', async () => {
    const { appId } = await createReadyApp('st-old');
    neonConfig.fetchEndpoint = `${inject('dbUrl')}/sql`;
    const admin = neon(inject('appConnectionTemplate').replace('{db}', 'postgres'));
    await admin.query(`DROP DATABASE ${appId}`);
    await admin.query(`CREATE DATABASE ${appId}`);
    const sql = neon(inject('appConnectionTemplate').replace('{db}', appId));
    const before = appMigrations.filter((m) => m.name < '0004_storage');
    await migrate(async (statements) => (await sql.transaction(statements.map((s) => sql.query(s.query, s.params)))) as Record<string, unknown>[][],
      'butterbase.bootstrap_migrations', before);
    await controlDb().query('UPDATE apps SET bootstrap_version = $2 WHERE id = $1', [appId, before.length]);
    expect((await sql.query(`SELECT to_regclass('storage.objects') AS t`))[0]!.t).toBeNull();
    await new Promise((r) => setTimeout(r, 1_100)); // the gate cache may hold the app row for 1 s

    const upload = await eventually(
      () => requestUpload(appId, { filename: 'after.txt', contentType: 'text/plain', sizeBytes: 5 }),
      (r) => r.status !== 503, 30_000,
    );
    expect(upload.status, upload.text).toBe(200);
    expect((await sql.query(`SELECT to_regclass('storage.objects') AS t`))[0]!.t).toBe('storage.objects');
    expect((await fetch(upload.body.uploadUrl, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'later' })).status).toBe(200);
    expect(await objectIds(appId)).toEqual([upload.body.objectId]);
  });
});
