/**
 * The direct PGlite session: each statement is one call into PGlite's wire protocol
 * (`execProtocolRawStream`) carrying all the messages node-postgres would send for it — Parse, Bind
 * (text parameters, prepared by node-postgres's own `prepareValue`), Describe portal, Execute, Sync —
 * and the answer is read straight into the result node-postgres would build (wire.ts). So the
 * endpoint's answers match the node-postgres path (pg-session.ts) byte for byte, minus its costs:
 * node-postgres's client machinery, five PGlite calls per statement (one per message), the promise
 * queue of the shim, and PGlite's message objects (its parser costs as much as a small query).
 *
 * Callers hold the database's mutex (backend.ts), which is the only serialisation PGlite needs here:
 * protocol calls bypass PGlite's own query locks (as the shim's do), and nothing else uses the instance.
 * A batch keeps node-postgres's flow (Postgres's "extended query" flow with a Sync after each
 * statement, as Neon runs batches): `BEGIN …` once, each statement, `COMMIT`; after an error the rest
 * is not sent and `ROLLBACK` is. {@link PgliteSession.release} rolls back anything a request left open
 * (a lone `BEGIN`), so no transaction — and nothing `SET LOCAL` — outlives its request.
 */
import { protocol, type PGlite } from '@electric-sql/pglite';
import { beginStatement, type BatchOptions, type SqlSession, type Statement, type StatementResult } from './backend.ts';
import { decodeAnswer, extendedQuery, type PostgresErrorResponse, type TransactionStatus } from './wire.ts';

const { serialize } = protocol;

/** Transaction control messages, built once per text (a handful of BEGIN variants, COMMIT, ROLLBACK). */
const simpleQueries = new Map<string, Uint8Array>();

/** {@link SqlSession} on one open PGlite instance (see the file comment). */
export class PgliteSession implements SqlSession {
  readonly #pglite: PGlite;
  #status: TransactionStatus = 'I';
  /** PGlite's answer to the current exchange, copied out of its WASM memory; reused between exchanges. */
  #inbox = Buffer.allocUnsafe(64 * 1024);
  #received = 0;

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
   * Sends `message` and reads the whole answer (PGlite answers the messages synchronously, in one or
   * more chunks of its output buffer, which are copied as they come).
   * @throws the first ErrorResponse ({@link PostgresErrorResponse}: node-postgres's field names)
   */
  async #exchange(message: Uint8Array): Promise<StatementResult> {
    this.#received = 0;
    await this.#pglite.execProtocolRawStream(message, { syncToFs: false, onRawData: this.#receive });
    const answer = decodeAnswer(this.#inbox.subarray(0, this.#received));
    this.#status = answer.status;
    if (answer.error) throw answer.error;
    return answer.result;
  }

  readonly #receive = (chunk: Uint8Array): void => {
    const needed = this.#received + chunk.byteLength;
    if (needed > this.#inbox.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, this.#inbox.length * 2));
      this.#inbox.copy(grown, 0, 0, this.#received);
      this.#inbox = grown;
    }
    this.#inbox.set(chunk, this.#received);
    this.#received = needed;
  };
}
