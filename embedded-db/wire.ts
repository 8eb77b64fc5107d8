/**
 * The wire format the direct PGlite driver (pglite-session.ts) speaks, written to match what the
 * node-postgres driver exchanged through PGlite's shim byte for byte:
 * - {@link extendedQuery} lays out one statement's frontend messages as PGlite's copy of
 *   node-postgres's serializer does, parameters converted by node-postgres's own `prepareValue`;
 * - {@link decodeAnswer} reads the backend messages into what node-postgres built from PGlite's
 *   parser: the result (fields with signed 32-bit OIDs, text values, the command tag read by
 *   node-postgres's pattern) and the first ErrorResponse as a `DatabaseError`-shaped error.
 * Message layouts: PostgreSQL protocol, "Message Formats".
 */
import { createRequire } from 'node:module';
import { protocol } from '@electric-sql/pglite';
import type { FieldDescription, Statement, StatementResult } from './backend.ts';

const { serialize } = protocol;

/** node-postgres's parameter conversion (null, text, arrays as array literals, objects as JSON). */
const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils.js') as {
  prepareValue: (value: unknown) => string | null;
};

/** node-postgres's reading of a CommandComplete tag (`INSERT 0 3`, `SELECT 1`, `CREATE TABLE`). */
const commandTag = /^([A-Za-z]+)(?: (\d+))?(?: (\d+))?/;

/** The fixed tail of a statement's messages: Describe portal "", Execute "" (no row limit), Sync. */
const describeExecute = Buffer.concat([serialize.describe({ type: 'P', name: '' }), serialize.execute({})]);
const sync = Buffer.from(serialize.sync());
const describeExecuteSync = Buffer.concat([describeExecute, sync]);

/**
 * Sent after a statement that may be a COPY: outside COPY, Postgres ignores a CopyFail and the Sync
 * only adds a ReadyForQuery; after `COPY … FROM STDIN` (which ignores the first Sync) it ends the copy
 * with an error (57014) instead of leaving PGlite waiting for data it then exits over. node-postgres
 * fails such a COPY with the same reason.
 */
const copyGuard = Buffer.concat([serialize.copyFail('No source stream defined'), serialize.sync()]);
const describeExecuteSyncGuarded = Buffer.concat([describeExecuteSync, copyGuard]);

/**
 * Only a statement naming COPY can start copy-in mode: PL/pgSQL and SQL functions refuse COPY to or
 * from the client, and PREPARE does not take COPY. A false match only costs the guard.
 */
const mayCopy = /copy/i;

/**
 * An ErrorResponse, with node-postgres's field names (what PGlite's parser and node-postgres's
 * `DatabaseError` carry), so the endpoint reports it as before.
 */
export class PostgresErrorResponse extends Error {
  severity: string | undefined;
  code: string | undefined;
  detail: string | undefined;
  hint: string | undefined;
  position: string | undefined;
  internalPosition: string | undefined;
  internalQuery: string | undefined;
  where: string | undefined;
  schema: string | undefined;
  table: string | undefined;
  column: string | undefined;
  dataType: string | undefined;
  constraint: string | undefined;
  file: string | undefined;
  line: string | undefined;
  routine: string | undefined;

  constructor(fields: Record<string, string>) {
    super(fields.M);
    this.severity = fields.S;
    this.code = fields.C;
    this.detail = fields.D;
    this.hint = fields.H;
    this.position = fields.P;
    this.internalPosition = fields.p;
    this.internalQuery = fields.q;
    this.where = fields.W;
    this.schema = fields.s;
    this.table = fields.t;
    this.column = fields.c;
    this.dataType = fields.d;
    this.constraint = fields.n;
    this.file = fields.F;
    this.line = fields.L;
    this.routine = fields.R;
  }
}

/** Transaction status from ReadyForQuery: idle, in a transaction block, in a failed one. */
export type TransactionStatus = 'I' | 'T' | 'E';

/** What one exchange answered: its result, its first error, the last transaction status. */
export interface Answer {
  result: StatementResult;
  error: PostgresErrorResponse | undefined;
  status: TransactionStatus;
}

/**
 * Reads the whole answer to one statement (complete messages up to the last ReadyForQuery), as
 * {@link decodePipeline} reads it.
 * @throws Error when a message is cut short (PGlite answers whole messages)
 */
export function decodeAnswer(data: Buffer): Answer {
  const { results, partial, error, status } = decodePipeline(data);
  return { result: results[0] ?? partial, error, status };
}

/** Sets `result`'s command and row count from the CommandComplete tag at `start`. */
function readCommandTag(result: StatementResult, data: Buffer, start: number): void {
  const match = commandTag.exec(text(data, start, data.indexOf(0, start)));
  if (match) {
    result.command = match[1]!;
    const count = match[3] ?? match[2];
    if (count !== undefined) result.rowCount = Number.parseInt(count, 10);
  }
}

/** PGlite's parser decodes text with a default TextDecoder, which drops a leading byte-order mark. */
const bomDecoder = new TextDecoder('utf-8');

function text(data: Buffer, start: number, end: number): string {
  if (end - start >= 3 && data[start] === 0xef && data[start + 1] === 0xbb && data[start + 2] === 0xbf) {
    return bomDecoder.decode(data.subarray(start, end));
  }
  return data.toString('utf8', start, end);
}

function rowDescription(data: Buffer, at: number): FieldDescription[] {
  const count = data.readInt16BE(at);
  at += 2;
  const fields: FieldDescription[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const nul = data.indexOf(0, at);
    const name = text(data, at, nul);
    at = nul + 1;
    // Signed, as PGlite's parser reads them (node-postgres's own parser reads OIDs unsigned).
    fields[i] = {
      name,
      tableID: data.readInt32BE(at),
      columnID: data.readInt16BE(at + 4),
      dataTypeID: data.readInt32BE(at + 6),
      dataTypeSize: data.readInt16BE(at + 10),
      dataTypeModifier: data.readInt32BE(at + 12),
    };
    at += 18;
  }
  return fields;
}

function dataRow(data: Buffer, at: number): (string | null)[] {
  const count = data.readInt16BE(at);
  at += 2;
  const values: (string | null)[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const length = data.readInt32BE(at);
    at += 4;
    if (length === -1) {
      values[i] = null;
    } else {
      values[i] = text(data, at, at + length);
      at += length;
    }
  }
  return values;
}

function errorResponse(data: Buffer, at: number, end: number): PostgresErrorResponse {
  const fields: Record<string, string> = {};
  while (at < end && data[at] !== 0) {
    const type = String.fromCharCode(data[at]!);
    const nul = data.indexOf(0, at + 1);
    fields[type] = text(data, at + 1, nul);
    at = nul + 1;
  }
  return new PostgresErrorResponse(fields);
}

/**
 * Parse (unnamed statement, no declared parameter types), Bind (unnamed portal, every parameter and
 * result in text format), the fixed tail and, when the text names COPY, the copy guard, in one buffer, byte for byte as PGlite's copy of
 * node-postgres's serializer lays out the messages node-postgres sent through PGlite's shim
 * (PostgreSQL protocol, "Message Formats": Parse, Bind).
 */
export function extendedQuery(statement: Statement, plan: StatementPlan = unnamed): Uint8Array {
  const guard = mayCopy.test(statement.query);
  return statementMessages(statement, guard ? describeExecuteSyncGuarded : describeExecuteSync, plan);
}

/**
 * Which prepared statement a statement's messages use (PostgreSQL protocol, "Extended Query"):
 * `name` '' is the unnamed statement, parsed every time; a named one is parsed once (`parse`) and
 * afterwards only bound, so Postgres skips parsing, analysis and (once its plan cache settles on a
 * generic plan) planning. See statement-cache.ts.
 */
export interface StatementPlan {
  name: string;
  parse: boolean;
}

const unnamed: StatementPlan = { name: '', parse: true };

/** Close (statement) messages for `names` (Postgres answers CloseComplete, also for a name it does not know). */
export function closeStatements(names: string[]): Buffer {
  return Buffer.concat(names.map((name) => serialize.close({ type: 'S', name })));
}

/** Whether a statement's text may start a COPY (then it gets the copy guard and a Sync of its own). */
export function mayStartCopy(statement: Statement): boolean {
  return mayCopy.test(statement.query);
}

/**
 * Several statements as one pipeline (PostgreSQL protocol, "Pipelining"): each statement's Parse,
 * Bind, Describe portal and Execute, and a single Sync at the end. Postgres runs them in order and,
 * after an error, skips everything up to the Sync, so nothing after a failing statement runs: the
 * same outcome as a Sync after each statement with the sender stopping at the first error, in one
 * exchange. Statements that may COPY are not pipelined (see {@link mayStartCopy}).
 */
export function pipelinedQuery(statements: Statement[], plans?: StatementPlan[]): Uint8Array {
  const parts = statements.map((statement, i) => statementMessages(statement, describeExecute, plans?.[i] ?? unnamed));
  parts.push(sync);
  return Buffer.concat(parts);
}

/**
 * Reads the answer of a {@link pipelinedQuery} (or of one statement): one result per statement that
 * ran (each ends at its CommandComplete or EmptyQueryResponse), what an unfinished one had read when
 * an error stopped it (`partial`), the first error and the transaction status of the last
 * ReadyForQuery. Notices, parameter status, notifications and the protocol's acknowledgements are
 * skipped, as node-postgres without listeners skipped them.
 * @throws Error when a message is cut short (PGlite answers whole messages)
 */
export function decodePipeline(data: Buffer): { results: StatementResult[]; partial: StatementResult; error: PostgresErrorResponse | undefined; status: TransactionStatus } {
  const results: StatementResult[] = [];
  let result: StatementResult = { command: null, rowCount: null, fields: [], rows: [] };
  let error: PostgresErrorResponse | undefined;
  let status: TransactionStatus = 'I';
  let offset = 0;
  while (offset < data.length) {
    if (offset + 5 > data.length) throw new Error('truncated backend message');
    const code = data[offset]!;
    const end = offset + 1 + data.readUInt32BE(offset + 1);
    if (end > data.length) throw new Error('truncated backend message');
    const start = offset + 5;
    switch (code) {
      case 0x54: // 'T' RowDescription
        result.fields = rowDescription(data, start);
        break;
      case 0x44: // 'D' DataRow
        result.rows.push(dataRow(data, start));
        break;
      case 0x43: // 'C' CommandComplete: this statement is done
        readCommandTag(result, data, start);
        results.push(result);
        result = { command: null, rowCount: null, fields: [], rows: [] };
        break;
      case 0x49: // 'I' EmptyQueryResponse
        results.push(result);
        result = { command: null, rowCount: null, fields: [], rows: [] };
        break;
      case 0x45: // 'E' ErrorResponse
        error ??= errorResponse(data, start, end);
        break;
      case 0x5a: // 'Z' ReadyForQuery
        status = String.fromCharCode(data[start]!) as TransactionStatus;
        break;
    }
    offset = end;
  }
  return { results, partial: result, error, status };
}

function statementMessages({ query, params }: Statement, tail: Buffer, plan: StatementPlan): Buffer {
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
  const nameBytes = Buffer.byteLength(plan.name, 'latin1');
  const parseLength = plan.parse ? 4 + nameBytes + 1 + Buffer.byteLength(query, 'utf8') + 1 + 2 : 0;
  const bindLength = 4 + 1 + nameBytes + 1 + 2 + 2 * count + 2 + valueBytes + 2;
  const out = Buffer.allocUnsafe((plan.parse ? 1 + parseLength : 0) + 1 + bindLength + tail.length);
  let at = 0;
  if (plan.parse) {
    out[at++] = 0x50; // 'P'
    at = out.writeInt32BE(parseLength, at);
    at += out.write(plan.name, at, 'latin1'); // '' = the unnamed statement
    out[at++] = 0;
    at += out.write(query, at, 'utf8');
    out[at++] = 0;
    at = out.writeUInt16BE(0, at); // no parameter types: the server infers them, as from node-postgres
  }
  out[at++] = 0x42; // 'B'
  at = out.writeInt32BE(bindLength, at);
  out[at++] = 0; // unnamed portal
  at += out.write(plan.name, at, 'latin1');
  out[at++] = 0; // end of the statement's name
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
  tail.copy(out, at);
  return out;
}
