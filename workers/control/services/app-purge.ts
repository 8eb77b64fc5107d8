/**
 * What deleting an app leaves for the hosting Worker to remove (queue `butterbase-app-purge`,
 * workers/hosting/services/app-purge.ts): its site files, the storage of its Durable Object
 * instances, and — on Workers for Platforms — the dispatch scripts of its Durable Object classes,
 * Edge SSR deployments and function versions. The rows that name those go with the app (ON DELETE CASCADE), so control reads
 * the names first ({@link userCodeInventory}) and sends them once the app is gone ({@link queueAppPurge}).
 */
import { and, eq } from 'drizzle-orm';
import { maxPurgeScriptsPerMessage, type AppPurgeMessage } from '../../shared/contracts.ts';
import { durableObjectClasses, durableObjectScripts, frontendDeployments, functions, functionVersions } from '../../shared/control-schema.ts';
import { doScriptName } from '../../shared/dispatch-namespace.ts';
import { controlDb } from '../db.ts';
import type { Env } from '../env.ts';

/** The names a purge of one app needs (read before its rows are deleted). */
export interface UserCodeInventory {
  appId: string;
  /** URL names of its Durable Object classes. */
  durableObjectClasses: string[];
  /**
   * Dispatch script names: its Durable Object script (`do-{app_id}`, when one was uploaded; deleting
   * it deletes its classes' storage), its Edge SSR deployment ids, then every version id of its
   * functions (deleted ones too).
   */
  dispatchScripts: string[];
}

/**
 * Reads the app's Durable Object class names (and script), Edge SSR deployment ids and function version ids
 * (soft-deleted functions included: their scripts were deleted best effort). Out: {@link UserCodeInventory}.
 * @throws ApiError EXTERNAL_DB_ERROR when the control database fails
 */
export async function userCodeInventory(env: Env, appId: string): Promise<UserCodeInventory> {
  const db = controlDb(env);
  const [classes, doScript, ssr, versions] = await db.batch([
    db.select({ name: durableObjectClasses.name }).from(durableObjectClasses).where(eq(durableObjectClasses.app_id, appId)),
    db.select({ appId: durableObjectScripts.app_id }).from(durableObjectScripts).where(eq(durableObjectScripts.app_id, appId)),
    db.select({ id: frontendDeployments.id }).from(frontendDeployments).where(and(eq(frontendDeployments.app_id, appId), eq(frontendDeployments.kind, 'ssr'))),
    db.select({ id: functionVersions.id }).from(functionVersions).innerJoin(functions, eq(functions.id, functionVersions.function_id)).where(eq(functions.app_id, appId)),
  ]);
  return {
    appId,
    durableObjectClasses: classes.map((r) => r.name),
    dispatchScripts: [...doScript.map((r) => doScriptName(r.appId)), ...ssr.map((r) => r.id), ...versions.map((r) => r.id)],
  };
}

/** The purge messages of an inventory: the classes and the first script names in the first, the rest in chunks. */
export function purgeMessages(inventory: UserCodeInventory): AppPurgeMessage[] {
  const messages: AppPurgeMessage[] = [];
  const { appId, durableObjectClasses: classes, dispatchScripts: scripts } = inventory;
  for (let start = 0; start === 0 || start < scripts.length; start += maxPurgeScriptsPerMessage) {
    messages.push({ type: 'app_deleted', appId, durableObjectClasses: start === 0 ? classes : [], dispatchScripts: scripts.slice(start, start + maxPurgeScriptsPerMessage) });
  }
  return messages;
}

/**
 * Asks the hosting Worker (queue APP_PURGE) to remove what the app's user code left. A queue rather
 * than an RPC: control cannot bind hosting (hosting's deploy needs control's first), the purge of a
 * large app outlasts one request, and the queue retries it until it is done. A failed send is logged
 * with the counts; the app is gone either way. No-op without the binding.
 */
export async function queueAppPurge(env: Pick<Env, 'APP_PURGE'>, inventory: UserCodeInventory): Promise<void> {
  if (!env.APP_PURGE) return;
  try {
    for (const message of purgeMessages(inventory)) await env.APP_PURGE.send(message);
  } catch (error) {
    console.error(`[apps] user-code purge of ${inventory.appId} not queued (${inventory.durableObjectClasses.length} classes, ${inventory.dispatchScripts.length} scripts): ${String(error)}`);
  }
}
