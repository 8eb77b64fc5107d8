/**
 * Hono glue shared by every Worker: the one place errors are rendered, and request-context helpers.
 */
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { ApiError, toApiError } from './errors.ts';
import { appGate, type AppGate } from './contracts.ts';
import { decodeHeaderJson, decodePrincipal, encodeHeaderJson, internalHeaders, type Principal } from './principal.ts';

/** The request id the router assigned (echoed as `x-request-id`). */
export function requestId(c: Context): string {
  return c.req.header(internalHeaders.requestId) ?? 'unknown';
}

/** The caller, as resolved by the router. */
export function principalOf(c: Context): Principal {
  return decodePrincipal(c.req.header(internalHeaders.principal));
}

/** The app named by the path, as the router saw it (null when the path names none or it does not exist). */
export function appGateOf(c: Context): AppGate | null {
  return decodeAppGate(c.req.header(internalHeaders.app));
}

/** Decodes the internal `x-bb-app` header. */
export function decodeAppGate(header: string | null | undefined): AppGate | null {
  if (!header) return null;
  try {
    const parsed = appGate.safeParse(decodeHeaderJson(header));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Encodes an AppGate for the internal `x-bb-app` header. */
export function encodeAppGate(app: AppGate): string {
  return encodeHeaderJson(app);
}

/** The caller's IP, as seen by the router. */
export function clientIp(c: Context): string | null {
  return c.req.header(internalHeaders.clientIp) ?? null;
}

/** Logs internal detail (never sent) for a failed request. */
export function logApiError(error: ApiError, id: string): void {
  if (error.status >= 500 || error.internal) {
    console.error(`[${id}] ${error.code} ${error.message}${error.internal ? ` :: ${error.internal}` : ''}`);
  }
}

/** Renders any thrown error as the §1.3 shape-1 envelope with the status from the code table. */
export function errorResponse(error: unknown, id: string): Response {
  const apiError = toApiError(error);
  logApiError(apiError, id);
  return Response.json(apiError.toEnvelope(), {
    status: apiError.status,
    headers: { ...apiError.headers, [internalHeaders.requestId]: id },
  });
}

/** `app.onError` for agent-envelope Workers. */
export const onError: ErrorHandler = (error, c) => errorResponse(error, requestId(c));

/** `app.notFound`: unknown routes get RESOURCE_NOT_FOUND, never Hono's text 404. */
export const onNotFound: NotFoundHandler = (c) =>
  errorResponse(new ApiError('RESOURCE_NOT_FOUND', `No route for ${c.req.method} ${new URL(c.req.url).pathname}.`, {
    remediation: 'Check the method and path against the API reference (butterbase_docs topic "rest").',
  }), requestId(c));
