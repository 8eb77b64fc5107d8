/**
 * The storage behind the embedded SQL-over-HTTP endpoint.
 *
 * A backend lends one {@link SqlSession} per database, serialised: while a caller holds a database's
 * session nobody else can run statements on it, so a transaction batch is never interleaved with
 * another request's statements. Two implementations:
 * - `PgliteBackend` (default): one PGlite data directory per database, opened lazily, closed when idle;
 *   statements go to PGlite's wire protocol directly (pglite-session.ts).
 * - `PostgresBackend`: a real Postgres server (`DATABASE_URL`), one small pool per database
 *   (node-postgres, pg-session.ts).
 */
import type pg from 'pg';

/** One statement of a request: SQL text (one statement) and its parameters as the JSON body carries them. */
export interface Statement {
  query: string;
  params: unknown[];
}

/** How a batch's transaction starts (the `Neon-Batch-*` headers). */
export interface BatchOptions {
  /** `ReadUncommitted` | `ReadCommitted` | `RepeatableRead` | `Serializable`; absent = the server default. */
  isolationLevel?: string;
  readOnly: boolean;
  deferrable: boolean;
}

/** A result column as Postgres's RowDescription describes it (node-postgres's `FieldDef`). */
export interface FieldDescription {
  name: string;
  tableID: number;
  columnID: number;
  dataTypeID: number;
  dataTypeSize: number;
  dataTypeModifier: number;
}

/**
 * One statement's outcome, as node-postgres reports it in array row mode: `command` and `rowCount` from
 * the CommandComplete tag (`null` when the tag has none, e.g. `CREATE TABLE` has no count), `fields`
 * empty when the statement returns no rows, values Postgres's text output or null.
 */
export interface StatementResult {
  command: string | null;
  rowCount: number | null;
  fields: FieldDescription[];
  rows: (string | null)[][];
}

/** A database connection lent to a caller for the duration of one HTTP request. */
export interface SqlSession {
  /**
   * Runs one statement with the extended protocol (so a string holding two statements fails with
   * 42601, as on Neon); parameters are sent as text, typed by the server.
   * @throws the Postgres error (fields `code`, `message`, `detail`, `position`, … as node-postgres names them)
   */
  query(statement: Statement): Promise<StatementResult>;
  /**
   * Runs statements in one transaction (`BEGIN` with `options`, each statement, `COMMIT`); on the first
   * error the transaction is rolled back and that error thrown.
   */
  transaction(statements: Statement[], options: BatchOptions): Promise<StatementResult[]>;
}

/** What the protocol layer needs from a backend. */
export interface SqlBackend {
  /** Human-readable description for logs, e.g. `pglite (.butterbase/db)`. */
  readonly description: string;
  /**
   * Runs `work` with exclusive use of a session on `database`.
   * @throws DatabaseError with code 3D000 when the database does not exist.
   */
  withSession<T>(database: string, work: (session: SqlSession) => Promise<T>): Promise<T>;
  /**
   * Creates a database. @throws DatabaseError 42P04 when it already exists.
   */
  createDatabase(database: string): Promise<void>;
  /**
   * Drops a database. @throws DatabaseError 3D000 when it does not exist and `ifExists` is false.
   */
  dropDatabase(database: string, ifExists: boolean): Promise<void>;
  /** Open databases and their state, for the `/health` page and benchmarks. */
  stats(): { open: number; databases: string[] };
  /** Finishes in-flight work and closes every database. Idempotent. */
  close(): Promise<void>;
}

/** The statement that opens a batch's transaction, e.g. `BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY`. */
export function beginStatement(options: BatchOptions): string {
  let begin = 'BEGIN';
  if (options.isolationLevel) begin += ` ISOLATION LEVEL ${options.isolationLevel.replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase()}`;
  if (options.readOnly) begin += ' READ ONLY';
  if (options.deferrable) begin += ' DEFERRABLE';
  return begin;
}

/** A Postgres-shaped error raised by the endpoint itself (not by Postgres). */
export class DatabaseError extends Error {
  readonly code: string;
  readonly severity: 'ERROR' | 'FATAL';
  constructor(code: string, message: string, severity: 'ERROR' | 'FATAL' = 'ERROR') {
    super(message);
    this.code = code;
    this.severity = severity;
  }
}

/** A Postgres-shaped error: ours, or one a driver decoded from an ErrorResponse (node-postgres's field names). */
export type PostgresError = Error & { code: string };

/** True for an error Postgres reported (or {@link DatabaseError}): a 5-character SQLSTATE `code`. */
export function isPostgresError(error: unknown): error is PostgresError {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}

/** A thrown value's message (PGlite's ExitStatus is not an Error but carries one). */
export function errorMessage(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
}

/** Database names the endpoint serves: a Postgres identifier we never need to quote. */
export const databaseNamePattern = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Validates a database name taken from a connection string.
 * @throws DatabaseError 3D000 for names the endpoint would never create.
 */
export function assertDatabaseName(name: string): void {
  if (!databaseNamePattern.test(name)) {
    throw new DatabaseError('3D000', `database "${name}" does not exist`);
  }
}

/** Text parsers for every type: Neon's wire carries raw text and the client parses it. */
export const rawTextTypes = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

/** A FIFO mutex: `run` waits for every earlier holder to finish. */
export class Mutex {
  #tail: Promise<void> = Promise.resolve();
  #waiting = 0;

  /** Number of callers holding or waiting for the lock. */
  get pending(): number {
    return this.#waiting;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    this.#waiting++;
    const previous = this.#tail;
    let release!: () => void;
    this.#tail = new Promise((resolve) => (release = resolve));
    try {
      await previous;
      return await work();
    } finally {
      this.#waiting--;
      release();
    }
  }
}
