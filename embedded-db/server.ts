/**
 * The embedded database endpoint: Neon's SQL-over-HTTP protocol on 127.0.0.1, so Workers use
 * `@neondatabase/serverless` exactly as in production (`neonConfig.fetchEndpoint` points here).
 *
 * Protocol (as spoken by @neondatabase/serverless 1.x):
 * - `POST /sql` with header `Neon-Connection-String: postgresql://user:pass@host/<database>`.
 * - Body `{ query, params }` → `{ command, rowCount, rows, fields, rowAsArray }`; rows are arrays of
 *   text (`Neon-Array-Mode: true`) or objects, values are Postgres text output or null.
 * - Body `{ queries: [{ query, params }, …] }` → `{ results: [...] }`, all in one transaction
 *   (`Neon-Batch-Isolation-Level`, `Neon-Batch-Read-Only`, `Neon-Batch-Deferrable`).
 * - A Postgres error → 400 with Postgres's fields (`message`, `code`, `detail`, `constraint`, …);
 *   the whole batch is rolled back. Anything else → 5xx with a plain-text reason.
 * Every statement uses the extended protocol, so, as on Neon, one query string holds one statement.
 * `CREATE DATABASE x` / `DROP DATABASE [IF EXISTS] x` are served by the backend (PGlite keeps one
 * directory per database).
 *
 * The connection string must carry the user and password the endpoint was started with (local
 * processes and user code must not get a free superuser): anything else is refused before any SQL
 * runs, as Neon refuses a wrong password — HTTP 400 with Postgres's fields, SQLSTATE 28P01
 * `password authentication failed for user "…"`, severity FATAL.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DatabaseError, errorMessage, isPostgresError, type BatchOptions, type PostgresError, type SqlBackend, type Statement, type StatementResult } from './backend.ts';

const maxBodyBytes = 32 * 1024 * 1024;
const isolationLevels = new Set(['ReadUncommitted', 'ReadCommitted', 'RepeatableRead', 'Serializable']);
const createDatabase = /^\s*create\s+database\s+"?([a-z_][a-z0-9_]*)"?\s*;?\s*$/i;
const dropDatabase = /^\s*drop\s+database\s+(if\s+exists\s+)?"?([a-z_][a-z0-9_]*)"?(\s+with\s*\(\s*force\s*\))?\s*;?\s*$/i;

/** Postgres error fields Neon forwards on a 400 (the client copies exactly these). */
const errorFields = [
  'severity', 'code', 'detail', 'hint', 'position', 'internalPosition', 'internalQuery', 'where',
  'schema', 'table', 'column', 'dataType', 'constraint', 'file', 'line', 'routine',
] as const;

/** A bad request to the endpoint itself (not a SQL error). */
class ProtocolError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/**
 * The login role of user SQL (app migration 0010_authenticator). The endpoint accepts it with the
 * endpoint's password and runs the request's statements in one transaction that starts with
 * `SET SESSION AUTHORIZATION` to it, resetting the authorization once the transaction has ended
 * (which alone does not undo it, LOCAL or not), as a connection logged in as that role would on Neon. One difference remains: here the session's authenticated user is the
 * superuser, so `RESET SESSION AUTHORIZATION` would return to it (on Neon it returns to the login
 * role); the user-SQL guard refuses that statement in front of both.
 */
export const authenticatorRole = 'butterbase_authenticator';

/** The user and password every connection string must carry. */
export interface EndpointCredentials {
  user: string;
  password: string;
}

/** Options for {@link startEmbeddedDbServer}. */
export interface EmbeddedDbServerOptions {
  backend: SqlBackend;
  credentials: EndpointCredentials;
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** Log line sink for slow or failing requests. */
  log?: (line: string) => void;
}

/** A running endpoint. */
export interface EmbeddedDbServer {
  /** Base URL, e.g. `http://127.0.0.1:5433`. The SQL path is `${url}/sql`. */
  readonly url: string;
  readonly port: number;
  /** Stops accepting requests, waits for in-flight ones, then closes every database. */
  close(): Promise<void>;
}

/**
 * Starts the endpoint.
 * @returns once it listens; rejects if the port is taken.
 */
export async function startEmbeddedDbServer(options: EmbeddedDbServerOptions): Promise<EmbeddedDbServer> {
  const { backend } = options;
  const log = options.log ?? (() => {});
  const inFlight = new Set<Promise<void>>();
  const credentials = new CredentialCheck(options.credentials);
  const server: Server = createServer((req, res) => {
    const handled = handle(backend, credentials, req, res, log).catch((error) => {
      log(`request failed: ${(error as Error).message}`);
      if (!res.headersSent) sendText(res, 500, 'internal error');
    });
    inFlight.add(handled);
    void handled.finally(() => inFlight.delete(handled));
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await Promise.allSettled([...inFlight]);
        server.closeAllConnections();
        await stopped;
        await backend.close();
      })();
      return closing;
    },
  };
}

const authenticatorSwitch = { query: `SET SESSION AUTHORIZATION ${authenticatorRole}`, params: [] };
const sessionUserQuery = { query: 'SELECT session_user::text', params: [] };

async function handle(backend: SqlBackend, credentials: CredentialCheck, req: IncomingMessage, res: ServerResponse, log: (line: string) => void): Promise<void> {
  // The Neon driver always asks for exactly `/sql`; anything else is parsed.
  const pathname = req.url === '/sql' ? '/sql' : new URL(req.url ?? '/', 'http://localhost').pathname;
  if (req.method === 'GET' && pathname === '/health') {
    sendJson(res, 200, { ok: true, backend: backend.description, ...backend.stats() });
    return;
  }
  if (req.method !== 'POST' || (pathname !== '/sql' && pathname !== '/')) {
    sendText(res, 404, 'not found: POST /sql');
    return;
  }
  try {
    const { database, authenticator } = credentials.target(req.headers['neon-connection-string']);
    const arrayMode = req.headers['neon-array-mode'] === 'true';
    const body = parseBody(await readBody(req));
    const startedMs = Date.now();
    if (authenticator) {
      // Always one transaction opened by the switch, whose own result is not part of the answer.
      const statements = 'queries' in body ? body.queries : [body];
      const batch = 'queries' in body ? batchOptions(req) : { isolationLevel: undefined, readOnly: false, deferrable: false };
      const results = (await backend.withSession(database, async (session) => {
        const original = String((await session.query(sessionUserQuery)).rows[0]?.[0]);
        try {
          return await session.transaction([authenticatorSwitch, ...statements], batch);
        } finally {
          // SET [LOCAL] SESSION AUTHORIZATION outlives COMMIT and ROLLBACK (and PGlite ignores RESET
          // SESSION AUTHORIZATION): set back explicitly before the session serves anyone else.
          await session.query({ query: `SET SESSION AUTHORIZATION "${original.replaceAll('"', '""')}"`, params: [] });
        }
      })).slice(1);
      sendJson(res, 200, 'queries' in body ? { results: results.map((r) => encodeResult(r, arrayMode)) } : encodeResult(results[0]!, arrayMode));
    } else if ('queries' in body) {
      const batch = batchOptions(req);
      const results = await backend.withSession(database, (session) => session.transaction(body.queries, batch));
      sendJson(res, 200, { results: results.map((r) => encodeResult(r, arrayMode)) });
    } else {
      const special = await runDatabaseStatement(backend, body.query);
      const result = special ?? (await backend.withSession(database, (session) => session.query(body)));
      sendJson(res, 200, encodeResult(result, arrayMode));
    }
    const tookMs = Date.now() - startedMs;
    // CREATE DATABASE may build the template once (~5 s); that is not a slow query.
    if (tookMs > 2_000 && !createDatabase.test('query' in body ? body.query : '')) log(`slow request on ${database}: ${tookMs} ms`);
  } catch (error) {
    if (error instanceof ProtocolError) {
      sendText(res, error.status, error.message);
    } else if (isPostgresError(error)) {
      sendJson(res, 400, encodeError(error));
    } else {
      const message = errorMessage(error);
      log(`database unavailable: ${message}`);
      sendText(res, 503, `database unavailable: ${message}`);
    }
  }
}

/** Constant-time string comparison (equal lengths compared byte by byte). */
function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The database a connection string names, once its user and password match `credentials`.
 * @throws ProtocolError 400 for a missing or malformed header, DatabaseError 28P01 for wrong credentials
 */
function databaseFromHeader(header: string | string[] | undefined, credentials: EndpointCredentials): Target {
  if (typeof header !== 'string' || header === '') {
    throw new ProtocolError(400, 'missing Neon-Connection-String header');
  }
  let parsed: URL;
  try {
    parsed = new URL(header);
  } catch {
    throw new ProtocolError(400, 'Neon-Connection-String is not a URL');
  }
  const user = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  // Both compared, always, so a wrong user is not told apart from a wrong password by timing.
  const authenticator = user === authenticatorRole;
  const userOk = authenticator || sameSecret(user, credentials.user);
  const passwordOk = sameSecret(password, credentials.password);
  if (!userOk || !passwordOk) {
    throw new AuthenticationError(`password authentication failed for user "${user.replaceAll('"', '')}"`);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (database === '') throw new ProtocolError(400, 'Neon-Connection-String names no database');
  return { database, authenticator };
}

/** What a connection string reaches: a database, as the owner or as the authenticator role. */
interface Target {
  database: string;
  authenticator: boolean;
}

/**
 * {@link databaseFromHeader} with a memory of the connection strings it accepted (every request of
 * an app carries the same one): a known string skips the URL parse and the constant-time comparison,
 * which only ever ran on it with the right credentials. At most {@link acceptedLimit} are kept.
 */
class CredentialCheck {
  static readonly acceptedLimit = 1_024;
  readonly #credentials: EndpointCredentials;
  readonly #accepted = new Map<string, Target>();

  constructor(credentials: EndpointCredentials) {
    this.#credentials = credentials;
  }

  /** The database `header` names, and whether it logs in as the authenticator. @throws as {@link databaseFromHeader} */
  target(header: string | string[] | undefined): Target {
    if (typeof header === 'string') {
      const known = this.#accepted.get(header);
      if (known !== undefined) return known;
    }
    const target = databaseFromHeader(header, this.#credentials);
    if (this.#accepted.size >= CredentialCheck.acceptedLimit) this.#accepted.clear();
    this.#accepted.set(header as string, target);
    return target;
  }
}

/** A refused connection, shaped as Postgres reports it (Neon forwards these fields on a 400). */
class AuthenticationError extends DatabaseError {
  constructor(message: string) {
    super('28P01', message, 'FATAL');
  }
}

function batchOptions(req: IncomingMessage): BatchOptions {
  const level = req.headers['neon-batch-isolation-level'];
  if (level !== undefined && (typeof level !== 'string' || !isolationLevels.has(level))) {
    throw new ProtocolError(400, `unknown Neon-Batch-Isolation-Level: ${String(level)}`);
  }
  return {
    isolationLevel: level,
    readOnly: req.headers['neon-batch-read-only'] === 'true',
    deferrable: req.headers['neon-batch-deferrable'] === 'true',
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        req.removeAllListeners('data');
        req.resume();
        reject(new ProtocolError(413, `request body over ${maxBodyBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

function parseBody(text: string): Statement | { queries: Statement[] } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ProtocolError(400, 'request body is not JSON');
  }
  if (body && typeof body === 'object' && Array.isArray((body as { queries?: unknown }).queries)) {
    return { queries: (body as { queries: unknown[] }).queries.map(queryData) };
  }
  return queryData(body);
}

function queryData(value: unknown): Statement {
  const item = value as { query?: unknown; params?: unknown } | null;
  if (!item || typeof item.query !== 'string') throw new ProtocolError(400, 'expected { query, params }');
  if (item.params !== undefined && !Array.isArray(item.params)) throw new ProtocolError(400, 'params must be an array');
  return { query: item.query, params: (item.params as unknown[] | undefined) ?? [] };
}

async function runDatabaseStatement(backend: SqlBackend, query: string): Promise<StatementResult | undefined> {
  const created = createDatabase.exec(query);
  if (created) {
    await backend.createDatabase(created[1]!.toLowerCase());
    return emptyResult('CREATE');
  }
  const dropped = dropDatabase.exec(query);
  if (dropped) {
    await backend.dropDatabase(dropped[2]!.toLowerCase(), Boolean(dropped[1]));
    return emptyResult('DROP');
  }
  return undefined;
}

function emptyResult(command: string): StatementResult {
  return { command, rowCount: null, rows: [], fields: [] };
}

function encodeResult(result: StatementResult, arrayMode: boolean) {
  const fields = result.fields.map((f) => ({
    name: f.name,
    tableID: f.tableID,
    columnID: f.columnID,
    dataTypeID: f.dataTypeID,
    dataTypeSize: f.dataTypeSize,
    dataTypeModifier: f.dataTypeModifier,
    format: 'text',
  }));
  const rows = arrayMode
    ? result.rows
    : result.rows.map((row) => Object.fromEntries(fields.map((f, i) => [f.name, row[i]])));
  return { command: result.command, rowCount: result.rowCount, rows, fields, rowAsArray: arrayMode };
}

function encodeError(error: PostgresError): Record<string, unknown> {
  const body: Record<string, unknown> = { message: error.message };
  for (const field of errorFields) {
    const value = (error as unknown as Record<string, unknown>)[field];
    if (value !== undefined) body[field] = value;
  }
  return body;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
