/**
 * Who may see a change (DESIGN.md "Realtime", API.md §9): RLS first, then the subscription filter.
 * Pure: the hub runs the statements in DbGateway sessions of the viewers' role.
 *
 * A change is visible to a viewer when the viewer could SELECT its row image — the new row of an
 * INSERT or UPDATE, the old row of a DELETE (so a DELETE reaches only those who could read the row
 * just before it went). `realtime.visible` (migrations/app/0006_realtime.sql) evaluates the table's
 * SELECT policies for the session's role over the images, once per viewer group (role, user): one
 * statement per table per role evaluates every end user of the batch with that user's claims, instead
 * of one transaction per user.
 */
import type { DbRole, SqlResult, SqlStatement } from '../../shared/contracts.ts';
import type { ChangeRow } from './change-feed.ts';

/** Who a socket is, for RLS: its role and end user. */
export interface Viewer {
  role: DbRole;
  userId: string | null;
}

/** The viewer group key: `service`, `anon` or `user:{id}`. */
export function viewerKey(viewer: Viewer): string {
  return viewer.role === 'user' ? `user:${viewer.userId}` : viewer.role;
}

/** The row image RLS and filters look at: the old row of a DELETE, else the new row. */
export function imageOf(row: ChangeRow): Record<string, unknown> | null {
  return row.op === 'DELETE' ? row.old_record : row.record;
}

/** One role's visibility check: which tables, and for role user which users of each. */
export interface VisibilityCheck {
  role: 'anon' | 'user';
  statements: SqlStatement[];
  /** The rows each statement checks, in order (the function's idx is 1-based into these). */
  rowsPerStatement: ChangeRow[][];
}

/**
 * The statements checking `rows` for the viewers of one role: per table with rows, one call of
 * `realtime.visible(table, images, users)`. `usersByTable` names the end users subscribed to each table
 * (role user), or is `[null]` per table for anon (the session's own claims).
 */
export function visibilityCheck(role: 'anon' | 'user', rows: ChangeRow[], usersByTable: Map<string, (string | null)[]>): VisibilityCheck {
  const statements: SqlStatement[] = [];
  const rowsPerStatement: ChangeRow[][] = [];
  for (const [table, users] of usersByTable) {
    const tableRows = rows.filter((row) => row.table_name === table && imageOf(row) !== null);
    if (tableRows.length === 0 || users.length === 0) continue;
    statements.push({
      query: 'SELECT user_id, idx FROM realtime.visible($1, $2::jsonb, $3::text[])',
      params: [table, JSON.stringify(tableRows.map(imageOf)), users],
    });
    rowsPerStatement.push(tableRows);
  }
  return { role, statements, rowsPerStatement };
}

/** Reads the results of a {@link visibilityCheck}: viewer key → ids of the changes it may see. */
export function parseVisibility(check: VisibilityCheck, results: SqlResult[]): Map<string, Set<number>> {
  const visible = new Map<string, Set<number>>();
  results.forEach((result, index) => {
    const rows = check.rowsPerStatement[index]!;
    for (const hit of result.rows) {
      const key = check.role === 'anon' ? 'anon' : `user:${String(hit.user_id)}`;
      const row = rows[Number(hit.idx) - 1];
      if (!row) continue;
      let ids = visible.get(key);
      if (!ids) visible.set(key, (ids = new Set()));
      ids.add(row.id);
    }
  });
  return visible;
}

/** A subscription filter (API.md §9): exact equality per column. */
export type Filter = Record<string, string | number | boolean | null>;

/**
 * True when the change's row image matches every key of `filter` (no filter: always). Scalars compare
 * by their text, so `{room_id: 5}` and `{room_id: "5"}` both match a room_id of 5; null matches null.
 */
export function matchesFilter(filter: Filter | null, row: ChangeRow): boolean {
  if (filter === null) return true;
  const image = imageOf(row);
  if (image === null) return false;
  for (const [column, expected] of Object.entries(filter)) {
    const actual = image[column];
    if (expected === null || actual === null || actual === undefined) {
      if (!(expected === null && (actual === null || actual === undefined))) return false;
      continue;
    }
    if (typeof actual === 'object') {
      if (JSON.stringify(actual) !== JSON.stringify(expected)) return false;
    } else if (String(actual) !== String(expected)) {
      return false;
    }
  }
  return true;
}
