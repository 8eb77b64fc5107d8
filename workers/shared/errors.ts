/**
 * The one error model (API.md §1.3–1.4, STYLE.md "One error model").
 *
 * Every failure a caller can see is an `ApiError` carrying a stable code from `errorCodes`; the HTTP
 * status always comes from that table. `message` and `remediation` are public; `internal` is logged,
 * never sent. REST and MCP render the same code, message and remediation.
 */

/**
 * Code → status and default remediation. Where API.md's documented status and the reference
 * server's differ, the choice and why:
 * - APP_PAUSED 503 (wire): §1.2 and the SDK's retry logic expect 503 + Retry-After.
 * - SCHEMA_DESTRUCTIVE_CHANGE 409 (wire, §3.2): a conflict with existing data, not malformed input.
 * - SCHEMA_MIGRATION_FAILED 400 (wire): DDL fails because of what the caller asked for.
 * - VALIDATION_TABLE_NOT_FOUND 404 (wire on the data API, where callers meet it most).
 * - QUOTA_STORAGE_EXCEEDED 429 and QUOTA_FILE_SIZE_EXCEEDED 400 (wire, API.md §7 and the storage
 *   skill the agents read; the SDK picks its error class by the QUOTA_ prefix, not the status).
 * - S3_ERROR 503 (wire, §7 and the storage skill: a transient object-store failure, retry).
 */
export const errorCodes = {
  VALIDATION_INVALID_SCHEMA: { status: 400, remediation: 'Fix the request body or query so it matches the documented shape; details lists each problem with its field path.' },
  VALIDATION_MISSING_FIELD: { status: 400, remediation: 'Add the missing field named in the message.' },
  VALIDATION_INVALID_TYPE: { status: 400, remediation: 'Send the field with the type named in the message.' },
  VALIDATION_INVALID_NAME: { status: 400, remediation: 'Use a lowercase identifier matching ^[a-z_][a-z0-9_]*$ (at most 63 characters).' },
  VALIDATION_INVALID_INPUT: { status: 400, remediation: 'A value could not be converted to its column type; check the value against the column type (GET /v1/{app_id}/schema).' },
  VALIDATION_COLUMN_NOT_FOUND: { status: 400, remediation: 'Check the column name against GET /v1/{app_id}/schema.' },
  VALIDATION_TABLE_NOT_FOUND: { status: 404, remediation: 'Create the table with manage_schema apply (POST /v1/{app_id}/schema/apply) or check its name with GET /v1/{app_id}/schema.' },
  VALIDATION_RESERVED_TABLE: { status: 400, remediation: 'Names starting with "_" are reserved for the platform; choose another name.' },
  VALIDATION_CONSTRAINT_VIOLATION: { status: 400, remediation: 'The row violates a table constraint; check the values against the schema.' },
  VALIDATION_UNIQUE_CONSTRAINT_VIOLATION: { status: 409, remediation: 'A row with this value already exists; use a different value or update the existing row.' },
  VALIDATION_FOREIGN_KEY_VIOLATION: { status: 400, remediation: 'The referenced row does not exist (or is still referenced); create it first or remove the references.' },
  VALIDATION_CHECK_CONSTRAINT_VIOLATION: { status: 400, remediation: 'A value fails a CHECK constraint; check the allowed values in the schema.' },
  VALIDATION_NOT_NULL_VIOLATION: { status: 400, remediation: 'Provide a value for the column named in details.column, or give it a default.' },
  AUTH_REQUIRED: { status: 401, remediation: 'Send Authorization: Bearer <token> (a bb_sk_ service key, or an end-user access token for app data).' },
  AUTH_INVALID_TOKEN: { status: 401, remediation: 'The bearer token is not valid; sign in again or use a bb_sk_ service key.' },
  AUTH_INVALID_API_KEY: { status: 401, remediation: 'The service key is unknown or revoked; create a new one (POST /api-keys or manage_auth_config generate_service_key).' },
  AUTH_INVALID_END_USER_JWT: { status: 401, remediation: 'The end-user access token is invalid for this app; sign in again (POST /auth/{app_id}/login).' },
  AUTH_END_USER_JWT_EXPIRED: { status: 401, remediation: 'The access token expired; refresh it (POST /auth/{app_id}/refresh) and retry.' },
  AUTH_INSUFFICIENT_PERMISSIONS: { status: 403, remediation: 'Use a credential allowed to perform this action (an account key, or an app key scoped to this app).' },
  AUTH_RLS_REQUIRES_USER_JWT: { status: 401, remediation: 'This operation needs an end-user access token; sign the user in first.' },
  AUTH_RLS_POLICY_VIOLATION: { status: 403, remediation: 'Row-level security denied the operation; check the table policies (GET /v1/{app_id}/rls) and the row values.' },
  AUTH_IMPERSONATION_FORBIDDEN: { status: 403, remediation: 'Role simulation headers (X-Butterbase-As-Role / -As-User) need a service key of the app owner.' },
  AUTH_IMPERSONATION_DISABLED: { status: 403, remediation: 'This function does not allow impersonation; enable allow_service_key_impersonation.' },
  RESOURCE_NOT_FOUND: { status: 404, remediation: 'Check the identifier; list the resources to find the right one.' },
  APP_NOT_FOUND: { status: 404, remediation: 'Check the app id (GET /apps lists your apps) or create the app with POST /init.' },
  RESOURCE_ALREADY_EXISTS: { status: 409, remediation: 'A resource with this name already exists; pick another name or use the existing one.' },
  RESOURCE_CONFLICT: { status: 409, remediation: 'The resource is in a state that conflicts with this request; read its current state and retry.' },
  QUOTA_STORAGE_EXCEEDED: { status: 429, remediation: 'Delete files or raise storageLimitBytes (PATCH /v1/{app_id}/config/storage).' },
  QUOTA_FILE_SIZE_EXCEEDED: { status: 400, remediation: 'Upload a smaller file or raise maxFileSizeMb (PATCH /v1/{app_id}/config/storage).' },
  QUOTA_STORAGE_ERROR: { status: 500, remediation: 'Retry shortly; the storage quota could not be checked.' },
  QUOTA_RATE_LIMIT: { status: 429, remediation: 'Too many requests; wait for the number of seconds in the Retry-After header, then retry.' },
  QUOTA_TABLE_LIMIT: { status: 402, remediation: 'The plan allows no more tables; drop unused tables.' },
  QUOTA_DEPLOYMENT_LIMIT: { status: 402, remediation: 'The plan allows no more deployments; delete old ones.' },
  STATE_INVALID_TRANSITION: { status: 409, remediation: 'The resource cannot move to that state from its current one; read its status first.' },
  STATE_PREREQUISITE_MISSING: { status: 409, remediation: 'A prerequisite step has not completed; check the resource status and finish the earlier step.' },
  APP_PAUSED: { status: 503, remediation: 'The app is paused; its owner can resume it with PATCH /v1/{app_id}/config/pause {"paused": false}.' },
  APP_NOT_READY: { status: 503, remediation: 'The app database is still provisioning (or failed); poll GET /apps/{app_id}/status until it is ready.' },
  APP_MIGRATING: { status: 503, remediation: 'The app database is being upgraded (usually well under a minute); reads still work. Retry the write after the number of seconds in Retry-After.' },
  SCHEMA_DESTRUCTIVE_CHANGE: { status: 409, remediation: 'The change drops data. Review details, then list each table in "_drop" / each column in "_dropColumns" explicitly; a column type change needs a new column plus a data copy.' },
  SCHEMA_MIGRATION_FAILED: { status: 400, remediation: 'Postgres rejected the DDL; nothing was applied. Check details.pg_code and the statement, fix the schema and retry (dry_run first).' },
  RLS_UNSAFE_EXPRESSION: { status: 400, remediation: 'Policy expressions may not contain statements, comments or semicolons; use a single boolean SQL expression.' },
  RLS_TYPE_MISMATCH: { status: 400, remediation: 'The expression compares values of different types; cast explicitly, e.g. current_user_id()::uuid for uuid columns.' },
  RLS_INVALID_EXPRESSION: { status: 400, remediation: 'The policy expression is not valid SQL for this table; check column names and syntax.' },
  REALTIME_NOT_CONFIGURED: { status: 400, remediation: 'Enable realtime for the table first.' },
  REALTIME_CONNECTION_LIMIT: { status: 429, remediation: 'Too many realtime connections; close unused ones.' },
  FUNCTION_BUILD_FAILED: { status: 400, remediation: 'Fix the function source at the line and column in details (or export the handler / remove the import named in the message) and deploy again.' },
  VALIDATION_SQL_REFUSED: { status: 400, remediation: 'Function SQL runs under the caller\'s role: send one statement per query, without role, session-authorization or request-setting changes, DO blocks, COPY … PROGRAM or role/extension DDL.' },
  FUNCTION_TIMEOUT: { status: 504, remediation: 'The function ran past its timeout; make it faster or raise timeoutMs.' },
  S3_ERROR: { status: 503, remediation: 'The object store failed for a moment; retry shortly.' },
  EXTERNAL_DB_ERROR: { status: 502, remediation: 'The database could not be reached; retry shortly.' },
  EXTERNAL_NETWORK_ERROR: { status: 502, remediation: 'An upstream service could not be reached; retry shortly.' },
  EXTERNAL_CLOUDFLARE_ERROR: { status: 502, remediation: 'A Cloudflare API call failed; retry shortly.' },
  FEATURE_NOT_AVAILABLE: { status: 501, remediation: 'This feature is not available on this deployment yet.' },
  // Hosting deployments (API.md §1.4 "Also seen", §10).
  INVALID_STATUS: { status: 409, remediation: 'The deployment is not in a status that allows this; read it (GET …/deployments/{id}) and follow its status.' },
  UPLOAD_EXPIRED: { status: 410, remediation: 'The upload URL expired before the zip arrived; create a new deployment and upload within 15 minutes.' },
  BUILD_FAILED: { status: 422, remediation: 'The uploaded archive was refused; fix the problem named in the message, re-zip the build output (zip -r ../site.zip . from inside it) and deploy again.' },
  WORKER_TOO_LARGE: { status: 413, remediation: 'The worker bundle is above 5 MB compressed; split or trim it.' },
  TIMEOUT: { status: 504, remediation: 'The operation is still running; poll its status (e.g. GET …/deployments/{id}) instead of waiting.' },
  // User Durable Objects (API.md §10.1).
  NO_EXPORTED_CLASS: { status: 400, remediation: 'Export exactly one class: export class ChatRoom { constructor(state, env) {} async fetch(req) { … } }.' },
  MULTIPLE_EXPORTS: { status: 400, remediation: 'Export exactly one class and nothing else; keep helpers unexported in the same file.' },
  INVALID_IMPORT: { status: 400, remediation: 'Only cloudflare:* modules may be imported (e.g. import { DurableObject } from "cloudflare:workers"); inline other code.' },
  CLASS_NAME_PARSE_ERROR: { status: 400, remediation: 'The source must parse as TypeScript with one PascalCase class whose kebab-case form is the name (ChatRoom ↔ chat-room).' },
  NAME_REGEX_VIOLATION: { status: 400, remediation: 'Use a kebab-case name matching ^[a-z][a-z0-9]*(-[a-z0-9]+)*$ (at most 63 characters).' },
  QUOTA_DO_LIMIT: { status: 402, remediation: 'An app may have at most 5 Durable Object classes; delete one first.' },
  SOURCE_SIZE_EXCEEDED: { status: 413, remediation: 'A Durable Object source file may be at most 5 MB.' },
  BUNDLE_SIZE_EXCEEDED: { status: 413, remediation: 'All Durable Object classes of an app together may be at most 10 MB compressed.' },
  INTERNAL_ERROR: { status: 500, remediation: 'An unexpected error occurred; retry, and report it with the request id if it persists.' },
} as const satisfies Record<string, { status: number; remediation: string }>;

/** A stable error code. Never renamed, never an HTTP number. */
export type ErrorCode = keyof typeof errorCodes;

/** The agent-friendly error body (API.md §1.3 shape 1). */
export interface ErrorEnvelope {
  error: {
    code: ErrorCode;
    message: string;
    remediation: string;
    documentation_url: string;
    details?: unknown;
  };
}

/** Options for {@link ApiError}. */
export interface ApiErrorOptions {
  /** Overrides the table's default remediation. */
  remediation?: string;
  /** Machine-readable extra facts sent to the caller (field paths, pg code, limits…). */
  details?: unknown;
  /** Logged, never sent: stack traces, SQL, upstream bodies. */
  internal?: string;
  /** Extra response headers, e.g. Retry-After. */
  headers?: Record<string, string>;
  /** Postgres's own diagnostics, for trusted platform callers of DbGateway (never rendered). */
  pg?: PgDiagnostics;
  cause?: unknown;
}

/**
 * What Postgres said about a failed statement (SQLSTATE, severity, message, detail, hint). DbGateway
 * attaches it so a trusted platform Worker (e.g. schema apply) can explain a DDL failure to the app's
 * owner; it crosses RPC in `toWire()` but `toEnvelope()` never renders it.
 */
export interface PgDiagnostics {
  code: string;
  severity?: string;
  message: string;
  detail?: string;
  hint?: string;
}

/** The one error type: a stable code, a public message, and private internal detail. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly remediation: string;
  readonly details?: unknown;
  readonly internal?: string;
  readonly headers?: Record<string, string>;
  readonly pg?: PgDiagnostics;

  constructor(code: ErrorCode, message: string, options: ApiErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'ApiError';
    this.code = code;
    this.remediation = options.remediation ?? errorCodes[code].remediation;
    this.details = options.details;
    this.internal = options.internal;
    this.headers = options.headers;
    this.pg = options.pg;
  }

  /** HTTP status, always from the code table. */
  get status(): number {
    return errorCodes[this.code].status;
  }

  /** The §1.3 shape-1 body. */
  toEnvelope(): ErrorEnvelope {
    return {
      error: {
        code: this.code,
        message: this.message,
        remediation: this.remediation,
        documentation_url: documentationUrl(this.code),
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }

  /** A plain, structured-clone-safe copy for RPC across service bindings. */
  toWire(): ApiErrorWire {
    return { code: this.code, message: this.message, remediation: this.remediation, details: this.details, headers: this.headers, pg: this.pg };
  }

  /** Rebuilds an error received over RPC. */
  static fromWire(wire: ApiErrorWire): ApiError {
    return new ApiError(wire.code, wire.message, { remediation: wire.remediation, details: wire.details, headers: wire.headers, pg: wire.pg });
  }
}

/** An ApiError as it crosses an RPC boundary (classes do not survive structured clone). */
export interface ApiErrorWire {
  code: ErrorCode;
  message: string;
  remediation: string;
  details?: unknown;
  headers?: Record<string, string>;
  pg?: PgDiagnostics;
}

/** `https://docs.butterbase.ai/errors#<code-in-kebab-case>` (API.md §1.3). */
export function documentationUrl(code: ErrorCode): string {
  return `https://docs.butterbase.ai/errors#${code.toLowerCase().replaceAll('_', '-')}`;
}

/** True for error codes in the table. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(errorCodes, value);
}

/**
 * Normalises anything thrown into an ApiError (also one carried as another error's `cause`); unknown
 * failures become INTERNAL_ERROR with the original message kept only in `internal`.
 */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (isApiErrorWire(error)) return ApiError.fromWire(error);
  // A library that wraps what a callback threw (drizzle's DrizzleQueryError) keeps our error as `cause`.
  if (error instanceof Error && error.cause instanceof ApiError) return error.cause;
  const internal = error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ''}` : String(error);
  return new ApiError('INTERNAL_ERROR', 'An unexpected error occurred.', { internal, cause: error });
}

function isApiErrorWire(value: unknown): value is ApiErrorWire {
  return (
    typeof value === 'object' && value !== null &&
    isErrorCode((value as ApiErrorWire).code) &&
    typeof (value as ApiErrorWire).message === 'string' &&
    typeof (value as ApiErrorWire).remediation === 'string'
  );
}
