/**
 * Reading `realtime.changes` without loss (DESIGN.md "Realtime"). Pure: the hub runs the statements
 * through a DbGateway session of role service and keeps the {@link FeedState} in its storage; tests run
 * them against a real Postgres with transactions committing out of id order.
 *
 * Change ids come from a sequence, so they increase in the order transactions *draw* them, not the
 * order they commit: transaction A may draw id 5, B id 6, and B commit first. A reader that delivers 6
 * and moves its cursor past it never sees 5. So the feed only delivers ids below a watermark every
 * transaction that could still hold one has finished:
 *
 * 1. Each poll first reads the sequence's last value L (not subject to snapshots), then, in a later
 *    statement, a snapshot S and the visible changes. A transaction that holds an id ≤ L drew it before
 *    L was read and had its transaction id before that (the capture trigger reads
 *    `pg_current_xact_id()` first), so it is finished at S or in progress at S — listed in S's xip, or
 *    at or past S's xmax, which is the latest *completed* xid + 1 (a running transaction newer than
 *    every completed one is not listed). The poll records the fence (L, those in progress).
 * 2. A fence is cleared once none of its transactions is in progress in a later snapshot: then every
 *    id ≤ L is final, and committed ones are visible. The highest cleared L is the safe watermark;
 *    changes up to it are delivered in id order, and the cursor moves to it.
 * Only transactions that wrote a change can hold one, and each holds a lock on realtime.changes from
 * before it drew its id until it ends, so the fence keeps just the in-progress transactions that held
 * that lock when the poll read pg_locks (after L, before S): one still running at S is in the list,
 * one not in the list had ended before S. With no change being written, a poll clears its own fence
 * at once; an unrelated long transaction never holds delivery back. While a transaction that wrote a
 * change stays open, later ids wait for it (ordered, lossless delivery requires it).
 *
 * A fresh feed starts at the current L; changes of transactions in flight at that moment (ids ≤ L,
 * transaction ids in xip) are `pending`: delivered once those transactions end, before any later id.
 * Source: PostgreSQL docs, "System Information Functions" (pg_current_snapshot, pg_current_xact_id,
 * snapshot xmin/xmax/xip) and "Sequence Manipulation Functions".
 */
import type { SqlResult, SqlStatement } from '../../shared/contracts.ts';

/** A captured row change as the feed reads it (API.md §9 `change`, plus its id). */
export interface ChangeRow {
  id: number;
  table_name: string;
  op: 'INSERT' | 'UPDATE' | 'DELETE';
  record: Record<string, unknown> | null;
  old_record: Record<string, unknown> | null;
  /** ISO-8601 time of the change. */
  created_at: string;
}

/** Ids ≤ `lastId` are final once none of the transactions `xids` (decimal xid8) is in progress. */
export interface Fence {
  lastId: number;
  xids: string[];
}

/** Where a feed stands (kept in the hub's storage; JSON-safe). */
export interface FeedState {
  /** Every change with id ≤ cursor has been delivered (except `pending` ones). */
  cursor: number;
  /** Every id ≤ safe is final (safe ≥ cursor; larger when a page limit stopped delivery early). */
  safe: number;
  /** Fences not cleared yet, oldest first. */
  fences: Fence[];
  /**
   * Changes with `after` < id ≤ `upTo` of the transactions `xids` that were in flight when the feed
   * started: delivered once they all ended, before any later id.
   */
  pending: { after: number; upTo: number; xids: string[] } | null;
}

/** A parsed `pg_current_snapshot()`: transactions in progress (decimal xid8). */
export interface Snapshot {
  xmin: string;
  xmax: string;
  inProgress: Set<string>;
}

/** One poll's readings. */
export interface PollResult {
  /** The sequence's last value when the poll began (0 before the first change). */
  lastId: number;
  snapshot: Snapshot;
  /** Highest change id pruned so far (older resume cursors have lost changes). */
  prunedThrough: number;
  /** Visible changes after the cursor (and pending ones), in id order, at most the page limit. */
  rows: ChangeRow[];
  /** Low 32 bits (decimal) of the transactions holding a lock on realtime.changes before the snapshot. */
  writers: Set<string>;
}

/** Fences kept at most; dropping the oldest only delays delivery, it never loses a change. */
const maxFences = 64;

/** Parses `xmin:xmax:xip,xip,…` (PostgreSQL's pg_snapshot text form). */
export function parseSnapshot(text: string): Snapshot {
  const [xmin = '0', xmax = '0', list = ''] = text.split(':');
  return { xmin, xmax, inProgress: new Set(list === '' ? [] : list.split(',')) };
}

const lastIdQuery = `SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS last_id FROM realtime.changes_id_seq`;

/**
 * Transactions holding a lock on realtime.changes (pg_locks is live, not snapshot-bound), matched to
 * their transaction id by virtual transaction, so prepared transactions count too.
 */
const writersQuery = `SELECT COALESCE(array_agg(DISTINCT t.transactionid::text), '{}') AS writers
  FROM pg_catalog.pg_locks r JOIN pg_catalog.pg_locks t ON t.virtualtransaction = r.virtualtransaction AND t.locktype = 'transactionid'
 WHERE r.locktype = 'relation' AND r.relation = 'realtime.changes'::regclass AND r.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())`;

const changeColumns = `id, table_name, op, record, old_record, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at`;

/**
 * The statements of one poll (one read-only transaction, role service): the sequence's last value,
 * then snapshot, prune watermark and the visible changes after `state.cursor` (plus pending ones), at
 * most `limit`. Without a state (a fresh feed) no changes are read.
 */
export function pollStatements(state: FeedState | null, limit: number): SqlStatement[] {
  const rows = state
    ? `COALESCE((SELECT json_agg(c ORDER BY c.id) FROM (
         SELECT ${changeColumns} FROM realtime.changes
          WHERE id > $1 OR (id > $2 AND id <= $3 AND xid = ANY ($4::xid8[]))
          ORDER BY id LIMIT $5) c), '[]'::json)`
    : `'[]'::json`;
  const params = state ? [state.cursor, state.pending?.after ?? 0, state.pending?.upTo ?? 0, state.pending?.xids ?? [], limit] : [];
  return [
    { query: lastIdQuery },
    { query: writersQuery },
    {
      query: `SELECT pg_current_snapshot()::text AS snapshot, (SELECT pruned_through FROM realtime.state) AS pruned_through, ${rows} AS rows`,
      params,
    },
  ];
}

/** Reads the results of {@link pollStatements}. */
export function parsePoll(results: SqlResult[]): PollResult {
  const head = results[2]!.rows[0]!;
  return {
    lastId: Number(results[0]!.rows[0]?.last_id ?? 0),
    writers: new Set((results[1]!.rows[0]?.writers ?? []) as string[]),
    snapshot: parseSnapshot(String(head.snapshot)),
    prunedThrough: Number(head.pruned_through ?? 0),
    rows: ((head.rows ?? []) as ChangeRow[]).map((row) => ({ ...row, id: Number(row.id) })),
  };
}

/**
 * True when transaction `xid` (decimal xid8) is in progress in `snapshot`. A snapshot's xmax is the
 * latest *completed* xid + 1, so a transaction that is still running with an xid ≥ xmax is not in the
 * xip list: it is in progress by being at or past xmax.
 */
export function inProgressAt(snapshot: Snapshot, xid: string): boolean {
  return snapshot.inProgress.has(xid) || BigInt(xid) >= BigInt(snapshot.xmax);
}

/** The full xid8 of a 32-bit xid (pg_locks' `transactionid`), taking the epoch nearest `reference`. */
function widenXid(xid32: string, reference: bigint): bigint {
  const wrap = 0x1_0000_0000n;
  let full = (reference & ~(wrap - 1n)) | BigInt(xid32);
  if (full > reference + wrap / 2n) full -= wrap;
  else if (full < reference - wrap / 2n) full += wrap;
  return full;
}

/**
 * The transactions of a poll that may still hold a change id: those that held the changes lock when
 * pg_locks was read and are in progress in the later snapshot (decimal xid8).
 */
function holders(poll: PollResult): string[] {
  const xmax = BigInt(poll.snapshot.xmax);
  return [...poll.writers].map((xid) => String(widenXid(xid, xmax))).filter((xid) => inProgressAt(poll.snapshot, xid)).sort();
}

/** The state of a feed starting now, from a poll made without a state. */
export function startFeed(poll: PollResult): FeedState {
  const xids = holders(poll);
  return { cursor: poll.lastId, safe: poll.lastId, fences: [], pending: xids.length > 0 ? { after: 0, upTo: poll.lastId, xids } : null };
}

/** What a poll lets the feed deliver. */
export interface Advance {
  state: FeedState;
  /** Changes to deliver now, in id order. */
  deliver: ChangeRow[];
  /** True when the page limit stopped delivery: poll again at once. */
  more: boolean;
}

/**
 * Applies one poll to the feed: clears fences whose transactions ended, delivers the changes up to
 * the safe watermark (pending ones first, once their transactions ended) and moves the cursor.
 */
export function advance(state: FeedState, poll: PollResult, limit: number): Advance {
  const finished = (xids: string[]) => xids.every((xid) => !inProgressAt(poll.snapshot, xid));
  const fence = { lastId: poll.lastId, xids: holders(poll) };
  const previous = state.fences.at(-1);
  const same = previous !== undefined && previous.lastId === fence.lastId && previous.xids.join() === fence.xids.join();
  const fences = same ? state.fences : [...state.fences, fence];
  let safe = state.safe;
  for (const fence of fences) if (finished(fence.xids)) safe = Math.max(safe, fence.lastId);
  const open = fences.filter((fence) => fence.lastId > safe && !finished(fence.xids)).slice(-maxFences);
  if (state.pending !== null && !finished(state.pending.xids)) {
    // Not yet: the transactions of the feed's start still run, so nothing later may go out before them.
    return { state: { ...state, safe, fences: open }, deliver: [], more: false };
  }
  // The query returns pending rows (≤ cursor) and rows after the cursor; everything up to `safe` goes.
  const deliver = poll.rows.filter((row) => row.id <= safe);
  const last = poll.rows.at(-1);
  // A full page whose last row is deliverable may have stopped short of `safe`: poll again from there.
  const cutShort = poll.rows.length >= limit && last !== undefined && last.id <= safe;
  if (!cutShort) return { state: { cursor: Math.max(state.cursor, safe), safe, fences: open, pending: null }, deliver, more: false };
  const cursor = Math.max(state.cursor, last.id);
  // A page that ended inside the pending changes leaves the rest of them for the next poll.
  const pending = state.pending !== null && last.id <= state.cursor ? { ...state.pending, after: last.id } : null;
  return { state: { cursor, safe, fences: open, pending }, deliver, more: true };
}

/** Statements reading the changes after `after` up to `upTo` (final ids), at most `limit` (a resume's catch-up). */
export function catchUpStatements(after: number, upTo: number, limit: number): SqlStatement[] {
  return [{
    query: `SELECT (SELECT pruned_through FROM realtime.state) AS pruned_through,
       COALESCE((SELECT json_agg(c ORDER BY c.id) FROM (
         SELECT ${changeColumns} FROM realtime.changes WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3) c), '[]'::json) AS rows`,
    params: [after, upTo, limit],
  }];
}

/** Reads the result of {@link catchUpStatements}. */
export function parseCatchUp(results: SqlResult[]): { prunedThrough: number; rows: ChangeRow[] } {
  const head = results[0]!.rows[0]!;
  return {
    prunedThrough: Number(head.pruned_through ?? 0),
    rows: ((head.rows ?? []) as ChangeRow[]).map((row) => ({ ...row, id: Number(row.id) })),
  };
}
