/**
 * Routes: ANY /v1/:app/fn/:name[/…] (API.md §8.2) — runs a function with an enabled http trigger for
 * its caller; sub-paths and the query string reach the handler unchanged.
 */
import { Hono, type Context } from 'hono';
import { ApiError } from '../../shared/errors.ts';
import type { Env } from '../env.ts';
import { forwardedRequest, invokeHttp } from '../services/http-invoke.ts';
import { findLiveFunction, functionNotFound, triggerOf } from '../services/records.ts';

export const invokeRoutes = new Hono<{ Bindings: Env }>();

async function run(c: Context<{ Bindings: Env }>): Promise<Response> {
  const appId = c.req.param('app')!;
  const name = c.req.param('name')!;
  const found = await findLiveFunction(c.env, appId, name);
  if (!found) throw functionNotFound(name);
  const row = found.fn;
  const http = triggerOf(row, 'http');
  if (!http?.enabled) {
    throw new ApiError('RESOURCE_NOT_FOUND', `Function "${name}" has no enabled http trigger.`, {
      remediation: 'Redeploy it with triggers [{type:"http"}], or run it with the owner test-invoke (POST /v1/{app_id}/functions/{name}/invoke).',
    });
  }
  const path = new URL(c.req.url).pathname;
  return invokeHttp(c, appId, row, forwardedRequest(c.env, c.req.raw, path), undefined, found.app);
}

invokeRoutes.all('/v1/:app/fn/:name', run);
invokeRoutes.all('/v1/:app/fn/:name/*', run);
