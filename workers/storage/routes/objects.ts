/**
 * Routes: POST /storage/:app/upload, GET /storage/:app/download/:object, GET /storage/:app/objects,
 * DELETE /storage/:app/:object (API.md §7).
 */
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { writeAudit, type AuditEntry } from '../../shared/audit.ts';
import { ApiError } from '../../shared/errors.ts';
import { appGateOf, clientIp, principalOf, requestId } from '../../shared/http.ts';
import { maxPresignSeconds } from '../../shared/s3-presign.ts';
import { uploadBody } from '../../shared/schemas/storage.ts';
import { parseJsonBody, parseWith } from '../../shared/validation.ts';
import type { Env } from '../env.ts';
import { mayRead, mayWrite, objectNotFound, storageCaller, uploaderOf, type StorageCaller } from '../services/access.ts';
import { r2 } from '../services/bucket.ts';
import { recordLanded } from '../services/events.ts';
import { isUuid } from '../services/names.ts';
import { deleteObjectRecord, findObject, listObjects, type ObjectRecord } from '../services/records.ts';
import { controlDb, loadStorageSettings } from '../services/settings.ts';
import { checkLimits, reserveUpload } from '../services/uploads.ts';
import { downloadUrl, ttls, uploadUrl } from '../services/urls.ts';

/** R2's largest single PUT (4.995 GiB); larger files use a multipart upload. */
export const maxSinglePutBytes = 5 * 1024 ** 3 - 5 * 1024 ** 2;

type StorageContext = Context<{ Bindings: Env }>;

export const objectRoutes = new Hono<{ Bindings: Env }>();

/** The app of the path and the caller as the ACL sees them. */
export function callerOf(c: StorageContext): { appId: string; caller: StorageCaller } {
  const appId = c.req.param('app')!;
  return { appId, caller: storageCaller(principalOf(c), appGateOf(c), appId) };
}

/** Writes an audit entry after the answer (storage changes are `admin` events, as the reference logs them). */
export function auditLater(c: StorageContext, entry: Omit<AuditEntry, 'actor' | 'category' | 'ipAddress' | 'userAgent' | 'correlationId'>): void {
  c.executionCtx.waitUntil(writeAudit(controlDb(c.env), {
    ...entry,
    category: 'admin',
    actor: principalOf(c),
    ipAddress: clientIp(c),
    userAgent: c.req.header('user-agent') ?? null,
    correlationId: requestId(c),
  }));
}

/** The record `objectId` if the caller may see it; otherwise 404 (never 403). */
export async function visibleObject(c: StorageContext, appId: string, caller: StorageCaller, objectId: string, access: 'read' | 'write'): Promise<ObjectRecord> {
  if (!isUuid(objectId)) throw objectNotFound(objectId);
  const record = await findObject(c.env, appId, objectId);
  if (!record) throw objectNotFound(objectId);
  const allowed = access === 'write'
    ? mayWrite(caller, record)
    : await mayRead(caller, record, async () => (await loadStorageSettings(c.env, appId)).config.publicReadEnabled);
  if (!allowed) throw objectNotFound(objectId);
  return record;
}

objectRoutes.post('/storage/:app/upload', async (c) => {
  const { appId, caller } = callerOf(c);
  const uploader = uploaderOf(caller);
  const body = await parseJsonBody(c.req.raw, uploadBody);
  const settings = await loadStorageSettings(c.env, appId);
  checkLimits(settings, body, Math.min(settings.maxFileBytes, maxSinglePutBytes),
    body.sizeBytes > maxSinglePutBytes ? ' Files over 4.995 GiB need a resumable upload (POST /storage/{app_id}/uploads).' : '');
  const { upload, grace } = ttls(c.env);
  const reserved = await reserveUpload(c.env, c.executionCtx, appId, settings, uploader, body, upload + grace);
  const url = await uploadUrl(c.env, reserved.objectKey, body.contentType, body.sizeBytes, upload);
  auditLater(c, {
    appId, eventType: 'storage.upload', action: 'create', resourceType: 'storage_object', resourceId: reserved.objectId,
    eventData: { filename: body.filename, content_type: body.contentType, size_bytes: body.sizeBytes, public: body.public, key: reserved.objectKey },
  });
  return c.json({
    uploadUrl: url,
    objectKey: reserved.objectKey,
    expiresIn: upload,
    objectId: reserved.objectId,
    _meta: { resource_info: reserved.resourceInfo },
  });
});

const downloadQuery = z.object({
  expiresIn: z.coerce.number().int().min(1).max(maxPresignSeconds).optional(),
  expires_in: z.coerce.number().int().min(1).max(maxPresignSeconds).optional(),
}).strict();

objectRoutes.get('/storage/:app/download/:object', async (c) => {
  const { appId, caller } = callerOf(c);
  const query = parseWith(downloadQuery, c.req.query(), 'query');
  let record = await visibleObject(c, appId, caller, c.req.param('object'), 'read');
  if (!record.uploaded_at) {
    // The bytes may have landed before their event notification: look before refusing.
    const landed = record.upload_id ? null : await r2('look up the object', () => c.env.FILES.head(record.key));
    const completed = landed ? await recordLanded(c.env, appId, { key: record.key, sizeBytes: landed.size, etag: landed.etag }) : null;
    if (!completed) {
      throw new ApiError('STATE_PREREQUISITE_MISSING', `Storage object ${record.id} has no bytes yet: its upload has not finished.`, {
        remediation: record.upload_id
          ? 'Finish the resumable upload (POST /storage/{app_id}/uploads/{object_id}/complete), then ask again.'
          : 'PUT the file to the uploadUrl from POST /storage/{app_id}/upload (with the same Content-Type), then ask again.',
      });
    }
    record = completed;
  }
  const expiresIn = query.expiresIn ?? query.expires_in ?? ttls(c.env).download;
  return c.json({
    downloadUrl: await downloadUrl(c.env, record.key, record.filename, record.content_type, expiresIn),
    filename: record.filename,
    expiresIn,
  });
});

objectRoutes.get('/storage/:app/objects', async (c) => {
  const { appId, caller } = callerOf(c);
  const uploader = uploaderOf(caller);
  const rows = await listObjects(c.env, appId, caller.kind === 'service' ? undefined : uploader!);
  return c.json({
    objects: rows.map((row) => ({
      id: row.id,
      user_id: row.user_id,
      key: row.key,
      filename: row.filename,
      content_type: row.content_type,
      size_bytes: row.size_bytes,
      public: row.public,
      created_at: row.created_at.toISOString(),
      uploaded_at: row.uploaded_at?.toISOString() ?? null,
    })),
  });
});

objectRoutes.delete('/storage/:app/:object', async (c) => {
  const { appId, caller } = callerOf(c);
  const record = await visibleObject(c, appId, caller, c.req.param('object'), 'write');
  if (record.upload_id) await c.env.FILES.resumeMultipartUpload(record.key, record.upload_id).abort().catch(() => {});
  await r2('delete the object', () => c.env.FILES.delete(record.key));
  await deleteObjectRecord(c.env, appId, record.id);
  auditLater(c, { appId, eventType: 'storage.delete', action: 'delete', resourceType: 'storage_object', resourceId: record.id, eventData: { key: record.key } });
  return c.body(null, 204);
});
