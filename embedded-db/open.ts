/**
 * Opens the embedded database endpoint with the backend chosen by the environment:
 * a real Postgres when `databaseUrl` (or `DATABASE_URL`) is set, PGlite otherwise.
 */
import { endpointConnectionString, endpointCredentials } from './credentials.ts';
import { PgliteBackend, pgliteDrivers, type PgliteDriver } from './pglite-backend.ts';
import { PostgresBackend } from './postgres-backend.ts';
import { startEmbeddedDbServer, type EndpointCredentials } from './server.ts';

/** Options for {@link openEmbeddedDb}. */
export interface OpenEmbeddedDbOptions {
  /** Project state folder; PGlite data lives in `<stateDir>/db/`, the endpoint password in `<stateDir>/db.password`. */
  stateDir: string;
  /** Port on 127.0.0.1 (0 = any free port). */
  port: number;
  /** Real Postgres URL; defaults to `process.env.DATABASE_URL`. */
  databaseUrl?: string;
  /** Idle close delay for PGlite databases (ms); defaults to `BB_DB_IDLE_MS` or 60 000. */
  idleMs?: number;
  /** Most PGlite databases open at once; defaults to `BB_DB_MAX_OPEN` or 8. */
  maxOpen?: number;
  /** PGlite template directory; defaults to `BB_DB_TEMPLATE_DIR` or `<stateDir>/db/.template`. */
  templateDir?: string;
  /**
   * How statements reach PGlite: `direct` (default) or `node-postgres` (the original path, kept for
   * comparison); defaults to `BB_DB_PGLITE_DRIVER`.
   */
  pgliteDriver?: PgliteDriver;
  log?: (line: string) => void;
}

/** A running embedded database: its URL (`${url}/sql` is the Neon fetch endpoint) and how to stop it. */
export interface EmbeddedDb {
  readonly url: string;
  readonly port: number;
  /** Backend description, e.g. `pglite (/repo/.butterbase/db)`. */
  readonly backend: string;
  /** The user and password every connection string must carry (see credentials.ts). */
  readonly credentials: EndpointCredentials;
  /** A connection string for `database` with those credentials. */
  connectionString(database: string): string;
  close(): Promise<void>;
}

/**
 * Starts the endpoint on 127.0.0.1 with the chosen backend.
 * @throws Error when the port is taken, or `BB_DB_PGLITE_DRIVER` names no driver
 */
export async function openEmbeddedDb(options: OpenEmbeddedDbOptions): Promise<EmbeddedDb> {
  const databaseUrl = options.databaseUrl ?? process.env.DATABASE_URL;
  const backend = databaseUrl
    ? new PostgresBackend({ databaseUrl })
    : new PgliteBackend({
        stateDir: options.stateDir,
        idleMs: options.idleMs ?? numberEnv('BB_DB_IDLE_MS'),
        maxOpen: options.maxOpen ?? numberEnv('BB_DB_MAX_OPEN'),
        templateDir: options.templateDir ?? process.env.BB_DB_TEMPLATE_DIR,
        driver: options.pgliteDriver ?? driverEnv(),
        log: options.log,
      });
  const credentials = await endpointCredentials(options.stateDir);
  const server = await startEmbeddedDbServer({ backend, credentials, port: options.port, log: options.log });
  return {
    url: server.url,
    port: server.port,
    backend: backend.description,
    credentials,
    connectionString: (database) => endpointConnectionString(credentials, database),
    close: () => server.close(),
  };
}

function driverEnv(): PgliteDriver | undefined {
  const value = process.env.BB_DB_PGLITE_DRIVER;
  if (!value) return undefined;
  if (!pgliteDrivers.includes(value as PgliteDriver)) {
    throw new Error(`BB_DB_PGLITE_DRIVER must be one of ${pgliteDrivers.join(', ')}, not "${value}"`);
  }
  return value as PgliteDriver;
}

function numberEnv(name: string): number | undefined {
  const value = process.env[name];
  return value ? Number(value) : undefined;
}
