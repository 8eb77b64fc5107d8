/** Routes: GET/PATCH /v1/:app/auth/config — the app's end-user auth settings (owner only). */
import { Hono } from 'hono';
import { parseJsonBody } from '../../shared/validation.ts';
import type { Env } from '../env.ts';
import { requireOwner, via } from '../http.ts';
import { recordAuthEvent } from '../services/events.ts';
import { authConfigBody, readAuthConfig, updateAuthConfig } from '../services/settings.ts';

export const authConfigRoutes = new Hono<{ Bindings: Env }>();

authConfigRoutes.get('/v1/:app/auth/config', async (c) => {
  const { call } = requireOwner(c);
  return c.json(await readAuthConfig(c.env, call.app.id));
});

/** `{ requireEmailVerification: boolean }`: when on, /login refuses unverified emails (403). */
authConfigRoutes.patch('/v1/:app/auth/config', async (c) => {
  const { key, call } = requireOwner(c);
  const body = await parseJsonBody(c.req.raw, authConfigBody);
  const config = await updateAuthConfig(c.env, call.app.id, body);
  recordAuthEvent(call, {
    type: 'config.auth_updated', category: 'admin', actor: key, resourceType: 'app_config', resourceId: call.app.id,
    data: { change: body, ...via(c) },
  });
  return c.json({ message: 'Auth settings updated', ...config });
});
