/**
 * Bodies of the storage routes (API.md §7, plus the resumable multipart uploads), shared by the REST
 * routes of the storage Worker and the MCP tool `manage_storage` (which names the fields in
 * snake_case and maps them onto these).
 */
import { z } from 'zod';

/** MIME type token characters (RFC 9110 §5.6.2). */
const token = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const contentTypePattern = new RegExp(`^${token}/${token}(\\s*;\\s*${token}=("[^"\\\\\\x00-\\x1f\\x7f]*"|${token}))*$`);

/** The original filename (kept in the record; the key holds a sanitized copy): 1–255 characters, no control characters. */
export const filenameField = z.string().min(1).max(255)
  .refine((value) => !/[\u0000-\u001f\u007f-\u009f]/.test(value), 'must not contain control characters (NUL, newlines, tabs…)');

/** The Content-Type the upload will carry (signed into the upload URL), e.g. `image/png`. */
export const contentTypeField = z.string().trim().min(1).max(255)
  .regex(contentTypePattern, 'must be a MIME type such as "image/png" or "text/plain; charset=utf-8"');

/** The exact size of the file in bytes (signed into the upload URL as Content-Length). */
export const sizeBytesField = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** Body of POST /storage/{app_id}/upload (API.md §7). */
export const uploadBody = z.object({
  filename: filenameField,
  contentType: contentTypeField,
  sizeBytes: sizeBytesField,
  public: z.boolean().optional().default(false),
}).strict();
export type UploadBody = z.infer<typeof uploadBody>;

/** The smallest part S3 and R2 accept (all but the last part): 5 MiB. */
export const minPartSizeBytes = 5 * 1024 * 1024;
/** The largest part: 5 GiB. */
export const maxPartSizeBytes = 5 * 1024 ** 3;

/** Body of POST /storage/{app_id}/uploads (a resumable multipart upload). */
export const multipartUploadBody = uploadBody.extend({
  partSizeBytes: z.number().int().min(minPartSizeBytes).max(maxPartSizeBytes).optional(),
}).strict();
export type MultipartUploadBody = z.infer<typeof multipartUploadBody>;

/** Body of POST /storage/{app_id}/uploads/{object_id}/complete: every part's number and the ETag its PUT returned. */
export const completeUploadBody = z.object({
  parts: z.array(z.object({
    partNumber: z.number().int().min(1).max(10_000),
    etag: z.string().min(1).max(200),
  }).strict()).min(1).max(10_000),
}).strict();
export type CompleteUploadBody = z.infer<typeof completeUploadBody>;
