/**
 * Routes: the auto-generated REST API over app tables (API.md §5).
 * GET/POST/PATCH/DELETE /v1/:app/:table and GET/PATCH/DELETE /v1/:app/:table/:id.
 * Each route resolves the caller's role first (so a refused caller learns nothing about the query),
 * then parses, calls the service, and renders its result.
 */
import { Hono, type Context } from 'hono';
import { appGateOf, principalOf } from '../../shared/http.ts';
import { readJsonBody } from '../../shared/validation.ts';
import type { Env } from '../env.ts';
import { commitListener } from '../execute.ts';
import { parsePrefer } from '../query/grammar.ts';
import { resolveCaller, simulationHeaders } from '../roles.ts';
import { deleteRows, getRow, insertRows, listRows, updateRows, type RestRequest, type RestResult } from '../services/rest.ts';

type DataContext = Context<{ Bindings: Env }>;

/** The data routes, mounted at the root of the data Worker. */
export const restRoutes = new Hono<{ Bindings: Env }>();

/** Builds the service request: caller (role resolution), path segments, query, Prefer, body. */
async function restRequest(c: DataContext, withBody: boolean): Promise<RestRequest> {
  const appId = c.req.param('app')!;
  const caller = resolveCaller({
    appId,
    principal: principalOf(c),
    app: appGateOf(c),
    asRole: c.req.header(simulationHeaders.role),
    asUser: c.req.header(simulationHeaders.user),
  });
  return {
    caller,
    table: c.req.param('table')!,
    id: c.req.param('id'),
    params: [...new URL(c.req.url).searchParams],
    prefer: parsePrefer(c.req.header('prefer')),
    body: withBody ? await readJsonBody(c.req.raw) : undefined,
    onCommit: commitListener(c.env, c.executionCtx),
  };
}

function send(c: DataContext, result: RestResult): Response {
  for (const [name, value] of Object.entries(result.headers ?? {})) c.header(name, value);
  if (result.body === undefined) return c.body(null, result.status);
  return c.json(result.body as object, result.status as 200 | 201);
}

restRoutes.get('/v1/:app/:table', async (c) => send(c, await listRows(c.env, await restRequest(c, false))));
restRoutes.post('/v1/:app/:table', async (c) => send(c, await insertRows(c.env, await restRequest(c, true))));
restRoutes.patch('/v1/:app/:table', async (c) => send(c, await updateRows(c.env, await restRequest(c, true))));
restRoutes.delete('/v1/:app/:table', async (c) => send(c, await deleteRows(c.env, await restRequest(c, false))));
restRoutes.get('/v1/:app/:table/:id', async (c) => send(c, await getRow(c.env, await restRequest(c, false))));
restRoutes.patch('/v1/:app/:table/:id', async (c) => send(c, await updateRows(c.env, await restRequest(c, true))));
restRoutes.delete('/v1/:app/:table/:id', async (c) => send(c, await deleteRows(c.env, await restRequest(c, false))));
