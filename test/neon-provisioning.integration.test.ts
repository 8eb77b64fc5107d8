/**
 * Provisioning through Neon's API (against a local fake of it), and crash safety: a platform killed
 * mid-provisioning never reports a half-provisioned app as ready, and a restart resumes it and keeps
 * apps and keys (issue: foundation, "Done when").
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { neon, neonConfig } from '@neondatabase/serverless';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpointConnectionString, endpointCredentials } from '../embedded-db/credentials.ts';
import { freePort, startPlatform, type Platform } from '../scripts/lib/platform.ts';
import { api, uniqueName, waitForApp } from './helpers/api.ts';
import { sharedTemplateDir, testLog } from './helpers/platform-process.ts';
import { startFakeNeonApi, type FakeNeonApi } from './fakes/neon-api.ts';

const neonSettings = { apiKey: 'neon-test-key', projectId: 'proj-quiet-sun-123', branchId: 'br-main-456', ownerRole: 'butterbase_owner' };

let stateDir: string;
let dbPort: number;
let fake: FakeNeonApi;
let platform: Platform;

async function start(): Promise<Platform> {
  return startPlatform({
    stateDir,
    port: 0,
    dbPort,
    templateDir: sharedTemplateDir,
    log: testLog('neon-platform'),
    vars: {
      control: {
        PROVISIONER: 'neon',
        NEON_API_URL: fake.url,
        NEON_API_KEY: neonSettings.apiKey,
        NEON_PROJECT_ID: neonSettings.projectId,
        NEON_BRANCH_ID: neonSettings.branchId,
        NEON_DATABASE_OWNER: neonSettings.ownerRole,
        PROVISIONING_LEASE_SECONDS: '3',
      },
    },
  });
}

function call(path: string, options: Parameters<typeof api>[1] = {}) {
  return api(path, { baseUrl: platform.url, token: platform.serviceKey, ...options });
}

async function bootstrapLedger(appId: string): Promise<string[]> {
  neonConfig.fetchEndpoint = `${platform.dbUrl}/sql`;
  const rows = await neon(platform.connections.appTemplate.replace('{db}', appId)).query('SELECT name FROM butterbase.bootstrap_migrations ORDER BY name');
  return rows.map((r) => String(r.name));
}

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'bb-neon-'));
  dbPort = await freePort();
  fake = await startFakeNeonApi({
    ...neonSettings,
    sqlEndpoint: `http://127.0.0.1:${dbPort}/sql`,
    // The platform's endpoint will take the password of this state folder (created here, before it starts).
    adminConnection: endpointConnectionString(await endpointCredentials(stateDir), 'postgres'),
  });
  platform = await start();
});

afterAll(async () => {
  await platform?.stop();
  await fake?.close();
  await rm(stateDir, { recursive: true, force: true });
});

describe('Neon provisioner', () => {
  it('creates the app database through the Neon API, waits for the operation, then bootstraps it', async () => {
    const before = fake.requests.length;
    const created = await call('/init', { body: { name: uniqueName('neon') } });
    expect(created.status).toBe(201);
    const appId = created.body.app_id;
    const status = await waitForApp(appId, { baseUrl: platform.url, token: platform.serviceKey });
    expect(status).toMatchObject({ provisioning_status: 'ready', db_provisioned: true });
    const seen = fake.requests.slice(before);
    expect(seen[0]).toEqual({
      method: 'POST',
      path: `/projects/${neonSettings.projectId}/branches/${neonSettings.branchId}/databases`,
      body: { database: { name: appId, owner_name: neonSettings.ownerRole } },
    });
    expect(seen.some((r) => r.method === 'GET' && r.path.startsWith(`/projects/${neonSettings.projectId}/operations/`))).toBe(true);
    expect(await bootstrapLedger(appId)).toContain('0001_bootstrap');
  });

  it('retries while Neon answers 423 Locked (another operation running)', async () => {
    fake.failNext({ method: 'POST', status: 423, message: 'project already has running operations' });
    fake.failNext({ method: 'POST', status: 423, message: 'project already has running operations' });
    const created = await call('/init', { body: { name: uniqueName('locked') } });
    const status = await waitForApp(created.body.app_id, { baseUrl: platform.url, token: platform.serviceKey });
    expect(status.provisioning_status).toBe('ready');
  });

  it('reports a Neon refusal as failed with a code and a public reason, and /init again retries it', async () => {
    fake.failNext({ method: 'POST', status: 422, message: 'databases limit exceeded for project proj-quiet-sun-123' });
    const name = uniqueName('quota');
    const created = await call('/init', { body: { name } });
    const failed = await waitForApp(created.body.app_id, { baseUrl: platform.url, token: platform.serviceKey });
    expect(failed.provisioning_status).toBe('failed');
    expect(failed.db_provisioned).toBe(false);
    // Neon's own text (it names the project) stays in the platform's log; callers get the code and status.
    expect(failed.provisioning_error).toBe('EXTERNAL_DB_ERROR: Neon could not create the app database (HTTP 422).');
    expect(failed.provisioning_error).not.toContain('proj-');
    // The data plane does not pretend the app is usable.
    expect((await call(`/v1/${created.body.app_id}/posts`)).status).toBe(503);

    const again = await call('/init', { body: { name } });
    expect(again.status).toBe(200);
    expect(again.body.app_id).toBe(created.body.app_id);
    const ready = await waitForApp(created.body.app_id, { baseUrl: platform.url, token: platform.serviceKey });
    expect(ready).toMatchObject({ provisioning_status: 'ready', provisioning_error: null });
  });

  it('drops the database through the Neon API when the app is deleted', async () => {
    const created = await call('/init', { body: { name: uniqueName('gone') } });
    await waitForApp(created.body.app_id, { baseUrl: platform.url, token: platform.serviceKey });
    const deleted = await call(`/apps/${created.body.app_id}`, { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    expect(fake.requests).toContainEqual({
      method: 'DELETE',
      path: `/projects/${neonSettings.projectId}/branches/${neonSettings.branchId}/databases/${created.body.app_id}`,
      body: undefined,
    });
  });

  it('an app deleted while its database is being created leaves no orphaned database behind', async () => {
    const held = fake.holdCreates();
    const created = await call('/init', { body: { name: uniqueName('orphan') } });
    const appId = created.body.app_id;
    await held;
    expect((await call(`/apps/${appId}`, { method: 'DELETE' })).status).toBe(200);
    // Neon finishes creating the database only now, after the app is gone.
    fake.release();
    const dropPath = `/projects/${neonSettings.projectId}/branches/${neonSettings.branchId}/databases/${appId}`;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const creates = fake.requests.filter((r) => r.method === 'POST' && (r.body as { database?: { name?: string } })?.database?.name === appId).length;
      const dropsAfterCreate = fake.requests.findIndex((r) => r.method === 'DELETE' && r.path === dropPath && fake.requests.indexOf(r) > fake.requests.findIndex((q) => q.method === 'POST' && (q.body as { database?: { name?: string } })?.database?.name === appId));
      if (creates > 0 && dropsAfterCreate >= 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    neonConfig.fetchEndpoint = `${platform.dbUrl}/sql`;
    const probe = await neon(platform.connections.appTemplate.replace('{db}', appId)).query('SELECT 1').catch((e: { code?: string }) => e.code);
    expect(probe).toBe('3D000');
  });

  it('a platform killed mid-provisioning never reports the app ready early; a restart resumes it and keeps keys', async () => {
    const keyBefore = platform.serviceKey;
    const held = fake.holdCreates();
    const created = await call('/init', { body: { name: uniqueName('crash') } });
    const appId = created.body.app_id;
    await held;
    await platform.crash();
    // Neon finishes the database after the platform died: it exists, but was never bootstrapped.
    fake.release();

    platform = await start();
    expect(platform.serviceKey).toBe(keyBefore);
    expect(platform.serviceKeyIsNew).toBe(false);
    // The start-up tick may already have resumed it; either way "ready" only ever comes with a bootstrapped database.
    const first = await call(`/apps/${appId}/status`);
    expect(first.status).toBe(200);
    expect(['provisioning', 'ready']).toContain(first.body.provisioning_status);
    if (first.body.provisioning_status === 'ready') expect(await bootstrapLedger(appId)).toContain('0001_bootstrap');
    const ready = await waitForApp(appId, { baseUrl: platform.url, token: platform.serviceKey, timeoutMs: 60_000 });
    expect(ready.provisioning_status).toBe('ready');
    expect(await bootstrapLedger(appId)).toContain('0001_bootstrap');
    const list = await call('/apps');
    expect(list.body.apps.map((a: { id: string }) => a.id)).toContain(appId);
  });
});
