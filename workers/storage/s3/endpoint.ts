/**
 * The local S3-compatible endpoint (`/s3/{bucket}/{key}`, path style, enabled by
 * S3_LOCAL_ENDPOINT): what R2's S3 API is in production, over the local R2 binding, so presigned URLs
 * and S3 clients (the aws cli) take the same code path locally as in production.
 *
 * Every request is SigV4-verified (s3/sigv4.ts) with the platform's S3 credentials. Operations:
 * PutObject, GetObject (Range, conditional headers, response-* overrides), HeadObject, DeleteObject,
 * DeleteObjects, ListObjectsV2, HeadBucket, GetBucketLocation, and multipart uploads (Create,
 * UploadPart, Complete, Abort). Answers carry S3's XML error documents. Each object write or delete
 * is followed by the event notification R2 would send (queue R2_NOTIFICATIONS), so the record
 * bookkeeping runs the production consumer. CORS is open, like a bucket CORS policy allowing any
 * origin (browsers PUT to presigned URLs from the app's own origin).
 *
 * Source: Amazon S3 API Reference (each operation); Cloudflare R2 "S3 API compatibility".
 */
import { toHex } from '../../shared/crypto.ts';
import type { R2EventNotification } from '../../shared/contracts.ts';
import { uriEncode } from '../../shared/s3-presign.ts';
import type { Env } from '../env.ts';
import { queryPairs, verifySigV4, type SigV4FailureCode } from './sigv4.ts';
import { parseXml, xmlError, xmlResponse, type XmlElement } from './xml.ts';

const failureStatus: Record<SigV4FailureCode, number> = {
  AccessDenied: 403,
  SignatureDoesNotMatch: 403,
  RequestTimeTooSkewed: 403,
  InvalidAccessKeyId: 403,
  AuthorizationQueryParametersError: 400,
  AuthorizationHeaderMalformed: 400,
  InvalidRequest: 400,
};

const exposedHeaders = 'ETag, Content-Length, Content-Range, Content-Type, Content-Disposition, Last-Modified, Accept-Ranges, x-amz-request-id';
const hexHash = /^[0-9a-f]{64}$/;

/** One S3 request being served. */
interface S3Call {
  env: Env;
  ctx: Pick<ExecutionContext, 'waitUntil'>;
  request: Request;
  url: URL;
  query: Map<string, string>;
  bucket: string;
  key: string;
  requestId: string;
  payloadHash: string;
}

class S3Failure extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly extra: Record<string, string> = {}) {
    super(message);
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function withCors(response: Response, request: Request): Response {
  if (!request.headers.get('origin')) return response;
  const out = new Response(response.body, response);
  out.headers.set('access-control-allow-origin', '*');
  out.headers.set('access-control-expose-headers', exposedHeaders);
  return out;
}

function preflight(request: Request): Response {
  return new Response(null, {
    status: 200,
    headers: {
      'access-control-allow-origin': '*',
      'access-control-allow-methods': 'GET, PUT, POST, DELETE, HEAD',
      'access-control-allow-headers': request.headers.get('access-control-request-headers') ?? 'content-type',
      'access-control-expose-headers': exposedHeaders,
      'access-control-max-age': '3600',
    },
  });
}

/**
 * Serves one request to `/s3/{bucket}/{key…}` (the router forwards the path unchanged).
 * Never throws: failures are S3 XML error documents (HEAD answers carry no body).
 */
export async function serveS3(request: Request, env: Env, ctx: Pick<ExecutionContext, 'waitUntil'>): Promise<Response> {
  const requestId = crypto.randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase();
  if (request.method === 'OPTIONS') return preflight(request);
  const url = new URL(request.url);
  const [, , bucketSegment = '', ...keySegments] = url.pathname.split('/');
  try {
    const verified = await verifySigV4({ method: request.method, url, headers: request.headers },
      { accessKeyId: env.S3_ACCESS_KEY_ID, secretAccessKey: env.S3_SECRET_ACCESS_KEY },
      { nowMs: Date.now(), regions: [env.S3_REGION || 'auto', 'us-east-1'] });
    if (!verified.ok) throw new S3Failure(failureStatus[verified.failure.code], verified.failure.code, verified.failure.message, verified.failure.extra);
    const call: S3Call = {
      env, ctx, request, url, requestId,
      query: new Map(queryPairs(url)),
      bucket: decodeSegment(bucketSegment),
      key: keySegments.map(decodeSegment).join('/'),
      payloadHash: verified.verified.payloadHash,
    };
    if (call.bucket !== env.S3_BUCKET) throw new S3Failure(404, 'NoSuchBucket', 'The specified bucket does not exist.', { BucketName: call.bucket });
    const response = call.key === '' ? await bucketOperation(call) : await objectOperation(call);
    response.headers.set('x-amz-request-id', requestId);
    return withCors(response, request);
  } catch (error) {
    const failure = error instanceof S3Failure ? error : r2Failure(error);
    if (failure.status >= 500) console.error(`[s3] ${request.method} ${url.pathname}: ${String(error)}`);
    if (request.method === 'HEAD') return withCors(new Response(null, { status: failure.status, headers: { 'x-amz-request-id': requestId } }), request);
    return withCors(xmlError(failure.status, failure.code, failure.message, requestId, failure.extra), request);
  }
}

/** R2 binding errors carry S3-style codes in their message, e.g. "… (10024)". */
function r2Failure(error: unknown): S3Failure {
  const message = String((error as Error)?.message ?? error);
  const code = /\((\d{5})\)/.exec(message)?.[1];
  switch (code) {
    case '10024': return new S3Failure(404, 'NoSuchUpload', 'The specified multipart upload does not exist.');
    case '10025': return new S3Failure(400, 'InvalidPart', 'One or more of the specified parts could not be found.');
    case '10011': return new S3Failure(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.');
    case '10048': return new S3Failure(400, 'InvalidPart', 'All non-trailing parts must have the same length.');
    case '10037':
    case '10038': return new S3Failure(400, 'BadDigest', 'The Content-MD5 or checksum you specified did not match what we received.');
    default:
      if (/digest|checksum|md5|sha-?256/i.test(message)) return new S3Failure(400, 'BadDigest', 'The Content-MD5 or checksum you specified did not match what we received.');
      return new S3Failure(500, 'InternalError', 'We encountered an internal error. Please try again.');
  }
}

async function bucketOperation(call: S3Call): Promise<Response> {
  const { request, query } = call;
  if (request.method === 'HEAD') return new Response(null, { status: 200 });
  if (request.method === 'GET' && query.has('location')) return xmlResponse(200, 'LocationConstraint', { '#text': call.env.S3_REGION || 'auto' });
  if (request.method === 'GET' && (query.get('list-type') === '2' || !query.has('list-type'))) return listObjectsV2(call);
  if (request.method === 'POST' && query.has('delete')) return deleteObjects(call);
  throw new S3Failure(501, 'NotImplemented', 'A header or query you provided implies functionality that is not implemented.');
}

async function objectOperation(call: S3Call): Promise<Response> {
  const { request, query } = call;
  switch (request.method) {
    case 'PUT':
      if (query.has('uploadId')) return uploadPart(call);
      if (request.headers.has('x-amz-copy-source')) throw new S3Failure(501, 'NotImplemented', 'CopyObject is not implemented by the local endpoint.');
      return putObject(call);
    case 'GET':
      if (query.has('uploadId')) throw new S3Failure(501, 'NotImplemented', 'ListParts is not implemented by the local endpoint.');
      return getObject(call, false);
    case 'HEAD':
      return getObject(call, true);
    case 'DELETE':
      if (query.has('uploadId')) {
        await call.env.FILES.resumeMultipartUpload(call.key, query.get('uploadId')!).abort();
        return new Response(null, { status: 204 });
      }
      await call.env.FILES.delete(call.key);
      notify(call, 'DeleteObject', {});
      return new Response(null, { status: 204 });
    case 'POST':
      if (query.has('uploads')) return createMultipartUpload(call);
      if (query.has('uploadId')) return completeMultipartUpload(call);
      break;
  }
  throw new S3Failure(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
}

/** Sends the event notification R2 would send for this change (queue R2_NOTIFICATIONS). */
function notify(call: S3Call, action: R2EventNotification['action'], object: { size?: number; eTag?: string }): void {
  const message: R2EventNotification = {
    account: 'local', bucket: call.bucket, eventTime: new Date().toISOString(), action, object: { key: call.key, ...object },
  };
  call.ctx.waitUntil(call.env.R2_NOTIFICATIONS.send(message).catch((error: unknown) => console.error(`[s3] notification for ${call.key} not sent: ${String(error)}`)));
}

function contentLength(request: Request): number {
  const header = request.headers.get('content-length');
  if (header === null || !/^\d{1,15}$/.test(header)) throw new S3Failure(411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.');
  return Number(header);
}

/** The body as a stream of exactly `length` bytes (a shorter or longer body errors it). */
function exactBody(body: ReadableStream | null, length: number): ReadableStream | string {
  if (length === 0 || !body) return '';
  const { readable, writable } = new FixedLengthStream(length);
  body.pipeTo(writable).catch(() => {});
  return readable;
}

function httpMetadata(headers: Headers): R2HTTPMetadata {
  const metadata: R2HTTPMetadata = {};
  const contentType = headers.get('content-type');
  if (contentType) metadata.contentType = contentType;
  const disposition = headers.get('content-disposition');
  if (disposition) metadata.contentDisposition = disposition;
  const encoding = headers.get('content-encoding');
  if (encoding && encoding !== 'aws-chunked') metadata.contentEncoding = encoding;
  const language = headers.get('content-language');
  if (language) metadata.contentLanguage = language;
  const cacheControl = headers.get('cache-control');
  if (cacheControl) metadata.cacheControl = cacheControl;
  return metadata;
}

function customMetadata(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of headers) if (name.startsWith('x-amz-meta-')) out[name.slice('x-amz-meta-'.length)] = value;
  return out;
}

function contentMd5Hex(headers: Headers): string | undefined {
  const md5 = headers.get('content-md5');
  if (!md5) return undefined;
  try {
    const bytes = Uint8Array.from(atob(md5), (ch) => ch.charCodeAt(0));
    if (bytes.length !== 16) throw new Error('not 16 bytes');
    return toHex(bytes);
  } catch {
    throw new S3Failure(400, 'InvalidDigest', 'The Content-MD5 you specified was invalid.');
  }
}

function declaredSha256(call: S3Call): string | undefined {
  return hexHash.test(call.payloadHash) ? call.payloadHash : undefined;
}

async function putObject(call: S3Call): Promise<Response> {
  const { request, env } = call;
  const length = contentLength(request);
  const sha256 = declaredSha256(call);
  const md5 = contentMd5Hex(request.headers);
  const object = await env.FILES.put(call.key, exactBody(request.body, length), {
    httpMetadata: httpMetadata(request.headers),
    customMetadata: customMetadata(request.headers),
    ...(sha256 ? { sha256 } : {}),
    ...(md5 ? { md5 } : {}),
  });
  if (!object) throw new S3Failure(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold.');
  notify(call, 'PutObject', { size: object.size, eTag: object.etag });
  return new Response(null, { status: 200, headers: { etag: object.httpEtag } });
}

/** Passes `body` through while digesting it; the digests resolve once the body has been read. */
function digesting(body: ReadableStream, algorithms: ('SHA-256' | 'MD5')[]): { stream: ReadableStream; digests: Promise<Map<string, string>> } {
  const sinks = algorithms.map((algorithm) => {
    const digest = new crypto.DigestStream(algorithm);
    return { algorithm, digest, writer: digest.getWriter() };
  });
  const transform = new TransformStream<Uint8Array, Uint8Array>({
    async transform(chunk, controller) {
      for (const sink of sinks) await sink.writer.write(chunk);
      controller.enqueue(chunk);
    },
    async flush() {
      for (const sink of sinks) await sink.writer.close();
    },
  });
  const digests = Promise.all(sinks.map(async (sink) => [sink.algorithm, toHex(new Uint8Array(await sink.digest.digest))] as const)).then((pairs) => new Map(pairs));
  return { stream: body.pipeThrough(transform), digests };
}

async function uploadPart(call: S3Call): Promise<Response> {
  const { request, env, query } = call;
  const partNumber = Number(query.get('partNumber'));
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) {
    throw new S3Failure(400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive.');
  }
  const length = contentLength(request);
  const sha256 = declaredSha256(call);
  const md5 = contentMd5Hex(request.headers);
  const algorithms = [...(sha256 ? ['SHA-256' as const] : []), ...(md5 ? ['MD5' as const] : [])];
  const upload = env.FILES.resumeMultipartUpload(call.key, query.get('uploadId')!);
  let body = request.body;
  let digests: Promise<Map<string, string>> | undefined;
  if (body && algorithms.length > 0) ({ stream: body, digests } = digesting(body, algorithms));
  const part = await upload.uploadPart(partNumber, exactBody(body, length));
  const seen = await digests;
  if (seen && ((sha256 && seen.get('SHA-256') !== sha256) || (md5 && seen.get('MD5') !== md5))) {
    throw new S3Failure(400, sha256 && seen.get('SHA-256') !== sha256 ? 'XAmzContentSHA256Mismatch' : 'BadDigest',
      'The provided checksum does not match what we received; upload the part again.');
  }
  return new Response(null, { status: 200, headers: { etag: `"${part.etag}"` } });
}

async function createMultipartUpload(call: S3Call): Promise<Response> {
  const upload = await call.env.FILES.createMultipartUpload(call.key, {
    httpMetadata: httpMetadata(call.request.headers),
    customMetadata: customMetadata(call.request.headers),
  });
  return xmlResponse(200, 'InitiateMultipartUploadResult', { Bucket: call.bucket, Key: call.key, UploadId: upload.uploadId });
}

async function bodyText(call: S3Call): Promise<string> {
  const text = await call.request.text();
  const sha256 = declaredSha256(call);
  if (sha256) {
    const actual = toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))));
    if (actual !== sha256) throw new S3Failure(400, 'XAmzContentSHA256Mismatch', 'The provided x-amz-content-sha256 header does not match what was computed.');
  }
  return text;
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === undefined ? [] : [value];
}

async function completeMultipartUpload(call: S3Call): Promise<Response> {
  const document = parseXml(await bodyText(call));
  const root = document?.CompleteMultipartUpload as Record<string, unknown> | undefined;
  const parts = asArray(root?.Part).map((part) => {
    const p = part as Record<string, unknown>;
    return { partNumber: Number(p.PartNumber), etag: String(p.ETag ?? '').replace(/^"|"$/g, '') };
  });
  if (!root || parts.length === 0 || parts.some((p) => !Number.isInteger(p.partNumber) || p.etag === '')) {
    throw new S3Failure(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
  }
  const object = await call.env.FILES.resumeMultipartUpload(call.key, call.query.get('uploadId')!).complete(parts);
  notify(call, 'CompleteMultipartUpload', { size: object.size, eTag: object.etag });
  return xmlResponse(200, 'CompleteMultipartUploadResult', {
    Location: `${call.url.origin}${call.url.pathname}`, Bucket: call.bucket, Key: call.key, ETag: object.httpEtag,
  });
}

async function deleteObjects(call: S3Call): Promise<Response> {
  const document = parseXml(await bodyText(call));
  const root = document?.Delete as Record<string, unknown> | undefined;
  const keys = asArray(root?.Object).map((o) => String((o as Record<string, unknown>).Key ?? ''));
  if (!root || keys.length === 0 || keys.length > 1000 || keys.some((k) => k === '')) {
    throw new S3Failure(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
  }
  await call.env.FILES.delete(keys);
  for (const key of keys) notify({ ...call, key }, 'DeleteObject', {});
  const quiet = String(root.Quiet ?? 'false') === 'true';
  return xmlResponse(200, 'DeleteResult', quiet ? {} : { Deleted: keys.map((key) => ({ Key: key })) });
}

/** A single `bytes=` range (RFC 9110 §14.1.2) as an R2 range; null for none, several, or a malformed one. */
function parseRange(header: string | null): R2Range | null {
  const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!match || (match[1] === '' && match[2] === '')) return null;
  if (match[1] === '') return { suffix: Number(match[2]) };
  const offset = Number(match[1]);
  if (match[2] === '') return { offset };
  const end = Number(match[2]);
  return end < offset ? null : { offset, length: end - offset + 1 };
}

function objectHeaders(call: S3Call, object: R2Object): Headers {
  const headers = new Headers();
  object.writeHttpMetadata(headers);
  headers.set('etag', object.httpEtag);
  headers.set('last-modified', object.uploaded.toUTCString());
  headers.set('accept-ranges', 'bytes');
  headers.set('x-content-type-options', 'nosniff');
  for (const [name, value] of Object.entries(object.customMetadata ?? {})) headers.set(`x-amz-meta-${name}`, value);
  const overrides = { 'response-content-type': 'content-type', 'response-content-disposition': 'content-disposition', 'response-cache-control': 'cache-control', 'response-content-language': 'content-language' } as const;
  for (const [param, header] of Object.entries(overrides)) {
    const value = call.query.get(param);
    if (value) headers.set(header, value);
  }
  return headers;
}

async function getObject(call: S3Call, headOnly: boolean): Promise<Response> {
  const { env, request } = call;
  if (headOnly) {
    const head = await env.FILES.head(call.key);
    if (!head) throw new S3Failure(404, 'NoSuchKey', 'The specified key does not exist.', { Key: call.key });
    const conditional = conditionalStatus(request.headers, head);
    if (conditional) return new Response(null, { status: conditional, headers: { etag: head.httpEtag } });
    const headers = objectHeaders(call, head);
    headers.set('content-length', String(head.size));
    return new Response(null, { status: 200, headers });
  }
  const range = parseRange(request.headers.get('range'));
  let object: R2ObjectBody | R2Object | null;
  try {
    object = await env.FILES.get(call.key, { ...(range ? { range } : {}), onlyIf: request.headers });
  } catch (error) {
    const head = range ? await env.FILES.head(call.key) : null;
    if (!head) throw error;
    const response = xmlError(416, 'InvalidRange', 'The requested range is not satisfiable', call.requestId, { RangeRequested: request.headers.get('range') ?? '', ActualObjectSize: String(head.size) });
    response.headers.set('content-range', `bytes */${head.size}`);
    return response;
  }
  if (!object) throw new S3Failure(404, 'NoSuchKey', 'The specified key does not exist.', { Key: call.key });
  if (!('body' in object)) {
    return new Response(null, { status: conditionalStatus(request.headers, object) ?? 412, headers: { etag: object.httpEtag } });
  }
  const headers = objectHeaders(call, object);
  if (!range) {
    headers.set('content-length', String(object.size));
    return new Response(object.body, { status: 200, headers });
  }
  const served = object.range as { offset?: number; length?: number; suffix?: number } | undefined;
  const offset = served?.suffix !== undefined ? Math.max(0, object.size - served.suffix) : (served?.offset ?? 0);
  const length = served?.suffix !== undefined ? object.size - offset : Math.min(served?.length ?? object.size - offset, object.size - offset);
  headers.set('content-range', `bytes ${offset}-${offset + length - 1}/${object.size}`);
  headers.set('content-length', String(length));
  return new Response(object.body, { status: 206, headers });
}

/** 304/412 for If-None-Match, If-Match, If-Modified-Since, If-Unmodified-Since (RFC 9110 §13), else null. */
function conditionalStatus(headers: Headers, object: R2Object): number | null {
  const etags = (value: string) => value.split(',').map((v) => v.trim().replace(/^W\//, ''));
  const ifMatch = headers.get('if-match');
  if (ifMatch && !etags(ifMatch).some((v) => v === '*' || v === object.httpEtag)) return 412;
  const ifUnmodified = headers.get('if-unmodified-since');
  if (!ifMatch && ifUnmodified && Date.parse(ifUnmodified) < Math.floor(object.uploaded.getTime() / 1000) * 1000) return 412;
  const ifNoneMatch = headers.get('if-none-match');
  if (ifNoneMatch && etags(ifNoneMatch).some((v) => v === '*' || v === object.httpEtag)) return 304;
  const ifModified = headers.get('if-modified-since');
  if (!ifNoneMatch && ifModified && Date.parse(ifModified) >= Math.floor(object.uploaded.getTime() / 1000) * 1000) return 304;
  return null;
}

async function listObjectsV2(call: S3Call): Promise<Response> {
  const { query } = call;
  const urlEncoded = query.get('encoding-type') === 'url';
  const encode = (value: string) => (urlEncoded ? uriEncode(value).replace(/%2F/g, '/') : value);
  const prefix = query.get('prefix') ?? '';
  const delimiter = query.get('delimiter') || undefined;
  const maxKeys = Math.min(Math.max(Number(query.get('max-keys') ?? 1000) || 0, 0), 1000);
  const continuation = query.get('continuation-token') || undefined;
  const startAfter = query.get('start-after') || undefined;
  const listed: R2Objects = maxKeys === 0
    ? { objects: [], delimitedPrefixes: [], truncated: false }
    : await call.env.FILES.list({ prefix, delimiter, cursor: continuation, startAfter: continuation ? undefined : startAfter, limit: maxKeys });
  const body: XmlElement = {
    Name: call.bucket,
    Prefix: encode(prefix),
    KeyCount: listed.objects.length + listed.delimitedPrefixes.length,
    MaxKeys: maxKeys,
    ...(delimiter ? { Delimiter: encode(delimiter) } : {}),
    IsTruncated: listed.truncated,
    ...(continuation ? { ContinuationToken: continuation } : {}),
    ...(listed.truncated && 'cursor' in listed ? { NextContinuationToken: listed.cursor } : {}),
    ...(startAfter ? { StartAfter: encode(startAfter) } : {}),
    ...(urlEncoded ? { EncodingType: 'url' } : {}),
  };
  if (listed.objects.length > 0) {
    body.Contents = listed.objects.map((object) => ({
      Key: encode(object.key),
      LastModified: object.uploaded.toISOString(),
      ETag: object.httpEtag,
      Size: object.size,
      StorageClass: 'STANDARD',
    }));
  }
  if (listed.delimitedPrefixes.length > 0) body.CommonPrefixes = listed.delimitedPrefixes.map((p) => ({ Prefix: encode(p) }));
  return xmlResponse(200, 'ListBucketResult', body);
}
