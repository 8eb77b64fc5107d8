/**
 * The platform on a real PostgreSQL server instead of PGlite (DATABASE_URL): control plane,
 * provisioning of app databases (roles shared across the cluster; pgvector absent) and deletion.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { neon, neonConfig } from '@neondatabase/serverless';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPlatform, type Platform } from '../scripts/lib/platform.ts';
import { api, uniqueName, waitForApp } from './helpers/api.ts';
import { testLog } from './helpers/platform-process.ts';
import { startPostgres, type PostgresServer } from './helpers/postgres-server.ts';

let postgres: PostgresServer;
let platform: Platform;
let stateDir: string;

beforeAll(async () => {
  postgres = await startPostgres();
  stateDir = await mkdtemp(join(tmpdir(), 'bb-realpg-'));
  platform = await startPlatform({ stateDir, port: 0, dbPort: 0, databaseUrl: postgres.url, log: testLog('real-postgres') });
});

afterAll(async () => {
  await platform?.stop();
  postgres?.stop();
  await rm(stateDir, { recursive: true, force: true });
});

const call = (path: string, options: Parameters<typeof api>[1] = {}) => api(path, { baseUrl: platform.url, token: platform.serviceKey, ...options });

it('provisions two apps on one Postgres cluster, then deletes one with its database', async () => {
  const [a, b] = await Promise.all([call('/init', { body: { name: uniqueName('pga') } }), call('/init', { body: { name: uniqueName('pgb') } })]);
  for (const app of [a, b]) {
    const status = await waitForApp(app.body.app_id, { baseUrl: platform.url, token: platform.serviceKey });
    expect(status.provisioning_status).toBe('ready');
  }
  // Through the endpoint, which takes its own credentials in DATABASE_URL mode too.
  const server = neon(platform.connections.admin);
  neonConfig.fetchEndpoint = `${platform.dbUrl}/sql`;
  expect(await neon(postgres.url).query('SELECT 1').catch((e: { code?: string }) => e.code)).toBe('28P01');
  const databases = (await server.query('SELECT datname FROM pg_database')).map((r) => r.datname);
  expect(databases).toEqual(expect.arrayContaining(['butterbase_control', a.body.app_id, b.body.app_id]));
  const appDb = neon(platform.connections.appTemplate.replace('{db}', a.body.app_id));
  expect((await appDb.query("SELECT rolname FROM pg_roles WHERE rolname LIKE 'butterbase_%' ORDER BY 1")).map((r) => r.rolname))
    .toEqual(['butterbase_anon', 'butterbase_authenticator', 'butterbase_service', 'butterbase_user']);

  expect((await call(`/apps/${a.body.app_id}`, { method: 'DELETE' })).status).toBe(200);
  const after = (await server.query('SELECT datname FROM pg_database')).map((r) => r.datname);
  expect(after).not.toContain(a.body.app_id);
  expect(after).toContain(b.body.app_id);
});
