/** Routes: POST /auth/:app/forgot-password and /reset-password (API.md §6). */
import { Hono } from 'hono';
import type { Env } from '../env.ts';
import { limitedCall, parseLegacyBody } from '../http.ts';
import { forgotPassword, forgotPasswordBody, resetPassword, resetPasswordBody } from '../services/accounts.ts';

export const passwordRoutes = new Hono<{ Bindings: Env }>();

passwordRoutes.post('/auth/:app/forgot-password', async (c) => {
  const call = await limitedCall(c, 'forgot-password');
  const body = await parseLegacyBody(c, forgotPasswordBody);
  return c.json(forgotPassword(call, body.email));
});

passwordRoutes.post('/auth/:app/reset-password', async (c) => {
  const call = await limitedCall(c, 'reset-password');
  const body = await parseLegacyBody(c, resetPasswordBody);
  return c.json(await resetPassword(call, body));
});
