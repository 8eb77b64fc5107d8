/**
 * A platform of its own configured for Workers for Platforms, for the WfP integration tests: a local
 * fake of the Cloudflare API (test/fakes/cloudflare-api.ts) and the Worker under test (`functions` or
 * `hosting`) started from its fake-dispatcher fixture (`test/fixtures/wfp-{worker}/index.ts`, which
 * wraps the real Worker and provides the DISPATCHER binding that `wrangler dev` cannot), with the
 * dispatch-namespace settings pointing at the fake.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, repoRoot, startPlatform, type Platform, type WorkerConfig } from '../../scripts/lib/platform.ts';
import { startFakeCloudflareApi, type FakeCloudflareApi } from '../fakes/cloudflare-api.ts';
import { sharedTemplateDir, testLog } from './platform-process.ts';

/** The account, namespace and token the fake accepts. */
export const wfpSettings = { apiToken: 'cf-test-token', accountId: 'acc0123456789abcdef', namespace: 'butterbase-test' };

/** A running WfP test platform. */
export interface WfpPlatform {
  platform: Platform;
  fake: FakeCloudflareApi;
  stateDir: string;
  /** Stops the platform and the fake, and removes the state folder. */
  stop(): Promise<void>;
}

/** Starts the fake API and a platform whose `worker` runs from its WfP fixture; `label` names logs and state. */
export async function startWfpPlatform(label: string, worker: 'functions' | 'hosting'): Promise<WfpPlatform> {
  const stateDir = await mkdtemp(join(tmpdir(), `bb-${label}-`));
  const fake = await startFakeCloudflareApi(wfpSettings);
  const platform = await startPlatform({
    stateDir,
    port: 0,
    dbPort: await freePort(),
    templateDir: sharedTemplateDir,
    log: testLog(`${label}-platform`),
    vars: {
      [worker]: {
        CLOUDFLARE_API_URL: fake.url,
        CLOUDFLARE_ACCOUNT_ID: wfpSettings.accountId,
        DISPATCH_NAMESPACE: wfpSettings.namespace,
        CLOUDFLARE_API_TOKEN: wfpSettings.apiToken,
      },
    },
    configs: { [worker]: (config: WorkerConfig) => ({ ...config, main: join(repoRoot, `test/fixtures/wfp-${worker}/index.ts`) }) },
  });
  return {
    platform,
    fake,
    stateDir,
    async stop() {
      await platform.stop();
      await fake.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
