/** Route: GET /v1/:app/auth/dev/outbox?email=&limit= — mail the app would have sent (MAIL_PROVIDER=dev only). */
import { Hono } from 'hono';
import { z } from 'zod';
import { parseWith } from '../../shared/validation.ts';
import type { Env } from '../env.ts';
import { requireOwner } from '../http.ts';
import { readOutbox } from '../services/mail.ts';
import { emailField } from '../services/users.ts';

export const devOutboxRoutes = new Hono<{ Bindings: Env }>();

const outboxQuery = z.object({
  email: emailField.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
}).strict();

devOutboxRoutes.get('/v1/:app/auth/dev/outbox', async (c) => {
  const { call } = requireOwner(c);
  const query = parseWith(outboxQuery, c.req.query(), 'query');
  return c.json({ messages: await readOutbox(call, query.email, query.limit) });
});
