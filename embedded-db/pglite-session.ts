/**
 * The direct PGlite session: each statement is one call into PGlite's wire protocol
 * (`execProtocolRawSync`) carrying the messages node-postgres would send for it — Parse, Bind (text
 * parameters, prepared by node-postgres's own `prepareValue`), Describe portal, Execute, Sync — and
 * the answer is decoded with PGlite's own protocol parser into the result node-postgres would build.
 * So the endpoint's answers match the node-postgres path (pg-session.ts) field for field, minus its
 * costs: node-postgres's client machinery, five separate PGlite calls per statement (one per message),
 * and the promise queue of PGlite's shim.
 *
 * Callers hold the database's mutex (backend.ts), which is the only serialisation PGlite needs here:
 * the raw calls are synchronous and bypass PGlite's own query locks, and nothing else uses the instance.
 * A batch keeps node-postgres's flow (Postgres's "extended query" flow with a Sync after each
 * statement, as Neon runs batches): `BEGIN …` once, each statement, `COMMIT`; after an error the rest
 * is not sent and `ROLLBACK` is. {@link PgliteSession.release} rolls back anything a request left open
 * (a lone `BEGIN`), so no transaction — and nothing `SET LOCAL` — outlives its request.
 */
import { createRequire } from 'node:module';
import { protocol, type messages, type PGlite } from '@electric-sql/pglite';
import { beginStatement, type BatchOptions, type SqlSession, type Statement, type StatementResult } from './backend.ts';

const { serialize, Parser } = protocol;

/** node-postgres's parameter conversion (null, text, arrays as array literals, objects as JSON). */
const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils.js') as {
  prepareValue: (value: unknown) => string | null;
};

/** node-postgres's reading of a CommandComplete tag (`INSERT 0 3`, `SELECT 1`, `CREATE TABLE`). */
const commandTag = /^([A-Za-z]+)(?: (\d+))?(?: (\d+))?/;

/** Reply of the COPY FROM STDIN node-postgres also refuses: the endpoint has no stream to read. */
const copyFail = 'No source stream defined';

/** Transaction status from ReadyForQuery: idle, in a transaction block, in a failed one. */
type TransactionStatus = 'I' | 'T' | 'E';

/** {@link SqlSession} on one open PGlite instance (see the file comment). */
export class PgliteSession implements SqlSession {
  readonly #pglite: PGlite;
  #parser = new Parser();
  #status: TransactionStatus = 'I';

  constructor(pglite: PGlite) {
    this.#pglite = pglite;
  }

  async query(statement: Statement): Promise<StatementResult> {
    return this.#extended(statement);
  }

  async transaction(statements: Statement[], options: BatchOptions): Promise<StatementResult[]> {
    this.#simple(beginStatement(options));
    try {
      const results = statements.map((statement) => this.#extended(statement));
      this.#simple('COMMIT');
      return results;
    } catch (error) {
      this.#rollback();
      throw error;
    }
  }

  /** Ends the request: rolls back a transaction it left open, so the next request starts clean. */
  release(): void {
    if (this.#status !== 'I') this.#rollback();
  }

  #rollback(): void {
    try {
      this.#simple('ROLLBACK');
    } catch {
      // As node-postgres's path: a failed ROLLBACK leaves the original error to report.
    }
  }

  /** One statement, as node-postgres sends it with `queryMode: 'extended'` and no row limit. */
  #extended({ query, params }: Statement): StatementResult {
    return this.#exchange(
      concat([
        serialize.parse({ text: query }),
        serialize.bind({ values: params as never[], valueMapper: prepareValue as never }),
        serialize.describe({ type: 'P', name: '' }),
        serialize.execute({}),
        serialize.sync(),
      ]),
    );
  }

  /** A simple-protocol statement (transaction control, as node-postgres sends it). */
  #simple(query: string): StatementResult {
    return this.#exchange(serialize.query(query));
  }

  /**
   * Sends `message`, reads the whole answer up to ReadyForQuery and builds node-postgres's result.
   * @throws the first ErrorResponse, as PGlite's parser decodes it (node-postgres's `DatabaseError` fields)
   */
  #exchange(message: Uint8Array): StatementResult {
    const result: StatementResult = { command: null, rowCount: null, fields: [], rows: [] };
    let error: messages.DatabaseError | undefined;
    let copyIn = false;
    const onMessage = (msg: messages.BackendMessage) => {
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
        case 'copyInResponse':
          copyIn = true;
          break;
        case 'readyForQuery':
          this.#status = (msg as messages.ReadyForQueryMessage).status as TransactionStatus;
          break;
        // Notices are dropped, as node-postgres drops them without a listener; the rest carry nothing.
      }
    };
    this.#receive(this.#pglite.execProtocolRawSync(message), onMessage);
    // Copy-in mode ignores Sync: end it as node-postgres does (CopyFail), then sync again.
    if (copyIn) this.#receive(this.#pglite.execProtocolRawSync(concat([serialize.copyFail(copyFail), serialize.sync()])), onMessage);
    if (error) throw error;
    return result;
  }

  #receive(data: Uint8Array, onMessage: (msg: messages.BackendMessage) => void): void {
    try {
      this.#parser.parse(data, onMessage);
    } catch (error) {
      this.#parser = new Parser();
      throw error;
    }
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.byteLength;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
