/** Routes: POST /init, GET /apps, GET /apps/:app/status, DELETE /apps/:app (API.md §2). */
import { Hono } from 'hono';
import { requireAccountKey } from '../authz.ts';
import { appContext, audited, jsonBody } from '../context.ts';
import type { Env } from '../env.ts';
import { appStatus, deleteApp, initApp, initAppBody, listApps } from '../services/apps.ts';
import { principalOf } from '../../shared/http.ts';

export const appRoutes = new Hono<{ Bindings: Env }>();

appRoutes.post('/init', async (c) => {
  requireAccountKey(principalOf(c));
  const body = await jsonBody(c, initAppBody);
  const context = appContext(c);
  const result = await initApp(context, body);
  if (result.status === 201) {
    await audited(c, { appId: result.body.app_id, eventType: 'app.created', action: 'create', resourceType: 'app', resourceId: result.body.app_id, data: { name: body.name, region: result.body.region } }, async () => result);
  }
  return c.json(result.body, result.status);
});

appRoutes.get('/apps', async (c) => c.json(await listApps(appContext(c))));

appRoutes.get('/apps/:app/status', async (c) => c.json(await appStatus(appContext(c), c.req.param('app'))));

appRoutes.get('/apps/:app', async (c) => c.json(await appStatus(appContext(c), c.req.param('app'))));

appRoutes.delete('/apps/:app', async (c) => {
  const appId = c.req.param('app');
  const result = await audited(c, { appId, eventType: 'app.deleted', action: 'delete', resourceType: 'app', resourceId: appId }, () => deleteApp(appContext(c), appId));
  return c.json(result);
});
