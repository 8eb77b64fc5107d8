/**
 * The control-plane database, for every Worker that reads or writes it (control, auth): one error
 * boundary every query passes, and drizzle-orm/neon-http over it (DESIGN.md "Data").
 *
 * `controlSql(env)` is the Neon query function with its errors mapped (see {@link controlDbError}):
 * raw `query()`, tagged templates and `transaction()` all go through it, so code that still writes
 * SQL by hand is covered too. `controlDb(env)` is drizzle over that same function, typed by
 * control-schema.ts. Neither ever lets a driver message reach a caller: the detail is in the
 * ApiError's `internal` (logged with the request id by errorResponse), the caller gets a stable code.
 */
import { NeonQueryPromise, types } from '@neondatabase/serverless';
import { eq, sql as drizzleSql } from 'drizzle-orm';
import { drizzle, type NeonHttpDatabase } from 'drizzle-orm/neon-http';
import { apps, controlSchema } from './control-schema.ts';
import { sqlClient, type DbEnv, type Sql } from './db.ts';
import { ApiError, toApiError } from './errors.ts';
import { databaseUnavailable, isPgError } from './pg-errors.ts';

/** The bindings a control-plane client needs. */
export interface ControlDbEnv extends DbEnv {
  /** e.g. `postgresql://…/butterbase_control` (secret). */
  CONTROL_DATABASE_URL: string;
}

/** drizzle over the control-plane tables. */
export type ControlDb = NeonHttpDatabase<typeof controlSchema>;

/**
 * Maps any failure of a control-plane statement onto API.md §1.4, the way DbGateway maps app
 * statements, except that every statement here is the platform's own, so nothing Postgres says about
 * it is sent: class 22 (a caller's value Postgres refused, e.g. U+0000 or a year 0 date) → 400
 * VALIDATION_INVALID_INPUT (`details.pg_code`); 23505 → 409 VALIDATION_UNIQUE_CONSTRAINT_VIOLATION,
 * 23503 / 23514 / 23502 / other 23 → the matching 400 (`details.constraint`); 40001 / 40P01 → 409
 * RESOURCE_CONFLICT; an unreachable or refusing database (no SQLSTATE, classes 08, 28, 53, 57P0x,
 * 57014) → 502 EXTERNAL_DB_ERROR with `Retry-After`; anything else (a bug in our SQL) → 500
 * INTERNAL_ERROR. The driver's message and SQLSTATE always go into `internal` only.
 */
export function controlDbError(error: unknown): ApiError {
  const known = knownError(error);
  if (known) return known;
  const unavailable = databaseUnavailable(error, 'control-plane database');
  if (unavailable) return unavailable;
  if (!isPgError(error)) return toApiError(error);
  const code = error.code!;
  const base = { internal: `${code} ${error.message}${error.detail ? ` (${error.detail})` : ''}`, cause: error };
  const constraint = error.constraint;
  switch (true) {
    case code.startsWith('22'):
      return new ApiError('VALIDATION_INVALID_INPUT', 'A value in the request cannot be stored or compared by the database.', {
        ...base,
        remediation: 'Check the values you sent: text may not contain U+0000, dates must be real ISO-8601 dates, numbers must be in range.',
        details: { pg_code: code },
      });
    case code === '23505':
      return new ApiError('VALIDATION_UNIQUE_CONSTRAINT_VIOLATION', 'A record with this value already exists.', { ...base, details: { constraint } });
    case code === '23503':
      return new ApiError('VALIDATION_FOREIGN_KEY_VIOLATION', 'The record refers to something that does not exist.', { ...base, details: { constraint } });
    case code === '23514':
      return new ApiError('VALIDATION_CHECK_CONSTRAINT_VIOLATION', 'A value is not one the database allows.', { ...base, details: { constraint } });
    case code === '23502':
      return new ApiError('VALIDATION_NOT_NULL_VIOLATION', 'A required value is missing.', { ...base, details: { column: error.column } });
    case code.startsWith('23'):
      return new ApiError('VALIDATION_CONSTRAINT_VIOLATION', 'The change violates a database constraint.', { ...base, details: { constraint } });
    case code === '40001' || code === '40P01':
      return new ApiError('RESOURCE_CONFLICT', 'A concurrent change conflicted with this one; retry.', base);
    default:
      return new ApiError('INTERNAL_ERROR', 'An unexpected database error occurred.', base);
  }
}

/** An ApiError already (ours, or wrapped by drizzle's DrizzleQueryError as its `cause`). */
function knownError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  const cause = (error as { cause?: unknown } | null)?.cause;
  return cause instanceof ApiError ? cause : undefined;
}

/** True when `error` is the unique violation of `constraint` (e.g. `apps_subdomain_key`). */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  const apiError = knownError(error);
  return apiError?.code === 'VALIDATION_UNIQUE_CONSTRAINT_VIOLATION' && (apiError.details as { constraint?: unknown } | undefined)?.constraint === constraint;
}

/**
 * Wraps a Neon query function so every statement it runs — `sql\`…\``, `sql.query()` and
 * `sql.transaction()` — rejects with `mapError(driverError)` instead of the driver's error. The
 * queries it hands out are real NeonQueryPromises (same query data, guarded `execute`), so
 * `transaction([...])` and drizzle's neon-http session accept them unchanged.
 * Source: @neondatabase/serverless 1.x `NeonQueryPromise` (public class: execute, queryData, opts).
 */
export function guardSql(sql: Sql, mapError: (error: unknown) => Error): Sql {
  const rethrow = (error: unknown): never => {
    throw mapError(error);
  };
  const guard = <P extends NeonQueryPromise<false, false>>(inner: P): P => {
    const execute: P['execute'] = (queryData, opts) => inner.execute(queryData, opts).catch(rethrow);
    return new NeonQueryPromise(execute, inner.queryData, inner.opts) as P;
  };
  const tagged = (strings: TemplateStringsArray, ...params: unknown[]) => guard(sql(strings, ...params));
  return Object.assign(tagged, {
    query: (queryWithPlaceholders: string, params?: unknown[], opts?: Parameters<Sql['query']>[2]) =>
      guard(sql.query(queryWithPlaceholders, params, opts) as NeonQueryPromise<false, false>),
    unsafe: (rawSql: string) => sql.unsafe(rawSql),
    transaction: ((queries: Parameters<Sql['transaction']>[0], opts?: Parameters<Sql['transaction']>[1]) =>
      sql.transaction(queries, opts).catch(rethrow)) as Sql['transaction'],
  }) as Sql;
}

/** `SELECT * FROM apps WHERE id = $1`, built once per client (drizzle's prepared query). */
function appByIdQuery(db: ControlDb) {
  return db.select().from(apps).where(eq(apps.id, drizzleSql.placeholder('id'))).prepare('app_by_id');
}

interface ControlClients {
  sql: Sql;
  db: ControlDb;
  appById: ReturnType<typeof appByIdQuery>;
}

const clients = new Map<string, ControlClients>();

/**
 * The pg-types OIDs whose global parsers drizzle's neon-http driver replaces with identity functions
 * when it is constructed (timestamptz, timestamp, date, interval and their arrays, numeric[]).
 */
const driverTypeOids = [1184, 1114, 1082, 1186, 1185, 1115, 1182, 1187, 1231];

/**
 * Builds drizzle over `sql`, keeping the Neon driver's own global type parsers: drizzle's constructor
 * would switch dates to strings for the whole isolate, so a raw query's timestamps would depend on
 * whether a drizzle instance happened to exist yet. Drizzle's date columns accept Dates as well.
 */
function drizzleOver(sql: Sql): ControlDb {
  const saved = driverTypeOids.map((oid) => types.getTypeParser(oid));
  try {
    return drizzle(sql, { schema: controlSchema });
  } finally {
    driverTypeOids.forEach((oid, i) => types.setTypeParser(oid, saved[i]!));
  }
}

function clientsFor(env: ControlDbEnv): ControlClients {
  const raw = sqlClient(env.CONTROL_DATABASE_URL, env);
  let found = clients.get(env.CONTROL_DATABASE_URL);
  if (!found) {
    const sql = guardSql(raw, controlDbError);
    const db = drizzleOver(sql);
    found = { sql, db, appById: appByIdQuery(db) };
    clients.set(env.CONTROL_DATABASE_URL, found);
  }
  return found;
}

/**
 * The control-plane query function with mapped errors (for the few statements drizzle cannot
 * express, and for code not yet converted). Cached per connection string.
 * @throws ApiError from {@link controlDbError} for every failed statement
 */
export function controlSql(env: ControlDbEnv): Sql {
  return clientsFor(env).sql;
}

/**
 * drizzle over the control-plane tables (control-schema.ts), through {@link controlSql}'s error
 * boundary. Use `db.batch([...])` for statements that must commit together (one Neon transaction).
 * Source: drizzle-orm docs, "Neon HTTP" driver and "Batch API".
 * @throws ApiError from {@link controlDbError} (drizzle may wrap it in DrizzleQueryError as `cause`;
 *   toApiError unwraps it)
 */
export function controlDb(env: ControlDbEnv): ControlDb {
  return clientsFor(env).db;
}

/**
 * The `apps` row of `appId`, or undefined: the control plane's most frequent read (every management
 * call on an app), as a query drizzle built once — building a select anew cost about a third of the
 * control Worker's JavaScript per `GET /v1/{app}/config` (bench:profile-workerd).
 * @throws ApiError from {@link controlDbError}
 */
export async function selectAppById(env: ControlDbEnv, appId: string): Promise<typeof apps.$inferSelect | undefined> {
  const [row] = await clientsFor(env).appById.execute({ id: appId });
  return row;
}
