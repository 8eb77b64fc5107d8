/**
 * SigV4 verification for the local S3-compatible endpoint, as S3 and R2 do it: query-signed
 * (presigned) URLs and header-signed requests (`Authorization: AWS4-HMAC-SHA256 …`, what the aws cli
 * sends). The canonical request is rebuilt from what was received — method, path, every query
 * parameter but the signature, the headers the signer listed, the payload hash — so a changed key,
 * expiry, content type or content length no longer matches the signature.
 *
 * Pure (Web Crypto only), so it runs in the Worker and in Node tests alike.
 * Source: AWS, "Signature Version 4 signing process" and "Authenticating Requests: Using Query
 * Parameters"; S3 error codes from "Error responses" (Amazon S3 API Reference).
 */
import { timingSafeEqual, toHex } from '../../shared/crypto.ts';
import { maxPresignSeconds, uriEncode } from '../../shared/s3-presign.ts';

/** The key pair requests must be signed with. */
export interface SigV4Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** Why a request was refused, as S3 names it (rendered as its XML error body). */
export type SigV4FailureCode =
  | 'AccessDenied'
  | 'SignatureDoesNotMatch'
  | 'RequestTimeTooSkewed'
  | 'InvalidAccessKeyId'
  | 'AuthorizationQueryParametersError'
  | 'AuthorizationHeaderMalformed'
  | 'InvalidRequest';

/** A refusal: code, message and extra XML elements S3 adds (e.g. `Expires`, `ServerTime`). */
export interface SigV4Failure {
  code: SigV4FailureCode;
  message: string;
  extra?: Record<string, string>;
}

/** A verified request: how it was signed and the payload hash it declared. */
export interface SigV4Verified {
  mode: 'query' | 'header';
  /** `UNSIGNED-PAYLOAD` or the hex SHA-256 the client declared for the body (to be checked by the caller). */
  payloadHash: string;
}

/** The parts of a request the signature covers. */
export interface SignedRequest {
  method: string;
  /** The URL as received (path and query still percent-encoded). */
  url: URL;
  headers: Headers;
}

/** Options of {@link verifySigV4}. */
export interface VerifyOptions {
  nowMs: number;
  /** Regions a credential scope may name (R2 takes `auto`, and `us-east-1` for older clients). */
  regions: readonly string[];
}

/** S3's allowed clock difference for header-signed requests: 15 minutes. */
export const maxClockSkewMs = 15 * 60 * 1000;

const algorithm = 'AWS4-HMAC-SHA256';
const amzDatePattern = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const encoder = new TextEncoder();
const signingKeys = new Map<string, CryptoKey>();

/** Parses `YYYYMMDD'T'HHMMSS'Z'` into ms since the epoch, or null. */
export function parseAmzDate(value: string | null | undefined): number | null {
  const match = value ? amzDatePattern.exec(value) : null;
  if (!match) return null;
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  const ms = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
  return Number.isNaN(ms) ? null : ms;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** The query as received: decoded name/value pairs in order (a bare `uploads` has the value ""). */
export function queryPairs(url: URL): [string, string][] {
  const raw = url.search.startsWith('?') ? url.search.slice(1) : url.search;
  if (raw === '') return [];
  return raw.split('&').filter((part) => part !== '').map((part) => {
    const at = part.indexOf('=');
    return at < 0 ? [safeDecode(part), ''] : [safeDecode(part.slice(0, at)), safeDecode(part.slice(at + 1))];
  });
}

function canonicalUri(url: URL): string {
  return url.pathname.split('/').map((segment) => uriEncode(safeDecode(segment))).join('/');
}

function canonicalQuery(pairs: [string, string][]): string {
  return pairs
    .map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

function headerValue(request: SignedRequest, name: string): string {
  const value = name === 'host' ? (request.headers.get('host') ?? request.url.host) : request.headers.get(name);
  return (value ?? '').trim().replace(/\s+/g, ' ');
}

async function sha256Hex(text: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text))));
}

async function hmac(key: CryptoKey, data: string): Promise<ArrayBuffer> {
  return crypto.subtle.sign('HMAC', key, encoder.encode(data));
}

async function hmacKey(raw: ArrayBuffer | Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
}

/** The signing key for (secret, date, region, s3), cached per isolate: it changes once a day. */
async function signingKey(secret: string, date: string, region: string): Promise<CryptoKey> {
  const cacheKey = `${secret}\n${date}\n${region}`;
  const cached = signingKeys.get(cacheKey);
  if (cached) return cached;
  let key = await hmacKey(encoder.encode(`AWS4${secret}`));
  for (const part of [date, region, 's3', 'aws4_request']) key = await hmacKey(await hmac(key, part));
  if (signingKeys.size > 100) signingKeys.clear();
  signingKeys.set(cacheKey, key);
  return key;
}

interface Claimed {
  mode: 'query' | 'header';
  accessKeyId: string;
  scopeDate: string;
  region: string;
  service: string;
  terminator: string;
  amzDate: string;
  signedHeaders: string[];
  signature: string;
  payloadHash: string;
  /** Query mode: seconds the URL is valid. */
  expiresSeconds?: number;
  /** The query pairs the canonical request covers (the signature itself excluded). */
  pairs: [string, string][];
}

function fail(code: SigV4FailureCode, message: string, extra?: Record<string, string>): { ok: false; failure: SigV4Failure } {
  return { ok: false, failure: { code, message, extra } };
}

type Parsed = { ok: true; claimed: Claimed } | { ok: false; failure: SigV4Failure };

function parseCredential(credential: string): Pick<Claimed, 'accessKeyId' | 'scopeDate' | 'region' | 'service' | 'terminator'> | null {
  const parts = credential.split('/');
  if (parts.length !== 5 || parts.some((p) => p === '')) return null;
  const [accessKeyId, scopeDate, region, service, terminator] = parts as [string, string, string, string, string];
  return { accessKeyId, scopeDate, region, service, terminator };
}

function parseQuerySigned(pairs: [string, string][]): Parsed {
  const get = (name: string) => pairs.find(([n]) => n === name)?.[1];
  const credential = parseCredential(get('X-Amz-Credential') ?? '');
  const amzDate = get('X-Amz-Date');
  const signedHeaders = get('X-Amz-SignedHeaders');
  const signature = get('X-Amz-Signature');
  const expires = get('X-Amz-Expires');
  if (get('X-Amz-Algorithm') !== algorithm) {
    return fail('AuthorizationQueryParametersError', `X-Amz-Algorithm only supports "${algorithm}".`);
  }
  if (!credential || !amzDate || !signedHeaders || !signature || expires === undefined) {
    return fail('AuthorizationQueryParametersError',
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.');
  }
  const expiresSeconds = /^\d{1,7}$/.test(expires) ? Number(expires) : NaN;
  if (!(expiresSeconds >= 1 && expiresSeconds <= maxPresignSeconds)) {
    return fail('AuthorizationQueryParametersError', `X-Amz-Expires must be less than a week (in seconds) that is ${maxPresignSeconds}.`);
  }
  return {
    ok: true,
    claimed: {
      mode: 'query', ...credential, amzDate, signature, expiresSeconds,
      signedHeaders: signedHeaders.split(';'),
      payloadHash: get('X-Amz-Content-Sha256') ?? 'UNSIGNED-PAYLOAD',
      pairs: pairs.filter(([name]) => name !== 'X-Amz-Signature'),
    },
  };
}

function parseHeaderSigned(authorization: string, request: SignedRequest, pairs: [string, string][]): Parsed {
  const match = /^AWS4-HMAC-SHA256\s+(.+)$/s.exec(authorization.trim());
  if (!match) return fail('AuthorizationHeaderMalformed', `The authorization header is malformed; only ${algorithm} is supported.`);
  const fields = new Map<string, string>();
  for (const part of match[1]!.split(',')) {
    const at = part.indexOf('=');
    if (at > 0) fields.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  const credential = parseCredential(fields.get('Credential') ?? '');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || !signedHeaders || !signature) {
    return fail('AuthorizationHeaderMalformed', 'The authorization header is malformed; it needs Credential, SignedHeaders and Signature.');
  }
  const amzDate = request.headers.get('x-amz-date');
  if (!amzDate) return fail('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header.');
  const payloadHash = request.headers.get('x-amz-content-sha256');
  if (!payloadHash) return fail('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256.');
  const names = signedHeaders.split(';');
  if (!names.includes('host')) return fail('AccessDenied', 'The host header must be signed.');
  return { ok: true, claimed: { mode: 'header', ...credential, amzDate, signature, signedHeaders: names, payloadHash, pairs } };
}

/**
 * Verifies a request's SigV4 signature (query or header form) against `credentials`.
 * @returns the signing mode and declared payload hash, or the S3 failure: AccessDenied ("Request has
 *   expired" for a presigned URL past its expiry; no signature at all), SignatureDoesNotMatch,
 *   RequestTimeTooSkewed (more than 15 minutes off), InvalidAccessKeyId,
 *   AuthorizationQueryParametersError / AuthorizationHeaderMalformed (malformed signature fields),
 *   InvalidRequest (header form without x-amz-content-sha256).
 */
export async function verifySigV4(
  request: SignedRequest,
  credentials: SigV4Credentials,
  options: VerifyOptions,
): Promise<{ ok: true; verified: SigV4Verified } | { ok: false; failure: SigV4Failure }> {
  const pairs = queryPairs(request.url);
  const authorization = request.headers.get('authorization');
  const parsed = pairs.some(([name]) => name === 'X-Amz-Algorithm' || name === 'X-Amz-Signature')
    ? parseQuerySigned(pairs)
    : authorization
      ? parseHeaderSigned(authorization, request, pairs)
      : fail('AccessDenied', 'Access Denied');
  if (!parsed.ok) return parsed;
  const claimed = parsed.claimed;
  const signedAtMs = parseAmzDate(claimed.amzDate);
  if (signedAtMs === null) return fail(claimed.mode === 'query' ? 'AuthorizationQueryParametersError' : 'AccessDenied', `Invalid date format "${claimed.amzDate}"; use YYYYMMDD'T'HHMMSS'Z'.`);
  if (claimed.scopeDate !== claimed.amzDate.slice(0, 8) || claimed.service !== 's3' || claimed.terminator !== 'aws4_request') {
    return fail(claimed.mode === 'query' ? 'AuthorizationQueryParametersError' : 'AuthorizationHeaderMalformed',
      `The credential scope "${claimed.scopeDate}/${claimed.region}/${claimed.service}/${claimed.terminator}" does not match this request (date ${claimed.amzDate.slice(0, 8)}, service s3).`);
  }
  if (!options.regions.includes(claimed.region)) {
    return fail(claimed.mode === 'query' ? 'AuthorizationQueryParametersError' : 'AuthorizationHeaderMalformed',
      `The region "${claimed.region}" is wrong; expecting "${options.regions[0]}".`);
  }
  if (!timingSafeEqual(claimed.accessKeyId, credentials.accessKeyId)) {
    return fail('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', { AWSAccessKeyId: claimed.accessKeyId });
  }
  const canonicalRequest = [
    request.method.toUpperCase(),
    canonicalUri(request.url),
    canonicalQuery(claimed.pairs),
    claimed.signedHeaders.map((name) => `${name}:${headerValue(request, name)}\n`).join(''),
    claimed.signedHeaders.join(';'),
    claimed.payloadHash,
  ].join('\n');
  const scope = `${claimed.scopeDate}/${claimed.region}/s3/aws4_request`;
  const stringToSign = [algorithm, claimed.amzDate, scope, await sha256Hex(canonicalRequest)].join('\n');
  const key = await signingKey(credentials.secretAccessKey, claimed.scopeDate, claimed.region);
  const expected = toHex(new Uint8Array(await hmac(key, stringToSign)));
  if (!timingSafeEqual(expected, claimed.signature.toLowerCase())) {
    return fail('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
  }
  if (claimed.mode === 'query') {
    const expiresAtMs = signedAtMs + claimed.expiresSeconds! * 1000;
    if (options.nowMs > expiresAtMs) {
      return fail('AccessDenied', 'Request has expired', {
        'X-Amz-Expires': String(claimed.expiresSeconds),
        Expires: new Date(expiresAtMs).toISOString(),
        ServerTime: new Date(options.nowMs).toISOString(),
      });
    }
    if (signedAtMs - options.nowMs > maxClockSkewMs) {
      return fail('RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', {
        RequestTime: claimed.amzDate, ServerTime: new Date(options.nowMs).toISOString(), MaxAllowedSkewMilliseconds: String(maxClockSkewMs),
      });
    }
  } else if (Math.abs(signedAtMs - options.nowMs) > maxClockSkewMs) {
    return fail('RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', {
      RequestTime: claimed.amzDate, ServerTime: new Date(options.nowMs).toISOString(), MaxAllowedSkewMilliseconds: String(maxClockSkewMs),
    });
  }
  return { ok: true, verified: { mode: claimed.mode, payloadHash: claimed.payloadHash } };
}
