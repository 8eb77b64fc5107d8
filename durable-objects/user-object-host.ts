/**
 * UserObjectHost: hosts user-deployed Durable Object classes locally (API.md §10.1, DESIGN.md "User
 * code": Worker Loader facets). One host object per instance, named `{app_id}:{name}:{instance}`;
 * the user's class runs in it as the facet `main`, loaded through the Worker Loader under the id of
 * its class version, so a redeploy (or an env change) aborts the facet and the next request runs the
 * new code against the same storage. The loaded module wraps the class (durable-objects/hosted-module.ts,
 * the same wrapper the Workers for Platforms script uses) so the host can probe construction.
 * Directory objects, named `dir:{app_id}:{name}`, remember every instance of a class so a class
 * delete or an app purge can wipe them all (a class deployed again under the name starts empty). A
 * purge runs the platform's own wiper class ({@link wiperModule}) as the facet, against the same storage, so it needs neither the user's code nor its class row (an app
 * purge runs after control deleted them). Purges arrive as fetches: workerd asserts when a facet is
 * started inside an RPC call that follows earlier fetches, and `storage.deleteAll()` inside a facet
 * trips an assertion too.
 *
 * Storage (the host's own, not the facet's):
 * - `instance` → `{ appId, name, instance }`: written when the instance registers with its
 *   directory (before its facet first runs); a purge wipes the facet only when it is present.
 * - directory objects: `i:{instance}` → true for each instance that ever ran.
 * The facet `main` has storage of its own (its own SQLite file): that is the user's `state.storage`.
 */
import { DurableObject } from 'cloudflare:workers';
import { classById, envValues, loaderKey } from '../workers/hosting/services/do-classes.ts';
import type { Env } from '../workers/hosting/env.ts';
import { contextBinding, controlHeaders, hostedModule } from './hosted-module.ts';

/** The internal headers the hosting edge sets for a host object (removed before user code sees the request). */
export const hostHeaders = {
  app: 'x-bb-do-app',
  name: 'x-bb-do-name',
  classId: 'x-bb-do-class-id',
  className: 'x-bb-do-class-name',
  version: 'x-bb-do-version',
  instance: 'x-bb-do-instance',
} as const;

/** The host object name of an instance. */
export const instanceName = (appId: string, name: string, instance: string) => `${appId}:${name}:${instance}`;
/** The directory object name of a class. */
export const directoryName = (appId: string, name: string) => `dir:${appId}:${name}`;

/** The result of {@link UserObjectHost.probe}: null when the class constructed, else the error text. */
export type ProbeResult = string | null;

/** What a purge removed from an instance's storage (the body of a purge's 200 answer). */
export interface WipeReport {
  /** Key-value keys deleted. */
  keys: number;
  /** SQL tables dropped. */
  tables: number;
}

/**
 * Hosts one instance of a user class (or, as `dir:{app_id}:{name}`, the directory of a class; or,
 * as `probe:{class id}:v{version}`, the throwaway object a deploy constructs the class in).
 */
export class UserObjectHost extends DurableObject<Env> {
  /** The loader id the running facet was started with. */
  private running: string | null = null;

  /** Serves one request of the instance (HTTP or a WebSocket upgrade) through the user's class. */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get(controlHeaders.purge) === '1') return Response.json(await this.purge());
    const appId = request.headers.get(hostHeaders.app)!;
    const classId = request.headers.get(hostHeaders.classId)!;
    const className = request.headers.get(hostHeaders.className)!;
    const version = Number(request.headers.get(hostHeaders.version));
    const name = request.headers.get(hostHeaders.name)!;
    const instance = request.headers.get(hostHeaders.instance)!;
    if (!(await this.ctx.storage.get('instance'))) {
      await this.env.USER_OBJECTS.get(this.env.USER_OBJECTS.idFromName(directoryName(appId, name))).register(instance);
      await this.ctx.storage.put('instance', { appId, name, instance });
    }
    const key = loaderKey({ app_id: appId, id: classId }, 'live', version);
    const facet = this.facetFor(key, classId, className, 'live');
    const headers = new Headers(request.headers);
    for (const name of Object.values(hostHeaders)) headers.delete(name);
    return facet.fetch(new Request(request, { headers }));
  }

  /**
   * Constructs the class once in a throwaway facet and reports a constructor (or module) failure as
   * its message; the probe's storage is deleted afterwards. Used by deploy (status READY | ERROR).
   */
  async probe(appId: string, classId: string, className: string, version: number): Promise<ProbeResult> {
    try {
      const facet = this.facetFor(loaderKey({ app_id: appId, id: classId }, 'probe', version), classId, className, 'probe');
      // The wrapper answers the probe header right after construction, without the user's fetch.
      const response = await facet.fetch(new Request('https://probe.invalid/', { headers: { [controlHeaders.probe]: '1' } }));
      await response.body?.cancel();
      return null;
    } catch (error) {
      return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    } finally {
      // The probe facet has stored nothing; workerd's facets.delete fails on a facet without a
      // database file, so the probe object is simply left idle (it is unique to this version).
      this.ctx.facets.abort('main', new Error('probe finished'));
      this.running = null;
    }
  }

  /** Directory: records an instance of the class. */
  async register(instance: string): Promise<void> {
    await this.ctx.storage.put(`i:${instance}`, true);
  }

  /**
   * Directory: up to `limit` recorded instances of the class (all when omitted), in key order.
   * Out: instance ids.
   */
  async instances(limit?: number): Promise<string[]> {
    return [...(await this.ctx.storage.list({ prefix: 'i:', limit })).keys()].map((k) => k.slice(2));
  }

  /** Directory: forgets the given instances (after each was purged). */
  async forget(instances: string[]): Promise<void> {
    for (let start = 0; start < instances.length; start += 128) await this.ctx.storage.delete(instances.slice(start, start + 128).map((i) => `i:${i}`));
  }

  /** Directory: forgets every instance (after each was purged). */
  async clear(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }

  /**
   * Deletes this instance's state: if it ever ran, the facet `main` is restarted as the platform's
   * wiper ({@link wiperModule}), which deletes every key, table and alarm of its storage, then
   * stopped; the host record goes last, so a purge that fails midway wipes again when retried.
   * (workerd's `facets.delete` fails on a facet that never created its database, so it is not used.)
   * Out: {@link WipeReport}. @throws the runtime's error when the wiper cannot run (the caller retries)
   */
  private async purge(): Promise<WipeReport> {
    let report: WipeReport = { keys: 0, tables: 0 };
    if (await this.ctx.storage.get('instance')) {
      if (this.running) this.ctx.facets.abort('main', new Error('The Durable Object is being deleted.'));
      this.running = wiperKey;
      const wiper = this.env.LOADER.get(wiperKey, () => ({
        compatibilityDate: '2026-04-01',
        mainModule: 'wiper.js',
        modules: { 'wiper.js': wiperModule },
        env: {},
        globalOutbound: null,
      }));
      const facet = this.ctx.facets.get('main', () => ({ class: wiper.getDurableObjectClass('Wiper') }));
      const response = await facet.fetch(new Request('https://purge.invalid/'));
      report = await response.json<WipeReport>();
    }
    this.ctx.facets.abort('main', new Error('The Durable Object was deleted.'));
    this.running = null;
    // Only the host's own key: deleteAll() on a host with facets trips a workerd assertion.
    await this.ctx.storage.delete('instance');
    return report;
  }

  private facetFor(key: string, classId: string, className: string, kind: 'live' | 'probe'): Fetcher {
    if (this.running && this.running !== key) this.ctx.facets.abort('main', new Error('The Durable Object class was redeployed.'));
    this.running = key;
    const env = this.env;
    const worker = env.LOADER.get(key, async () => {
      const row = await classById(env, classId);
      const module = kind === 'live' ? row?.live_compiled : row?.compiled;
      const name = kind === 'live' ? row?.live_class_name : row?.class_name;
      if (!row || !module || !name) throw new Error(`class ${classId} has no ${kind} code`);
      return {
        compatibilityDate: '2026-04-01',
        mainModule: 'hosted.js',
        modules: { 'hosted.js': hostedModule(name, row.app_id), 'class.js': module },
        env: { ...(await envValues(env, row.app_id)), [contextBinding]: env.FUNCTION_SESSION },
        globalOutbound: null,
      };
    });
    return this.ctx.facets.get('main', () => ({ class: worker.getDurableObjectClass('Hosted') }));
  }
}

/** The Worker Loader id of the wiper (platform code, the same for every instance). */
const wiperKey = 'butterbase:user-object-wiper:v1';

/**
 * The class a purge runs as the facet `main`: on any fetch it deletes every key (in pages; the
 * facet's storage.deleteAll() trips a workerd assertion), drops every SQL table the user created and
 * the alarm, and answers the {@link WipeReport}.
 */
const wiperModule = `export class Wiper {
  constructor(state) {
    this.state = state;
  }
  async fetch() {
    const storage = this.state.storage;
    let keys = 0;
    for (;;) {
      const page = [...(await storage.list({ limit: 128 })).keys()];
      if (page.length === 0) break;
      await storage.delete(page);
      keys += page.length;
    }
    let tables = 0;
    if (storage.sql) {
      const rows = storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'").toArray();
      for (const { name } of rows) {
        storage.sql.exec('DROP TABLE IF EXISTS "' + String(name).replace(/"/g, '""') + '"');
        tables++;
      }
    }
    await storage.deleteAlarm();
    return Response.json({ keys, tables });
  }
}
`;
