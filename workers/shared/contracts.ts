/**
 * The RPC contracts between Workers. A Worker never imports another Worker's folder; it types its
 * service binding with these interfaces (`Fetcher & ControlRpc`) and the callee implements them.
 */
import { z } from 'zod';
import type { AuditEntry } from './audit.ts';
import type { Principal } from './principal.ts';
import type { RpcResult } from './rpc.ts';
import { accessModes, provisioningStatuses } from './schemas/enums.ts';

/** What the router needs to know about an app to gate a request (one control RPC per request). */
export const appGate = z.object({
  id: z.string(),
  accountId: z.string(),
  name: z.string(),
  subdomain: z.string(),
  provisioningStatus: z.enum(provisioningStatuses),
  paused: z.boolean(),
  pausedReason: z.string().nullable(),
  allowedOrigins: z.array(z.string()),
  accessMode: z.enum(accessModes),
  rateLimitPerMinute: z.number().int().positive(),
  /** CORS beyond origins (PATCH config/cors `allowedMethods`, `allowedHeaders`; empty = defaults). */
  cors: z.object({ allowedMethods: z.array(z.string()), allowedHeaders: z.array(z.string()), allowCredentials: z.boolean() }),
});
export type AppGate = z.infer<typeof appGate>;

/** Input of {@link ControlRpc.resolveGate}. */
export interface GateRequest {
  /** The app named by the path (`/v1/{app_id}/…`), if any. */
  appId: string | null;
  /** The app named by the Host (`{subdomain}.{apps domain}`), if any. */
  subdomain?: string | null;
  /** The bearer token, if any (without the `Bearer ` prefix). */
  bearer: string | null;
}

/** Output of {@link ControlRpc.resolveGate}. */
export interface GateResult {
  principal: Principal;
  /** null when the request names no app or the app does not exist. */
  app: AppGate | null;
  /**
   * How long (ms from now) the caller may answer the same request (same app, same bearer) with this
   * result instead of asking again: what is left of the control cache entries it came from (at most
   * `GATE_CACHE_TTL_MS`), never past an access token's `exp`, and 0 while the app is not `ready` or is
   * due an upgrade. Reusing it keeps the documented bound: a change reaches every isolate within the TTL.
   */
  reusableForMs: number;
}

/** Input of a {@link ScheduledRpc.tick}: the cron that fired and when it was due (ms since the epoch). */
export interface TickInput {
  cron: string;
  scheduledTimeMs: number;
}

/** A Worker that takes part in the platform's minute tick (workers/registry.ts `scheduled`). */
export interface ScheduledRpc {
  /**
   * Runs the Worker's periodic work for one tick (the router's scheduled handler calls it once a
   * minute). Out: a short summary for logs. A failure is reported, never thrown.
   */
  tick(input: TickInput): Promise<RpcResult<Record<string, unknown>>>;
}

/** RPC surface of the control Worker used by the router and other Workers. */
export interface ControlRpc extends ScheduledRpc {
  /** Resolves the caller and the app (by id or by subdomain) in one round trip (API.md §1.2). */
  resolveGate(input: GateRequest): Promise<RpcResult<GateResult>>;
  /** Checks the control-plane database answers (`/health/ready`). */
  ping(): Promise<RpcResult<{ databaseMs: number }>>;
  /**
   * Writes one audit entry (API.md §2 audit-logs) for a change whose route does not reach the control
   * Worker itself: the data Worker's MCP-tool writes (workers/data/audit.ts). Only trusted Workers
   * bind it (data); they take `appId` from the router's gate, never from a client. In:
   * {@link AuditEntry} (checked with `auditEntry`). Out: `null`. A failed write is logged by the
   * control Worker, never raised; a malformed entry → VALIDATION_*.
   */
  recordAudit(entry: AuditEntry): Promise<RpcResult<null>>;
}

/** The role a caller-scoped DbGateway session runs under (API.md §1.2, §4). */
export type DbRole = 'anon' | 'user' | 'service';

/** One parameterised statement. */
export interface SqlStatement {
  query: string;
  params?: unknown[];
}

/** Who a DbGateway session runs as: fixed when the session is made, never changed after. */
export interface DbCaller {
  appId: string;
  role: DbRole;
  /** The end user's id (`request.jwt.claim.sub`); required for role `user`. */
  userId?: string | null;
}

/** One statement's result: rows as objects of JSON-safe values, plus the affected row count. */
export interface SqlResult {
  rows: Record<string, unknown>[];
  rowCount: number;
  fields: { name: string; dataTypeID: number }[];
}

/** Options of {@link DbSessionRpc.execute}. */
export interface ExecuteOptions {
  /**
   * The batch only reads: it runs in a READ ONLY transaction and skips the after-commit report of
   * written tables.
   */
  readOnly?: boolean;
}

/**
 * A caller-scoped database capability (an RpcTarget made by {@link DbGatewayRpc.session}): every
 * batch runs in one transaction under the session's app, role and user. Nothing about it can be
 * switched after it is made.
 */
export interface DbSessionRpc {
  /** The app, role and user this session is fixed to. */
  caller(): Promise<DbCaller>;
  /**
   * Runs statements in one transaction as the session's caller (its role and the request GUCs set
   * local to the transaction, then the statements). Errors come back as §1.4 codes (SQLSTATE mapped); after a committed write the
   * tables it changed are reported to the commit listeners (DESIGN.md "Realtime").
   */
  execute(statements: SqlStatement[], options?: ExecuteOptions): Promise<RpcResult<SqlResult[]>>;
}

/** RPC surface of DbGateway (data Worker, entrypoint `DbGateway`): hands out caller-scoped sessions. */
export interface DbGatewayRpc {
  /**
   * A session fixed to `caller` (role anon, user or service — never owner). A malformed caller makes
   * every `execute` answer VALIDATION_* naming the field.
   */
  session(caller: DbCaller): DbSessionRpc;
  /**
   * A session for SQL written by users (functions' `ctx.db`): as {@link session}, and each statement is
   * parsed with the Postgres parser first; role, session-authorization or request-GUC changes, DO
   * blocks, COPY, role/extension/system DDL, SECURITY DEFINER functions, transaction control and
   * multi-statement strings are refused with 400 VALIDATION_SQL_REFUSED and nothing runs.
   */
  userSession(caller: DbCaller): DbSessionRpc;
}

/**
 * RPC surface of the owner entrypoint (data Worker, entrypoint `DbOwner`): SQL as the app database's
 * owner for DDL, bootstrap and platform-internal schemas. Bound only to the control and auth Workers.
 */
export interface DbOwnerRpc {
  /** Runs statements in one transaction as the database owner. Errors come back as §1.4 codes. */
  execute(appId: string, statements: SqlStatement[]): Promise<RpcResult<SqlResult[]>>;
  /**
   * Applies the bundled bootstrap migrations the app database lacks (idempotent; serialised per
   * database by an advisory lock). Out: the names applied now and the bundled version (their count).
   */
  upgrade(appId: string): Promise<RpcResult<{ applied: string[]; version: number }>>;
}

/** What a committed write reports to commit listeners (realtime): the app and the tables it changed. */
export interface CommittedWrite {
  appId: string;
  /** Tables in `public` with inserted, updated or deleted rows in the transaction. */
  tables: string[];
}

/** A Worker told about committed writes (the realtime Worker, once it exists). */
export interface CommitListenerRpc {
  /** Called after the transaction committed; a failure is logged by the caller, never raised. */
  committed(write: CommittedWrite): Promise<void>;
}

/**
 * An R2 event notification as R2 delivers it to a Queue (Cloudflare R2 docs, "Event notifications",
 * message format). Locally the storage Worker's S3 endpoint sends the same shape.
 */
export const r2EventNotification = z.object({
  account: z.string(),
  bucket: z.string(),
  eventTime: z.string(),
  action: z.enum(['PutObject', 'CopyObject', 'CompleteMultipartUpload', 'DeleteObject', 'LifecycleDeletion']),
  object: z.object({ key: z.string(), size: z.number().int().nonnegative().optional(), eTag: z.string().optional() }),
  copySource: z.object({ bucket: z.string(), object: z.string() }).optional(),
});
export type R2EventNotification = z.infer<typeof r2EventNotification>;

/**
 * The internal event sent once per object when its bytes have landed (queue
 * `butterbase-storage-uploads`): the hook point for functions with an `s3_upload` trigger and for RAG
 * ingestion.
 */
export const storageUploadEvent = z.object({
  type: z.literal('storage.upload_completed'),
  app_id: z.string(),
  object_id: z.string(),
  key: z.string(),
  filename: z.string(),
  content_type: z.string(),
  size_bytes: z.number().int().positive(),
  /** The end user who uploaded it; null for service-key uploads. */
  user_id: z.string().nullable(),
  etag: z.string().nullable(),
  uploaded_at: z.string(),
});
export type StorageUploadEvent = z.infer<typeof storageUploadEvent>;

/** Sent by control when an app is deleted (queue `butterbase-storage-purge`): remove its objects. */
export const storagePurgeMessage = z.object({ type: z.literal('app_deleted'), appId: z.string() });
export type StoragePurgeMessage = z.infer<typeof storagePurgeMessage>;

/** Script names per {@link AppPurgeMessage} (36-character ids: ≈40 KB of a message's 128 KB). */
export const maxPurgeScriptsPerMessage = 1000;

/**
 * Sent by control when an app is deleted (queue `butterbase-app-purge`, consumed by the hosting
 * Worker): remove what the app's user code left behind. Control deletes the rows these names come
 * from (they cascade with the app), so the message carries what the purge needs:
 * - the hosting bucket's `sites/{appId}/` and `uploads/{appId}/` prefixes are always emptied;
 * - `durableObjectClasses`: URL names of the app's Durable Object classes, whose directories list
 *   the instances whose storage is wiped;
 * - `dispatchScripts`: Workers for Platforms script names (Edge SSR deployment ids and function
 *   version ids), deleted from the dispatch namespace when hosting runs on Workers for Platforms.
 * A large purge continues in further messages of the same shape, each carrying what is left. One
 * message holds at most {@link maxPurgeScriptsPerMessage} script names (queue messages are ≤128 KB).
 */
export const appPurgeMessage = z.object({
  type: z.literal('app_deleted'),
  appId: z.string(),
  durableObjectClasses: z.array(z.string()),
  dispatchScripts: z.array(z.string()).max(maxPurgeScriptsPerMessage),
});
export type AppPurgeMessage = z.infer<typeof appPurgeMessage>;

/** Input of {@link PresignerRpc.putUrl}. */
export interface PresignPutRequest {
  /** Object key in the platform bucket (not under an app's storage prefix, e.g. `_deployments/{app}/{id}.zip`). */
  key: string;
  /** The Content-Type the upload must carry (signed). */
  contentType: string;
  /** The exact body size in bytes (signed as Content-Length). */
  sizeBytes: number;
  /** Validity in seconds (default 300, at most 604 800). */
  expiresInSeconds?: number;
}

/** Output of {@link PresignerRpc.putUrl}. */
export interface PresignedPut {
  url: string;
  method: 'PUT';
  /** Headers the client must send exactly (they are signed). */
  headers: { 'content-type': string; 'content-length': string };
  expiresIn: number;
}

/**
 * Presigned URLs for other platform Workers (storage Worker, entrypoint `Presigner`): e.g. hosting's
 * deployment uploads. Keys under `app_…/` are the storage API's and are refused here.
 */
export interface PresignerRpc {
  /** A presigned PUT for `key` that only accepts `contentType` and exactly `sizeBytes` bytes. */
  putUrl(input: PresignPutRequest): Promise<RpcResult<PresignedPut>>;
  /** A presigned GET for `key` (default 3600 s), with `Content-Disposition` naming `filename` when given. */
  getUrl(input: { key: string; expiresInSeconds?: number; filename?: string }): Promise<RpcResult<{ url: string; expiresIn: number }>>;
}

/** Input of {@link FunctionEventRpc.invokeEvent}: a realtime `event` message (API.md §9). */
export interface FunctionEventRequest {
  appId: string;
  /** The event name; the function whose websocket trigger has `config.event` equal to it runs. */
  event: string;
  /** The message's `payload`, as sent. */
  payload: unknown;
  /** The socket's end user (sent to the function as `x-user-id`), or null. */
  userId: string | null;
}

/** Output of {@link FunctionEventRpc.invokeEvent}. */
export interface FunctionEventResult {
  /** False when no enabled websocket trigger has this event. */
  found: boolean;
  /** The function's HTTP status. */
  status: number;
  /** The function's reply: parsed JSON, or the text when it is not JSON. */
  data: unknown;
}

/**
 * The functions Worker's entry for realtime events (API.md §9 `event` → `event_response`): runs the
 * function with POST body `{event, payload}` and header `x-user-id`.
 */
export interface FunctionEventRpc {
  invokeEvent(input: FunctionEventRequest): Promise<RpcResult<FunctionEventResult>>;
}

/** The events that fire the post-auth hook (API.md §6 "Post-auth hook"). */
export type AuthHookEvent = 'signup' | 'login' | 'oauth_login' | 'magic_link_login';

/** Input of {@link AuthHookRpc.runAuthHook}: the §6 payload plus the app. */
export interface AuthHookRequest {
  appId: string;
  event: AuthHookEvent;
  user: { id: string; email: string; provider: string; display_name: string | null; avatar_url?: string | null };
  isNewUser: boolean;
  provider: string;
}

/**
 * The functions Worker's entry for the auth Worker: runs the app's post-auth hook function (if one is
 * configured) with POST body `{event, user, isNewUser, provider}`, as `butterbase_service` with
 * `ctx.user = null`. Out: whether a hook ran and its status. The auth Worker fires it after the
 * response (`waitUntil`) and only logs failures — they never reach the end user.
 */
export interface AuthHookRpc {
  runAuthHook(input: AuthHookRequest): Promise<RpcResult<{ ran: boolean; status: number | null }>>;
}

/**
 * The functions Worker's entry for the storage Worker's upload-completed events: runs every function
 * of the app with an enabled `s3_upload` trigger whose `prefix` (matched against the filename) and
 * `contentTypes` (exact or `type/*`) accept the object, with POST body = the event, as
 * `butterbase_service`. Out: how many functions ran. A function's failure is in its logs.
 */
export interface UploadTriggerRpc {
  runUploadTriggers(event: StorageUploadEvent): Promise<RpcResult<{ ran: number }>>;
}

/** RPC surface of the hosting Worker used by the router. */
export interface HostingRpc {
  /**
   * The app subdomain served on an active custom hostname (API.md §10.2 custom domains), or null
   * when the hostname is not one. In: a Host header value (a port is ignored).
   */
  resolveHostname(host: string): Promise<RpcResult<{ subdomain: string | null }>>;
}

/**
 * One `ctx.invokeDO(class, instance, body?, opts?)` call (API.md §8.3) as the functions Worker sends
 * it to the hosting Worker. `appId` is the calling function's app, fixed by the functions Worker from
 * the invocation's capability (props or signed session token) — never from user code — so a function
 * reaches only its own app's classes.
 */
export interface DurableObjectCall {
  appId: string;
  /** The class's kebab-case URL name (`chat-room`). */
  name: string;
  /** The instance key (1–256 characters), the `{instance}` of `/_do/{name}/{instance}`. */
  instance: string;
  /** HTTP method (POST by default on the functions side). */
  method: string;
  /** Appended to `/_do/{name}/{instance}`: empty, or starting with `/` or `?`. */
  path: string;
  /** Request headers for the class (platform `x-bb-*` / `x-butterbase-*` names are dropped). */
  headers: Record<string, string>;
  /** The request body (JSON text from the functions side), or null. At most {@link maxDurableObjectBodyBytes} bytes. */
  body: string | null;
  /** The invocation's end user (reaches the class as `x-butterbase-user-id`), or null. */
  userId: string | null;
  /** Who calls, as the class sees it in `x-butterbase-caller`: `fn:{function}` or `do:{name}:{instance}`. */
  caller: string;
  /** The call's depth in the shared ctx.invoke / ctx.invokeDO chain (`x-butterbase-loop-depth`). */
  depth: number;
}

/** Most bytes of a ctx.invokeDO request body (UTF-8). */
export const maxDurableObjectBodyBytes = 1024 * 1024;

/**
 * The hosting Worker's `DoInvoker` entrypoint, bound only by the functions Worker (`DURABLE_OBJECTS`).
 * `invoke` runs the same class lookup, host headers and usage counting as the `/_do/{name}/{instance}`
 * edge (access modes do not apply: the caller is the app's own code). Out: the class's Response.
 * @throws (as RpcResult) RESOURCE_NOT_FOUND (no such class in the app), STATE_PREREQUISITE_MISSING
 *   (no deploy of the class has constructed: PENDING/BUILDING/ERROR), VALIDATION_INVALID_SCHEMA (bad
 *   instance key, method, path or headers; body over the limit)
 */
export interface DurableObjectInvokeRpc {
  invoke(call: DurableObjectCall): Promise<RpcResult<Response>>;
}
