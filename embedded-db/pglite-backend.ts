/**
 * PGlite backend: one data directory per database under `<stateDir>/db/<name>/`.
 *
 * A PGlite instance costs ~170 MB of WASM memory (its floor is 128 MB), so databases are opened on
 * first use, closed after `idleMs` without use, and at most `maxOpen` stay open (least recently used
 * idle ones are closed first). Creating a database copies a pristine, already-initialised template
 * directory (`<stateDir>/db/.template/`), which turns a ~5 s initdb into a ~0.5 s copy; the copy is
 * written beside its final name and renamed into place, so a crash never leaves half a database.
 *
 * Statements reach PGlite through one of two drivers: `direct` (default; pglite-session.ts: the wire
 * messages node-postgres would send, one synchronous PGlite call per statement) or `node-postgres`
 * (the original path: a `pg.Client` over PGlite's protocol shim, pg-session.ts), kept selectable
 * (`BB_DB_PGLITE_DRIVER`) so benchmarks and tests compare the two in one run.
 */
import { cp, mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { uuid_ossp } from '@electric-sql/pglite/contrib/uuid_ossp';
import { pgcrypto } from '@electric-sql/pglite/contrib/pgcrypto';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { createPgConfig } from '@electric-sql/pglite/node-postgres';
import { vector } from '@electric-sql/pglite-pgvector';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pg from 'pg';
import { assertDatabaseName, DatabaseError, errorMessage, isPostgresError, Mutex, rawTextTypes, type SqlBackend, type SqlSession } from './backend.ts';
import { pgSession } from './pg-session.ts';
import { PgliteSession } from './pglite-session.ts';

const extensions = { vector, uuid_ossp, pgcrypto, pg_trgm };

/**
 * V8's collector, reached without a command-line flag. A closed PGlite instance's WASM memory
 * (~170 MB) is only returned to the OS once it is collected, and V8 sees little reason to collect
 * soon, so closing databases triggers one collection.
 */
const collectGarbage: () => void = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

/** How statements reach PGlite (see the file comment). */
export type PgliteDriver = 'direct' | 'node-postgres';

/** The drivers by name, for `BB_DB_PGLITE_DRIVER`. */
export const pgliteDrivers: readonly PgliteDriver[] = ['direct', 'node-postgres'];

interface OpenDatabase {
  readonly name: string;
  readonly pglite: PGlite;
  readonly session: SqlSession;
  /** Ends a request on the session (the direct driver rolls back what it left open). */
  readonly release: () => Promise<void>;
  /** The node-postgres driver's client, ended on close. */
  readonly client?: pg.Client;
  lastUsedMs: number;
}

interface Entry {
  readonly mutex: Mutex;
  /** Resolves once the database is open; rejected opens are removed from the map. */
  opening?: Promise<OpenDatabase>;
  open?: OpenDatabase;
}

/** Options for {@link PgliteBackend}. */
export interface PgliteBackendOptions {
  /** Root folder; databases live in `<stateDir>/db/`. */
  stateDir: string;
  /** Close a database after this long without a request. Default 60 000 ms. */
  idleMs?: number;
  /** Most databases open at once before least-recently-used idle ones are closed. Default 8. */
  maxOpen?: number;
  /** Where the pristine template lives. Default `<stateDir>/db/.template`; tests share one across runs. */
  templateDir?: string;
  /** How statements reach PGlite. Default `direct`. */
  driver?: PgliteDriver;
  /** Log line sink. */
  log?: (line: string) => void;
}

/** {@link SqlBackend} on PGlite: one data directory and one serialised session per database. */
export class PgliteBackend implements SqlBackend {
  readonly description: string;
  readonly #root: string;
  readonly #templateDir: string;
  readonly #idleMs: number;
  readonly #maxOpen: number;
  readonly #driver: PgliteDriver;
  readonly #log: (line: string) => void;
  readonly #entries = new Map<string, Entry>();
  readonly #templateLock = new Mutex();
  readonly #sweeper: NodeJS.Timeout;
  #closed = false;

  constructor(options: PgliteBackendOptions) {
    this.#root = join(options.stateDir, 'db');
    this.#templateDir = options.templateDir ?? join(this.#root, '.template');
    this.#idleMs = options.idleMs ?? 60_000;
    this.#maxOpen = options.maxOpen ?? 8;
    this.#driver = options.driver ?? 'direct';
    this.#log = options.log ?? (() => {});
    this.description = this.#driver === 'direct' ? `pglite (${this.#root})` : `pglite via ${this.#driver} (${this.#root})`;
    this.#sweeper = setInterval(() => void this.#closeIdle(), Math.max(250, Math.floor(this.#idleMs / 4)));
    this.#sweeper.unref();
  }

  async withSession<T>(database: string, work: (session: SqlSession) => Promise<T>): Promise<T> {
    assertDatabaseName(database);
    this.#assertOpen();
    const entry = this.#entry(database);
    return entry.mutex.run(async () => {
      const db = await this.#ensureOpen(database, entry);
      db.lastUsedMs = Date.now();
      try {
        const result = await work(db.session);
        await db.release();
        return result;
      } catch (error) {
        if (isPostgresError(error)) {
          await db.release();
        } else {
          // PGlite itself failed (it exits on a FATAL error, e.g. a backend terminating itself): this
          // instance is gone, so the next request opens the directory afresh (Postgres recovers it).
          this.#log(`database ${database} failed (${errorMessage(error)}); it reopens on the next request`);
          await this.#closeEntry(entry).catch(() => {});
        }
        throw error;
      } finally {
        db.lastUsedMs = Date.now();
      }
    });
  }

  async createDatabase(database: string): Promise<void> {
    assertDatabaseName(database);
    this.#assertOpen();
    const entry = this.#entry(database);
    await entry.mutex.run(async () => {
      const dir = this.#dir(database);
      if (await exists(dir)) throw new DatabaseError('42P04', `database "${database}" already exists`);
      const template = await this.#template();
      const staging = `${dir}.creating`;
      await rm(staging, { recursive: true, force: true });
      await cp(template, staging, { recursive: true });
      await rename(staging, dir);
      this.#log(`created database ${database}`);
    });
  }

  async dropDatabase(database: string, ifExists: boolean): Promise<void> {
    assertDatabaseName(database);
    this.#assertOpen();
    const entry = this.#entry(database);
    await entry.mutex.run(async () => {
      const dir = this.#dir(database);
      if (!(await exists(dir))) {
        if (ifExists) return;
        throw new DatabaseError('3D000', `database "${database}" does not exist`);
      }
      await this.#closeEntry(entry);
      // Rename first so a crash mid-delete never leaves a half-deleted database that still opens.
      const doomed = `${dir}.dropping`;
      await rename(dir, doomed);
      await rm(doomed, { recursive: true, force: true });
      this.#log(`dropped database ${database}`);
    });
    // The entry stays: requests queued behind the drop (a re-create, then a query) still run on it,
    // and one that opens the database must stay tracked, or a later request would open a second
    // PGlite instance on the same directory (and the first would never be closed).
  }

  stats(): { open: number; databases: string[] } {
    const databases = [...this.#entries.values()].flatMap((e) => (e.open ? [e.open.name] : []));
    return { open: databases.length, databases };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweeper);
    await Promise.all([...this.#entries.values()].map((entry) => entry.mutex.run(() => this.#closeEntry(entry))));
    this.#entries.clear();
  }

  #assertOpen(): void {
    if (this.#closed) throw new DatabaseError('57P01', 'the embedded database is shutting down');
  }

  #dir(database: string): string {
    return join(this.#root, database);
  }

  #entry(database: string): Entry {
    let entry = this.#entries.get(database);
    if (!entry) {
      entry = { mutex: new Mutex() };
      this.#entries.set(database, entry);
    }
    return entry;
  }

  /** Called with the entry's mutex held. */
  async #ensureOpen(database: string, entry: Entry): Promise<OpenDatabase> {
    if (entry.open) return entry.open;
    const dir = this.#dir(database);
    if (!(await exists(dir))) throw new DatabaseError('3D000', `database "${database}" does not exist`);
    const startedMs = Date.now();
    const pglite = await PGlite.create(dir, { extensions });
    if (this.#driver === 'direct') {
      const session = new PgliteSession(pglite);
      entry.open = { name: database, pglite, session, release: () => session.release(), lastUsedMs: Date.now() };
    } else {
      const client = new pg.Client({ ...createPgConfig(pglite), types: rawTextTypes });
      await client.connect();
      entry.open = { name: database, pglite, session: pgSession(client), release: async () => {}, client, lastUsedMs: Date.now() };
    }
    this.#log(`opened database ${database} in ${Date.now() - startedMs} ms`);
    void this.#enforceMaxOpen(database);
    return entry.open;
  }

  /** Called with the entry's mutex held. */
  async #closeEntry(entry: Entry): Promise<void> {
    const db = entry.open;
    if (!db) return;
    entry.open = undefined;
    await db.client?.end().catch(() => {});
    await db.pglite.close().catch((error: unknown) => this.#log(`closing database ${db.name}: ${errorMessage(error)}`));
    this.#log(`closed database ${db.name}`);
    this.#scheduleCollection();
  }

  #collectTimer: NodeJS.Timeout | undefined;

  /** One collection shortly after a burst of closes, so their memory goes back to the OS. */
  #scheduleCollection(): void {
    if (this.#collectTimer) return;
    this.#collectTimer = setTimeout(() => {
      this.#collectTimer = undefined;
      collectGarbage();
    }, 200);
    this.#collectTimer.unref();
  }

  async #closeIdle(): Promise<void> {
    const now = Date.now();
    for (const entry of this.#entries.values()) {
      if (entry.open && entry.mutex.pending === 0 && now - entry.open.lastUsedMs >= this.#idleMs) {
        await entry.mutex.run(() => this.#closeEntry(entry));
      }
    }
  }

  async #enforceMaxOpen(justOpened: string): Promise<void> {
    const open = [...this.#entries.values()].filter((e) => e.open && e.open.name !== justOpened);
    let excess = open.length + 1 - this.#maxOpen;
    if (excess <= 0) return;
    open.sort((a, b) => a.open!.lastUsedMs - b.open!.lastUsedMs);
    for (const entry of open) {
      if (excess <= 0) break;
      if (entry.mutex.pending > 0) continue;
      excess--;
      await entry.mutex.run(() => this.#closeEntry(entry));
    }
  }

  /** Returns the template directory, building it once (initdb + extensions) if missing. */
  async #template(): Promise<string> {
    const template = this.#templateDir;
    return this.#templateLock.run(async () => {
      await mkdir(this.#root, { recursive: true });
      if (await exists(template)) return template;
      await mkdir(dirname(template), { recursive: true });
      const staging = `${template}.creating-${process.pid}`;
      await rm(staging, { recursive: true, force: true });
      const startedMs = Date.now();
      const pglite = await PGlite.create(staging, { extensions });
      await pglite.exec(
        'CREATE EXTENSION IF NOT EXISTS vector; CREATE EXTENSION IF NOT EXISTS "uuid-ossp"; CREATE EXTENSION IF NOT EXISTS pgcrypto;',
      );
      await pglite.close();
      // Another process may have finished the same template meanwhile; either copy is fine.
      await rename(staging, template).catch(async () => rm(staging, { recursive: true, force: true }));
      this.#log(`initialised database template in ${Date.now() - startedMs} ms`);
      return template;
    });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
