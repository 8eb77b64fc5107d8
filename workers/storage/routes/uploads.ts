/**
 * Routes of resumable (multipart) uploads, for files beyond a single PUT:
 * POST /storage/:app/uploads (start: record, S3 multipart upload, presigned part URLs),
 * GET /storage/:app/uploads/:object (fresh part URLs to resume), POST …/:object/complete (the part
 * ETags), DELETE …/:object (abort). The ACL, quota and content-type rules are those of POST /upload;
 * the largest file is min(maxFileSizeMb, MULTIPART_MAX_BYTES = 5 GiB).
 */
import { Hono, type Context } from 'hono';
import { ApiError } from '../../shared/errors.ts';
import { completeUploadBody, maxPartSizeBytes, multipartUploadBody } from '../../shared/schemas/storage.ts';
import { parseJsonBody } from '../../shared/validation.ts';
import type { Env } from '../env.ts';
import { uploaderOf } from '../services/access.ts';
import { r2 } from '../services/bucket.ts';
import { recordLanded } from '../services/events.ts';
import { objectKey } from '../services/names.ts';
import { dropReservation, extendReservation, type ObjectRecord } from '../services/records.ts';
import { loadStorageSettings } from '../services/settings.ts';
import { checkLimits, reserveUpload, type ResourceInfo } from '../services/uploads.ts';
import { partSizes, partUrls, ttls } from '../services/urls.ts';
import { auditLater, callerOf, visibleObject } from './objects.ts';

/** Default part size (what the aws cli uses): 8 MiB. */
const defaultPartSizeBytes = 8 * 1024 * 1024;
/** At most this many parts (and part URLs in one answer). */
const maxParts = 1000;

type StorageContext = Context<{ Bindings: Env }>;

export const uploadRoutes = new Hono<{ Bindings: Env }>();

/** The part size for a file: the requested one, else 8 MiB grown (in whole MiB) until ≤ 1000 parts. */
function choosePartSize(sizeBytes: number, requested: number | undefined): number {
  if (requested !== undefined) {
    if (Math.ceil(sizeBytes / requested) > maxParts) {
      throw new ApiError('VALIDATION_INVALID_SCHEMA', `partSizeBytes ${requested} would make more than ${maxParts} parts.`, {
        details: [{ path: 'partSizeBytes', message: `at least ${Math.ceil(sizeBytes / maxParts)} for this file`, code: 'too_small' }],
      });
    }
    return requested;
  }
  const mib = 1024 * 1024;
  return Math.min(maxPartSizeBytes, Math.max(defaultPartSizeBytes, Math.ceil(sizeBytes / maxParts / mib) * mib));
}

async function partsAnswer(c: StorageContext, record: ObjectRecord, resourceInfo?: ResourceInfo) {
  const partSizeBytes = record.part_size_bytes!;
  const parts = await partUrls(c.env, record.key, record.upload_id!, record.size_bytes, partSizeBytes);
  return {
    objectId: record.id,
    objectKey: record.key,
    uploadId: record.upload_id,
    sizeBytes: record.size_bytes,
    partSizeBytes,
    partCount: parts.length,
    parts,
    expiresIn: ttls(c.env).part,
    ...(resourceInfo ? { _meta: { resource_info: resourceInfo } } : {}),
  };
}

/** The open multipart upload of `record`. @throws ApiError STATE_INVALID_TRANSITION when it is not one. */
function openUpload(record: ObjectRecord): { uploadId: string } {
  if (!record.upload_id || record.uploaded_at) {
    throw new ApiError('STATE_INVALID_TRANSITION', `Storage object ${record.id} has no open resumable upload.`, {
      remediation: record.uploaded_at ? 'It is already uploaded; download it or delete it (DELETE /storage/{app_id}/{object_id}).' : 'Only uploads started with POST /storage/{app_id}/uploads have parts.',
    });
  }
  return { uploadId: record.upload_id };
}

uploadRoutes.post('/storage/:app/uploads', async (c) => {
  const { appId, caller } = callerOf(c);
  const uploader = uploaderOf(caller);
  const body = await parseJsonBody(c.req.raw, multipartUploadBody);
  const settings = await loadStorageSettings(c.env, appId);
  const multipartMax = Number(c.env.MULTIPART_MAX_BYTES ?? 5 * 1024 ** 3);
  checkLimits(settings, body, Math.min(settings.maxFileBytes, multipartMax));
  const partSizeBytes = choosePartSize(body.sizeBytes, body.partSizeBytes);
  const objectId = crypto.randomUUID();
  const key = objectKey(appId, uploader, objectId, body.filename);
  const upload = await r2('start the multipart upload', () => c.env.FILES.createMultipartUpload(key, { httpMetadata: { contentType: body.contentType } }));
  const { part, grace } = ttls(c.env);
  let reserved;
  try {
    reserved = await reserveUpload(c.env, c.executionCtx, appId, settings, uploader, body, part + grace, { objectId, uploadId: upload.uploadId, partSizeBytes });
  } catch (error) {
    await upload.abort().catch(() => {});
    throw error;
  }
  auditLater(c, {
    appId, eventType: 'storage.upload', action: 'create', resourceType: 'storage_object', resourceId: objectId,
    eventData: { filename: body.filename, content_type: body.contentType, size_bytes: body.sizeBytes, public: body.public, key, multipart: true },
  });
  const record: ObjectRecord = {
    id: objectId, user_id: uploader, key, filename: body.filename, content_type: body.contentType, size_bytes: body.sizeBytes,
    public: body.public, etag: null, upload_id: upload.uploadId, part_size_bytes: partSizeBytes, reserved_until: null, uploaded_at: null, created_at: new Date(),
  };
  return c.json(await partsAnswer(c, record, reserved.resourceInfo), 201);
});

uploadRoutes.get('/storage/:app/uploads/:object', async (c) => {
  const { appId, caller } = callerOf(c);
  const record = await visibleObject(c, appId, caller, c.req.param('object'), 'write');
  openUpload(record);
  const { part, grace } = ttls(c.env);
  await extendReservation(c.env, appId, record.id, part + grace);
  return c.json(await partsAnswer(c, record));
});

uploadRoutes.post('/storage/:app/uploads/:object/complete', async (c) => {
  const { appId, caller } = callerOf(c);
  const record = await visibleObject(c, appId, caller, c.req.param('object'), 'write');
  const body = await parseJsonBody(c.req.raw, completeUploadBody);
  const answer = (done: ObjectRecord) => ({
    objectId: done.id, objectKey: done.key, sizeBytes: done.size_bytes, etag: done.etag, uploadedAt: done.uploaded_at?.toISOString() ?? null,
  });
  if (record.uploaded_at) return c.json(answer(record));
  const { uploadId } = openUpload(record);
  const expected = partSizes(record.size_bytes, record.part_size_bytes!).length;
  const numbers = body.parts.map((p) => p.partNumber).sort((a, b) => a - b);
  if (numbers.length !== expected || numbers.some((n, i) => n !== i + 1)) {
    throw new ApiError('VALIDATION_INVALID_SCHEMA', `Give each of the ${expected} parts exactly once (partNumber 1 to ${expected}).`, {
      details: [{ path: 'parts', message: `got part numbers ${numbers.join(', ')}`, code: 'invalid_parts' }],
    });
  }
  const parts = body.parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag.replace(/^"|"$/g, '') }));
  const object = await r2('complete the multipart upload', () => c.env.FILES.resumeMultipartUpload(record.key, uploadId).complete(parts));
  const done = await recordLanded(c.env, appId, { key: record.key, sizeBytes: object.size, etag: object.etag });
  if (!done) throw new ApiError('RESOURCE_NOT_FOUND', `Storage object ${record.id} was deleted while it was completed.`);
  return c.json(answer(done));
});

uploadRoutes.delete('/storage/:app/uploads/:object', async (c) => {
  const { appId, caller } = callerOf(c);
  const record = await visibleObject(c, appId, caller, c.req.param('object'), 'write');
  const { uploadId } = openUpload(record);
  await c.env.FILES.resumeMultipartUpload(record.key, uploadId).abort().catch(() => {});
  await dropReservation(c.env, appId, record.id);
  auditLater(c, { appId, eventType: 'storage.upload_aborted', action: 'delete', resourceType: 'storage_object', resourceId: record.id, eventData: { key: record.key } });
  return c.body(null, 204);
});

