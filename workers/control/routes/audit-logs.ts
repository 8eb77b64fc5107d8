/** Route: GET /v1/:app/audit-logs (API.md §2). */
import { Hono } from 'hono';
import { parseWith } from '../../shared/validation.ts';
import { ownedApp } from '../context.ts';
import type { Env } from '../env.ts';
import { auditLogQuery, queryAuditLogs } from '../services/audit.ts';

export const auditLogRoutes = new Hono<{ Bindings: Env }>();

auditLogRoutes.get('/v1/:app/audit-logs', async (c) => {
  const { app } = await ownedApp(c);
  const query = parseWith(auditLogQuery, c.req.query(), 'query');
  return c.json(await queryAuditLogs(c.env, app.id, query));
});
