/** Routes: POST/GET /api-keys, DELETE /api-keys/:id (API.md §2). Account keys only. */
import { Hono } from 'hono';
import { principalOf } from '../../shared/http.ts';
import { requireAccountKey } from '../authz.ts';
import { audited, jsonBody } from '../context.ts';
import type { Env } from '../env.ts';
import { createApiKey, createApiKeyBody, listApiKeys, revokeApiKey } from '../services/api-keys.ts';

export const apiKeyRoutes = new Hono<{ Bindings: Env }>();

apiKeyRoutes.post('/api-keys', async (c) => {
  const caller = requireAccountKey(principalOf(c));
  const created = await audited(c, { appId: null, eventType: 'api_key.created', action: 'create', resourceType: 'api_key' }, async (target) => {
    const body = await jsonBody(c, createApiKeyBody);
    target.appId = body.target_app_id ?? null;
    target.data = { name: body.name };
    const key = await createApiKey(c.env, caller, body);
    target.resourceId = key.id;
    return key;
  });
  return c.json(created, 201);
});

apiKeyRoutes.get('/api-keys', async (c) => {
  const caller = requireAccountKey(principalOf(c));
  return c.json(await listApiKeys(c.env, caller, c.req.query('scope')));
});

apiKeyRoutes.delete('/api-keys/:id', async (c) => {
  const caller = requireAccountKey(principalOf(c));
  const keyId = c.req.param('id');
  return c.json(await audited(c, { appId: null, eventType: 'api_key.revoked', action: 'delete', resourceType: 'api_key', resourceId: keyId }, () => revokeApiKey(c.env, caller, keyId)));
});
