/**
 * Reserving an upload (API.md §7 POST /upload, and the resumable POST /uploads): the app's limits
 * (file size, content types, quota) are checked, then the record is created with the declared size
 * counting toward the quota until the URL expires (plus grace). Errors and their details follow §7.
 */
import { ApiError } from '../../shared/errors.ts';
import type { Env } from '../env.ts';
import { contentTypeAllowed, mediaType, objectKey } from './names.ts';
import { reserveObject, type ReservationOutcome } from './records.ts';
import { markReapDue, type StorageSettings } from './settings.ts';

/** `_meta.resource_info` of an upload answer (API.md §7). */
export interface ResourceInfo {
  storage_used_bytes: number;
  storage_limit_bytes: number;
  storage_used_percent: number;
  files_count: number;
}

/** What is being uploaded. */
export interface UploadRequest {
  filename: string;
  contentType: string;
  sizeBytes: number;
  public: boolean;
}

/**
 * Checks a declared upload against the app's limits.
 * @throws ApiError QUOTA_FILE_SIZE_EXCEEDED (`details.file_size_bytes`, `max_file_size_bytes`),
 *   VALIDATION_INVALID_TYPE (`details.content_type`, `allowed_content_types`)
 */
export function checkLimits(settings: StorageSettings, upload: UploadRequest, maxBytes: number, hint = ''): void {
  if (upload.sizeBytes > maxBytes) {
    throw new ApiError('QUOTA_FILE_SIZE_EXCEEDED', `File size ${upload.sizeBytes} bytes exceeds the limit of ${maxBytes} bytes.`, {
      remediation: `Upload a smaller file, or raise maxFileSizeMb (PATCH /v1/{app_id}/config/storage, manage_storage update_config).${hint}`,
      details: { file_size_bytes: upload.sizeBytes, max_file_size_bytes: maxBytes },
    });
  }
  if (!contentTypeAllowed(upload.contentType, settings.config.allowedContentTypes)) {
    throw new ApiError('VALIDATION_INVALID_TYPE', `Content type ${mediaType(upload.contentType)} is not allowed for this app.`, {
      remediation: 'Upload a file of an allowed type, or add the type to allowedContentTypes (PATCH /v1/{app_id}/config/storage), e.g. "image/*".',
      details: { content_type: upload.contentType, allowed_content_types: settings.config.allowedContentTypes },
    });
  }
}

function resourceInfo(outcome: ReservationOutcome, settings: StorageSettings, addedBytes: number): ResourceInfo {
  const used = outcome.usedBytesBefore + addedBytes;
  return {
    storage_used_bytes: used,
    storage_limit_bytes: settings.limitBytes,
    storage_used_percent: Math.round((used / settings.limitBytes) * 100),
    files_count: outcome.filesBefore + (addedBytes > 0 ? 1 : 0),
  };
}

/** A made reservation. */
export interface Reserved {
  objectId: string;
  objectKey: string;
  resourceInfo: ResourceInfo;
}

/**
 * Creates the record of an upload, counting its declared size toward the quota for
 * `reserveSeconds`, and puts the app on the reaper's due list.
 * @throws ApiError QUOTA_STORAGE_EXCEEDED (`details.current_usage_bytes`, `limit_bytes`,
 *   `requested_bytes`); AUTH_RLS_REQUIRES_USER_JWT; database errors as DbGateway maps them
 */
export async function reserveUpload(
  env: Env,
  ctx: Pick<ExecutionContext, 'waitUntil'>,
  appId: string,
  settings: StorageSettings,
  uploader: string | null,
  upload: UploadRequest,
  reserveSeconds: number,
  multipart?: { objectId: string; uploadId: string; partSizeBytes: number },
): Promise<Reserved> {
  const objectId = multipart?.objectId ?? crypto.randomUUID();
  const key = objectKey(appId, uploader, objectId, upload.filename);
  const outcome = await reserveObject(env, appId, {
    id: objectId, userId: uploader, key, filename: upload.filename, contentType: upload.contentType, sizeBytes: upload.sizeBytes,
    public: upload.public, uploadId: multipart?.uploadId, partSizeBytes: multipart?.partSizeBytes, reserveSeconds, limitBytes: settings.limitBytes,
  });
  if (!outcome.reserved) {
    throw new ApiError('QUOTA_STORAGE_EXCEEDED', `Storage quota exceeded: ${outcome.usedBytesBefore} of ${settings.limitBytes} bytes are used; ${upload.sizeBytes} more do not fit.`, {
      remediation: 'Delete files you no longer need (DELETE /storage/{app_id}/{object_id}) or raise storageLimitBytes (PATCH /v1/{app_id}/config/storage).',
      details: { current_usage_bytes: outcome.usedBytesBefore, limit_bytes: settings.limitBytes, requested_bytes: upload.sizeBytes },
    });
  }
  const dueAt = new Date(Date.now() + reserveSeconds * 1000);
  ctx.waitUntil(markReapDue(env, appId, dueAt).catch((error: unknown) => console.error(`[storage] reaper due time for ${appId} not recorded: ${String(error)}`)));
  return { objectId, objectKey: key, resourceInfo: resourceInfo(outcome, settings, upload.sizeBytes) };
}
