/**
 * User Durable Object classes on Workers for Platforms (API.md §10.1, DESIGN.md "User code",
 * issue 11): every class of an app lives in ONE dispatch script, `do-{app_id}`
 * (workers/shared/dispatch-namespace.ts `doScriptName`), regenerated and uploaded whenever a class is
 * deployed or deleted or the app's DO env vars change. The script holds:
 * - an entry module ({@link doEntrySource}) whose fetch sends `/_do/{name}/{instance}` to
 *   `env[BINDING].get(env[BINDING].idFromName(instance))` — the hosting edge has already checked
 *   access and set the `x-butterbase-*` headers and the session token;
 * - per class its compiled module and the platform wrapper (durable-objects/hosted-module.ts, the
 *   same text the Worker Loader facet runs), exported under the user's class name;
 * - bindings: a `durable_object_namespace` per class (its `bindingOf` name → its class), the env
 *   vars as `secret_text`, and `BUTTERBASE_CTX`, a service binding to the functions Worker's
 *   `FunctionSession` entrypoint (what `butterbase.ctx` calls);
 * - Durable Object `migrations` ({@link doMigrations}) from the classes the script exported last
 *   (control table `durable_object_scripts`): a new class gets `new_sqlite_classes`, a deleted one
 *   `deleted_classes` (Cloudflare deletes its objects' storage), a class name change under the same
 *   URL name (`HttpCache` → `HTTPCache`) `renamed_classes`; a redeploy of the same class changes
 *   no namespace, so its storage stays.
 * A refused upload changes nothing on Cloudflare: the previous script keeps serving.
 * Sources: https://developers.cloudflare.com/workers/configuration/multipart-upload-metadata (bindings),
 * https://developers.cloudflare.com/durable-objects/reference/durable-objects-migrations/ and the
 * Cloudflare API "Upload Worker Module" (`migrations`: old_tag, new_tag, steps).
 */
import { and, eq } from 'drizzle-orm';
import { butterbaseGlobalSource, contextBinding, hostedClassSource } from '../../../durable-objects/hosted-module.ts';
import { controlDb } from '../../shared/control-db.ts';
import { doScriptClasses, durableObjectScripts, type DoScriptClasses } from '../../shared/control-schema.ts';
import {
  doScriptName, uploadScript, userScriptCompatibility,
  type NamespaceConfig, type ScriptBinding, type ScriptMigrations, type ScriptMigrationStep, type ScriptUpload,
} from '../../shared/dispatch-namespace.ts';
import type { Env } from '../env.ts';
import { envValues, listClasses } from './do-classes.ts';
import { bindingOf } from './do-source.ts';

/** CPU time one request to a Durable Object script may use on Workers for Platforms, ms. */
export const doCpuMs = 30_000;

/** The entry module's part name. */
export const doEntryModule = '__butterbase_do_main.js';

/** The functions Worker's script name when FUNCTIONS_SCRIPT_NAME is not set (BUTTERBASE_CTX's target). */
export const defaultFunctionsScript = 'butterbase-functions';

/** One class as the script carries it. */
export interface ScriptClass {
  /** URL name (`chat-room`). */
  name: string;
  /** The exported class (`ChatRoom`). */
  className: string;
  /** The compiled module (types stripped; `export class ChatRoom …`). */
  module: string;
}

/** What the script was last uploaded with (a `durable_object_scripts` row), or null before the first upload. */
export interface AppliedScript {
  /** The migration tag number (`v{n}` on Cloudflare). */
  tag: number;
  classes: DoScriptClasses;
}

/** What a publish changes besides re-reading the app's classes and env: a class's new code, or a class removed. */
export type DoScriptChange = { deploy: ScriptClass } | { remove: string } | null;

const classPart = (name: string) => `classes/${name}.js`;
const hostedPart = (name: string) => `classes/${name}.hosted.js`;
const tagOf = (n: number) => `v${n}`;

/**
 * The entry module of app `appId`'s script: re-exports each class's wrapper under its class name,
 * defines the global `butterbase` once, and routes `/_do/{name}/{instance}` (instance URL-decoded;
 * the rest of the path and the query stay on the request) to the instance named `instance` of the
 * class's namespace; any other path, an unknown name or an empty instance answers 404.
 */
export function doEntrySource(appId: string, classes: readonly ScriptClass[]): string {
  const bindings = Object.fromEntries(classes.map((c) => [c.name, bindingOf(c.name)]));
  return `${classes.map((c) => `export { ${c.className} } from ${JSON.stringify(`./${hostedPart(c.name)}`)};`).join('\n')}

${butterbaseGlobalSource(appId)}
const bindings = ${JSON.stringify(bindings)};

export default {
  async fetch(request, env) {
    const [, prefix, name, rawInstance] = new URL(request.url).pathname.split('/');
    let instance = '';
    try {
      instance = decodeURIComponent(rawInstance ?? '');
    } catch {
      instance = '';
    }
    const binding = prefix === '_do' && Object.hasOwn(bindings, name) ? bindings[name] : undefined;
    if (!binding || !instance) return new Response('No such Durable Object.', { status: 404 });
    const namespace = env[binding];
    return namespace.get(namespace.idFromName(instance)).fetch(request);
  },
};
`;
}

/**
 * The migrations from what the script exported last (`applied`, null before the first upload) to
 * the classes `next` (URL name → class name): `old_tag` the applied tag (omitted the first time),
 * `new_tag` the next number, and the steps that are not empty, in this order: `new_sqlite_classes`
 * (names not applied before), `deleted_classes` (applied names now gone), `renamed_classes` (same
 * name, another class name). Every upload moves the tag, so two concurrent publishes cannot both
 * succeed against the same old_tag. Out: {@link ScriptMigrations}.
 */
export function doMigrations(applied: AppliedScript | null, next: DoScriptClasses): ScriptMigrations {
  const before = applied?.classes ?? {};
  const created = Object.keys(next).filter((name) => !(name in before)).map((name) => next[name]!);
  const deleted = Object.keys(before).filter((name) => !(name in next)).map((name) => before[name]!);
  const renamed = Object.keys(next).filter((name) => name in before && before[name] !== next[name]).map((name) => ({ from: before[name]!, to: next[name]! }));
  const steps: ScriptMigrationStep[] = [];
  if (created.length > 0) steps.push({ new_sqlite_classes: created.sort() });
  if (deleted.length > 0) steps.push({ deleted_classes: deleted.sort() });
  if (renamed.length > 0) steps.push({ renamed_classes: renamed });
  return {
    ...(applied ? { old_tag: tagOf(applied.tag) } : {}),
    new_tag: tagOf((applied?.tag ?? 0) + 1),
    steps,
  };
}

/**
 * The upload of app `appId`'s script: the entry module (main), each class's module and wrapper;
 * bindings in this order: one `durable_object_namespace` per class, `BUTTERBASE_CTX` (service
 * `functionsScript`, entrypoint `FunctionSession`), then each env var as `secret_text` (a var whose
 * name a binding already has is left out; the routes refuse such names anyway); `nodejs_compat`;
 * tags `{appId}` and `{appId}-do`; and `migrations`. Out: {@link ScriptUpload}.
 */
export function doScriptUpload(appId: string, classes: readonly ScriptClass[], vars: Record<string, string>, migrations: ScriptMigrations, functionsScript: string): ScriptUpload {
  const bindings: ScriptBinding[] = [
    ...classes.map((c) => ({ type: 'durable_object_namespace' as const, name: bindingOf(c.name), class_name: c.className })),
    { type: 'service', name: contextBinding, service: functionsScript, entrypoint: 'FunctionSession' },
  ];
  const taken = new Set(bindings.map((b) => b.name));
  for (const [name, text] of Object.entries(vars)) if (!taken.has(name)) bindings.push({ type: 'secret_text', name, text });
  const modules: Record<string, string> = { [doEntryModule]: doEntrySource(appId, classes) };
  for (const c of classes) {
    modules[classPart(c.name)] = c.module;
    modules[hostedPart(c.name)] = hostedClassSource(c.className, `./${c.name}.js`, c.className);
  }
  return {
    metadata: { main_module: doEntryModule, ...userScriptCompatibility, bindings, tags: [appId, `${appId}-do`], migrations },
    modules,
  };
}

/** The script's applied state (control `durable_object_scripts`), or null before its first upload. */
async function appliedScript(env: Env, appId: string): Promise<AppliedScript | null> {
  const [row] = await controlDb(env).select().from(durableObjectScripts).where(eq(durableObjectScripts.app_id, appId));
  return row ? { tag: row.migration_tag, classes: doScriptClasses.parse(row.classes) } : null;
}

/**
 * Regenerates and uploads app `appId`'s script `do-{app_id}`: every class of the app that has live
 * code (its last deploy that succeeded), with `change` applied (`deploy`: that class's candidate
 * code instead; `remove`: that class left out, so it is deleted with its storage), the app's DO env
 * vars and the migrations from the applied state; then records the new tag and classes. Functions
 * script name: FUNCTIONS_SCRIPT_NAME, default {@link defaultFunctionsScript}.
 * @throws ApiError EXTERNAL_NETWORK_ERROR (502) with the Cloudflare API's message when the upload is
 *   refused or the API cannot be reached (nothing changed: the previous script keeps serving),
 *   EXTERNAL_DB_ERROR when the control database fails
 */
export async function publishDoScript(env: Env, config: NamespaceConfig, appId: string, change: DoScriptChange): Promise<void> {
  const [rows, vars, applied] = await Promise.all([listClasses(env, appId), envValues(env, appId), appliedScript(env, appId)]);
  const classes = new Map<string, ScriptClass>();
  for (const row of rows) {
    if (row.live_compiled && row.live_class_name) classes.set(row.name, { name: row.name, className: row.live_class_name, module: row.live_compiled });
  }
  if (change && 'deploy' in change) classes.set(change.deploy.name, change.deploy);
  if (change && 'remove' in change) classes.delete(change.remove);
  const list = [...classes.values()].sort((a, b) => a.name.localeCompare(b.name));
  const next: DoScriptClasses = Object.fromEntries(list.map((c) => [c.name, c.className]));
  const migrations = doMigrations(applied, next);
  const upload = doScriptUpload(appId, list, vars, migrations, env.FUNCTIONS_SCRIPT_NAME ?? defaultFunctionsScript);
  await uploadScript(config, doScriptName(appId), upload, 'Durable Object classes');
  const tag = (applied?.tag ?? 0) + 1;
  const db = controlDb(env);
  const saved = applied
    ? await db.update(durableObjectScripts).set({ migration_tag: tag, classes: next, updated_at: new Date() })
      .where(and(eq(durableObjectScripts.app_id, appId), eq(durableObjectScripts.migration_tag, applied.tag))).returning({ tag: durableObjectScripts.migration_tag })
    : await db.insert(durableObjectScripts).values({ app_id: appId, migration_tag: tag, classes: next }).onConflictDoNothing().returning({ tag: durableObjectScripts.migration_tag });
  // Cloudflare accepted old_tag, so no other publish moved the tag in between; a miss here means the
  // row changed under us anyway, and the next upload's old_tag check will say so.
  if (saved.length === 0) console.error(`[hosting] Durable Object script of ${appId}: applied tag ${tagOf(tag)} not recorded (the row changed concurrently)`);
}
