/** Route: POST /auth/:app/verify-email (API.md §6). */
import { Hono } from 'hono';
import type { Env } from '../env.ts';
import { limitedCall, parseLegacyBody } from '../http.ts';
import { verifyEmail, verifyEmailBody } from '../services/accounts.ts';

export const verifyEmailRoutes = new Hono<{ Bindings: Env }>();

verifyEmailRoutes.post('/auth/:app/verify-email', async (c) => {
  const call = await limitedCall(c, 'verify-email');
  const body = await parseLegacyBody(c, verifyEmailBody);
  return c.json(await verifyEmail(call, body.email, body.code));
});
