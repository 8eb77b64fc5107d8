/**
 * The presigned URLs the storage API hands out (API.md §7): uploads that bind the declared type and
 * size, downloads that name the original filename and honour Range, and multipart part URLs that
 * bind each part's size. Validities come from the Worker's vars (defaults: upload 300 s, download
 * 3600 s, part 3600 s).
 */
import { maxPresignSeconds, presignUrl, type S3Target } from '../../shared/s3-presign.ts';
import type { Env } from '../env.ts';
import { contentDisposition } from './names.ts';

/** The bucket and key the Worker signs with. */
export function s3Target(env: Env): S3Target {
  return {
    endpoint: env.S3_ENDPOINT,
    bucket: env.S3_BUCKET,
    region: env.S3_REGION || 'auto',
    accessKeyId: env.S3_ACCESS_KEY_ID,
    secretAccessKey: env.S3_SECRET_ACCESS_KEY,
  };
}

function seconds(value: string | undefined, fallback: number): number {
  const parsed = Number(value);
  return Number.isInteger(parsed) && parsed >= 1 && parsed <= maxPresignSeconds ? parsed : fallback;
}

/** The validities and the reservation grace, seconds. */
export function ttls(env: Env): { upload: number; download: number; part: number; grace: number } {
  const grace = Number(env.RESERVATION_GRACE_SECONDS);
  return {
    upload: seconds(env.UPLOAD_URL_TTL_SECONDS, 300),
    download: seconds(env.DOWNLOAD_URL_TTL_SECONDS, 3600),
    part: seconds(env.PART_URL_TTL_SECONDS, 3600),
    grace: Number.isInteger(grace) && grace >= 0 ? grace : 900,
  };
}

/** A PUT URL accepting exactly `contentType` and `sizeBytes` bytes at `key`. */
export function uploadUrl(env: Env, key: string, contentType: string, sizeBytes: number, expiresInSeconds = ttls(env).upload): Promise<string> {
  return presignUrl(s3Target(env), {
    method: 'PUT',
    key,
    expiresInSeconds,
    signedHeaders: { 'content-type': contentType, 'content-length': String(sizeBytes) },
  });
}

/** A GET URL for `key` whose answer names `filename` (Content-Disposition); Range requests work. */
export function downloadUrl(env: Env, key: string, filename: string, contentType: string, expiresInSeconds: number): Promise<string> {
  return presignUrl(s3Target(env), {
    method: 'GET',
    key,
    expiresInSeconds,
    query: { 'response-content-disposition': contentDisposition(filename, contentType) },
  });
}

/** One part of a multipart upload: its number, byte size and presigned PUT URL. */
export interface PartUrl {
  partNumber: number;
  sizeBytes: number;
  url: string;
}

/** The part layout of `sizeBytes` in parts of `partSizeBytes` (the last one holds the rest). */
export function partSizes(sizeBytes: number, partSizeBytes: number): number[] {
  const count = Math.max(1, Math.ceil(sizeBytes / partSizeBytes));
  return Array.from({ length: count }, (_, i) => (i < count - 1 ? partSizeBytes : sizeBytes - partSizeBytes * (count - 1)));
}

/** Presigned PUT URLs for every part of the multipart upload `uploadId` at `key`, each binding its size. */
export async function partUrls(env: Env, key: string, uploadId: string, sizeBytes: number, partSizeBytes: number): Promise<PartUrl[]> {
  const target = s3Target(env);
  const now = new Date();
  const expiresInSeconds = ttls(env).part;
  return Promise.all(partSizes(sizeBytes, partSizeBytes).map(async (size, index) => ({
    partNumber: index + 1,
    sizeBytes: size,
    url: await presignUrl(target, {
      method: 'PUT',
      key,
      expiresInSeconds,
      now,
      signedHeaders: { 'content-length': String(size) },
      query: { partNumber: String(index + 1), uploadId },
    }),
  })));
}
