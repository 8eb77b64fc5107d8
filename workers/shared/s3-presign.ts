/**
 * Presigned S3 URLs (SigV4, query-signed) for the platform's bucket, made with aws4fetch. Production
 * signs for R2's S3 endpoint (`https://{account}.r2.cloudflarestorage.com`, region `auto`); locally
 * the storage Worker serves an S3-compatible endpoint at `{router}/s3` that verifies the same URLs.
 *
 * Path style (`{endpoint}/{bucket}/{key}`) so one endpoint serves every bucket. The query is written
 * with its keys sorted and RFC 3986 escapes, the way `@aws-sdk/s3-request-presigner` formats it, so
 * for the same inputs both produce the same bytes (test/storage-presign.unit.test.ts).
 *
 * Source: AWS, "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)";
 * Cloudflare R2, "Presigned URLs".
 */
import { AwsV4Signer } from 'aws4fetch';

/** Where the bucket is and the key that signs for it. */
export interface S3Target {
  /** Base URL without the bucket, e.g. `https://acct.r2.cloudflarestorage.com` or `http://127.0.0.1:8787/s3`. */
  endpoint: string;
  bucket: string;
  /** SigV4 region (`auto` for R2). */
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** What one presigned URL allows. */
export interface PresignInput {
  method: 'GET' | 'PUT' | 'HEAD' | 'DELETE';
  key: string;
  /** Seconds the URL is valid, 1 … 604 800 (7 days, SigV4's maximum). */
  expiresInSeconds: number;
  /**
   * Headers the request must carry with exactly these values (signed), e.g. `content-type` and
   * `content-length` of an upload: the store refuses any other value.
   */
  signedHeaders?: Record<string, string>;
  /** Extra query parameters, signed too (`partNumber`, `uploadId`, `response-content-disposition`…). */
  query?: Record<string, string>;
  /** The signing time (default now). */
  now?: Date;
}

/** SigV4's longest validity for a query-signed URL: 7 days. */
export const maxPresignSeconds = 604_800;

/** RFC 3986 percent-encoding (what SigV4 and the AWS SDK use): everything but `A-Za-z0-9-._~`. */
export function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** An object key as a URL path: each `/`-separated segment encoded, the slashes kept. */
export function keyPath(key: string): string {
  return key.split('/').map(uriEncode).join('/');
}

/** The path-style URL of `key` in the target's bucket, without a query. */
export function objectUrl(target: Pick<S3Target, 'endpoint' | 'bucket'>, key: string): string {
  return `${target.endpoint.replace(/\/+$/, '')}/${uriEncode(target.bucket)}/${keyPath(key)}`;
}

/** SigV4's timestamp form, `YYYYMMDD'T'HHMMSS'Z'`. */
export function amzDate(date: Date): string {
  return date.toISOString().replace(/[:-]|\.\d{3}/g, '');
}

/**
 * A query-signed URL for one request on `input.key`. The payload is not signed (`UNSIGNED-PAYLOAD`,
 * as for every presigned S3 URL); `signedHeaders` and `query` are.
 * @throws RangeError when `expiresInSeconds` is outside 1 … 604 800
 */
export async function presignUrl(target: S3Target, input: PresignInput): Promise<string> {
  if (!Number.isInteger(input.expiresInSeconds) || input.expiresInSeconds < 1 || input.expiresInSeconds > maxPresignSeconds) {
    throw new RangeError(`expiresInSeconds must be an integer from 1 to ${maxPresignSeconds}`);
  }
  const url = new URL(objectUrl(target, input.key));
  for (const [name, value] of Object.entries(input.query ?? {})) url.searchParams.set(name, value);
  // The AWS SDK signs the payload mode as a query parameter; aws4fetch uses it when present.
  url.searchParams.set('X-Amz-Content-Sha256', 'UNSIGNED-PAYLOAD');
  url.searchParams.set('X-Amz-Expires', String(input.expiresInSeconds));
  const signer = new AwsV4Signer({
    url: url.toString(),
    method: input.method,
    headers: input.signedHeaders,
    accessKeyId: target.accessKeyId,
    secretAccessKey: target.secretAccessKey,
    service: 's3',
    region: target.region,
    datetime: amzDate(input.now ?? new Date()),
    signQuery: true,
    allHeaders: true,
  });
  const signed = await signer.sign();
  const query = [...signed.url.searchParams]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${uriEncode(name)}=${uriEncode(value)}`)
    .join('&');
  return `${signed.url.origin}${signed.url.pathname}?${query}`;
}
