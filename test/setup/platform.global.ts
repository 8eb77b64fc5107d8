/**
 * Starts one platform instance (embedded PGlite + every Worker under wrangler dev) for the
 * integration tests, exactly as `npm run dev` does, on free ports and a temporary state folder.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import type { LocalSettings } from '../../workers/registry.ts';
import { startPlatform, type LocalS3 } from '../../scripts/lib/platform.ts';
import { sharedTemplateDir, testLog } from '../helpers/platform-process.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    platformUrl: string;
    serviceKey: string;
    accountId: string;
    dbUrl: string;
    controlConnection: string;
    appConnectionTemplate: string;
    /** The local S3 endpoint and its key pair. */
    s3: LocalS3;
    /** The settings every Worker was configured from (test/helpers/in-process.ts builds the same envs). */
    localSettings: LocalSettings;
  }
}

export default async function setup(project: TestProject) {
  const stateDir = await mkdtemp(join(tmpdir(), 'bb-it-'));
  const platform = await startPlatform({
    stateDir,
    port: 0,
    dbPort: 0,
    templateDir: sharedTemplateDir,
    dbMaxOpen: 16,
    log: testLog('platform'),
  });
  project.provide('platformUrl', platform.url);
  project.provide('serviceKey', platform.serviceKey);
  project.provide('accountId', platform.accountId);
  project.provide('dbUrl', platform.dbUrl);
  project.provide('controlConnection', platform.connections.control);
  project.provide('appConnectionTemplate', platform.connections.appTemplate);
  project.provide('s3', platform.s3);
  project.provide('localSettings', platform.local);
  return async () => {
    await platform.stop();
    await rm(stateDir, { recursive: true, force: true });
  };
}
