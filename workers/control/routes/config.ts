/** Routes: GET /v1/:app/config, PATCH /v1/:app/config/* (auth-hooks: API.md §6), GET/PATCH /v1/:app/env (API.md §2). */
import { Hono } from 'hono';
import type { z } from 'zod';
import { audited, jsonBody, ownedApp, type ControlContext } from '../context.ts';
import type { Env } from '../env.ts';
import { configOf, type AppRow } from '../services/apps.ts';
import {
  accessModeBody, authHooksBody, corsBody, envBody, envKeys, jwtBody, pauseBody, storageBody, updateAccessMode, updateAuthHooks, updateCors,
  updateEnv, updateJwt, updatePause, updateStorage,
} from '../services/config.ts';

export const configRoutes = new Hono<{ Bindings: Env }>();

configRoutes.get('/v1/:app/config', async (c) => {
  const { app } = await ownedApp(c);
  return c.json(configOf(app));
});

/** One PATCH route: parse the body, apply the change, audit it. */
function patchRoute<S extends z.ZodType>(
  path: string,
  schema: S,
  eventType: string,
  apply: (env: Env, app: AppRow, body: z.output<S>) => Promise<unknown>,
) {
  configRoutes.patch(path, async (c: ControlContext) => {
    const { app } = await ownedApp(c);
    const result = await audited(c, { appId: app.id, eventType, action: 'update', resourceType: 'app_config', resourceId: app.id }, async (target) => {
      const body = await jsonBody(c, schema);
      target.data = { change: body as Record<string, unknown> };
      return apply(c.env, app, body);
    });
    return c.json(result);
  });
}

patchRoute('/v1/:app/config/cors', corsBody, 'config.cors_updated', updateCors);
patchRoute('/v1/:app/config/jwt', jwtBody, 'config.jwt_updated', updateJwt);
patchRoute('/v1/:app/config/storage', storageBody, 'config.storage_updated', updateStorage);
patchRoute('/v1/:app/config/pause', pauseBody, 'config.pause_updated', updatePause);
patchRoute('/v1/:app/config/access-mode', accessModeBody, 'config.access_mode_updated', updateAccessMode);
patchRoute('/v1/:app/config/auth-hooks', authHooksBody, 'config.auth_hooks_updated', updateAuthHooks);

/** The variable names a refused env body held (never its values), for the audit entry. */
function envNamesOf(text: string): Record<string, unknown> {
  try {
    const vars = (JSON.parse(text) as { envVars?: unknown }).envVars;
    return vars !== null && typeof vars === 'object' ? { keys: Object.keys(vars).slice(0, 100) } : {};
  } catch {
    return {};
  }
}

configRoutes.get('/v1/:app/env', async (c) => {
  const { app } = await ownedApp(c);
  return c.json(envKeys(app));
});

configRoutes.patch('/v1/:app/env', async (c) => {
  const { app } = await ownedApp(c);
  // Values never reach the audit log: only the names that changed (or were sent, when refused).
  const result = await audited(c, { appId: app.id, eventType: 'config.env_updated', action: 'update', resourceType: 'app_env', resourceId: app.id }, async (target) => {
    const body = await jsonBody(c, envBody);
    target.data = { keys: Object.keys(body.envVars) };
    return updateEnv(c.env, app, body);
  }, { refusedBody: envNamesOf });
  return c.json(result);
});
