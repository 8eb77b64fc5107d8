/**
 * Existing app databases get new bootstrap migrations (DESIGN.md "Data"): an app whose database was
 * created before the newest bundled migration shipped keeps working — upgraded lazily on its first
 * request (production) or at start-up (local) — with its data intact, and without deleting the state
 * folder. While an upgrade runs, reads are served and writes get 503 APP_MIGRATING with Retry-After.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { neon, neonConfig } from '@neondatabase/serverless';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appMigrations } from '../migrations/app/index.ts';
import { migrate } from '../workers/shared/migrator.ts';
import { startPlatform, type Platform } from '../scripts/lib/platform.ts';
import { api, waitForApp, uniqueName } from './helpers/api.ts';
import { sharedTemplateDir, testLog } from './helpers/platform-process.ts';

let stateDir: string;
let platform: Platform;
const bundled = appMigrations.map((m) => m.name);

function start(): Promise<Platform> {
  return startPlatform({ stateDir, port: 0, dbPort: 0, templateDir: sharedTemplateDir, log: testLog('upgrade-platform') });
}

function call(path: string, options: Parameters<typeof api>[1] = {}) {
  return api(path, { baseUrl: platform.url, token: platform.serviceKey, ...options });
}

function database(connection: string) {
  neonConfig.fetchEndpoint = `${platform.dbUrl}/sql`;
  return neon(connection);
}

const control = () => database(platform.connections.control);
const appDatabase = (appId: string) => database(platform.connections.appTemplate.replace('{db}', appId));

async function ledgerOf(appId: string): Promise<string[]> {
  return (await appDatabase(appId).query('SELECT name FROM butterbase.bootstrap_migrations ORDER BY name')).map((r) => String(r.name));
}

async function versionOf(appId: string): Promise<{ status: string; version: number }> {
  const [row] = await control().query('SELECT provisioning_status, bootstrap_version FROM apps WHERE id = $1', [appId]);
  return { status: String(row!.provisioning_status), version: Number(row!.bootstrap_version) };
}

/**
 * Makes `appId` what an app created one release ago looks like: its database rebuilt with every
 * bundled migration but the newest, a table with a row in it, and the control plane recording that
 * version. (The same state a `.butterbase/` folder from the previous release has.)
 */
async function makeOneReleaseOld(appId: string): Promise<void> {
  const admin = database(platform.connections.admin);
  await admin.query(`DROP DATABASE ${appId}`);
  await admin.query(`CREATE DATABASE ${appId}`);
  const sql = appDatabase(appId);
  await migrate(
    async (statements) => (await sql.transaction(statements.map((s) => sql.query(s.query, s.params)))) as Record<string, unknown>[][],
    'butterbase.bootstrap_migrations',
    appMigrations.slice(0, -1),
  );
  await sql.transaction([
    sql.query('CREATE TABLE public.notes (id serial PRIMARY KEY, body text NOT NULL)'),
    sql.query(`INSERT INTO public.notes (body) VALUES ('written before the upgrade')`),
  ]);
  await control().query('UPDATE apps SET bootstrap_version = $2 WHERE id = $1', [appId, appMigrations.length - 1]);
}

async function createApp(): Promise<string> {
  const created = await call('/init', { body: { name: uniqueName('upg') } });
  expect(created.status, created.text).toBe(201);
  expect((await waitForApp(created.body.app_id, { baseUrl: platform.url, token: platform.serviceKey })).provisioning_status).toBe('ready');
  return created.body.app_id;
}

async function untilReady(appId: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await versionOf(appId)).status !== 'ready') {
    if (Date.now() > deadline) throw new Error(`${appId} stayed ${JSON.stringify(await versionOf(appId))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'bb-upgrade-'));
  platform = await start();
});

afterAll(async () => {
  await platform?.stop();
  await rm(stateDir, { recursive: true, force: true });
});

describe('upgrades of existing app databases', () => {
  it('records the bundled version for a new app', async () => {
    const appId = await createApp();
    expect(await versionOf(appId)).toEqual({ status: 'ready', version: bundled.length });
    expect(await ledgerOf(appId)).toEqual(bundled);
  });

  it('upgrades an app one release old on its first request, keeping its data, then serves writes', async () => {
    const appId = await createApp();
    await makeOneReleaseOld(appId);
    expect(await ledgerOf(appId)).toEqual(bundled.slice(0, -1));
    // The gate cache may still hold the app row for up to 1 s.
    await new Promise((r) => setTimeout(r, 1_100));

    const read = await call(`/v1/${appId}/notes`);
    expect(read.status, read.text).toBe(200);
    expect(read.body).toEqual([{ id: 1, body: 'written before the upgrade' }]);
    await untilReady(appId);
    expect(await versionOf(appId)).toEqual({ status: 'ready', version: bundled.length });
    expect(await ledgerOf(appId)).toEqual(bundled);

    const write = await call(`/v1/${appId}/notes`, { body: { body: 'written after the upgrade' } });
    expect(write.status, write.text).toBe(201);
    const signup = await api(`/auth/${appId}/signup`, { baseUrl: platform.url, token: null, body: { email: 'old@example.com', password: 'Str0ng!pass' } });
    expect(signup.status, signup.text).toBe(201);
  });

  // Includes a platform restart (stop, then start: wrangler and workerd), which takes a while on a busy machine.
  it('upgrades every app one release old at start-up, before any request', { timeout: 240_000 }, async () => {
    const appIds = [await createApp(), await createApp()];
    for (const appId of appIds) await makeOneReleaseOld(appId);
    await platform.stop();
    platform = await start();
    for (const appId of appIds) {
      expect(await versionOf(appId)).toEqual({ status: 'ready', version: bundled.length });
      expect(await ledgerOf(appId)).toEqual(bundled);
    }
    const read = await call(`/v1/${appIds[0]}/notes`);
    expect(read.body).toEqual([{ id: 1, body: 'written before the upgrade' }]);
  });

  it('serves reads but refuses writes with 503 APP_MIGRATING and Retry-After while an upgrade holds the app', async () => {
    const appId = await createApp();
    await call(`/v1/${appId}/schema/apply`, { body: { schema: { tables: { notes: { columns: { id: { type: 'serial', primaryKey: true }, body: { type: 'text' } } } } } } });
    await control().query(`UPDATE apps SET provisioning_status = 'migrating', provisioning_lease_until = now() + interval '1 minute' WHERE id = $1`, [appId]);
    await new Promise((r) => setTimeout(r, 1_100));
    const read = await call(`/v1/${appId}/notes`);
    expect(read.status, read.text).toBe(200);
    for (const [path, options] of [
      [`/v1/${appId}/notes`, { body: { body: 'x' } }],
      [`/auth/${appId}/signup`, { token: null, body: { email: 'mid@example.com', password: 'Str0ng!pass' } }],
      [`/v1/${appId}/schema/apply`, { body: { schema: { tables: { more: { columns: { id: { type: 'uuid' } } } } } } }],
    ] as const) {
      const write = await call(path, options);
      expect(write.status, `${path}: ${write.text}`).toBe(503);
      expect(write.headers.get('retry-after'), path).toBe('5');
      expect(write.text, path).toContain('APP_MIGRATING');
    }
    await control().query(`UPDATE apps SET provisioning_status = 'ready', provisioning_lease_until = NULL WHERE id = $1`, [appId]);
  });

  it('retakes an upgrade a crashed attempt left behind once its lease expired', async () => {
    const appId = await createApp();
    await makeOneReleaseOld(appId);
    await control().query(`UPDATE apps SET provisioning_status = 'migrating', provisioning_lease_until = now() - interval '1 second' WHERE id = $1`, [appId]);
    await platform.tick();
    expect(await versionOf(appId)).toEqual({ status: 'ready', version: bundled.length });
    expect(await ledgerOf(appId)).toEqual(bundled);
  });
});
