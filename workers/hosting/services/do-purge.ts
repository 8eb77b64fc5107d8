/**
 * Wiping the storage of a user Durable Object class's instances (API.md §10.1 "all instances and
 * storage destroyed"): the class's directory object lists them, each host object is asked with the
 * purge header to wipe its facet (durable-objects/user-object-host.ts), and the directory forgets
 * them. Needs only the app id and the class's URL name, so an app purge can run after control
 * deleted the class rows. Called from a fetch or queue handler, never from inside an RPC call into
 * UserObjectHost (workerd asserts when a facet starts there).
 */
import { ApiError } from '../../shared/errors.ts';
import { controlHeaders } from '../../../durable-objects/hosted-module.ts';
import { directoryName, instanceName, type WipeReport } from '../../../durable-objects/user-object-host.ts';
import type { Env } from '../env.ts';

/** What a purge of (part of) a class's instances did. */
export interface ClassPurgeReport extends WipeReport {
  /** Instances wiped. */
  instances: number;
  /** True when every instance is wiped and the directory is empty. */
  done: boolean;
  /** Subrequests used (directory calls and one per instance). */
  subrequests: number;
}

/**
 * Wipes up to `maxInstances` instances of class `name` of `appId` (default: all), forgetting each
 * in the directory; once none is left the directory is cleared (`done`). Idempotent: an instance
 * already wiped reports nothing to delete. Out: {@link ClassPurgeReport}.
 * @throws ApiError INTERNAL_ERROR when an instance cannot be wiped (what was wiped stays forgotten)
 */
export async function purgeClassInstances(env: Pick<Env, 'USER_OBJECTS'>, appId: string, name: string, maxInstances = Infinity): Promise<ClassPurgeReport> {
  const report: ClassPurgeReport = { instances: 0, keys: 0, tables: 0, done: false, subrequests: 0 };
  const directory = env.USER_OBJECTS.get(env.USER_OBJECTS.idFromName(directoryName(appId, name)));
  while (report.instances < maxInstances) {
    const page = await directory.instances(Math.min(128, maxInstances - report.instances));
    report.subrequests++;
    if (page.length === 0) {
      await directory.clear();
      report.subrequests++;
      report.done = true;
      return report;
    }
    const wiped: string[] = [];
    try {
      for (const instance of page) {
        const host = env.USER_OBJECTS.get(env.USER_OBJECTS.idFromName(instanceName(appId, name, instance)));
        const response = await host.fetch(new Request('https://purge.invalid/', { headers: { [controlHeaders.purge]: '1' } }));
        report.subrequests++;
        if (response.status !== 200) {
          await response.body?.cancel();
          throw new ApiError('INTERNAL_ERROR', `Instance ${instance} of "${name}" could not be purged.`, { internal: `purge answered HTTP ${response.status}` });
        }
        const wipe = await response.json<WipeReport>();
        report.instances++;
        report.keys += wipe.keys;
        report.tables += wipe.tables;
        wiped.push(instance);
      }
    } finally {
      if (wiped.length > 0) {
        await directory.forget(wiped);
        report.subrequests++;
      }
    }
  }
  return report;
}
