/**
 * Routes: user Durable Object classes (API.md §10.1, base /v1/:app/durable-objects, owner auth):
 * deploy (register or update: validate, store, construct once in a probe → READY | ERROR; on Workers
 * for Platforms the app's script is uploaded instead, the API's refusal the ERROR: services/do-script.ts),
 * list, get (+ code), delete (purges every instance's storage), usage, and the app-wide env vars (keys
 * only on read; a change redeploys every class).
 */
import { and, asc, eq, sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { controlDb } from '../../shared/control-db.ts';
import { durableObjectClasses, durableObjectEnv } from '../../shared/control-schema.ts';
import { encryptSecret } from '../../shared/crypto.ts';
import { ApiError } from '../../shared/errors.ts';
import { deployDurableObjectBody, durableObjectEnvBody, envKeyPattern } from '../../shared/schemas/hosting.ts';
import { parseJsonBody } from '../../shared/validation.ts';
import { requireOwner } from '../caller.ts';
import type { Env } from '../env.ts';
import { classWire, findClass, getClass, listClasses, maxBundleBytes, maxClassesPerApp, redeployAll } from '../services/do-classes.ts';
import { purgeClassInstances } from '../services/do-purge.ts';
import { publishDoScript } from '../services/do-script.ts';
import { bindingOf, checkName, checkSource } from '../services/do-source.ts';
import { ssrDispatchConfig } from '../services/ssr.ts';

/**
 * After an env var change: every class of the app loads fresh code (a new version; on Workers for
 * Platforms the app's script is uploaded again with the new env). Out: whether any class exists.
 * @throws ApiError EXTERNAL_NETWORK_ERROR (502) when the script upload is refused: the change is
 *   stored and applies with the next successful upload, the old env keeps serving until then
 */
async function redeployClasses(env: Env, appId: string, key: string): Promise<boolean> {
  if ((await redeployAll(env, appId)) === 0) return false;
  const wfp = ssrDispatchConfig(env);
  if (!wfp) return true;
  try {
    await publishDoScript(env, wfp, appId, null);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    throw new ApiError('EXTERNAL_NETWORK_ERROR', `The env var ${key} is saved, but the Durable Object classes could not be updated: ${error.message}`, {
      remediation: 'The classes keep their previous env until an upload succeeds: set the env var again or redeploy a class.',
      details: error.details,
    });
  }
  return true;
}

/** The Durable Object routes, mounted by the hosting Worker. */
export const durableObjectRoutes = new Hono<{ Bindings: Env }>();

async function gzipSize(text: string): Promise<number> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

durableObjectRoutes.post('/v1/:app/durable-objects', async (c) => {
  const app = requireOwner(c);
  const body = await parseJsonBody(c.req.raw, deployDurableObjectBody);
  checkName(body.name);
  const checked = checkSource(body.name, body.code);
  const classes = await listClasses(c.env, app.id);
  const existing = classes.find((row) => row.name === body.name);
  if (!existing && classes.length >= maxClassesPerApp) {
    throw new ApiError('QUOTA_DO_LIMIT', `App ${app.id} already has ${maxClassesPerApp} Durable Object classes.`, { details: { limit: maxClassesPerApp } });
  }
  const others = classes.filter((row) => row.name !== body.name).map((row) => row.compiled ?? '');
  const bundleBytes = (await Promise.all([...others, checked.module].map(gzipSize))).reduce((a, b) => a + b, 0);
  if (bundleBytes > maxBundleBytes) {
    throw new ApiError('BUNDLE_SIZE_EXCEEDED', `The app's Durable Object classes would be ${bundleBytes} bytes compressed; at most ${maxBundleBytes} are allowed.`);
  }
  const [collision] = await controlDb(c.env).select({ key: durableObjectEnv.key }).from(durableObjectEnv)
    .where(and(eq(durableObjectEnv.app_id, app.id), eq(durableObjectEnv.key, bindingOf(body.name))));
  if (collision) {
    throw new ApiError('RESOURCE_CONFLICT', `The env var ${collision.key} has the binding name of "${body.name}".`, { remediation: `Delete the env var ${collision.key} (DELETE /v1/{app_id}/durable-objects/env/${collision.key}) or choose another class name.` });
  }
  const now = new Date();
  const [row] = await controlDb(c.env).insert(durableObjectClasses).values({
    app_id: app.id, name: body.name, class_name: checked.className, code: body.code, compiled: checked.module,
    access_mode: body.access_mode, status: 'BUILDING', version: 1, updated_at: now,
  }).onConflictDoUpdate({
    target: [durableObjectClasses.app_id, durableObjectClasses.name],
    set: {
      class_name: checked.className, code: body.code, compiled: checked.module, access_mode: body.access_mode, status: 'BUILDING',
      error_message: null, version: sql`${durableObjectClasses.version} + 1`, updated_at: now,
    },
  }).returning();
  const wfp = ssrDispatchConfig(c.env);
  const failure = wfp
    ? await publishDoScript(c.env, wfp, app.id, { deploy: { name: body.name, className: checked.className, module: checked.module } }).then(() => null, (error: unknown) => (error instanceof Error ? error.message : String(error)))
    : await c.env.USER_OBJECTS.get(c.env.USER_OBJECTS.idFromName(`probe:${row!.id}:v${row!.version}`)).probe(app.id, row!.id, checked.className, row!.version);
  const [final] = await controlDb(c.env).update(durableObjectClasses)
    .set(failure === null
      ? { status: 'READY', error_message: null, last_deployed_at: new Date(), updated_at: new Date(), live_version: row!.version, live_class_name: checked.className, live_compiled: checked.module }
      : { status: 'ERROR', error_message: failure.slice(0, 2000), updated_at: new Date() })
    .where(and(eq(durableObjectClasses.id, row!.id), eq(durableObjectClasses.version, row!.version)))
    .returning();
  return c.json(classWire(final ?? row!), existing ? 200 : 201);
});

durableObjectRoutes.get('/v1/:app/durable-objects', async (c) => {
  const app = requireOwner(c);
  return c.json({ durable_objects: (await listClasses(c.env, app.id)).map(classWire) });
});

durableObjectRoutes.get('/v1/:app/durable-objects/env', async (c) => {
  const app = requireOwner(c);
  const rows = await controlDb(c.env).select({ key: durableObjectEnv.key }).from(durableObjectEnv).where(eq(durableObjectEnv.app_id, app.id)).orderBy(asc(durableObjectEnv.key));
  return c.json({ keys: rows.map((r) => r.key) });
});

durableObjectRoutes.put('/v1/:app/durable-objects/env/:key', async (c) => {
  const app = requireOwner(c);
  const key = c.req.param('key');
  if (!envKeyPattern.test(key) || key.length > 128) {
    throw new ApiError('VALIDATION_INVALID_NAME', `"${key}" is not an UPPER_SNAKE env var name (^[A-Z_][A-Z0-9_]*$).`, { remediation: 'Use a name such as AI_API_KEY.' });
  }
  if (key.startsWith('BUTTERBASE_')) {
    throw new ApiError('VALIDATION_INVALID_NAME', `Variables starting with BUTTERBASE_ are set by the platform (${key}).`, { remediation: 'Rename the variable so it does not start with BUTTERBASE_.' });
  }
  const { value } = await parseJsonBody(c.req.raw, durableObjectEnvBody);
  const classes = await listClasses(c.env, app.id);
  const owner = classes.find((row) => bindingOf(row.name) === key);
  if (owner) throw new ApiError('RESOURCE_CONFLICT', `${key} is the binding name of the Durable Object "${owner.name}".`, { remediation: 'Choose another env var name.' });
  const now = new Date();
  await controlDb(c.env).insert(durableObjectEnv).values({ app_id: app.id, key, value: await encryptSecret(value, c.env.PLATFORM_MASTER_KEY), updated_at: now })
    .onConflictDoUpdate({ target: [durableObjectEnv.app_id, durableObjectEnv.key], set: { value: sql`excluded.value`, updated_at: now } });
  return c.json({ key, redeployed: await redeployClasses(c.env, app.id, key) });
});

durableObjectRoutes.delete('/v1/:app/durable-objects/env/:key', async (c) => {
  const app = requireOwner(c);
  const key = c.req.param('key');
  const removed = await controlDb(c.env).delete(durableObjectEnv).where(and(eq(durableObjectEnv.app_id, app.id), eq(durableObjectEnv.key, key))).returning({ key: durableObjectEnv.key });
  if (removed.length === 0) throw new ApiError('RESOURCE_NOT_FOUND', `Env var ${key} not found.`);
  return c.json({ deleted: true, key, redeployed: await redeployClasses(c.env, app.id, key) });
});

durableObjectRoutes.get('/v1/:app/durable-objects/:name', async (c) => {
  const app = requireOwner(c);
  const row = await getClass(c.env, app.id, c.req.param('name'));
  return c.json({ ...classWire(row), code: row.code });
});

durableObjectRoutes.get('/v1/:app/durable-objects/:name/usage', async (c) => {
  const app = requireOwner(c);
  await getClass(c.env, app.id, c.req.param('name'));
  const [totals] = await controlDb(c.env).select({
    do_requests: sql<number>`coalesce(sum(${durableObjectClasses.do_requests}), 0)::int`,
    do_cpu_ms: sql<number>`coalesce(sum(${durableObjectClasses.do_cpu_ms}), 0)::int`,
  }).from(durableObjectClasses).where(eq(durableObjectClasses.app_id, app.id));
  return c.json({ do_requests: totals?.do_requests ?? 0, do_cpu_ms: totals?.do_cpu_ms ?? 0 });
});

durableObjectRoutes.delete('/v1/:app/durable-objects/:name', async (c) => {
  const app = requireOwner(c);
  const name = c.req.param('name');
  const row = await findClass(c.env, app.id, name);
  if (!row) throw new ApiError('RESOURCE_NOT_FOUND', `Durable Object "${name}" not found.`);
  // Purge first, so a failure leaves the class (and its instances' list) for a retried delete. On
  // Workers for Platforms the upload without the class carries it in deleted_classes: Cloudflare
  // deletes its objects' storage.
  const wfp = ssrDispatchConfig(c.env);
  if (wfp) {
    await publishDoScript(c.env, wfp, app.id, { remove: name });
  } else {
    const purged = await purgeClassInstances(c.env, app.id, name);
    console.log(`[hosting] purged ${purged.instances} instances of ${app.id}/${name} (${purged.keys} keys, ${purged.tables} tables)`);
  }
  await controlDb(c.env).delete(durableObjectClasses).where(eq(durableObjectClasses.id, row.id));
  return c.json({ deleted: true, name });
});
