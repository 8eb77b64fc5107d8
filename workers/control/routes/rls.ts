/**
 * Routes: row-level security (API.md §4) — POST /v1/:app/rls/enable, POST /v1/:app/rls/policies,
 * PATCH /v1/:app/rls/policies/:policy, POST /v1/:app/rls (user isolation), GET /v1/:app/rls,
 * DELETE /v1/:app/rls/:table, DELETE /v1/:app/rls/:table/:policy — and POST /v1/:app/secure (§2).
 * Owner auth; every change is audited. Like the schema routes, they need the app database ready
 * (reads also while migrating), else 503 APP_NOT_READY before anything changes.
 */
import { Hono } from 'hono';
import { audited, jsonBody, ownedApp } from '../context.ts';
import type { Env } from '../env.ts';
import { createPolicyBody, enableRlsBody, secureAppBody, updatePolicyBody, userIsolationBody } from '../rls/bodies.ts';
import { secureApp } from '../rls/secure.ts';
import { createPolicy, createUserIsolation, deletePolicy, disableRls, enableRls, listRls, updatePolicy } from '../rls/service.ts';
import { ownerExecutor } from '../schema/apply.ts';

/** The RLS routes, mounted by the control Worker. */
export const rlsRoutes = new Hono<{ Bindings: Env }>();

rlsRoutes.get('/v1/:app/rls', async (c) => {
  const { app } = await ownedApp(c);
  return c.json(await listRls(ownerExecutor(c.env, app, 'read')));
});

rlsRoutes.post('/v1/:app/rls/enable', async (c) => {
  const { app } = await ownedApp(c);
  return c.json(await audited(c, { appId: app.id, eventType: 'rls.enabled', action: 'enable', resourceType: 'table' }, async (target) => {
    const body = await jsonBody(c, enableRlsBody);
    target.resourceId = body.table_name;
    target.data = {};
    return enableRls(ownerExecutor(c.env, app, 'write'), body);
  }));
});

rlsRoutes.post('/v1/:app/rls/policies', async (c) => {
  const { app } = await ownedApp(c);
  return c.json(await audited(c, { appId: app.id, eventType: 'rls.policy_created', action: 'create', resourceType: 'rls_policy' }, async (target) => {
    const body = await jsonBody(c, createPolicyBody);
    target.resourceId = `${body.table_name}.${body.policy_name}`;
    target.data = { ...body };
    return createPolicy(ownerExecutor(c.env, app, 'write'), body);
  }));
});

rlsRoutes.patch('/v1/:app/rls/policies/:policy', async (c) => {
  const { app } = await ownedApp(c);
  const policy = c.req.param('policy');
  return c.json(await audited(c, { appId: app.id, eventType: 'rls.policy_updated', action: 'update', resourceType: 'rls_policy', resourceId: policy }, async (target) => {
    const body = await jsonBody(c, updatePolicyBody);
    target.resourceId = `${body.table_name}.${policy}`;
    target.data = { ...body };
    return updatePolicy(ownerExecutor(c.env, app, 'write'), policy, body);
  }));
});

rlsRoutes.post('/v1/:app/rls', async (c) => {
  const { app } = await ownedApp(c);
  return c.json(await audited(c, { appId: app.id, eventType: 'rls.user_isolation_created', action: 'create', resourceType: 'table' }, async (target) => {
    const body = await jsonBody(c, userIsolationBody);
    target.resourceId = body.table_name;
    target.data = { ...body };
    return createUserIsolation(ownerExecutor(c.env, app, 'write'), body);
  }));
});

rlsRoutes.delete('/v1/:app/rls/:table', async (c) => {
  const { app } = await ownedApp(c);
  const table = c.req.param('table');
  const target = { appId: app.id, eventType: 'rls.disabled', action: 'disable' as const, resourceType: 'table', resourceId: table };
  return c.json(await audited(c, target, () => disableRls(ownerExecutor(c.env, app, 'write'), table)));
});

rlsRoutes.delete('/v1/:app/rls/:table/:policy', async (c) => {
  const { app } = await ownedApp(c);
  const table = c.req.param('table');
  const policy = c.req.param('policy');
  const target = { appId: app.id, eventType: 'rls.policy_deleted', action: 'delete' as const, resourceType: 'rls_policy', resourceId: `${table}.${policy}` };
  return c.json(await audited(c, target, () => deletePolicy(ownerExecutor(c.env, app, 'write'), table, policy)));
});

rlsRoutes.post('/v1/:app/secure', async (c) => {
  const { app } = await ownedApp(c);
  return c.json(await audited(c, { appId: app.id, eventType: 'app.secured', action: 'update', resourceType: 'app', resourceId: app.id }, async (target) => {
    const body = await jsonBody(c, secureAppBody);
    target.data = { tables: (body.tables ?? []).map((t) => t.table_name) };
    return secureApp(c.env, ownerExecutor(c.env, app, 'write'), app, body);
  }));
});
