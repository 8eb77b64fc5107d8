/**
 * Routes: the auto-generated REST API over app tables (API.md §5).
 * GET/POST/PATCH/DELETE /v1/:app/:table and GET/PATCH/DELETE /v1/:app/:table/:id.
 * Each route resolves the caller's role first (so a refused caller learns nothing about the query),
 * then parses, calls the service, and renders its result. Writes made by an MCP tool are audited
 * (workers/data/audit.ts) before the answer is sent, so the tool's next query_audit_logs sees them.
 */
import { Hono, type Context } from 'hono';
import { toApiError } from '../../shared/errors.ts';
import { appGateOf, clientIp, principalOf, requestId } from '../../shared/http.ts';
import { clientHeaders } from '../../shared/principal.ts';
import { assertNoNul, readJsonBody } from '../../shared/validation.ts';
import { dataWriteAudit, type WriteMethod } from '../audit.ts';
import type { Env } from '../env.ts';
import { commitListener } from '../execute.ts';
import { parsePrefer } from '../query/grammar.ts';
import { resolveCaller } from '../roles.ts';
import { deleteRows, getRow, insertRows, listRows, updateRows, type RestRequest, type RestResult } from '../services/rest.ts';

type DataContext = Context<{ Bindings: Env }>;

/** The data routes, mounted at the root of the data Worker. */
export const restRoutes = new Hono<{ Bindings: Env }>();

/**
 * Builds the service request: caller (role resolution), path segments, query, Prefer, body.
 * @throws ApiError VALIDATION_INVALID_INPUT for text holding U+0000 in the query or body, plus the
 *   role-resolution codes of resolveCaller.
 */
async function restRequest(c: DataContext, withBody: boolean): Promise<RestRequest> {
  const appId = c.req.param('app')!;
  const caller = resolveCaller({
    appId,
    principal: principalOf(c),
    app: appGateOf(c),
    asRole: c.req.header(clientHeaders.asRole),
    asUser: c.req.header(clientHeaders.asUser),
  });
  const params = [...new URL(c.req.url).searchParams];
  for (const [name, value] of params) assertNoNul({ [name]: value }, 'query');
  return {
    caller,
    table: c.req.param('table')!,
    id: c.req.param('id'),
    params,
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

/**
 * Runs a write and, when an MCP tool made it, records it through the control Worker (success or
 * failure). A failed audit write is logged and does not change the answer.
 */
async function audited(c: DataContext, method: WriteMethod, work: () => Promise<RestResult>): Promise<Response> {
  const tool = c.req.header(clientHeaders.mcpTool);
  if (!tool) return send(c, await work());
  let result: RestResult | undefined;
  let failure: unknown;
  try {
    result = await work();
  } catch (error) {
    failure = error;
  }
  const entry = dataWriteAudit({
    method,
    tool,
    principal: principalOf(c),
    app: appGateOf(c),
    table: c.req.param('table')!,
    id: c.req.param('id'),
    asRole: c.req.header(clientHeaders.asRole),
    asUser: c.req.header(clientHeaders.asUser),
    result,
    error: failure === undefined ? undefined : toApiError(failure),
    ipAddress: clientIp(c),
    userAgent: c.req.header('user-agent') ?? null,
    requestId: requestId(c),
  });
  if (entry) {
    const written = await c.env.CONTROL.recordAudit(entry).catch((error: unknown) => ({ ok: false as const, error: toApiError(error).toWire() }));
    if (!written.ok) console.error(`[${requestId(c)}] audit of ${method} ${entry.resourceId} failed: ${written.error.code} ${written.error.message}`);
  }
  if (failure !== undefined) throw failure;
  return send(c, result!);
}

restRoutes.get('/v1/:app/:table', async (c) => send(c, await listRows(c.env, await restRequest(c, false))));
restRoutes.post('/v1/:app/:table', (c) => audited(c, 'POST', async () => insertRows(c.env, await restRequest(c, true))));
restRoutes.patch('/v1/:app/:table', (c) => audited(c, 'PATCH', async () => updateRows(c.env, await restRequest(c, true))));
restRoutes.delete('/v1/:app/:table', (c) => audited(c, 'DELETE', async () => deleteRows(c.env, await restRequest(c, false))));
restRoutes.get('/v1/:app/:table/:id', async (c) => send(c, await getRow(c.env, await restRequest(c, false))));
restRoutes.patch('/v1/:app/:table/:id', (c) => audited(c, 'PATCH', async () => updateRows(c.env, await restRequest(c, true))));
restRoutes.delete('/v1/:app/:table/:id', (c) => audited(c, 'DELETE', async () => deleteRows(c.env, await restRequest(c, false))));
