/**
 * Upload URLs that run out (their own platform: upload and part URLs valid 2 s, no grace period):
 * the store refuses them with AccessDenied "Request has expired", the reservation stops counting
 * toward the quota at that moment, and the minute tick removes the record (aborting an open
 * multipart upload). A reservation whose bytes landed is kept and completed. The upload-completed
 * event is emitted once per object and its consumer logs it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlatform, type Platform } from '../scripts/lib/platform.ts';
import { api, waitForApp, uniqueName, type ApiOptions } from './helpers/api.ts';
import { bucketUrl, eventually, headObject, listKeys, s3Client, s3ErrorCode } from './helpers/storage.ts';
import { sharedTemplateDir, testLog } from './helpers/platform-process.ts';

let stateDir = '';
let platform: Platform;
let appId = '';
const lines: string[] = [];
const fileLog = testLog('storage-reaper-platform');

function call(path: string, options: ApiOptions = {}) {
  return api(path, { baseUrl: platform.url, token: platform.serviceKey, ...options });
}

function reserve(filename: string, sizeBytes: number) {
  return call(`/storage/${appId}/upload`, { body: { filename, contentType: 'text/plain', sizeBytes } });
}

async function objectIds(): Promise<string[]> {
  return (await call(`/storage/${appId}/objects`)).body.objects.map((o: { id: string }) => o.id);
}

/** Waits until `ms` have passed since `sinceMs` (the URLs' own validity; nothing else sleeps). */
async function until(sinceMs: number, ms: number): Promise<void> {
  const left = sinceMs + ms - Date.now();
  if (left > 0) await new Promise((r) => setTimeout(r, left));
}

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'bb-reaper-'));
  platform = await startPlatform({
    stateDir, port: 0, dbPort: 0, templateDir: sharedTemplateDir, logLevel: 'log',
    log: (line) => {
      lines.push(line);
      fileLog(line);
    },
    vars: { storage: { UPLOAD_URL_TTL_SECONDS: '2', PART_URL_TTL_SECONDS: '2', RESERVATION_GRACE_SECONDS: '0' } },
  });
  const created = await call('/init', { body: { name: uniqueName('reaper') } });
  expect(created.status, created.text).toBe(201);
  appId = created.body.app_id;
  expect((await waitForApp(appId, { baseUrl: platform.url, token: platform.serviceKey })).provisioning_status).toBe('ready');
  expect((await call(`/v1/${appId}/config/storage`, { method: 'PATCH', body: { storageLimitBytes: 1000, maxFileSizeMb: 20 } })).status).toBe(200);
});

afterAll(async () => {
  await platform?.stop();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

describe('reservations whose URL ran out', () => {
  it('are refused by the store, stop counting toward the quota, and are reaped by the tick', async () => {
    const first = await reserve('never.txt', 900);
    expect(first.status, first.text).toBe(200);
    expect(first.body.expiresIn).toBe(2);
    const issuedAt = Date.now();
    const full = await reserve('second.txt', 200);
    expect(full.status).toBe(429);
    expect(full.body.error.code).toBe('QUOTA_STORAGE_EXCEEDED');

    await until(issuedAt, 3_000);
    const late = await fetch(first.body.uploadUrl, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'x'.repeat(900) });
    const text = await late.text();
    expect(late.status).toBe(403);
    expect(s3ErrorCode(text)).toBe('AccessDenied');
    expect(text).toContain('Request has expired');
    expect(await headObject(first.body.objectKey, platform.s3)).toBe(404);

    // Expired: no longer counted, before any tick ran.
    const fits = await reserve('second.txt', 200);
    expect(fits.status, fits.text).toBe(200);
    expect(fits.body._meta.resource_info).toMatchObject({ storage_used_bytes: 200, files_count: 1 });
    expect(await objectIds()).toContain(first.body.objectId);

    await platform.tick(Date.now());
    const left = await objectIds();
    expect(left).not.toContain(first.body.objectId);
    expect(left).toContain(fits.body.objectId);
  });

  it('a reservation whose bytes landed is kept and complete after the tick', async () => {
    const res = await reserve('kept.txt', 4);
    expect(res.status, res.text).toBe(200);
    const issuedAt = Date.now();
    expect((await fetch(res.body.uploadUrl, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'kept' })).status).toBe(200);
    await until(issuedAt, 2_500);
    await platform.tick(Date.now());
    const listed = await call(`/storage/${appId}/objects`);
    expect(listed.body.objects.find((o: { id: string }) => o.id === res.body.objectId)).toMatchObject({ uploaded_at: expect.any(String), size_bytes: 4 });
    const download = await call(`/storage/${appId}/download/${res.body.objectId}`);
    expect(await (await fetch(download.body.downloadUrl)).text()).toBe('kept');
  });

  it('an expired resumable upload is aborted and its record removed', async () => {
    expect((await call(`/v1/${appId}/config/storage`, { method: 'PATCH', body: { storageLimitBytes: 100 * 1024 * 1024 } })).status).toBe(200);
    const started = await call(`/storage/${appId}/uploads`, { body: { filename: 'big.bin', contentType: 'application/octet-stream', sizeBytes: 6 * 1024 * 1024 } });
    expect(started.status, started.text).toBe(201);
    const issuedAt = Date.now();
    const part = await fetch(started.body.parts[0].url, { method: 'PUT', body: new Uint8Array(started.body.parts[0].sizeBytes) });
    expect(part.status).toBe(200);
    await until(issuedAt, 2_500);
    await platform.tick(Date.now());
    expect((await call(`/storage/${appId}/uploads/${started.body.objectId}`)).status).toBe(404);
    // The multipart upload itself is gone: completing it through S3 finds no such upload.
    const complete = await s3Client(platform.s3).fetch(`${bucketUrl(started.body.objectKey, platform.s3)}?uploadId=${encodeURIComponent(started.body.uploadId)}`, {
      method: 'POST',
      body: `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${part.headers.get('etag')}</ETag></Part></CompleteMultipartUpload>`,
    });
    expect(complete.status).toBe(404);
    expect(s3ErrorCode(await complete.text())).toBe('NoSuchUpload');
    expect(await listKeys(started.body.objectKey, platform.s3)).toEqual([]);
  });
});

describe('the upload-completed event', () => {
  it('is emitted once per object, with its fields, and logged by its consumer', async () => {
    const res = await reserve('event.txt', 5);
    for (let i = 0; i < 2; i++) {
      expect((await fetch(res.body.uploadUrl, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'hello' })).status).toBe(200);
    }
    const marker = `"object_id":"${res.body.objectId}"`;
    const seen = await eventually(async () => lines.filter((line) => line.includes('[storage] upload completed') && line.includes(marker)), (found) => found.length > 0);
    expect(seen).toHaveLength(1);
    const event = JSON.parse(seen[0]!.slice(seen[0]!.indexOf('{')));
    expect(event).toEqual({
      type: 'storage.upload_completed', app_id: appId, object_id: res.body.objectId, key: res.body.objectKey, filename: 'event.txt',
      content_type: 'text/plain', size_bytes: 5, user_id: null, etag: expect.any(String), uploaded_at: expect.any(String),
    });
    // An object uploaded after both PUTs has its event logged: by then the second PUT's notification
    // was handled as well, and it sent no second event.
    const later = await reserve('later.txt', 5);
    expect((await fetch(later.body.uploadUrl, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'later' })).status).toBe(200);
    await eventually(async () => lines.some((line) => line.includes(`"object_id":"${later.body.objectId}"`)), (found) => found);
    expect(lines.filter((line) => line.includes('[storage] upload completed') && line.includes(marker))).toHaveLength(1);
  });
});
