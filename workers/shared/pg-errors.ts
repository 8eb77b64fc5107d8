/**
 * Maps Postgres errors (SQLSTATE) from the Neon driver onto the stable codes of API.md §1.4.
 * Source: PostgreSQL Appendix A "Error Codes".
 */
import { ApiError } from './errors.ts';

/** The Postgres fields the Neon driver copies onto its errors. */
export interface PgErrorFields {
  code?: string;
  message: string;
  detail?: string;
  hint?: string;
  constraint?: string;
  column?: string;
  table?: string;
  severity?: string;
  position?: string;
}

/** True when `error` carries a SQLSTATE (i.e. Postgres itself rejected the statement). */
export function isPgError(error: unknown): error is PgErrorFields & Error {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}

/** Seconds a caller should wait before retrying after the database was unreachable. */
export const databaseRetryAfterSeconds = 5;

/**
 * SQLSTATEs that mean the database could not serve the statement at all, whatever it was:
 * class 08 (connection exception), 28 (invalid authorization: our credentials), 53 (insufficient
 * resources, e.g. too many connections), 57P01–57P03 (shutdown, crash, cannot connect now), 57014
 * (statement timeout: overload). The statement was not at fault, so the caller may simply retry.
 */
function unavailableReason(code: string): string | undefined {
  if (code.startsWith('08')) return 'the connection failed';
  if (code.startsWith('28')) return "it refused the platform's credentials";
  if (code.startsWith('53')) return 'it is out of resources (e.g. too many connections)';
  if (code === '57P01' || code === '57P02' || code === '57P03') return 'it is shutting down or starting up';
  if (code === '57014') return 'the statement timed out';
  return undefined;
}

/** Why a driver error without a SQLSTATE happened, in words safe to show (no host names, no secrets). */
function transportReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const status = /HTTP status (\d{3})/.exec(message)?.[1];
  if (status) return `its endpoint answered HTTP ${status}`;
  if (/Error connecting to database|fetch failed|ECONNREFUSED|network|socket/i.test(message)) return 'the connection failed';
  return 'the driver reported an error';
}

/**
 * The EXTERNAL_DB_ERROR (502, `Retry-After`) for a failure of the database itself rather than of the
 * statement: any driver error without a SQLSTATE (fetch failed, the endpoint answered 5xx) and the
 * SQLSTATEs of {@link unavailableReason}. The message names the subject and the kind of failure
 * ("The control-plane database could not be reached: the connection failed."); the driver's own
 * text (which may name hosts) goes only into `internal`.
 * @returns undefined when `error` is an ordinary statement error (constraint, bad input, …).
 */
export function databaseUnavailable(error: unknown, subject = 'database'): ApiError | undefined {
  if (error instanceof ApiError) return error.code === 'EXTERNAL_DB_ERROR' ? error : undefined;
  const reason = isPgError(error) ? unavailableReason(error.code!) : transportReason(error);
  if (!reason) return undefined;
  const detail = error instanceof Error ? `${(error as PgErrorFields).code ?? ''} ${error.message}`.trim() : String(error);
  return new ApiError('EXTERNAL_DB_ERROR', `The ${subject} could not be reached: ${reason}.`, {
    internal: detail,
    headers: { 'retry-after': String(databaseRetryAfterSeconds) },
    cause: error,
  });
}

/** Pulls the column out of a NOT NULL message when Postgres did not fill `column`. */
function notNullColumn(error: PgErrorFields): string | undefined {
  return error.column ?? /column "([^"]+)"/.exec(error.message)?.[1];
}

/**
 * Converts a driver error into an ApiError:
 * 23505 → VALIDATION_UNIQUE_CONSTRAINT_VIOLATION, 23503 → _FOREIGN_KEY_, 23514 → _CHECK_,
 * 23502 → _NOT_NULL_ (details.column), other 23 → VALIDATION_CONSTRAINT_VIOLATION,
 * class 22 → VALIDATION_INVALID_INPUT, 42501 → AUTH_RLS_POLICY_VIOLATION (RLS) or
 * AUTH_INSUFFICIENT_PERMISSIONS, 42P01 → VALIDATION_TABLE_NOT_FOUND, 42703 → VALIDATION_COLUMN_NOT_FOUND,
 * 3D000 → APP_NOT_READY, 40001/40P01 → RESOURCE_CONFLICT, no SQLSTATE or a SQLSTATE of an unavailable
 * database (see {@link databaseUnavailable}) → EXTERNAL_DB_ERROR with `Retry-After`,
 * anything else → INTERNAL_ERROR (the statement was ours, so the caller cannot fix it).
 * Every mapped error carries `details.pg_code` (the SQLSTATE); errors of class 42 (syntax or access
 * rule) and 0A (feature not supported) also carry `details.pg_message`, which names the column,
 * operator or token at fault — platform Workers that pass caller-written SQL fragments (RLS
 * expressions, column defaults) translate these into their own codes.
 */
export function pgErrorToApiError(error: unknown): ApiError {
  const mapped = mapPgError(error);
  if (mapped === error || !isPgError(error)) return mapped;
  const code = error.code!;
  const facts = { pg_code: code, ...(code.startsWith('42') || code.startsWith('0A') ? { pg_message: error.message } : {}) };
  const details = typeof mapped.details === 'object' && mapped.details !== null ? { ...mapped.details, ...facts } : facts;
  return new ApiError(mapped.code, mapped.message, {
    remediation: mapped.remediation, details, internal: mapped.internal, headers: mapped.headers, pg: mapped.pg, cause: mapped.cause,
  });
}

function mapPgError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const unavailable = databaseUnavailable(error);
  if (unavailable || !isPgError(error)) return unavailable!;
  const code = error.code!;
  const internal = `${code} ${error.message}${error.detail ? ` (${error.detail})` : ''}`;
  const pg = { code, severity: error.severity, message: error.message, detail: error.detail, hint: error.hint };
  const base = { internal, cause: error, pg };
  switch (true) {
    case code === '23505':
      return new ApiError('VALIDATION_UNIQUE_CONSTRAINT_VIOLATION', 'A row with this value already exists.', {
        ...base, details: { constraint: error.constraint, detail: error.detail },
      });
    case code === '23503':
      return new ApiError('VALIDATION_FOREIGN_KEY_VIOLATION', 'A foreign key constraint was violated.', {
        ...base, details: { constraint: error.constraint, detail: error.detail },
      });
    case code === '23514':
      return new ApiError('VALIDATION_CHECK_CONSTRAINT_VIOLATION', `A check constraint was violated${error.constraint ? ` (${error.constraint})` : ''}.`, {
        ...base, details: { constraint: error.constraint },
      });
    case code === '23502': {
      const column = notNullColumn(error);
      return new ApiError('VALIDATION_NOT_NULL_VIOLATION', `Column "${column ?? '?'}" may not be null.`, { ...base, details: { column } });
    }
    case code.startsWith('23'):
      return new ApiError('VALIDATION_CONSTRAINT_VIOLATION', error.message, { ...base, details: { constraint: error.constraint } });
    case code.startsWith('22'):
      return new ApiError('VALIDATION_INVALID_INPUT', error.message, { ...base, details: { pg_code: code } });
    case code === '42501':
      return /row-level security/i.test(error.message)
        ? new ApiError('AUTH_RLS_POLICY_VIOLATION', 'Row-level security denied the operation.', { ...base, details: { table: error.table } })
        : new ApiError('AUTH_INSUFFICIENT_PERMISSIONS', 'The current role may not perform this operation.', base);
    case code === '42P01':
      return new ApiError('VALIDATION_TABLE_NOT_FOUND', 'Table not found.', base);
    case code === '42703':
      return new ApiError('VALIDATION_COLUMN_NOT_FOUND', error.message, base);
    case code === '42P17':
      return new ApiError('RLS_INVALID_EXPRESSION', 'A row-level security policy recurses infinitely.', {
        ...base,
        remediation: 'A policy on this table reads the same table (directly or through another table\'s policy). Move the lookup into a SECURITY DEFINER function or compare columns of the row itself.',
      });
    case code === '3D000':
      return new ApiError('APP_NOT_READY', 'The app database does not exist yet.', base);
    case code === '40001' || code === '40P01':
      return new ApiError('RESOURCE_CONFLICT', 'A concurrent change conflicted with this one; retry.', base);
    default:
      return new ApiError('INTERNAL_ERROR', 'An unexpected database error occurred.', base);
  }
}
