/**
 * DbGateway's capabilities against the real embedded Postgres of the test platform: a caller-scoped
 * session stays on its app, role and user whatever its holder sends, can never be owner, and reports
 * the tables a committed write changed (the realtime hook) — and nothing for reads, failures or
 * rolled-back batches.
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { CommittedWrite } from '../workers/shared/contracts.ts';
import { ApiError } from '../workers/shared/errors.ts';
import { openSession, runAsOwner, type ExecuteEnv } from '../workers/data/execute.ts';
import { api, createReadyApp } from './helpers/api.ts';

let appId: string;
let otherAppId: string;
let env: ExecuteEnv;
const userA = '11111111-1111-4111-8111-111111111111';

async function failure(work: Promise<unknown>): Promise<ApiError> {
  try {
    await work;
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

beforeAll(async () => {
  env = { NEON_FETCH_ENDPOINT: `${inject('dbUrl')}/sql`, APP_DATABASE_URL_TEMPLATE: inject('appConnectionTemplate') };
  [{ appId }, { appId: otherAppId }] = await Promise.all([createReadyApp('gw'), createReadyApp('gw-other')]);
  const schema = { tables: { notes: { columns: { id: { type: 'serial', primaryKey: true }, body: { type: 'text', nullable: false }, owner: { type: 'uuid' } } } } };
  for (const id of [appId, otherAppId]) {
    const applied = await api(`/v1/${id}/schema/apply`, { body: { schema } });
    expect(applied.status, applied.text).toBe(200);
  }
  await runAsOwner(env, otherAppId, [{ query: `INSERT INTO notes (body) VALUES ('other app secret')` }]);
});

describe('a caller-scoped session', () => {
  it('runs as its role and user on its own app database', async () => {
    const session = openSession(env, { appId, role: 'user', userId: userA });
    const [row] = (await session.execute([{ query: 'SELECT current_user AS role, current_user_id() AS sub' }]))[0]!.rows;
    expect(row).toEqual({ role: 'butterbase_user', sub: userA });
    expect(session.caller()).toEqual({ appId, role: 'user', userId: userA });
  });

  it('ignores anything its holder sends beyond statements: no switching app, role or user', async () => {
    const session = openSession(env, { appId, role: 'anon' });
    const smuggled = { readOnly: true, appId: otherAppId, role: 'service', userId: userA } as never;
    const [row] = (await session.execute([{ query: 'SELECT current_user AS role, current_user_id() AS sub' }], smuggled))[0]!.rows;
    expect(row).toEqual({ role: 'butterbase_anon', sub: null });
    const caller = session.caller();
    caller.role = 'service' as never;
    expect(session.caller().role).toBe('anon');
    const rows = (await session.execute([{ query: 'SELECT body FROM notes' }]))[0]!.rows;
    expect(rows).not.toContainEqual({ body: 'other app secret' });
  });

  it('is never the owner, and checks its caller before any statement runs', async () => {
    const cases: [string, unknown, string][] = [
      ['role owner', { appId, role: 'owner' }, 'VALIDATION_INVALID_SCHEMA'],
      ['user without an id', { appId, role: 'user' }, 'VALIDATION_INVALID_SCHEMA'],
      ['not an app id', { appId: 'postgres', role: 'service' }, 'VALIDATION_INVALID_SCHEMA'],
      ['an extra field', { appId, role: 'service', superuser: true }, 'VALIDATION_INVALID_SCHEMA'],
    ];
    for (const [name, caller, code] of cases) {
      const session = openSession(env, caller);
      expect((await failure(session.execute([{ query: 'SELECT 1' }]))).code, name).toBe(code);
      expect(() => session.caller(), name).toThrow(ApiError);
    }
  });

  it('cannot read the platform schemas the owner keeps (auth, butterbase)', async () => {
    const session = openSession(env, { appId, role: 'service' });
    expect((await failure(session.execute([{ query: 'SELECT * FROM auth.users' }]))).code).toBe('AUTH_INSUFFICIENT_PERMISSIONS');
    expect((await failure(session.execute([{ query: 'SELECT * FROM butterbase.bootstrap_migrations' }]))).code).toBe('AUTH_INSUFFICIENT_PERMISSIONS');
  });
});

describe('the after-commit hook', () => {
  function recording() {
    const writes: CommittedWrite[] = [];
    return { writes, listener: (write: CommittedWrite) => void writes.push(write) };
  }

  it('reports the tables a committed write changed, once per batch', async () => {
    const { writes, listener } = recording();
    const session = openSession(env, { appId, role: 'service' }, listener);
    await session.execute([
      { query: `INSERT INTO notes (body) VALUES ('a'), ('b')` },
      { query: `UPDATE notes SET body = 'c' WHERE body = 'a'` },
    ]);
    expect(writes).toEqual([{ appId, tables: ['notes'] }]);
  });

  it('reports nothing for reads, writes that matched no row, failed batches and read-only batches', async () => {
    const { writes, listener } = recording();
    const session = openSession(env, { appId, role: 'service' }, listener);
    await session.execute([{ query: 'SELECT count(*) FROM notes' }]);
    await session.execute([{ query: `DELETE FROM notes WHERE body = 'no such note'` }]);
    await session.execute([{ query: 'SELECT * FROM notes' }], { readOnly: true });
    await failure(session.execute([{ query: `INSERT INTO notes (body) VALUES ('x')` }, { query: 'INSERT INTO notes (body) VALUES (NULL)' }]));
    await expect(session.execute([{ query: `INSERT INTO notes (body) VALUES ('y')` }], { readOnly: true })).rejects.toThrow();
    expect(writes).toEqual([]);
    const [row] = (await session.execute([{ query: `SELECT count(*)::int AS n FROM notes WHERE body IN ('x', 'y')` }]))[0]!.rows;
    expect(row).toEqual({ n: 0 });
  });

  it('keeps the caller answered when a listener fails', async () => {
    const session = openSession(env, { appId, role: 'service' }, () => {
      throw new Error('listener down');
    });
    const [result] = await session.execute([{ query: `INSERT INTO notes (body) VALUES ('kept') RETURNING body` }]);
    expect(result!.rows).toEqual([{ body: 'kept' }]);
  });
});
