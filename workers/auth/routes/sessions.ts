/** Routes: POST /auth/:app/login, /refresh, /logout (API.md §6). */
import { Hono } from 'hono';
import { z } from 'zod';
import type { Env } from '../env.ts';
import { authCall, limitedCall, parseLegacyBody, requireEndUser } from '../http.ts';
import { recordAuthEvent } from '../services/events.ts';
import { passwordLogin, refreshSession, revokeUserSessions } from '../services/sessions.ts';
import { emailField } from '../services/users.ts';

export const sessionRoutes = new Hono<{ Bindings: Env }>();

const loginBody = z.object({ email: emailField, password: z.string().min(1).max(1024) }).strict();
const refreshBody = z.object({ refresh_token: z.string().min(1).max(512) }).strict();

sessionRoutes.post('/auth/:app/login', async (c) => {
  const call = await limitedCall(c, 'login');
  const body = await parseLegacyBody(c, loginBody);
  return c.json(await passwordLogin(call, body.email, body.password));
});

sessionRoutes.post('/auth/:app/refresh', async (c) => {
  const call = await limitedCall(c, 'refresh');
  const body = await parseLegacyBody(c, refreshBody);
  return c.json(await refreshSession(call, body.refresh_token));
});

/** Any body is accepted (the SDK sends `{}`); the caller is the access token's user. */
sessionRoutes.post('/auth/:app/logout', async (c) => {
  const call = authCall(c);
  const user = requireEndUser(c, call.app.id);
  const revoked = await revokeUserSessions(call, user.userId, 'logout');
  recordAuthEvent(call, {
    type: 'logout',
    user: { id: user.userId, email: user.email ?? '', email_verified: user.emailVerified },
    data: { revoked_refresh_tokens: revoked },
  });
  return c.json({ message: 'Logged out successfully' });
});
