/**
 * Real-Postgres backend, used when `DATABASE_URL` is set: each database named in a Neon connection
 * string maps to the database of that name on the `DATABASE_URL` server (same user, password, host).
 * Databases are created and dropped with plain SQL on the server's maintenance database.
 */
import pg from 'pg';
import { assertDatabaseName, DatabaseError, rawTextTypes, type SqlBackend, type SqlSession } from './backend.ts';
import { pgSession } from './pg-session.ts';

/** Options for {@link PostgresBackend}. */
export interface PostgresBackendOptions {
  /** `postgres://user:pass@host:port/maintenance_db`; the maintenance db is used for CREATE/DROP DATABASE. */
  databaseUrl: string;
  /** Pool size per database. Default 4. */
  poolSize?: number;
}

/** {@link SqlBackend} on a real Postgres server: one small pool per database. */
export class PostgresBackend implements SqlBackend {
  readonly description: string;
  readonly #base: URL;
  readonly #poolSize: number;
  readonly #pools = new Map<string, pg.Pool>();

  constructor(options: PostgresBackendOptions) {
    this.#base = new URL(options.databaseUrl);
    this.#poolSize = options.poolSize ?? 4;
    this.description = `postgres (${this.#base.host})`;
  }

  async withSession<T>(database: string, work: (session: SqlSession) => Promise<T>): Promise<T> {
    assertDatabaseName(database);
    const client = await this.#pool(database).connect();
    let broken = false;
    try {
      return await work(pgSession(client));
    } catch (error) {
      broken = !(error instanceof Error && 'code' in error);
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async createDatabase(database: string): Promise<void> {
    assertDatabaseName(database);
    await this.#maintenance((client) => client.query(`CREATE DATABASE "${database}"`));
  }

  async dropDatabase(database: string, ifExists: boolean): Promise<void> {
    assertDatabaseName(database);
    const pool = this.#pools.get(database);
    this.#pools.delete(database);
    await pool?.end();
    await this.#maintenance((client) =>
      client.query(`DROP DATABASE ${ifExists ? 'IF EXISTS ' : ''}"${database}" WITH (FORCE)`),
    );
  }

  stats(): { open: number; databases: string[] } {
    return { open: this.#pools.size, databases: [...this.#pools.keys()] };
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((p) => p.end()));
  }

  async #maintenance<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: this.#base.toString() });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }

  #pool(database: string): pg.Pool {
    let pool = this.#pools.get(database);
    if (!pool) {
      const url = new URL(this.#base);
      url.pathname = `/${database}`;
      pool = new pg.Pool({ connectionString: url.toString(), max: this.#poolSize, types: rawTextTypes });
      // An idle client's error (e.g. the server restarted) must not crash the endpoint.
      pool.on('error', () => {});
      this.#pools.set(database, pool);
    }
    return pool;
  }
}

export { DatabaseError };
