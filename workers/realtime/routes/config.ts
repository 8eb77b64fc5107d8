/**
 * Routes: realtime config (API.md §9, owner auth; end-user tokens → 403): POST /v1/:app/realtime/configure,
 * GET /v1/:app/realtime/config, DELETE /v1/:app/realtime/:table. Changes are audited.
 */
import { Hono } from 'hono';
import { configureRealtimeBody } from '../../shared/realtime.ts';
import { parseJsonBody } from '../../shared/validation.ts';
import { audited, requireOwner, serviceExecutor } from '../caller.ts';
import type { Env } from '../env.ts';
import { configureTables, disableTable, listTables } from '../services/config.ts';
import { hubLimits, hubName } from '../services/hubs.ts';

/** The config routes, mounted by the realtime Worker. */
export const configRoutes = new Hono<{ Bindings: Env }>();

configRoutes.post('/v1/:app/realtime/configure', async (c) => {
  const { appId } = requireOwner(c);
  const body = await parseJsonBody(c.req.raw, configureRealtimeBody);
  const target = { appId, eventType: 'realtime.configure', action: 'enable' as const, resourceType: 'realtime', data: { tables: body.tables } };
  return c.json(await audited(c, target, () => configureTables(serviceExecutor(c.env, appId), body.tables)));
});

configRoutes.get('/v1/:app/realtime/config', async (c) => {
  const { appId } = requireOwner(c);
  const tables = await listTables(serviceExecutor(c.env, appId));
  const shards = hubLimits(c.env).shards;
  const counts = await Promise.all(Array.from({ length: shards }, (_, k) =>
    c.env.REALTIME_HUB.get(c.env.REALTIME_HUB.idFromName(hubName(appId, k))).connections().catch(() => 0)));
  const base = (c.env.PUBLIC_API_URL || new URL(c.req.url).origin).replace(/^http/, 'ws');
  return c.json({
    app_id: appId,
    tables,
    active_connection: counts.some((n) => n > 0),
    websocket_url: `${base}/v1/${appId}/realtime`,
  });
});

configRoutes.delete('/v1/:app/realtime/:table', async (c) => {
  const { appId } = requireOwner(c);
  const table = c.req.param('table');
  const target = { appId, eventType: 'realtime.disable', action: 'disable' as const, resourceType: 'realtime', resourceId: table, data: { table } };
  return c.json(await audited(c, target, () => disableTable(serviceExecutor(c.env, appId), table)));
});
