/**
 * The realtime pieces that are pure: the change feed's watermark over out-of-order commits, the
 * client message parser's error texts, filters, hub placement and limits, and the router's
 * data-plane decision for realtime paths.
 */
import { describe, expect, it } from 'vitest';
import { classifyPath } from '../workers/router/routes.ts';
import { parseClientMessage } from '../workers/realtime/protocol.ts';
import { advance, parseSnapshot, startFeed, type ChangeRow, type FeedState, type PollResult } from '../workers/realtime/services/change-feed.ts';
import { hubLimits, shardFor } from '../workers/realtime/services/hubs.ts';
import { matchesFilter } from '../workers/realtime/services/visibility.ts';
import { closeCodeFor } from '../workers/shared/websocket.ts';
import { ApiError } from '../workers/shared/errors.ts';

const row = (id: number, record: Record<string, unknown> = {}, op: ChangeRow['op'] = 'INSERT'): ChangeRow => ({
  id, table_name: 't', op, record: op === 'DELETE' ? null : record, old_record: op === 'INSERT' ? null : record, created_at: '2026-01-01T00:00:00.000Z',
});
/** A poll where every running transaction holds the changes lock unless `writers` says otherwise. */
const poll = (lastId: number, running: string[], rows: ChangeRow[], writers: string[] = running): PollResult => ({
  lastId, snapshot: parseSnapshot(`100:200:${running.join(',')}`), prunedThrough: 0, rows, writers: new Set(writers),
});

describe('the change feed watermark', () => {
  it('holds back a later id until the transaction holding an earlier one commits, then delivers both in id order', () => {
    let state: FeedState = startFeed(poll(0, [], []));
    // Transaction 150 drew id 1 and is still open; 151 drew id 2 and committed.
    let step = advance(state, poll(2, ['150'], [row(2)]), 100);
    expect(step.deliver).toEqual([]);
    state = step.state;
    expect(state.cursor).toBe(0);
    step = advance(state, poll(2, [], [row(1), row(2)]), 100);
    expect(step.deliver.map((r) => r.id)).toEqual([1, 2]);
    expect(step.state.cursor).toBe(2);
    // Nothing is delivered twice.
    expect(advance(step.state, poll(2, [], []), 100).deliver).toEqual([]);
  });

  it('delivers up to a fence whose transactions ended even while newer ones run', () => {
    let state = startFeed(poll(0, [], []));
    state = advance(state, poll(3, ['150'], [row(1), row(2)]), 100).state;
    // 150 ended; 160 (which may hold id 4) runs: ids ≤ 3 are final, 4 is not.
    const step = advance(state, poll(4, ['160'], [row(1), row(2), row(3), row(4)]), 100);
    expect(step.deliver.map((r) => r.id)).toEqual([1, 2, 3]);
    expect(step.state.cursor).toBe(3);
  });

  it('does not wait for running transactions that never wrote a change', () => {
    const state = startFeed(poll(0, ['140'], [], []));
    expect(state.pending).toBeNull();
    const step = advance(state, poll(2, ['140', '150'], [row(1), row(2)], ['150']), 100);
    expect(step.deliver).toEqual([]);
    const next = advance(step.state, poll(2, ['140'], [row(1), row(2)], []), 100);
    expect(next.deliver.map((r) => r.id)).toEqual([1, 2]);
  });

  it('starts at the head, delivering changes of transactions in flight at the start once they end, before later ids', () => {
    let state = startFeed(poll(10, ['150'], []));
    expect(state.pending).toEqual({ after: 0, upTo: 10, xids: ['150'] });
    let step = advance(state, poll(11, ['150'], [row(11)]), 100);
    expect(step.deliver).toEqual([]);
    state = step.state;
    step = advance(state, poll(11, [], [row(9), row(11)]), 100);
    expect(step.deliver.map((r) => r.id)).toEqual([9, 11]);
    expect(step.state).toMatchObject({ cursor: 11, pending: null });
  });

  it('counts a writer at or past the snapshot xmax as running (xmax is the latest completed xid + 1, not in xip)', () => {
    // Seen on Postgres 15: transaction 777 held the changes lock and had drawn id 13, and the next
    // snapshot read `777:777:` — 777 is running but not listed. Its id must wait.
    const state = startFeed(poll(12, [], []));
    const at = (lastId: number, snapshot: string, rows: ChangeRow[], writers: string[]): PollResult => ({
      lastId, snapshot: parseSnapshot(snapshot), prunedThrough: 0, rows, writers: new Set(writers),
    });
    const step = advance(state, at(13, '777:777:', [], ['777']), 100);
    expect(step.deliver).toEqual([]);
    expect(step.state.cursor).toBe(12);
    const next = advance(step.state, at(13, '778:778:', [row(13)], []), 100);
    expect(next.deliver.map((r) => r.id)).toEqual([13]);
    // A 32-bit pg_locks xid takes the snapshot's epoch.
    const epoch = 2n ** 32n;
    const wide = advance(startFeed(poll(0, [], [])), at(1, `${epoch + 5n}:${epoch + 5n}:`, [row(1)], ['5']), 100);
    expect(wide.deliver).toEqual([]);
    expect(wide.state.fences).toEqual([{ lastId: 1, xids: [String(epoch + 5n)] }]);
  });

  it('continues from the last delivered id when a page was full', () => {
    const state = startFeed(poll(0, [], []));
    const step = advance(state, poll(5, [], [row(1), row(2)]), 2);
    expect(step).toMatchObject({ more: true, state: { cursor: 2, safe: 5 } });
    const next = advance(step.state, poll(5, [], [row(3), row(5)]), 2);
    expect(next.deliver.map((r) => r.id)).toEqual([3, 5]);
    expect(next.state.cursor).toBe(5);
  });
});

describe('client messages', () => {
  const cases: [string, string][] = [
    ['{', 'Invalid JSON'],
    ['[]', 'Unknown message type: undefined'],
    ['{"type":"subscribe"}', 'Missing "table" field'],
    ['{"type":"subscribe","table":""}', 'Missing "table" field'],
    ['{"type":"unsubscribe"}', 'Missing "table" field'],
    ['{"type":"event"}', 'Missing "event" field'],
    ['{"type":"wave"}', 'Unknown message type: wave'],
    ['{"type":"subscribe","table":"t","filter":{"a":{"b":1}}}', 'Invalid "filter" field'],
    ['{"type":"subscribe","table":"t","since":"x"}', 'Invalid "since" field'],
  ];
  for (const [text, error] of cases) {
    it(`${text} → ${error}`, () => expect((parseClientMessage(text) as { error: string }).error).toContain(error));
  }

  it('parses subscribe with filter and since, presence metadata and events', () => {
    expect(parseClientMessage('{"type":"subscribe","table":"t","filter":{"room":5},"since":"42"}')).toEqual({ type: 'subscribe', table: 't', filter: { room: 5 }, since: 42 });
    expect(parseClientMessage('{"type":"presence_track","metadata":[1]}')).toEqual({ type: 'presence_track', metadata: {} });
    expect(parseClientMessage('{"type":"event","event":"ping","payload":{"x":1}}')).toEqual({ type: 'event', event: 'ping', payload: { x: 1 } });
  });
});

describe('subscription filters', () => {
  it('match by equality per key on the row image (the old row of a DELETE), scalars by their text', () => {
    expect(matchesFilter(null, row(1, { a: 1 }))).toBe(true);
    expect(matchesFilter({ room: '5' }, row(1, { room: 5 }))).toBe(true);
    expect(matchesFilter({ room: 5, kind: 'x' }, row(1, { room: 5, kind: 'y' }))).toBe(false);
    expect(matchesFilter({ room: null }, row(1, { room: null }))).toBe(true);
    expect(matchesFilter({ room: null }, row(1, { room: 'a' }))).toBe(false);
    expect(matchesFilter({ room: 'a' }, row(1, { room: 'a' }, 'DELETE'))).toBe(true);
  });
});

describe('hubs', () => {
  it('keeps one user on one hub, spreads the rest, and reads limits with defaults', () => {
    expect(shardFor('user', 'u1', 4)).toBe(shardFor('user', 'u1', 4));
    expect(shardFor('anon', null, 1)).toBe(0);
    expect(shardFor('anon', null, 4, () => 0.99)).toBe(3);
    expect(hubLimits({ REALTIME_HUBS_PER_APP: '3', REALTIME_MAX_MESSAGE_BYTES: 'nonsense' })).toMatchObject({ shards: 3, maxMessageBytes: 16_384, heartbeatIntervalMs: 30_000 });
  });

  it('closes refused sockets with the §9 codes', () => {
    expect(closeCodeFor(new ApiError('AUTH_REQUIRED', 'x'))).toBe(1008);
    expect(closeCodeFor(new ApiError('APP_PAUSED', 'x'))).toBe(1013);
    expect(closeCodeFor(new ApiError('QUOTA_RATE_LIMIT', 'x'))).toBe(1013);
    expect(closeCodeFor(new ApiError('INTERNAL_ERROR', 'x'))).toBe(1011);
  });
});

describe('routing realtime paths', () => {
  it('sends every realtime path to the realtime Worker; only the WebSocket itself is data plane', () => {
    const app = 'app_abcdefghijkl';
    expect(classifyPath(`/v1/${app}/realtime`)).toMatchObject({ kind: 'forward', target: 'REALTIME', dataPlane: true });
    for (const rest of ['configure', 'config', 'messages']) {
      expect(classifyPath(`/v1/${app}/realtime/${rest}`)).toMatchObject({ kind: 'forward', target: 'REALTIME', dataPlane: false });
    }
  });
});
