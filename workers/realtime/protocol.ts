/**
 * The realtime wire protocol (API.md §9): client messages as parsed by the hub, with the error texts
 * the reference server sends (`Invalid JSON`, `Missing "table" field`, `Unknown message type: X`, …),
 * and the server messages. Pure, so every malformed shape is unit-tested.
 */
import type { ChangeRow, } from './services/change-feed.ts';
import type { Filter } from './services/visibility.ts';

/** A client message the hub acts on. */
export type ClientMessage =
  | { type: 'subscribe'; table: string; filter: Filter | null; since: number | null }
  | { type: 'unsubscribe'; table: string }
  | { type: 'presence_track'; metadata: Record<string, unknown> }
  | { type: 'presence_update'; metadata: Record<string, unknown> }
  | { type: 'event'; event: string; payload: unknown };

/** A message the hub refuses: the `error` text to send back (the socket stays open). */
export interface ProtocolError {
  error: string;
}

const maxFilterKeys = 16;

/** A resume cursor: a change id (non-negative integer, as a number or a decimal string). */
export function parseSince(value: unknown): number | null | undefined {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string' && /^\d{1,15}$/.test(value)) return Number(value);
  return undefined;
}

function parseFilter(value: unknown): Filter | null | undefined {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) return undefined;
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > maxFilterKeys) return undefined;
  for (const [, v] of entries) {
    if (v !== null && typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return undefined;
  }
  return entries.length === 0 ? null : (value as Filter);
}

function metadataOf(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** Parses one text frame. Out: the message, or the error text to answer with. */
export function parseClientMessage(text: string): ClientMessage | ProtocolError {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return { error: 'Invalid JSON' };
  }
  const body = message !== null && typeof message === 'object' && !Array.isArray(message) ? (message as Record<string, unknown>) : {};
  switch (body.type) {
    case 'subscribe': {
      if (typeof body.table !== 'string' || body.table === '') return { error: 'Missing "table" field' };
      const filter = parseFilter(body.filter);
      if (filter === undefined) return { error: `Invalid "filter" field: expected an object of at most ${maxFilterKeys} columns, each a string, number, boolean or null` };
      const since = parseSince(body.since);
      if (since === undefined) return { error: 'Invalid "since" field: expected a change id (a non-negative integer)' };
      return { type: 'subscribe', table: body.table, filter, since };
    }
    case 'unsubscribe':
      if (typeof body.table !== 'string' || body.table === '') return { error: 'Missing "table" field' };
      return { type: 'unsubscribe', table: body.table };
    case 'presence_track':
    case 'presence_update':
      return { type: body.type, metadata: metadataOf(body.metadata) };
    case 'event':
      if (typeof body.event !== 'string' || body.event === '') return { error: 'Missing "event" field' };
      return { type: 'event', event: body.event, payload: body.payload };
    default:
      return { error: `Unknown message type: ${typeof body.type === 'string' ? body.type : String(body.type)}` };
  }
}

/** The `change` message of a row (API.md §9, plus its `id` for resuming). */
export function changeMessage(row: ChangeRow): string {
  return JSON.stringify({
    type: 'change',
    id: row.id,
    table: row.table_name,
    op: row.op,
    record: row.op === 'DELETE' ? null : row.record,
    old_record: row.op === 'INSERT' ? null : row.old_record,
    timestamp: row.created_at,
  });
}

/** The `error` message. */
export function errorMessage(message: string, code?: string): string {
  return JSON.stringify(code ? { type: 'error', code, message } : { type: 'error', message });
}
