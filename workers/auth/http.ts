/**
 * Request glue for the auth Worker: the two error envelopes, body parsing in the legacy shape, the
 * caller checks, and the per-request context (`AuthCall`) that services receive.
 *
 * `/auth/{app}/*` answers in the legacy envelope (API.md §1.3 shape 2) with a stable `code` added:
 * `{ "error": "<text>", "code": "<CODE>", "details"? }`; `/v1/{app}/*` answers in the agent envelope.
 */
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { z } from 'zod';
import type { AppGate } from '../shared/contracts.ts';
import { ApiError, toApiError } from '../shared/errors.ts';
import { appGateOf, clientIp, errorResponse, logApiError, onNotFound, principalOf, requestId } from '../shared/http.ts';
import { clientHeaders, keyCoversApp, type EndUserPrincipal, type ServiceKeyPrincipal } from '../shared/principal.ts';
import { readJsonBody, zodToApiError } from '../shared/validation.ts';
import type { Env } from './env.ts';
import { takeAuthBudget, type LimitedRoute } from './services/rate-limit.ts';

export type AuthContext = Context<{ Bindings: Env }>;

/** Everything a service needs about one request to an existing, ready app. */
export interface AuthCall {
  env: Env;
  app: AppGate;
  ip: string | null;
  userAgent: string | null;
  requestId: string;
  /** Runs work after the response is sent (audit writes, background mail). */
  waitUntil(promise: Promise<unknown>): void;
}

/** The legacy body: `{ error, code, details? }` with the status from the code table. */
export function legacyErrorResponse(error: unknown, id: string): Response {
  const apiError = toApiError(error);
  logApiError(apiError, id);
  const body = {
    error: apiError.message,
    code: apiError.code,
    ...(apiError.details === undefined ? {} : { details: apiError.details }),
  };
  return Response.json(body, { status: apiError.status, headers: { ...apiError.headers, 'x-request-id': id } });
}

function isLegacyPath(c: Context): boolean {
  return new URL(c.req.url).pathname.startsWith('/auth/');
}

/** `app.onError`: the legacy envelope on `/auth/*`, the agent envelope elsewhere. */
export const onAuthError: ErrorHandler = (error, c) =>
  isLegacyPath(c) ? legacyErrorResponse(error, requestId(c)) : errorResponse(error, requestId(c));

/** `app.notFound`: legacy 404 `Not found` on `/auth/*`, RESOURCE_NOT_FOUND elsewhere. */
export const onAuthNotFound: NotFoundHandler = (c) =>
  isLegacyPath(c)
    ? legacyErrorResponse(new ApiError('RESOURCE_NOT_FOUND', 'Not found'), requestId(c))
    : onNotFound(c);

/**
 * The app named by the path, which must exist and be ready. The router resolved it already (the
 * `x-bb-app` header); it does not 404 unknown apps on `/auth` paths, so this does.
 * @throws ApiError APP_NOT_FOUND (`App not found`), APP_NOT_READY (database still provisioning or failed),
 *   APP_MIGRATING (503 + Retry-After: a write while the app database is being upgraded; reads pass)
 */
export function authCall(c: AuthContext): AuthCall {
  const app = appGateOf(c);
  if (!app || app.id !== c.req.param('app')) throw new ApiError('APP_NOT_FOUND', 'App not found');
  if (app.provisioningStatus === 'migrating' && !['GET', 'HEAD', 'OPTIONS'].includes(c.req.method)) {
    throw new ApiError('APP_MIGRATING', 'App is being upgraded; try again in a few seconds', {
      details: { provisioning_status: app.provisioningStatus },
      headers: { 'retry-after': '5' },
    });
  }
  if (app.provisioningStatus !== 'ready' && app.provisioningStatus !== 'migrating') {
    throw new ApiError('APP_NOT_READY', `App is not ready (provisioning status: ${app.provisioningStatus})`, {
      details: { provisioning_status: app.provisioningStatus },
      headers: { 'retry-after': '5' },
    });
  }
  return {
    env: c.env,
    app,
    ip: clientIp(c),
    userAgent: c.req.header('user-agent') ?? null,
    requestId: requestId(c),
    waitUntil: (promise) => c.executionCtx.waitUntil(promise),
  };
}

/**
 * {@link authCall} for a public route with a per-IP limit: counts this request first.
 * @throws ApiError APP_NOT_FOUND, APP_NOT_READY, QUOTA_RATE_LIMIT (429 + Retry-After)
 */
export async function limitedCall(c: AuthContext, route: LimitedRoute): Promise<AuthCall> {
  const call = authCall(c);
  await takeAuthBudget(c.env, call.app.id, route, call.ip);
  return call;
}

/**
 * Reads and validates a legacy-route JSON body. Any problem (malformed JSON, missing or wrong
 * fields) → 400 `Invalid request body` with `details` listing each issue and its field path
 * (API.md §6).
 * @throws ApiError VALIDATION_MISSING_FIELD | VALIDATION_INVALID_TYPE | VALIDATION_INVALID_SCHEMA
 */
export async function parseLegacyBody<S extends z.ZodType>(c: AuthContext, schema: S): Promise<z.output<S>> {
  let input: unknown;
  try {
    input = await readJsonBody(c.req.raw);
  } catch (error) {
    const apiError = toApiError(error);
    throw new ApiError(apiError.code, 'Invalid request body', { details: apiError.details });
  }
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const apiError = zodToApiError(result.error, input, 'body');
  throw new ApiError(apiError.code, 'Invalid request body', { details: apiError.details });
}

/**
 * The caller of `/auth/{app}/me` and `/logout`: an end user of this app, from a verified access
 * token (the router checked signature, expiry and that the issuer is this app).
 * @throws ApiError AUTH_REQUIRED (no bearer), the router's code (bad or expired token),
 *   AUTH_INVALID_END_USER_JWT (a bearer that is not an end-user token of this app)
 */
export function requireEndUser(c: AuthContext, appId: string): EndUserPrincipal {
  const principal = principalOf(c);
  switch (principal.kind) {
    case 'end_user':
      if (principal.appId === appId) return principal;
      throw new ApiError('AUTH_INVALID_END_USER_JWT', 'Invalid token');
    case 'invalid':
      throw new ApiError(principal.code, 'Invalid token');
    case 'anonymous':
      throw new ApiError('AUTH_REQUIRED', 'Missing or invalid Authorization header');
    case 'service_key':
      throw new ApiError('AUTH_INVALID_END_USER_JWT', 'Invalid token', {
        remediation: 'This route needs an end-user access token (from POST /auth/{app_id}/login), not a service key.',
      });
  }
}

/** How an owner change arrived, for audit event data (the MCP server names its tool in a header). */
export function via(c: AuthContext): { via: 'mcp' | 'rest'; tool?: string } {
  const tool = c.req.header(clientHeaders.mcpTool);
  return tool ? { via: 'mcp', tool } : { via: 'rest' };
}

/**
 * The caller of `/v1/{app}/auth/*` and `/v1/{app}/admin/*`: a service key of the app's owner (the
 * router already refused other accounts' keys with 404).
 * @throws ApiError AUTH_REQUIRED (anonymous), AUTH_INSUFFICIENT_PERMISSIONS (end-user token),
 *   the router's credential code, APP_NOT_FOUND (not the owner's app)
 */
export function requireOwner(c: AuthContext): { key: ServiceKeyPrincipal; call: AuthCall } {
  const principal = principalOf(c);
  switch (principal.kind) {
    case 'service_key':
      break;
    case 'anonymous':
      throw new ApiError('AUTH_REQUIRED', 'This endpoint needs a service key: send Authorization: Bearer bb_sk_….');
    case 'invalid':
      throw new ApiError(principal.code, principal.message);
    case 'end_user':
      throw new ApiError('AUTH_INSUFFICIENT_PERMISSIONS', 'Only app owners can manage auth. Use a service key (bb_sk_…), not an end-user token.');
  }
  const app = appGateOf(c);
  if (!app || app.id !== c.req.param('app') || app.accountId !== principal.accountId || !keyCoversApp(principal, app.id)) {
    throw new ApiError('APP_NOT_FOUND', `App ${c.req.param('app')} not found.`);
  }
  return { key: principal, call: authCall(c) };
}
