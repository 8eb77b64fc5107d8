/** Route: POST /v1/:app/auth/keys/rotate — retire the app's signing key and start a new one (owner only). */
import { Hono } from 'hono';
import type { Env } from '../env.ts';
import { requireOwner, via } from '../http.ts';
import { recordAuthEvent } from '../services/events.ts';
import { rotateSigningKey } from '../services/signing-keys.ts';

export const signingKeyRoutes = new Hono<{ Bindings: Env }>();

signingKeyRoutes.post('/v1/:app/auth/keys/rotate', async (c) => {
  const { key, call } = requireOwner(c);
  const rotated = await rotateSigningKey(c.env, call.app.id);
  recordAuthEvent(call, {
    type: 'signing_key_rotated', category: 'admin', actor: key, resourceType: 'signing_key', resourceId: rotated.kid,
    data: { retired_kids: rotated.retired_kids, ...via(c) },
  });
  return c.json({
    message: 'Signing key rotated: new tokens use the new key; tokens signed by the old one stay valid until they expire',
    app_id: call.app.id,
    ...rotated,
  });
});
