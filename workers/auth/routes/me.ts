/** Route: GET /auth/:app/me (API.md §6). */
import { Hono } from 'hono';
import { ApiError } from '../../shared/errors.ts';
import type { Env } from '../env.ts';
import { authCall, requireEndUser } from '../http.ts';
import { findUserById, profileOf } from '../services/users.ts';

export const meRoutes = new Hono<{ Bindings: Env }>();

meRoutes.get('/auth/:app/me', async (c) => {
  const call = authCall(c);
  const principal = requireEndUser(c, call.app.id);
  const user = await findUserById(call, principal.userId);
  if (!user) throw new ApiError('RESOURCE_NOT_FOUND', 'User not found', { remediation: 'The user was deleted; sign up again.' });
  return c.json(profileOf(user));
});
