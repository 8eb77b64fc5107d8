/**
 * Destructive schema changes never take row-level security with them: dropping a column a policy
 * reads, or a table another table's policy reads, is refused and nothing changes (issue 3: destructive
 * changes refused; a silently dropped restrictive policy would widen access).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { api, createReadyApp } from './helpers/api.ts';

let appId: string;

const schema = {
  tables: {
    notes: {
      columns: {
        id: { type: 'uuid', primaryKey: true, default: 'gen_random_uuid()' },
        owner_id: { type: 'uuid' },
        body: { type: 'text' },
        hidden: { type: 'boolean', default: 'false' },
      },
    },
    blocklist: { columns: { user_id: { type: 'text', primaryKey: true } } },
  },
};

beforeAll(async () => {
  ({ appId } = await createReadyApp('dropguard'));
  expect((await api(`/v1/${appId}/schema/apply`, { body: { schema } })).status).toBe(200);
  expect((await api(`/v1/${appId}/rls`, { body: { table_name: 'notes', user_column: 'owner_id' } })).status).toBe(200);
  const restrictive = await api(`/v1/${appId}/rls/policies`, {
    body: {
      table_name: 'notes', policy_name: 'notes_not_hidden', command: 'SELECT', role: 'user', restrictive: true,
      using_expression: 'hidden = false AND NOT EXISTS (SELECT 1 FROM blocklist b WHERE b.user_id = current_user_id())',
    },
  });
  expect(restrictive.status).toBe(200);
});

describe('drops that would take policies with them', () => {
  const cases = [
    { name: 'the user-isolation column', change: { tables: { notes: { columns: {}, _dropColumns: ['owner_id'] } } }, policy: 'notes_user_isolation' },
    { name: 'a column a restrictive policy reads', change: { tables: { notes: { columns: {}, _dropColumns: ['hidden'] } } }, policy: 'notes_not_hidden' },
    { name: "a table another table's policy reads", change: { _drop: ['blocklist'] }, policy: 'notes_not_hidden' },
  ];
  for (const c of cases) {
    it(`refuses to drop ${c.name}, naming the policy, and changes nothing`, async () => {
      const before = await api(`/v1/${appId}/schema`);
      const policiesBefore = await api(`/v1/${appId}/rls`);
      const res = await api(`/v1/${appId}/schema/apply`, { body: { schema: c.change } });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('SCHEMA_MIGRATION_FAILED');
      expect(res.body.error.details.pg_code).toBe('2BP01');
      expect(JSON.stringify(res.body.error)).toContain(c.policy);
      expect((await api(`/v1/${appId}/schema`)).body).toEqual(before.body);
      expect((await api(`/v1/${appId}/rls`)).body).toEqual(policiesBefore.body);
    });
  }

  it('drops the column once no policy reads it', async () => {
    expect((await api(`/v1/${appId}/rls/notes/notes_not_hidden`, { method: 'DELETE' })).status).toBe(200);
    const res = await api(`/v1/${appId}/schema/apply`, { body: { schema: { tables: { notes: { columns: {}, _dropColumns: ['hidden'] } } } } });
    expect(res.status).toBe(200);
    expect((await api(`/v1/${appId}/schema`)).body.schema.tables.notes.columns.hidden).toBeUndefined();
  });
});
