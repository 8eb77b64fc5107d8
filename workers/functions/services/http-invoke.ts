/**
 * HTTP invocation glue (API.md §8.2): the request user code sees (public URL, query kept, headers
 * forwarded except hop-by-hop, `host`, `content-length`, `content-encoding`, `accept-encoding` and
 * the platform's internal headers) and the caller gate in front of {@link invoke}.
 */
import type { Context } from 'hono';
import { clientIp, principalOf, requestId } from '../../shared/http.ts';
import { clientHeaders } from '../../shared/principal.ts';
import type { AppRow } from '../../shared/control-schema.ts';
import type { HttpAuthMode } from '../../shared/schemas/functions.ts';
import type { Env } from '../env.ts';
import { resolveCaller } from './caller.ts';
import { invoke, type FunctionsContext } from './invoke.ts';
import { triggerOf, type FunctionRow } from './records.ts';

const droppedHeaders = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'host', 'content-length', 'content-encoding', 'accept-encoding',
]);

/** The request handed to user code: `path` under the public API URL, the incoming query and body. */
export function forwardedRequest(env: Env, incoming: Request, path: string, method = incoming.method): Request {
  const source = new URL(incoming.url);
  const url = new URL(path + source.search, env.PUBLIC_API_URL);
  const headers = new Headers();
  for (const [name, value] of incoming.headers) {
    if (droppedHeaders.has(name) || name.startsWith('x-bb-') || name.startsWith('cf-')) continue;
    headers.set(name, value);
  }
  const hasBody = !['GET', 'HEAD'].includes(incoming.method) && incoming.body !== null;
  return new Request(url, { method, headers, body: hasBody ? incoming.body : null });
}

/** The `auth` mode of a function's http trigger (missing → `required`, API.md §8.1). */
export function authModeOf(row: FunctionRow): HttpAuthMode {
  const mode = triggerOf(row, 'http')?.config.auth;
  return mode === 'optional' || mode === 'none' ? mode : 'required';
}

/**
 * Runs `row` for the HTTP caller of `c` (principal, `X-Butterbase-As-User`), with `auth` (default: the
 * function's http trigger).
 * @throws ApiError from {@link resolveCaller} and {@link invoke}
 */
export async function invokeHttp(
  c: Context<{ Bindings: Env }>,
  appId: string,
  row: FunctionRow,
  request: Request,
  auth: HttpAuthMode = authModeOf(row),
  app?: AppRow,
): Promise<Response> {
  const asUser = c.req.header(clientHeaders.asUser) ?? null;
  const resolved = resolveCaller(principalOf(c), appId, asUser, row.allow_service_key_impersonation, auth);
  return invoke(c.env, c.executionCtx as unknown as FunctionsContext, {
    appId,
    fn: row,
    request,
    trigger: 'http',
    caller: resolved.caller,
    userId: resolved.userId,
    requestId: requestId(c),
    ip: clientIp(c),
    app,
  });
}
