/**
 * The storage behind the embedded SQL-over-HTTP endpoint.
 *
 * A backend hands out one `pg` client per database, serialised: while a caller holds a
 * database's client nobody else can run statements on it, so a transaction batch is never
 * interleaved with another request's statements. Two implementations:
 * - `PgliteBackend` (default): one PGlite data directory per database, opened lazily, closed when idle.
 * - `PostgresBackend`: a real Postgres server (`DATABASE_URL`), one small pool per database.
 */
import type pg from 'pg';

/** A database client lent to a caller for the duration of one HTTP request. */
export type LeasedClient = Pick<pg.Client, 'query'>;

/** What the protocol layer needs from a backend. */
export interface SqlBackend {
  /** Human-readable description for logs, e.g. `pglite (.butterbase/db)`. */
  readonly description: string;
  /**
   * Runs `work` with exclusive use of a client connected to `database`.
   * @throws DatabaseError with code 3D000 when the database does not exist.
   */
  withClient<T>(database: string, work: (client: LeasedClient) => Promise<T>): Promise<T>;
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
