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
 * A batch is one pipeline — `BEGIN …`, each statement, `COMMIT`, one Sync — sent in one exchange;
 * Postgres skips everything after an error up to the Sync, and `ROLLBACK` follows. A batch with a
 * statement that may COPY keeps node-postgres's flow instead (a Sync after each statement, the rest
 * not sent after an error). {@link PgliteSession.release} rolls back anything a request left open
 * (a lone `BEGIN`), so no transaction — and nothing `SET LOCAL` — outlives its request.
 * Statements the session sees again are prepared once and then only bound (statement-cache.ts); the
 * answers are the same bytes minus the ParseComplete acknowledgements, which are skipped anyway.
 */
import { protocol, type PGlite } from '@electric-sql/pglite';
import { beginStatement, type BatchOptions, type SqlSession, type Statement, type StatementResult } from './backend.ts';
import { isStaleCacheError, StatementCache } from './statement-cache.ts';
import { decodeAnswer, decodePipeline, extendedQuery, mayStartCopy, pipelinedQuery, type PostgresErrorResponse, type StatementPlan, type TransactionStatus } from './wire.ts';

const { serialize } = protocol;

/** Transaction control messages, built once per text (a handful of BEGIN variants, COMMIT, ROLLBACK). */
const simpleQueries = new Map<string, Uint8Array>();

/** {@link SqlSession} on one open PGlite instance (see the file comment). */
export class PgliteSession implements SqlSession {
  readonly #pglite: PGlite;
  readonly #statements = new StatementCache();
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

  /**
   * Runs `statements` in one transaction. Without a statement that may COPY, the whole batch — BEGIN,
   * the statements, COMMIT — is one pipeline and one exchange with PGlite (wire.ts `pipelinedQuery`):
   * Postgres stops at the first error and skips the rest (COMMIT included), then this rolls back.
   * Otherwise statement by statement, as node-postgres would.
   * @throws the first ErrorResponse ({@link PostgresErrorResponse})
   */
  async transaction(statements: Statement[], options: BatchOptions): Promise<StatementResult[]> {
    if (!statements.some(mayStartCopy)) return this.#pipelined(statements, options);
    await this.#simple(beginStatement(options));
    try {
      const results: StatementResult[] = [];
      for (const statement of statements) results.push(await this.#extended(statement, false));
      await this.#simple('COMMIT');
      return results;
    } catch (error) {
      await this.#rollback();
      throw error;
    }
  }

  async #pipelined(statements: Statement[], options: BatchOptions): Promise<StatementResult[]> {
    const batch = [{ query: beginStatement(options), params: [] }, ...statements, { query: 'COMMIT', params: [] }];
    const build = (plans: StatementPlan[]) => pipelinedQuery(batch, plans);
    let answer = await this.#planned(batch, build, decodePipeline);
    this.#status = answer.status;
    if (answer.error) await this.#rollback();
    if (answer.error && isStaleCacheError(answer.error) && answer.named) {
      // The whole batch ran in one transaction, now rolled back: run it again, every statement unnamed.
      this.#statements.reset();
      answer = await this.#planned(batch, build, decodePipeline, false);
      this.#status = answer.status;
      if (answer.error) await this.#rollback();
    }
    if (answer.error) throw answer.error;
    return answer.results.slice(1, 1 + statements.length);
  }

  /**
   * One exchange of `statements`, their messages built by `build` from the statement cache's plans
   * (every statement unnamed when `prepare` is false), the cache told how it went.
   * Out: the decoded answer and whether any statement used a named prepared statement.
   */
  async #planned<A extends { error: PostgresErrorResponse | undefined; status: TransactionStatus }>(
    statements: Statement[],
    build: (plans: StatementPlan[]) => Uint8Array,
    decode: (data: Buffer) => A,
    prepare = true,
  ): Promise<A & { named: boolean }> {
    const plans = statements.map((s) => (prepare ? this.#statements.plan(s.query) : { name: '', parse: true }));
    const closes = this.#statements.takeCloses();
    const body = build(plans);
    const answer = decode(await this.#send(closes ? Buffer.concat([closes, body]) : body));
    this.#statements.settle(statements.map((s) => s.query), plans, !answer.error);
    return { ...answer, named: plans.some((p) => p.name !== '') };
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

  /**
   * One statement, as node-postgres sends it with `queryMode: 'extended'` and no row limit (a prepared
   * statement when the cache has one). A stale cache (see statement-cache.ts) runs it again unnamed:
   * the statement had not started. Inside a transaction (`prepare` false: the COPY path of
   * {@link transaction}) statements stay unnamed, as a failed one could not be run again.
   * @throws the ErrorResponse ({@link PostgresErrorResponse})
   */
  async #extended(statement: Statement, prepare = true): Promise<StatementResult> {
    const build = (plans: StatementPlan[]) => extendedQuery(statement, plans[0]);
    let answer = await this.#planned([statement], build, decodeAnswer, prepare);
    if (answer.error && isStaleCacheError(answer.error) && answer.named && answer.status === 'I') {
      this.#statements.reset();
      answer = await this.#planned([statement], build, decodeAnswer, false);
    }
    this.#status = answer.status;
    if (answer.error) throw answer.error;
    return answer.result;
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
    const answer = decodeAnswer(await this.#send(message));
    this.#status = answer.status;
    if (answer.error) throw answer.error;
    return answer.result;
  }

  /** Sends `message`; the whole answer, valid until the next exchange. */
  async #send(message: Uint8Array): Promise<Buffer> {
    this.#received = 0;
    await this.#pglite.execProtocolRawStream(message, { syncToFs: false, onRawData: this.#receive });
    return this.#inbox.subarray(0, this.#received);
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
