/**
 * Routes: /v1/:app/auth/oauth-config[/:provider] — OAuth provider config (owner only, API.md §6
 * "Provider config"). Wire shapes as on the reference server: list `{ configs }`, POST/PATCH
 * `{ message, config }`, GET one → the config, DELETE → `{ message }` (see the Gap note there).
 */
import { Hono } from 'hono';
import { oauthConfigBody, oauthConfigPatch, providerName } from '../../shared/schemas/oauth.ts';
import { parseJsonBody, parseWith } from '../../shared/validation.ts';
import type { Env } from '../env.ts';
import { requireOwner, via } from '../http.ts';
import { recordAuthEvent } from '../services/events.ts';
import { configureProvider, deleteProvider, getProvider, listProviders, updateProvider } from '../services/oauth-config.ts';

export const oauthConfigRoutes = new Hono<{ Bindings: Env }>();

oauthConfigRoutes.get('/v1/:app/auth/oauth-config', async (c) => {
  const { call } = requireOwner(c);
  return c.json({ configs: await listProviders(call) });
});

oauthConfigRoutes.post('/v1/:app/auth/oauth-config', async (c) => {
  const { key, call } = requireOwner(c);
  const body = await parseJsonBody(c.req.raw, oauthConfigBody);
  const { created, config } = await configureProvider(call, body);
  recordAuthEvent(call, {
    type: 'config.oauth_updated', category: 'admin', actor: key, resourceType: 'oauth_provider', resourceId: body.provider,
    data: { provider: body.provider, created, fields: Object.keys(body).filter((f) => f !== 'client_secret' && f !== 'provider_metadata'), ...via(c) },
  });
  return c.json({ message: created ? `OAuth provider ${body.provider} configured` : `OAuth provider ${body.provider} updated`, config }, created ? 201 : 200);
});

oauthConfigRoutes.get('/v1/:app/auth/oauth-config/:provider', async (c) => {
  const { call } = requireOwner(c);
  return c.json(await getProvider(call, parseWith(providerName, c.req.param('provider'), 'path')));
});

oauthConfigRoutes.patch('/v1/:app/auth/oauth-config/:provider', async (c) => {
  const { key, call } = requireOwner(c);
  const provider = parseWith(providerName, c.req.param('provider'), 'path');
  const patch = await parseJsonBody(c.req.raw, oauthConfigPatch);
  const config = await updateProvider(call, provider, patch);
  recordAuthEvent(call, {
    type: 'config.oauth_updated', category: 'admin', actor: key, resourceType: 'oauth_provider', resourceId: provider,
    data: { provider, created: false, fields: Object.keys(patch).filter((f) => f !== 'client_secret' && f !== 'provider_metadata'), ...via(c) },
  });
  return c.json({ message: `OAuth provider ${provider} updated`, config });
});

oauthConfigRoutes.delete('/v1/:app/auth/oauth-config/:provider', async (c) => {
  const { key, call } = requireOwner(c);
  const provider = parseWith(providerName, c.req.param('provider'), 'path');
  await deleteProvider(call, provider);
  recordAuthEvent(call, { type: 'config.oauth_deleted', category: 'admin', actor: key, resourceType: 'oauth_provider', resourceId: provider, data: { provider, ...via(c) } });
  return c.json({ message: `OAuth provider ${provider} deleted; new sign-ins through it stop, existing sessions stay valid until they expire` });
});
