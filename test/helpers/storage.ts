/**
 * Helpers for the storage tests: end users of an app, the SDK's two-call upload, and a header-signed
 * S3 client (aws4fetch) on the platform's local S3 endpoint for looking into the bucket directly.
 */
import { AwsClient } from 'aws4fetch';
import { expect, inject } from 'vitest';
import type { LocalS3 } from '../../scripts/lib/platform.ts';
import { objectUrl } from '../../workers/shared/s3-presign.ts';
import { api, type ApiOptions, type ApiResponse } from './api.ts';

const password = 'Str0ng!pass';

/** Signs up and logs in an end user of `appId`; returns their id and access token. */
export async function endUser(appId: string, email: string, options: ApiOptions = {}): Promise<{ id: string; token: string }> {
  const signup = await api(`/auth/${appId}/signup`, { ...options, token: null, body: { email, password } });
  expect(signup.status, signup.text).toBe(201);
  const login = await api(`/auth/${appId}/login`, { ...options, token: null, body: { email, password } });
  expect(login.status, login.text).toBe(200);
  return { id: login.body.user.id, token: login.body.access_token };
}

/** POST /storage/{app}/upload as `token` (default: the service key). */
export function requestUpload(appId: string, body: Record<string, unknown>, options: ApiOptions = {}): Promise<ApiResponse> {
  return api(`/storage/${appId}/upload`, { ...options, body });
}

/**
 * The SDK's `storage.upload(file)`: POST /upload with the file's name, type and size, then PUT the
 * bytes to `uploadUrl` with `Content-Type: file.type`. Returns both answers.
 */
export async function sdkUpload(appId: string, file: File, options: ApiOptions & { public?: boolean } = {}) {
  const reservation = await requestUpload(appId, { filename: file.name, contentType: file.type, sizeBytes: file.size, public: options.public ?? false }, options);
  expect(reservation.status, reservation.text).toBe(200);
  const put = await fetch(reservation.body.uploadUrl, { method: 'PUT', headers: { 'Content-Type': file.type }, body: file });
  return { reservation: reservation.body, put };
}

/** The local S3 endpoint of the platform under test. */
export function localS3(): LocalS3 {
  return inject('s3');
}

/** A header-signed S3 client (the platform's key pair), as any S3 tool would sign. */
export function s3Client(s3: LocalS3 = localS3()): AwsClient {
  return new AwsClient({ accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, service: 's3', region: s3.region });
}

/** The object's URL on the local endpoint. */
export function bucketUrl(key: string, s3: LocalS3 = localS3()): string {
  return objectUrl(s3, key);
}

/** HEAD on the object through the local S3 endpoint: its status (200 present, 404 gone). */
export async function headObject(key: string, s3: LocalS3 = localS3()): Promise<number> {
  return (await s3Client(s3).fetch(bucketUrl(key, s3), { method: 'HEAD' })).status;
}

/** Keys in the bucket under `prefix` (ListObjectsV2 through the local endpoint). */
export async function listKeys(prefix: string, s3: LocalS3 = localS3()): Promise<string[]> {
  const url = `${s3.endpoint}/${s3.bucket}?list-type=2&prefix=${encodeURIComponent(prefix)}`;
  const response = await s3Client(s3).fetch(url);
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return [...text.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]!);
}

/** Polls `read` until `done` holds (at most `timeoutMs`), returning the last value. */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Deterministic pseudo-random bytes (a PNG signature first, so the type is honest). */
export function pngBytes(size: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 0);
  return bytes;
}

/** The S3 error code in an XML error body. */
export function s3ErrorCode(text: string): string | undefined {
  return /<Code>([^<]+)<\/Code>/.exec(text)?.[1];
}
