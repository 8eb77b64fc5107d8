/**
 * The direct PGlite session: each statement is one call into PGlite's wire protocol
 * (`execProtocolStream`, the call PGlite's node-postgres shim makes once per message) carrying all the
 * messages node-postgres would send for it — Parse, Bind (text parameters, prepared by node-postgres's
 * own `prepareValue`), Describe portal, Execute, Sync — and PGlite's parser's messages are turned into
 * the result node-postgres would build. So the endpoint's answers match the node-postgres path
 * (pg-session.ts) field for field, minus its costs: node-postgres's client machinery, five PGlite calls
 * per statement (one per message), and the promise queue of the shim.
 *
 * Callers hold the database's mutex (backend.ts), which is the only serialisation PGlite needs here:
 * protocol calls bypass PGlite's own query locks (as the shim's do), and nothing else uses the instance.
 * A batch keeps node-postgres's flow (Postgres's "extended query" flow with a Sync after each
 * statement, as Neon runs batches): `BEGIN …` once, each statement, `COMMIT`; after an error the rest
 * is not sent and `ROLLBACK` is. {@link PgliteSession.release} rolls back anything a request left open
 * (a lone `BEGIN`), so no transaction — and nothing `SET LOCAL` — outlives its request.
 */
import { createRequire } from 'node:module';
import { protocol, type messages, type PGlite } from '@electric-sql/pglite';
import { beginStatement, type BatchOptions, type SqlSession, type Statement, type StatementResult } from './backend.ts';

const { serialize } = protocol;

/** node-postgres's parameter conversion (null, text, arrays as array literals, objects as JSON). */
const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils.js') as {
  prepareValue: (value: unknown) => string | null;
};

/** node-postgres's reading of a CommandComplete tag (`INSERT 0 3`, `SELECT 1`, `CREATE TABLE`). */
const commandTag = /^([A-Za-z]+)(?: (\d+))?(?: (\d+))?/;

/** The fixed tail of a statement's messages: Describe portal "", Execute "" (no row limit), Sync. */
const describeExecuteSync = Buffer.concat([serialize.describe({ type: 'P', name: '' }), serialize.execute({}), serialize.sync()]);

/**
 * Sent after a statement that may be a COPY: outside COPY, Postgres ignores a CopyFail and the Sync
 * only adds a ReadyForQuery; after `COPY … FROM STDIN` (which ignores the first Sync) it ends the copy
 * with an error (57014) instead of leaving PGlite waiting for data it then exits over. node-postgres
 * fails such a COPY with the same reason.
 */
const copyGuard = Buffer.concat([serialize.copyFail('No source stream defined'), serialize.sync()]);

/**
 * Only a statement naming COPY can start copy-in mode: PL/pgSQL and SQL functions refuse COPY to or
 * from the client, and PREPARE does not take COPY. A false match only costs the guard.
 */
const mayCopy = /copy/i;

/** Transaction control messages, built once per text (a handful of BEGIN variants, COMMIT, ROLLBACK). */
const simpleQueries = new Map<string, Uint8Array>();

/** Transaction status from ReadyForQuery: idle, in a transaction block, in a failed one. */
type TransactionStatus = 'I' | 'T' | 'E';

/** {@link SqlSession} on one open PGlite instance (see the file comment). */
export class PgliteSession implements SqlSession {
  readonly #pglite: PGlite;
  #status: TransactionStatus = 'I';

  constructor(pglite: PGlite) {
    this.#pglite = pglite;
  }

  async query(statement: Statement): Promise<StatementResult> {
    return this.#extended(statement);
  }

  async transaction(statements: Statement[], options: BatchOptions): Promise<StatementResult[]> {
    await this.#simple(beginStatement(options));
    try {
      const results: StatementResult[] = [];
      for (const statement of statements) results.push(await this.#extended(statement));
      await this.#simple('COMMIT');
      return results;
    } catch (error) {
      await this.#rollback();
      throw error;
    }
  }

  /**
   * Ends the request: rolls back a transaction it left open, so the next request starts clean, and
   * lets PGlite's file system persist what the request wrote (a no-op for its Node file system, which
   * writes through; the shim's path did this after every message).
   */
  async release(): Promise<void> {
    if (this.#status !== 'I') await this.#rollback();
    await this.#pglite.syncToFs();
  }

  async #rollback(): Promise<void> {
    try {
      await this.#simple('ROLLBACK');
    } catch {
      // As node-postgres's path: a failed ROLLBACK leaves the original error to report.
    }
  }

  /** One statement, as node-postgres sends it with `queryMode: 'extended'` and no row limit. */
  #extended(statement: Statement): Promise<StatementResult> {
    return this.#exchange(extendedQuery(statement));
  }

  /** A simple-protocol statement (transaction control, as node-postgres sends it). */
  #simple(query: string): Promise<StatementResult> {
    let message = simpleQueries.get(query);
    if (!message) simpleQueries.set(query, (message = serialize.query(query)));
    return this.#exchange(message);
  }

  /**
   * Sends `message`, reads the whole answer up to ReadyForQuery and builds node-postgres's result.
   * @throws the first ErrorResponse, as PGlite's parser decodes it (node-postgres's `DatabaseError` fields)
   */
  async #exchange(message: Uint8Array): Promise<StatementResult> {
    const result: StatementResult = { command: null, rowCount: null, fields: [], rows: [] };
    let error: messages.DatabaseError | undefined;
    for (const msg of await this.#pglite.execProtocolStream(message, { syncToFs: false, throwOnError: false })) {
      switch (msg.name) {
        case 'rowDescription':
          result.fields = (msg as messages.RowDescriptionMessage).fields;
          break;
        case 'dataRow':
          result.rows.push((msg as messages.DataRowMessage).fields);
          break;
        case 'commandComplete': {
          const match = commandTag.exec((msg as messages.CommandCompleteMessage).text);
          if (match) {
            result.command = match[1]!;
            const count = match[3] ?? match[2];
            if (count !== undefined) result.rowCount = Number.parseInt(count, 10);
          }
          break;
        }
        case 'error':
          error ??= msg as messages.DatabaseError;
          break;
        case 'readyForQuery':
          this.#status = (msg as messages.ReadyForQueryMessage).status as TransactionStatus;
          break;
        // Notices are dropped, as node-postgres drops them without a listener; the rest carry nothing.
      }
    }
    if (error) throw error;
    return result;
  }
}

/**
 * Parse (unnamed statement, no declared parameter types), Bind (unnamed portal, every parameter and
 * result in text format), the fixed tail and, when the text names COPY, the copy guard, in one buffer, byte for byte as PGlite's copy of
 * node-postgres's serializer lays out the messages node-postgres sent through PGlite's shim
 * (PostgreSQL protocol, "Message Formats": Parse, Bind).
 */
export function extendedQuery({ query, params }: Statement): Uint8Array {
  const guard = mayCopy.test(query);
  const count = params.length;
  const values: (string | null)[] = new Array(count);
  const sizes: number[] = new Array(count);
  let valueBytes = 0;
  for (let i = 0; i < count; i++) {
    const value = prepareValue(params[i]);
    values[i] = value;
    sizes[i] = value === null ? 0 : Buffer.byteLength(value, 'utf8');
    valueBytes += 4 + sizes[i]!;
  }
  const queryBytes = Buffer.byteLength(query, 'utf8');
  const parseLength = 4 + 1 + queryBytes + 1 + 2;
  const bindLength = 4 + 1 + 1 + 2 + 2 * count + 2 + valueBytes + 2;
  const out = Buffer.allocUnsafe(1 + parseLength + 1 + bindLength + describeExecuteSync.length + (guard ? copyGuard.length : 0));
  let at = 0;
  out[at++] = 0x50; // 'P'
  at = out.writeInt32BE(parseLength, at);
  out[at++] = 0; // unnamed statement
  at += out.write(query, at, 'utf8');
  out[at++] = 0;
  at = out.writeUInt16BE(0, at); // no parameter types: the server infers them, as from node-postgres
  out[at++] = 0x42; // 'B'
  at = out.writeInt32BE(bindLength, at);
  out[at++] = 0; // unnamed portal
  out[at++] = 0; // unnamed statement
  at = out.writeUInt16BE(count & 0xffff, at);
  out.fill(0, at, at + 2 * count); // each parameter in text format
  at += 2 * count;
  at = out.writeUInt16BE(count & 0xffff, at);
  for (let i = 0; i < count; i++) {
    const value = values[i]!;
    if (value === null) {
      at = out.writeInt32BE(-1, at);
    } else {
      at = out.writeInt32BE(sizes[i]!, at);
      at += out.write(value, at, 'utf8');
    }
  }
  at = out.writeUInt16BE(0, at); // no result format codes: every column in text
  at += describeExecuteSync.copy(out, at);
  if (guard) copyGuard.copy(out, at);
  return out;
}
