/**
 * CORS from the app's `allowed_origins` (API.md §2 PATCH config/cors). Source: Fetch standard, "CORS
 * protocol" (a response that allows credentials must name the origin, never `*`).
 *
 * Credentials are never combined with a wildcard or with an origin merely reflected back:
 * - platform routes (no app) and apps whose list allows `*` (the default) answer
 *   `Access-Control-Allow-Origin: *` without `Access-Control-Allow-Credentials` — the SDK sends its
 *   bearer in `Authorization`, which needs no credentials mode;
 * - only an origin listed explicitly is echoed, with `Access-Control-Allow-Credentials: true`
 *   (unless the app turned credentials off);
 * - any other origin gets no CORS headers at all.
 */
import { clientHeaders, internalHeaders } from '../shared/principal.ts';
import { corsMethods } from '../shared/schemas/config.ts';

/** Request headers a preflight allows when the app lists none (the SDK's, the MCP transport's, role simulation). */
export const defaultAllowedHeaders = [
  'authorization', 'content-type', 'prefer', clientHeaders.asRole, clientHeaders.asUser, internalHeaders.requestId,
  'mcp-session-id', 'mcp-protocol-version', 'last-event-id',
] as const;
const exposeHeaders = 'x-request-id, retry-after, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset, mcp-session-id, www-authenticate';

/** An app's CORS settings beyond origins (apps.cors_* columns; empty lists mean the defaults). */
export interface CorsSettings {
  allowedMethods?: readonly string[];
  allowedHeaders?: readonly string[];
  /** Whether explicitly listed origins get `Access-Control-Allow-Credentials: true` (default true). */
  allowCredentials?: boolean;
}

/** True when `origin` is listed explicitly (not just covered by `*`). */
function listed(origin: string, allowedOrigins: readonly string[]): boolean {
  return allowedOrigins.some((allowed) => allowed !== '*' && allowed.replace(/\/+$/, '') === origin);
}

/** True when `origin` may call an app whose config allows `allowedOrigins` (`*` = any). */
export function originAllowed(origin: string, allowedOrigins: readonly string[]): boolean {
  return allowedOrigins.includes('*') || listed(origin, allowedOrigins);
}

/**
 * CORS headers for a response to `origin`. `allowedOrigins` null = a platform route (any origin,
 * never credentials). Out: `{}` without an Origin; only `Vary: Origin` for an origin not allowed.
 */
export function corsHeaders(origin: string | null, allowedOrigins: readonly string[] | null, settings: CorsSettings = {}): Record<string, string> {
  if (!origin) return {};
  const common = { 'access-control-expose-headers': exposeHeaders, vary: 'Origin' };
  if (allowedOrigins && listed(origin, allowedOrigins)) {
    return {
      'access-control-allow-origin': origin,
      ...(settings.allowCredentials === false ? {} : { 'access-control-allow-credentials': 'true' }),
      ...common,
    };
  }
  if (allowedOrigins === null || allowedOrigins.includes('*')) return { 'access-control-allow-origin': '*', ...common };
  return { vary: 'Origin' };
}

/**
 * The extra headers of a preflight answer: the app's methods and headers when it set them, else the
 * defaults (every method the API uses; the requested headers, or the default list).
 */
export function preflightHeaders(requestedHeaders: string | null, settings: CorsSettings = {}): Record<string, string> {
  const methods = settings.allowedMethods?.length ? settings.allowedMethods : corsMethods;
  const headers = settings.allowedHeaders?.length ? settings.allowedHeaders.join(', ') : requestedHeaders ?? defaultAllowedHeaders.join(', ');
  return {
    'access-control-allow-methods': methods.join(', '),
    'access-control-allow-headers': headers,
    'access-control-max-age': '600',
  };
}
