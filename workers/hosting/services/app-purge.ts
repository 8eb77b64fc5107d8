/**
 * The purge of a deleted app's hosting state (queue `butterbase-app-purge`, sent by control:
 * workers/control/services/app-purge.ts; message {@link AppPurgeMessage}):
 * 1. the hosting bucket's `sites/{app_id}/` (every deployment's files, manifest and SSR worker
 *    modules) and `uploads/{app_id}/` (zips not yet built) prefixes, 1000 keys per list and delete;
 * 2. the storage of every instance of each Durable Object class the message names (services/do-purge.ts);
 * 3. on Workers for Platforms, the dispatch scripts it names — the app's Durable Object script
 *    (`do-{app_id}`; its classes' storage goes with it), Edge SSR deployments' and the app's
 *    function versions'. The functions and hosting Workers share one dispatch namespace, account and
 *    API token (`npm run deploy` binds both to BUTTERBASE_DISPATCH_NAMESPACE), and a queue has one
 *    consumer, so hosting deletes both kinds; under the Worker Loader there are no scripts to delete.
 * One message spends at most {@link purgeSubrequestBudget} subrequests; what is left goes out as a
 * continuation message (APP_PURGE) carrying the remaining classes and scripts. Every step is
 * idempotent (an empty prefix, an already wiped instance, a 404 script), so a retried message redoes
 * nothing harmful.
 */
import type { AppPurgeMessage } from '../../shared/contracts.ts';
import { ApiError } from '../../shared/errors.ts';
import { deleteScript, doScriptName } from '../../shared/dispatch-namespace.ts';
import type { Env } from '../env.ts';
import { purgeClassInstances } from './do-purge.ts';
import { ssrDispatchConfig } from './ssr.ts';

/**
 * Subrequests (R2 operations, Durable Object calls, Cloudflare API calls) one purge message may make:
 * half of a Worker invocation's 1000, leaving room for the continuation and logging.
 */
export const purgeSubrequestBudget = 500;

/** What one purge message did (logged by the consumer). */
export interface AppPurgeReport {
  appId: string;
  /** Objects deleted from the hosting bucket. */
  siteObjects: number;
  /** Durable Object instances wiped, and the keys and SQL tables deleted from them. */
  instances: number;
  keys: number;
  tables: number;
  /** Dispatch scripts deleted (or already gone). */
  scripts: number;
  /** Script names dropped because this deployment runs user code in the Worker Loader. */
  scriptsNotOnWfp: number;
  /** True when a continuation message was sent. */
  continued: boolean;
}

/** The hosting bucket prefixes of an app (services/site-keys.ts). */
const appPrefixes = (appId: string) => [`sites/${appId}/`, `uploads/${appId}/`];

/**
 * Runs one purge message within {@link purgeSubrequestBudget}, sending a continuation when work is
 * left. Out: {@link AppPurgeReport}.
 * @throws ApiError INTERNAL_ERROR when an instance cannot be wiped, EXTERNAL_NETWORK_ERROR when a
 *   script cannot be deleted, or the binding's error (R2, queue): the message is retried whole
 */
export async function purgeApp(env: Env, message: AppPurgeMessage): Promise<AppPurgeReport> {
  const { appId } = message;
  const report: AppPurgeReport = { appId, siteObjects: 0, instances: 0, keys: 0, tables: 0, scripts: 0, scriptsNotOnWfp: 0, continued: false };
  let budget = purgeSubrequestBudget;
  let sitesDone = true;

  for (const prefix of appPrefixes(appId)) {
    for (;;) {
      if (budget < 2) {
        sitesDone = false;
        break;
      }
      const page = await env.SITES.list({ prefix, limit: 1000 });
      budget--;
      if (page.objects.length === 0) break;
      await env.SITES.delete(page.objects.map((o) => o.key));
      budget--;
      report.siteObjects += page.objects.length;
      if (!page.truncated) break;
    }
  }

  const classesLeft: string[] = [];
  for (const name of message.durableObjectClasses) {
    // Two directory calls (list, forget) per page of instances, and a final list and clear.
    if (budget < 6) {
      classesLeft.push(name);
      continue;
    }
    const purged = await purgeClassInstances(env, appId, name, budget - 5);
    budget -= purged.subrequests;
    report.instances += purged.instances;
    report.keys += purged.keys;
    report.tables += purged.tables;
    if (!purged.done) classesLeft.push(name);
  }

  let scriptsLeft: string[] = [];
  if (message.dispatchScripts.length > 0) {
    const config = ssrDispatchConfig(env);
    if (!config) {
      report.scriptsNotOnWfp = message.dispatchScripts.length;
    } else {
      const now = message.dispatchScripts.slice(0, Math.max(0, budget - 1));
      scriptsLeft = message.dispatchScripts.slice(now.length);
      const failed: string[] = [];
      for (const name of now) {
        // The Durable Object script goes with its classes' objects and storage (force).
        if (await deleteScript(config, name, 'hosting', name === doScriptName(appId))) report.scripts++;
        else failed.push(name);
      }
      if (failed.length > 0) {
        throw new ApiError('EXTERNAL_NETWORK_ERROR', `${failed.length} dispatch scripts of ${appId} could not be deleted.`, { internal: `first: ${failed[0]}` });
      }
    }
  }

  if (!sitesDone || classesLeft.length > 0 || scriptsLeft.length > 0) {
    await env.APP_PURGE.send({ type: 'app_deleted', appId, durableObjectClasses: classesLeft, dispatchScripts: scriptsLeft });
    report.continued = true;
  }
  return report;
}
