/**
 * The storage Worker (DESIGN.md "Storage"): the §7 API behind the router at /storage/{app_id}/…,
 * the queue consumers (R2 event notifications, upload-completed events, app purges), the reaper on
 * the minute tick, the `Presigner` RPC for other platform Workers, and — locally — the S3-compatible
 * endpoint at /s3/{bucket}/{key}.
 */
import { WorkerEntrypoint } from 'cloudflare:workers';
import {
  r2EventNotification, storagePurgeMessage, storageUploadEvent, type PresignedPut, type PresignerRpc, type PresignPutRequest,
  type ScheduledRpc, type TickInput,
} from '../shared/contracts.ts';
import { ApiError } from '../shared/errors.ts';
import { rpcResult, unwrap, type RpcResult } from '../shared/rpc.ts';
import { maxPresignSeconds, presignUrl } from '../shared/s3-presign.ts';
import { contentTypeField } from '../shared/schemas/storage.ts';
import type { Env } from './env.ts';
import { handleNotification, purgeApp } from './services/events.ts';
import { appOfKey, contentDisposition } from './services/names.ts';
import { reapExpired } from './services/reaper.ts';
import { s3Target, ttls } from './services/urls.ts';
import { storageApp } from './app.ts';

/** Queue names this Worker consumes (workers/storage/wrangler.toml). */
export const queues = {
  notifications: 'butterbase-r2-notifications',
  uploads: 'butterbase-storage-uploads',
  purge: 'butterbase-storage-purge',
} as const;

export default class StorageWorker extends WorkerEntrypoint<Env> implements ScheduledRpc {
  override fetch(request: Request): Promise<Response> {
    return Promise.resolve(storageApp.fetch(request, this.env, this.ctx));
  }

  /** See {@link ScheduledRpc.tick}: reaps expired reservations. Out: `{ apps, reaped, completed, failed }`. */
  tick(input: TickInput): Promise<RpcResult<Record<string, unknown>>> {
    return rpcResult(async () => ({ ...(await reapExpired(this.env, input.scheduledTimeMs)) }));
  }

  /**
   * The queue consumer: R2 event notifications (record bookkeeping), upload-completed events
   * (handed to the functions Worker for s3_upload triggers), app purges. A message that fails is retried;
   * one that is malformed is logged and dropped.
   */
  override async queue(batch: MessageBatch<unknown>): Promise<void> {
    for (const message of batch.messages) {
      try {
        await this.handle(batch.queue, message.body);
        message.ack();
      } catch (error) {
        console.error(`[storage] ${batch.queue} message ${message.id} failed (attempt ${message.attempts}): ${String(error)}`);
        message.retry({ delaySeconds: Math.min(60, 2 ** message.attempts) });
      }
    }
  }

  private async handle(queue: string, body: unknown): Promise<void> {
    switch (queue) {
      case queues.notifications: {
        const parsed = r2EventNotification.safeParse(body);
        if (!parsed.success) return console.error(`[storage] malformed R2 notification dropped: ${JSON.stringify(body).slice(0, 300)}`);
        await handleNotification(this.env, parsed.data);
        return;
      }
      case queues.uploads: {
        const parsed = storageUploadEvent.safeParse(body);
        if (!parsed.success) return console.error(`[storage] malformed upload event dropped: ${JSON.stringify(body).slice(0, 300)}`);
        // A failure to reach functions retries the message; a function's own failure is in its logs.
        if (this.env.FUNCTIONS) unwrap(await this.env.FUNCTIONS.runUploadTriggers(parsed.data));
        console.log(`[storage] upload completed ${JSON.stringify(parsed.data)}`);
        return;
      }
      case queues.purge: {
        const parsed = storagePurgeMessage.safeParse(body);
        if (!parsed.success) return console.error(`[storage] malformed purge message dropped: ${JSON.stringify(body).slice(0, 300)}`);
        const { deleted, more } = await purgeApp(this.env, parsed.data.appId);
        console.log(`[storage] purged ${deleted} objects of ${parsed.data.appId}${more ? ' (continuing)' : ''}`);
        return;
      }
      default:
        console.error(`[storage] message from unknown queue ${queue} dropped`);
    }
  }
}

function expiry(value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > maxPresignSeconds) {
    throw new ApiError('VALIDATION_INVALID_SCHEMA', `expiresInSeconds must be an integer from 1 to ${maxPresignSeconds}.`);
  }
  return value;
}

function platformKey(key: unknown): string {
  if (typeof key !== 'string' || key === '' || key.length > 1024 || key.startsWith('/') || key.split('/').some((s) => s === '..' || s === '.')) {
    throw new ApiError('VALIDATION_INVALID_SCHEMA', 'key must be a relative object key of 1–1024 characters without "." or ".." segments.');
  }
  if (appOfKey(key) || /^app_[0-9a-z]{12}\//.test(key)) {
    throw new ApiError('VALIDATION_INVALID_SCHEMA', 'Keys under an app id belong to the storage API; use another prefix (e.g. "_deployments/").');
  }
  return key;
}

/**
 * Presigned URLs for other platform Workers (binding `{ service = "butterbase-storage", entrypoint =
 * "Presigner" }`), e.g. hosting's deployment zips. See {@link PresignerRpc}.
 */
export class Presigner extends WorkerEntrypoint<Env> implements PresignerRpc {
  /**
   * See {@link PresignerRpc.putUrl}: a PUT URL binding content type and exact size.
   * @throws (as RpcResult) VALIDATION_INVALID_SCHEMA for a bad key, type, size or expiry
   */
  putUrl(input: PresignPutRequest): Promise<RpcResult<PresignedPut>> {
    return rpcResult(async () => {
      const key = platformKey(input?.key);
      const type = contentTypeField.safeParse(input?.contentType);
      if (!type.success) throw new ApiError('VALIDATION_INVALID_SCHEMA', 'contentType must be a MIME type such as "application/zip".');
      const size = input?.sizeBytes;
      if (!Number.isSafeInteger(size) || size <= 0) throw new ApiError('VALIDATION_INVALID_SCHEMA', 'sizeBytes must be a positive integer.');
      const expiresIn = expiry(input.expiresInSeconds, ttls(this.env).upload);
      const headers = { 'content-type': type.data, 'content-length': String(size) };
      const url = await presignUrl(s3Target(this.env), { method: 'PUT', key, expiresInSeconds: expiresIn, signedHeaders: headers });
      return { url, method: 'PUT' as const, headers, expiresIn };
    });
  }

  /** See {@link PresignerRpc.getUrl}. @throws (as RpcResult) VALIDATION_INVALID_SCHEMA for a bad key or expiry */
  getUrl(input: { key: string; expiresInSeconds?: number; filename?: string }): Promise<RpcResult<{ url: string; expiresIn: number }>> {
    return rpcResult(async () => {
      const key = platformKey(input?.key);
      const expiresIn = expiry(input.expiresInSeconds, ttls(this.env).download);
      const query = input.filename ? { 'response-content-disposition': contentDisposition(String(input.filename), 'application/octet-stream') } : undefined;
      return { url: await presignUrl(s3Target(this.env), { method: 'GET', key, expiresInSeconds: expiresIn, query }), expiresIn };
    });
  }
}
