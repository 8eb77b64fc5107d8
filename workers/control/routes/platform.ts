/** Routes: GET /v1/regions (public), POST /suggestions (API.md §2, §14). */
import { Hono } from 'hono';
import { z } from 'zod';
import { principalOf } from '../../shared/http.ts';
import { parseJsonBody } from '../../shared/validation.ts';
import { requireServiceKey } from '../authz.ts';
import { controlSql } from '../db.ts';
import type { Env } from '../env.ts';
import { regionsOf } from '../services/apps.ts';

export const platformRoutes = new Hono<{ Bindings: Env }>();

platformRoutes.get('/v1/regions', (c) => {
  const regions = regionsOf(c.env);
  return c.json({ regions: regions.map((id) => ({ id, open: true, default: id === c.env.DEFAULT_REGION })) });
});

export const suggestionBody = z.object({
  category: z.enum(['bug_report', 'feature_request', 'improvement', 'documentation']),
  description: z.string().min(10).max(10_000),
  severity: z.enum(['low', 'medium', 'high', 'critical']).optional(),
  affected_tool: z.string().max(100).optional(),
  proposed_solution: z.string().max(10_000).optional(),
  source: z.enum(['agent', 'human_prompted']).optional(),
  app_id: z.string().max(40).optional(),
  agent_context: z.unknown().optional(),
}).strict();

platformRoutes.post('/suggestions', async (c) => {
  const caller = requireServiceKey(principalOf(c));
  const body = await parseJsonBody(c.req.raw, suggestionBody);
  const [suggestion] = await controlSql(c.env).query(
    `INSERT INTO suggestions (account_id, category, description, severity, affected_tool, proposed_solution, source, app_id, agent_context)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     RETURNING id, category, description, severity, affected_tool, proposed_solution, source, app_id, status, created_at`,
    [caller.accountId, body.category, body.description, body.severity ?? null, body.affected_tool ?? null, body.proposed_solution ?? null,
      body.source ?? null, body.app_id ?? null, body.agent_context === undefined ? null : JSON.stringify(body.agent_context)],
  );
  return c.json({ suggestion }, 201);
});
