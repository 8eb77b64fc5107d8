/** Route: POST /auth/:app/signup (API.md §6). */
import { Hono } from 'hono';
import type { Env } from '../env.ts';
import { limitedCall, parseLegacyBody } from '../http.ts';
import { signUp, signupBody } from '../services/accounts.ts';

export const signupRoutes = new Hono<{ Bindings: Env }>();

signupRoutes.post('/auth/:app/signup', async (c) => {
  const call = await limitedCall(c, 'signup');
  const body = await parseLegacyBody(c, signupBody);
  return c.json(await signUp(call, body), 201);
});
