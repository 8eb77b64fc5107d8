/** Route: GET /auth/:app/.well-known/jwks.json (API.md §6). */
import { Hono } from 'hono';
import type { Env } from '../env.ts';
import { authCall } from '../http.ts';
import { requireSettings } from '../services/sessions.ts';
import { jwks } from '../services/signing-keys.ts';

export const jwksRoutes = new Hono<{ Bindings: Env }>();

jwksRoutes.get('/auth/:app/.well-known/jwks.json', async (c) => {
  const call = authCall(c);
  const settings = await requireSettings(call);
  const body = await jwks(c.env, call.app.id, settings.activeKey, settings.accessTokenTtlSeconds);
  return c.json(body, 200, { 'cache-control': 'public, max-age=300' });
});
