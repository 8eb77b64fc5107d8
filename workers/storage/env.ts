import type { DbGatewayRpc, UploadTriggerRpc } from '../shared/contracts.ts';
import type { DbEnv } from '../shared/db.ts';
import type { R2EventNotification, StoragePurgeMessage, StorageUploadEvent } from '../shared/contracts.ts';

/** Bindings of the storage Worker (workers/storage/wrangler.toml; secrets via `wrangler secret put`). */
export interface Env extends DbEnv {
  /** The platform's bucket (R2). Object keys: `{app_id}/{user_id|service}/{uuid}_{name}`. */
  FILES: R2Bucket;
  /** Caller-scoped database sessions; storage records are read and written as role `service`. */
  DB_GATEWAY: Fetcher & DbGatewayRpc;
  /** The functions Worker: runs `s3_upload`-triggered functions for each upload-completed event. */
  FUNCTIONS?: Fetcher & UploadTriggerRpc;
  /** Control-plane database: `apps.storage_config`, the reaper's due list, the audit log (secret). */
  CONTROL_DATABASE_URL: string;
  /** Upload-completed events (`StorageUploadEvent`) for `s3_upload` triggers and RAG ingestion. */
  UPLOAD_EVENTS: Queue<StorageUploadEvent>;
  /** App deletions still to purge (continuations of large purges are re-sent here). */
  STORAGE_PURGE: Queue<StoragePurgeMessage>;
  /** The R2 event-notification queue; locally the S3 endpoint sends what R2 would (S3_LOCAL_ENDPOINT). */
  R2_NOTIFICATIONS: Queue<R2EventNotification>;
  /** Base URL presigned URLs point at, without the bucket: R2's `https://{account}.r2.cloudflarestorage.com`. */
  S3_ENDPOINT: string;
  /** The bucket name in presigned URLs (the R2 bucket FILES is bound to). */
  S3_BUCKET: string;
  /** SigV4 region (`auto` for R2). */
  S3_REGION: string;
  /** An R2 API token's S3 access key id and secret (secrets); locally generated per state folder. */
  S3_ACCESS_KEY_ID: string;
  S3_SECRET_ACCESS_KEY: string;
  /** `true` locally: serve the S3-compatible endpoint at `/s3/{bucket}/{key}` over FILES. */
  S3_LOCAL_ENDPOINT?: string;
  /** Upload URL validity, seconds (API.md §7: 300). */
  UPLOAD_URL_TTL_SECONDS?: string;
  /** Download URL validity unless the caller asks otherwise, seconds (3600; at most 7 days). */
  DOWNLOAD_URL_TTL_SECONDS?: string;
  /** Multipart part URL validity, seconds (3600). */
  PART_URL_TTL_SECONDS?: string;
  /** How long past its URL's expiry a reservation still counts toward the quota before the reaper may drop it, seconds (900). */
  RESERVATION_GRACE_SECONDS?: string;
  /** App quota when `storage_config.storageLimitBytes` is unset (1 GiB). */
  DEFAULT_STORAGE_LIMIT_BYTES?: string;
  /** Largest multipart upload, bytes (5 GiB), further capped by the app's `maxFileSizeMb`. */
  MULTIPART_MAX_BYTES?: string;
}
