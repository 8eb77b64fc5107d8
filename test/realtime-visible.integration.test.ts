/**
 * `realtime.visible` (migrations/app/0009_realtime_visible_batch.sql), which decides which end users
 * of a batch may see each changed row, agrees with Postgres's own row-level security: for each policy
 * set below, its answer for every (user, row) pair equals what `SELECT` returns to that user under
 * RLS — whether the predicate takes the one-statement path (current_user_id() and plain expressions:
 * user isolation, public read, a restrictive column check) or the per-user path (a subquery, whose
 * table's own policies read the claims too). The app is set up in-process (test/helpers/in-process.ts).
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { api as httpApi, createReadyApp, type ApiOptions } from './helpers/api.ts';
import { appDb } from './helpers/control-db.ts';
import { inProcessPlatform, type InProcessPlatform } from './helpers/in-process.ts';

let platform: InProcessPlatform;
let appId = '';
const api = (path: string, options: ApiOptions = {}) => httpApi(path, { ...options, via: platform.fetch });
const users = Array.from({ length: 6 }, () => crypto.randomUUID());
const strangers = [crypto.randomUUID()];

beforeAll(async () => {
  platform = await inProcessPlatform(inject('localSettings'));
  ({ appId } = await createReadyApp('rtvis', { via: platform.fetch }));
  const applied = await api(`/v1/${appId}/schema/apply`, {
    body: { schema: { tables: {
      docs: { columns: { id: { type: 'uuid', primaryKey: true, default: 'gen_random_uuid()' }, user_id: { type: 'uuid' }, published: { type: 'boolean', default: 'false' }, title: { type: 'text' }, room: { type: 'text' } } },
      members: { columns: { id: { type: 'uuid', primaryKey: true, default: 'gen_random_uuid()' }, room: { type: 'text' }, user_id: { type: 'uuid' } } },
    } } },
  });
  expect(applied.status, applied.text).toBe(200);
  expect((await api(`/v1/${appId}/rls`, { body: { table_name: 'docs', user_column: 'user_id', public_read_column: 'published' } })).status).toBe(200);
  expect((await api(`/v1/${appId}/rls`, { body: { table_name: 'members', user_column: 'user_id' } })).status).toBe(200);
  const db = appDb(appId);
  let n = 0;
  for (const owner of users) {
    for (const published of [true, false]) {
      for (const title of ['plain', 'secret']) {
        await db.query('INSERT INTO docs (user_id, published, title, room) VALUES ($1, $2, $3, $4)', [owner, published, title, `room-${n++ % 3}`]);
      }
    }
  }
  await db.query(`INSERT INTO docs (user_id, published, title, room) VALUES (NULL, true, 'ownerless', 'room-0'), (NULL, false, 'hidden', 'room-1')`);
  for (const [i, user] of users.entries()) await db.query('INSERT INTO members (room, user_id) VALUES ($1, $2)', [`room-${i % 3}`, user]);
});

/** Postgres's answer: the ids of docs each user SELECTs under RLS (role butterbase_user, claims set). */
async function truth(viewers: string[]): Promise<Record<string, string[]>> {
  const db = appDb(appId);
  const out: Record<string, string[]> = {};
  for (const user of viewers) {
    const [, , , result] = await db.transaction([
      db`SET LOCAL ROLE butterbase_user`,
      db`SELECT set_config('request.jwt.claim.sub', ${user}, true)`,
      db`SELECT set_config('request.jwt.claims', ${JSON.stringify({ sub: user, role: 'butterbase_user' })}, true)`,
      db`SELECT id FROM docs ORDER BY id`,
    ]);
    out[user] = (result as { id: string }[]).map((r) => r.id).sort();
  }
  return out;
}

/** realtime.visible's answer for the same users over every row's image, as the hub asks it. */
async function visible(viewers: string[]): Promise<Record<string, string[]>> {
  const db = appDb(appId);
  const rows = await db.query('SELECT to_jsonb(d) AS image, id FROM docs d ORDER BY id') as { image: unknown; id: string }[];
  const [, , hits] = await db.transaction([
    db`SET LOCAL ROLE butterbase_user`,
    db`SELECT set_config('request.jwt.claim.sub', ${viewers[0]!}, true)`,
    db`SELECT user_id, idx FROM realtime.visible('docs', ${JSON.stringify(rows.map((r) => r.image))}::jsonb, ${viewers}::text[])`,
  ]);
  const out: Record<string, string[]> = Object.fromEntries(viewers.map((u) => [u, []]));
  for (const hit of hits as { user_id: string; idx: number }[]) out[hit.user_id]!.push(rows[hit.idx - 1]!.id);
  for (const user of viewers) out[user]!.sort();
  return out;
}

/** Which SELECT policies of docs let visible() take its one-statement path, by policy name. */
async function batchable(): Promise<Record<string, boolean>> {
  const rows = await appDb(appId).query(`SELECT polname, realtime.batchable_predicate(pg_get_expr(polqual, polrelid)) AS ok
    FROM pg_policy WHERE polrelid = 'public.docs'::regclass AND polcmd IN ('r', '*') AND polqual IS NOT NULL`) as { polname: string; ok: boolean }[];
  return Object.fromEntries(rows.map((r) => [r.polname, r.ok]));
}

async function expectAgreement(): Promise<Record<string, string[]>> {
  const viewers = [...users, ...strangers];
  const expected = await truth(viewers);
  expect(await visible(viewers)).toEqual(expected);
  return expected;
}

describe('realtime.visible agrees with row-level security', () => {
  it('user isolation + public read (one statement for all users)', async () => {
    expect(Object.values(await batchable())).toEqual(expect.arrayContaining([true]));
    expect(Object.values(await batchable()).every(Boolean)).toBe(true);
    const seen = await expectAgreement();
    // Each user sees their 4 rows plus the others' 2 published ones each, plus the published ownerless one.
    expect(seen[users[0]!]).toHaveLength(4 + (users.length - 1) * 2 + 1);
    expect(seen[strangers[0]!]).toHaveLength(users.length * 2 + 1);
  });

  it('with a restrictive column check added (still one statement)', async () => {
    const added = await api(`/v1/${appId}/rls/policies`, { body: { table_name: 'docs', policy_name: 'no_secrets', command: 'SELECT', using_expression: "title <> 'secret'", restrictive: true } });
    expect(added.status, added.text).toBe(200);
    expect((await batchable()).no_secrets).toBe(true);
    const seen = await expectAgreement();
    expect(seen[users[0]!]).toHaveLength(2 + (users.length - 1) * 1 + 1);
  });

  it('with a permissive policy whose subquery reads another RLS table (per-user path)', async () => {
    const added = await api(`/v1/${appId}/rls/policies`, {
      body: { table_name: 'docs', policy_name: 'room_members', command: 'SELECT', using_expression: 'EXISTS (SELECT 1 FROM members m WHERE m.room = docs.room AND m.user_id::text = current_user_id())' },
    });
    expect(added.status, added.text).toBe(200);
    expect((await batchable()).room_members).toBe(false);
    await expectAgreement();
  });

  it('with current_user_id() spelled inside a string literal (per-user path, literal untouched)', async () => {
    const added = await api(`/v1/${appId}/rls/policies`, { body: { table_name: 'docs', policy_name: 'odd_literal', command: 'SELECT', using_expression: "title = 'current_user_id()'" } });
    expect(added.status, added.text).toBe(200);
    expect((await api(`/v1/${appId}/rls/docs/room_members`, { method: 'DELETE' })).status).toBe(200);
    expect(await batchable()).toMatchObject({ odd_literal: false, no_secrets: true });
    await expectAgreement();
  });
});
