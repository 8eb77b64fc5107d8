/** Routes: GET /v1/:app/admin/auth/users, DELETE /v1/:app/admin/auth/users/:user_id (API.md §6 end-user admin). */
import { Hono } from 'hono';
import { parseWith } from '../../shared/validation.ts';
import type { Env } from '../env.ts';
import { requireOwner, via } from '../http.ts';
import { recordAuthEvent } from '../services/events.ts';
import { deleteUser, listUsers, listUsersQuery } from '../services/users.ts';

export const adminUserRoutes = new Hono<{ Bindings: Env }>();

adminUserRoutes.get('/v1/:app/admin/auth/users', async (c) => {
  const { call } = requireOwner(c);
  const query = parseWith(listUsersQuery, c.req.query(), 'query');
  return c.json(await listUsers(call, query));
});

adminUserRoutes.delete('/v1/:app/admin/auth/users/:user_id', async (c) => {
  const { key, call } = requireOwner(c);
  const deleted = await deleteUser(call, c.req.param('user_id'));
  recordAuthEvent(call, {
    type: 'user_deleted', actor: key, resourceType: 'app_user', resourceId: deleted.id,
    data: { email: deleted.email, ...via(c) },
  });
  return c.json({ deleted: true, user_id: deleted.id, email: deleted.email });
});
