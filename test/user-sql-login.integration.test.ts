/**
 * The login role of user SQL (issue 9 item 4's defense in depth, app migration 0010): functions'
 * ctx.db statements run on a connection of `butterbase_authenticator`, a role with no privileges of its
 * own that may only switch to the butterbase roles. So a statement that escaped the user-SQL guard and
 * reset its role would read nothing. Checked through a deployed function (the whole path: functions
 * Worker → DbGateway user session → embedded endpoint) and directly on the endpoint with that login.
 */
import { neon, neonConfig } from '@neondatabase/serverless';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { api, createReadyApp } from './helpers/api.ts';
import { appDb } from './helpers/control-db.ts';

let appId = '';

/** A query function on the app's database logged in as the authenticator role. */
function authenticatorDb() {
  neonConfig.fetchEndpoint = `${inject('dbUrl')}/sql`;
  const owner = inject('appConnectionTemplate').replace('{db}', appId);
  return neon(owner.replace(/^(postgres(?:ql)?:\/\/)[^:@/]*/, '$1butterbase_authenticator'));
}

beforeAll(async () => {
  ({ appId } = await createReadyApp('login'));
  const applied = await api(`/v1/${appId}/schema/apply`, { body: { schema: { tables: { notes: { columns: {
    id: { type: 'uuid', primaryKey: true, default: 'gen_random_uuid()' }, body: { type: 'text' },
  } } } } } });
  expect(applied.status, applied.text).toBe(200);
  await appDb(appId).query(`INSERT INTO notes (body) VALUES ('one'), ('two')`);
});

describe('user SQL logs in as butterbase_authenticator', () => {
  it('a function\'s ctx.db runs with session_user butterbase_authenticator and its caller role', async () => {
    const deployed = await api(`/v1/${appId}/functions`, {
      body: {
        name: 'whoami',
        code: `export default async function handler(req, ctx) {
  const { rows } = await ctx.db.query("select session_user::text as login, current_user::text as role, (select count(*)::int from notes) as notes");
  return Response.json(rows[0]);
}`,
      },
    });
    expect(deployed.status, deployed.text).toBe(201);
    const res = await api(`/v1/${appId}/fn/whoami`, { method: 'POST', body: {} });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({ login: 'butterbase_authenticator', role: 'butterbase_service', notes: 2 });
  });

  it('with its role reset, that login can read nothing (42501), and nothing of it outlives the request', async () => {
    const db = authenticatorDb();
    const [, who] = await db.transaction([db`SET LOCAL ROLE butterbase_user`, db`SELECT session_user::text AS login, current_user::text AS role`]);
    expect(who).toEqual([{ login: 'butterbase_authenticator', role: 'butterbase_user' }]);
    await expect(db.transaction([db`SET LOCAL ROLE butterbase_service`, db`RESET ROLE`, db`SELECT count(*) FROM notes`])).rejects.toMatchObject({ code: '42501' });
    await expect(db.query('SELECT body FROM notes')).rejects.toMatchObject({ code: '42501' });
    await expect(db.query('SELECT * FROM auth.users')).rejects.toMatchObject({ code: '42501' });
    // The owner's next request on the same database is the owner again.
    expect(await appDb(appId).query('SELECT session_user::text AS login, (SELECT count(*)::int FROM notes) AS notes')).toEqual([{ login: 'postgres', notes: 2 }]);
  });

  it('the authenticator login still needs the endpoint\'s password', async () => {
    neonConfig.fetchEndpoint = `${inject('dbUrl')}/sql`;
    const wrong = neon(`postgresql://butterbase_authenticator:wrong@localhost/${appId}`);
    await expect(wrong.query('SELECT 1')).rejects.toMatchObject({ code: '28P01' });
  });
});
