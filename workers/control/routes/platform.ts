/** Routes: GET /v1/regions (public), POST /suggestions (API.md §2, §14). */
import { Hono } from 'hono';
import { suggestions } from '../../shared/control-schema.ts';
import { principalOf } from '../../shared/http.ts';
import { suggestionBody } from '../../shared/schemas/suggestions.ts';
import { requireServiceKey } from '../authz.ts';
import { jsonBody } from '../context.ts';
import { controlDb } from '../db.ts';
import type { Env } from '../env.ts';
import { regionsOf } from '../services/apps.ts';

export const platformRoutes = new Hono<{ Bindings: Env }>();

/**
 * GET /v1/regions: `{ regions: string[] }` as the reference server answers and the SDK and CLI type
 * it (API.md §14; the CLI's `apps move` checks a region against this list), plus `default_region`
 * and `region_details` (`[{ id, open, default }]`) for clients that want more.
 */
platformRoutes.get('/v1/regions', (c) => {
  const regions = regionsOf(c.env);
  const defaultRegion = c.env.DEFAULT_REGION || regions[0]!;
  return c.json({
    regions,
    default_region: defaultRegion,
    region_details: regions.map((id) => ({ id, open: true, default: id === defaultRegion })),
  });
});

export { suggestionBody };

platformRoutes.post('/suggestions', async (c) => {
  const caller = requireServiceKey(principalOf(c));
  const body = await jsonBody(c, suggestionBody);
  const [suggestion] = await controlDb(c.env).insert(suggestions).values({
    account_id: caller.accountId,
    category: body.category,
    description: body.description,
    severity: body.severity ?? null,
    affected_tool: body.affected_tool ?? null,
    proposed_solution: body.proposed_solution ?? null,
    source: body.source ?? null,
    app_id: body.app_id ?? null,
    agent_context: body.agent_context === undefined ? null : body.agent_context,
  }).returning({
    id: suggestions.id, category: suggestions.category, description: suggestions.description, severity: suggestions.severity,
    affected_tool: suggestions.affected_tool, proposed_solution: suggestions.proposed_solution, source: suggestions.source,
    app_id: suggestions.app_id, status: suggestions.status, created_at: suggestions.created_at,
  });
  return c.json({ suggestion }, 201);
});
