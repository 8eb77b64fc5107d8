/** Routes: POST /auth/:app/magic-link and /magic-link/verify (API.md §6). */
import { Hono } from 'hono';
import type { Env } from '../env.ts';
import { limitedCall, parseLegacyBody } from '../http.ts';
import { magicLinkBody, magicLinkVerifyBody, requestMagicLink, verifyMagicLink } from '../services/magic-link.ts';

export const magicLinkRoutes = new Hono<{ Bindings: Env }>();

magicLinkRoutes.post('/auth/:app/magic-link', async (c) => {
  const call = await limitedCall(c, 'magic-link');
  const body = await parseLegacyBody(c, magicLinkBody);
  return c.json(await requestMagicLink(call, body.email));
});

magicLinkRoutes.post('/auth/:app/magic-link/verify', async (c) => {
  const call = await limitedCall(c, 'magic-link-verify');
  const body = await parseLegacyBody(c, magicLinkVerifyBody);
  return c.json(await verifyMagicLink(call, body.email, body.code));
});
